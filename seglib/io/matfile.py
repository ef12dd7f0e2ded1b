"""Read one variable of a MATLAB 5 ``.mat`` file within a memory budget.

``scipy.io.loadmat`` inflates every compressed variable of a file before the
caller can look at it, so a small file can expand to gigabytes.
:func:`read_variable` walks the file's top-level elements instead, reads
each variable's name (and its dimensions) from the first bytes of its
header, skips the others without inflating them, and inflates the wanted
one with a hard cap on the output before scipy parses it.

Format (MATLAB 5 MAT-file, "MAT-File Format", The MathWorks): a 128-byte
header whose last two bytes give the byte order (``IM`` little-endian), then
top-level data elements, each an 8-byte tag (type, byte count) and its data.
Type 14 (``miMATRIX``) is an array, type 15 (``miCOMPRESSED``) a zlib stream
holding one ``miMATRIX`` element. An array starts with three sub-elements:
array flags (class in the low byte), dimensions and name.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

__all__ = ["MAX_DECOMPRESSED", "MAX_CELLS", "read_variable"]

MAX_DECOMPRESSED = 64 * 2**20
"""Most bytes the wanted variable may inflate to (64 MiB; a BSDS500 truth is about 3 MB)."""

MAX_CELLS = 64
"""Most elements of the wanted cell array (BSDS500 files hold 4 to 9 annotators)."""

_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MI_INT32, _MI_UINT32, _MI_INT8 = 5, 6, 1
_CLASS_NAMES = {1: "cell array", 2: "struct", 3: "object", 4: "char array", 5: "sparse array"}
_HEAD_BYTES = 512  # enough for the tag, flags, dimensions and a 63-character name


def read_variable(data: bytes, wanted: str, *, max_bytes: int = MAX_DECOMPRESSED, max_cells: int = MAX_CELLS):
    """The variable ``wanted`` of a MAT 5 file, as ``scipy.io.loadmat`` would give it.

    Parameters
    ----------
    data : bytes
        The whole file.
    wanted : str
        Name of the variable to read; every other variable is skipped unread.
    max_bytes : int, optional
        Most bytes the variable may take once inflated.
    max_cells : int, optional
        Most elements the variable may have when it is a cell array.

    Returns
    -------
    ndarray
        As ``scipy.io.loadmat(...)[wanted]``.

    Raises
    ------
    ValueError
        If the file is not a MAT 5 file, is truncated, lacks ``wanted`` (the
        message lists the variables present), or ``wanted`` is over a limit.
    """
    order = _byte_order(data)
    names, position = [], 128
    while position + 8 <= len(data):
        kind, size = struct.unpack(order + "II", data[position:position + 8])
        start, end = position + 8, position + 8 + size
        if end > len(data):
            raise ValueError(f"the .mat file is truncated: a variable at byte {position} declares {size} bytes, "
                             f"but only {len(data) - start} follow")
        if kind == _MI_COMPRESSED:
            inflater = zlib.decompressobj()
            head = _inflate(inflater, data[start:end], _HEAD_BYTES)
        elif kind == _MI_MATRIX:
            inflater, head = None, data[position:end]
        else:
            raise ValueError(f"the .mat file has a top-level element of type {kind} at byte {position}; "
                             "expected a MATLAB 5 array (type 14) or compressed array (type 15)")
        name, dims, array_class, declared = _array_header(head, order)
        names.append(name)
        if name == wanted:
            _check_size(wanted, dims, array_class, declared, max_bytes, max_cells)
            if inflater is not None and len(head) < 8 + declared:  # inflate no more than the size declared
                head += _inflate(inflater, inflater.unconsumed_tail, 8 + declared - len(head))
            return _parse(data[:128], head[:8 + declared], wanted)
        position = end + (-size % 8 if kind == _MI_MATRIX else 0)
    listed = ", ".join(names[:10]) + (f", ... ({len(names)} variables)" if len(names) > 10 else "")
    raise ValueError(f"the .mat file has no `{wanted}` variable (variables: {listed or 'none'}); "
                     "expected a BSDS500 ground-truth file")


def _byte_order(data: bytes) -> str:
    if len(data) < 136 or not data.startswith(b"MATLAB"):
        raise ValueError("the .mat file could not be read: it is shorter than a MATLAB 5 header "
                         "(128 bytes and one variable)")
    marker = data[126:128]
    if marker not in (b"IM", b"MI"):
        raise ValueError("the .mat file could not be read: its header has no byte-order mark; "
                         "expected a MATLAB 5 (-v7) file")
    return "<" if marker == b"IM" else ">"


def _inflate(inflater, chunk: bytes, limit: int) -> bytes:
    try:
        return inflater.decompress(chunk, max(limit, 1))
    except zlib.error as error:
        raise ValueError(f"a compressed variable of the .mat file is corrupt ({error})") from None


def _sub_element(head: bytes, at: int, order: str) -> tuple[int, bytes, int]:
    """(type, data, next offset) of the sub-element at ``at``, in full or small (4-byte) form."""
    if at + 8 > len(head):
        raise ValueError("a variable header of the .mat file is truncated")
    kind, size = struct.unpack(order + "II", head[at:at + 8])
    if kind >> 16:  # small element: size in the upper half of the first word, data in the second
        size, kind = kind >> 16, kind & 0xFFFF
        return kind, head[at + 4:at + 4 + min(size, 4)], at + 8
    if size > _HEAD_BYTES or at + 8 + size > len(head):
        raise ValueError("a variable header of the .mat file is longer than any MATLAB name and size allow")
    return kind, head[at + 8:at + 8 + size], at + 8 + size + (-size % 8)


def _array_header(head: bytes, order: str) -> tuple[str, tuple[int, ...], int, int]:
    """(name, dimensions, class, declared byte count) of an ``miMATRIX`` element's start."""
    if len(head) < 8:
        raise ValueError("a variable of the .mat file is truncated")
    kind, declared = struct.unpack(order + "II", head[:8])
    if kind != _MI_MATRIX:
        raise ValueError(f"a variable of the .mat file has element type {kind}; expected a MATLAB array (14)")
    flags_kind, flags, at = _sub_element(head, 8, order)
    dims_kind, dims_raw, at = _sub_element(head, at, order)
    name_kind, name_raw, _ = _sub_element(head, at, order)
    if flags_kind != _MI_UINT32 or len(flags) < 4 or dims_kind != _MI_INT32 or len(dims_raw) % 4:
        raise ValueError("a variable header of the .mat file is malformed (array flags or dimensions)")
    dims = struct.unpack(order + f"{len(dims_raw) // 4}i", dims_raw)
    if any(d < 0 for d in dims):
        raise ValueError(f"a variable of the .mat file has negative dimensions {dims}")
    name = name_raw.decode("latin-1")
    printable = "".join(c if c.isprintable() else "?" for c in name)[:63]
    return printable, dims, struct.unpack(order + "I", flags[:4])[0] & 0xFF, declared


def _check_size(name: str, dims, array_class: int, declared: int, max_bytes: int, max_cells: int) -> None:
    if declared > max_bytes:
        raise ValueError(f"`{name}` in the .mat file declares {declared / 2**20:.1f} MiB; the limit is "
                         f"{max_bytes / 2**20:g} MiB (a BSDS500 ground truth takes about 3 MB)")
    count = int(np.prod(dims, dtype=object)) if dims else 0
    if array_class == 1 and count > max_cells:
        raise ValueError(f"`{name}` in the .mat file is a cell array of {count} elements; at most {max_cells} "
                         "annotators are read")
    if array_class != 1:
        what = _CLASS_NAMES.get(array_class, "numeric array")
        raise ValueError(f"`{name}` in the .mat file is a {what}; expected a cell array (one struct per annotator)")


def _parse(header: bytes, element: bytes, name: str):
    from scipy.io import loadmat

    try:
        contents = loadmat(io.BytesIO(header + element))
    except Exception as error:  # noqa: BLE001 - scipy raises many types on corrupt files
        raise ValueError(f"`{name}` in the .mat file could not be read ({type(error).__name__}: "
                         f"{str(error)[:200]})") from None
    if name not in contents:
        raise ValueError(f"`{name}` in the .mat file could not be read")
    return contents[name]
