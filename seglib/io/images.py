"""Safe image loading: the one door through which pictures enter seglib.

:func:`load_image` turns a path, raw bytes or a binary file object (such as
Streamlit's ``UploadedFile``) into an (H, W, 3) ``uint8`` RGB array, or
raises a ``ValueError`` that says what was wrong and what is accepted.
:func:`load_image_with_info` returns the same array together with the
detected format, the stored size and notices for the user (first frame of
an animation used, EXIF rotation applied, ...).

Policies
--------
Formats
    Decided by content (Pillow's signature check), never by file name:
    PNG (APNG), JPEG (MPO), TIFF, BMP, WebP and GIF.
Size
    At most ``max_bytes`` of input (200 MB) and ``max_pixels`` pixels
    (40 MP), checked from the header before anything is decoded. A path
    must name a regular file (not a device, pipe or folder); a stream is
    read only up to the limit.
Decoding work
    A JPEG may hold at most :data:`MAX_JPEG_SCANS` scans (a progressive
    JPEG has about 10) and at most :data:`JPEG_SCAN_PIXEL_BUDGET` scans x
    pixels, because each scan costs a pass over the whole picture.
Animation
    Animated GIF / PNG / WebP and multi-page TIFF: the first frame is used
    and a notice says so (GIF and TIFF frames are counted up to
    :data:`MAX_COUNTED_FRAMES`). A PNG may hold at most :data:`MAX_PNG_CHUNKS` chunks.
Orientation
    The EXIF orientation tag is applied (the array is upright as a camera
    viewer shows it).
Transparency
    Images with an alpha channel (RGBA, LA, PA, palette with a transparent
    colour) are composited onto white.
High bit depth
    16-bit and 32-bit integer images are rescaled, never clipped: values in
    0..65535 are divided by ``2**b - 1`` where ``b`` is the smallest bit depth
    (at least 8) that holds the image's maximum, so 12-bit sensor data fills
    the 8-bit range and full-range 16-bit data maps 65535 to 255. Other
    integer data (negative, or above 65535) and floating-point data outside
    [0, 1] are stretched from their own minimum to maximum; floats inside
    [0, 1] are multiplied by 255. NaN becomes 0 (black); a constant image
    outside [0, 1] becomes black.
Colour
    Palette, 1-bit, gray, CMYK and YCbCr images are converted to RGB by
    Pillow (CMYK without colour management).
"""

from __future__ import annotations

import io
import os
import stat
import struct
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..checks import check_int
from ..imaging import integer_scale

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "LoadedImage",
    "load_image",
    "load_image_with_info",
    "read_bytes",
    "decode_image",
    "describe_content",
    "rescale_to_uint8",
    "jpeg_scan_count",
    "chunk_bomb_message",
    "MAX_JPEG_SCANS",
    "MAX_PNG_CHUNKS",
    "frame_count",
    "png_chunk_count",
    "check_png_chunks",
    "check_header_segments",
    "jpeg_segment_count",
    "MAX_JPEG_SEGMENTS",
    "MAX_TIFF_STRIPS",
    "tiff_strip_count",
    "JPEG_SCAN_PIXEL_BUDGET",
    "composite_on_white",
    "to_rgb_uint8",
]

#: Pillow format identifiers accepted by content.
ACCEPTED_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 200_000_000
MAX_JPEG_SCANS = 100
"""Most scans (start-of-scan markers) accepted in a JPEG file; progressive ones have about 10."""
JPEG_SCAN_PIXEL_BUDGET = 500_000_000
"""Most scans x pixels accepted in a JPEG (12 scans at 40 MP, 50 at 10 MP): each scan is a pass over the picture."""
MAX_COUNTED_FRAMES = 100
"""GIF and TIFF frames are counted up to this many (each step reads a frame header in Python)."""
MAX_JPEG_SEGMENTS = 2_000
"""Most JPEG marker segments before the first scan (EXIF, ICC, comments...; an ordinary file has 10 to 30)."""
MAX_TIFF_STRIPS = 100_000
"""Most strips or tiles in a TIFF's first image."""
MAX_PNG_CHUNKS = 50_000
"""Most chunks accepted in a PNG (Pillow parses each in Python; libpng writes 8 KB IDAT chunks)."""
_STREAM_CHUNK = 1 << 20

_ACCEPTED_TEXT = "PNG, JPEG, TIFF, BMP, WebP or GIF"
# Pillow reports a multi-picture JPEG (phones, 3-D cameras) as "MPO".
_FORMAT_ALIASES = {"MPO": "JPEG"}
# Signatures of common non-image or unsupported files, to name what was sent.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"8BPS", "a Photoshop PSD file"),
    (b"%!PS", "a PostScript/EPS file"),
    (b"icns", "a macOS icon (ICNS)"),
    (b"SIMPLE  =", "a FITS file"),
    (b"<svg", "an SVG drawing (vector graphics)"),
    (b"<?xml", "an XML/SVG text file"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
)
# Signatures of the accepted formats: content that starts like one but fails is damaged.
_ACCEPTED_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"RIFF", "WebP"),
)
# Other Pillow formats named in messages: their headers are small and fixed, so identifying them is cheap.
_IDENTIFIED_FORMATS = ("ICO", "PPM", "DDS", "QOI", "PCX", "SGI", "JPEG2000", "XBM")
_FTYP_BRANDS = {b"heic": "a HEIC image", b"heix": "a HEIC image", b"mif1": "a HEIF image",
                b"avif": "an AVIF image", b"qt  ": "a QuickTime video", b"isom": "an MP4 video"}


@dataclass
class LoadedImage:
    """An image read by :func:`load_image_with_info`.

    Attributes
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        The RGB picture, upright (EXIF orientation applied).
    format : str
        The format detected from the content: ``"PNG"``, ``"JPEG"``,
        ``"TIFF"``, ``"BMP"``, ``"WEBP"`` or ``"GIF"``.
    original_size : tuple of int
        ``(height, width)`` as stored in the file, before the EXIF rotation
        (differs from ``image.shape[:2]`` for a rotated photo).
    mode : str
        Pillow's pixel mode of the stored data (``"RGB"``, ``"I;16"``,
        ``"RGBA"``, ``"P"``...), i.e. what was converted.
    notices : list of str
        Things the user should know: first frame of an animation used,
        EXIF rotation applied, transparency composited onto white, bit
        depth rescaled.
    """

    image: np.ndarray
    format: str
    original_size: tuple[int, int]
    mode: str = "RGB"
    notices: list[str] = field(default_factory=list)


def load_image(source, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an image safely and return it as an RGB ``uint8`` array.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        A path, the raw bytes of an image file, or an object with ``read()``
        (an open binary file, ``io.BytesIO``, Streamlit's ``UploadedFile``).
        A file object is left open, at the position it had.
    max_pixels : int, optional
        Largest accepted ``width * height``, checked from the header before
        decoding (default 40 million). Protects against decompression bombs.
    max_bytes : int, optional
        Largest accepted input size in bytes (default 200 MB).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        The upright RGB picture (see the module notes for the conversion
        rules: first frame, alpha onto white, bit-depth rescaling).

    Raises
    ------
    ValueError
        If the input is empty, too big, not an accepted format, corrupt or
        truncated; the message says what was wrong and what is accepted.
    TypeError
        If ``source`` is none of the accepted kinds of object.

    See Also
    --------
    load_image_with_info : the same, plus format, stored size and notices.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("L", (4, 2), 128).save(buffer, "PNG")
    >>> load_image(buffer.getvalue()).shape
    (2, 4, 3)
    """
    return load_image_with_info(source, max_pixels=max_pixels, max_bytes=max_bytes).image


def load_image_with_info(source, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                         max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedImage:
    """Read an image like :func:`load_image` and describe what was done.

    Parameters
    ----------
    source, max_pixels, max_bytes
        As for :func:`load_image`.

    Returns
    -------
    LoadedImage
        The array plus the detected format, the stored ``(height, width)``
        and a list of notices to show the user.

    Raises
    ------
    ValueError, TypeError
        As for :func:`load_image`.
    """
    _check_limit("max_pixels", max_pixels)
    _check_limit("max_bytes", max_bytes)
    data = read_bytes(source, max_bytes=max_bytes)
    return decode_image(data, max_pixels=max_pixels)


def _check_limit(name: str, value) -> None:
    check_int(value, f"`{name}`", low=1)


# --------------------------------------------------------------------------- reading


def read_bytes(source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Return the content of a path, bytes or binary file object, size-checked.

    A seekable file object is read from its start and put back where it
    was; it is never closed.

    Raises
    ------
    ValueError
        If the content is empty, larger than ``max_bytes``, the path does not
        name a readable file, or the file object is in text mode.
    TypeError
        If ``source`` is not a path, bytes-like or file object.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(source, max_bytes)
    elif hasattr(source, "read"):
        data = _read_file_object(source, max_bytes)
    else:
        raise TypeError(f"`source` is a {type(source).__name__}; expected a path (str or os.PathLike), "
                        "bytes, or a binary file object with .read()")
    _check_size(len(data), max_bytes)
    return data


def _check_size(n_bytes: int, max_bytes: int) -> None:
    if n_bytes == 0:
        raise ValueError(f"the image is empty (0 bytes); expected a {_ACCEPTED_TEXT} file")
    if n_bytes > max_bytes:
        size, limit = _megabytes(n_bytes), _megabytes(max_bytes)
        if size == limit:  # just over the limit: rounding would print the same number twice
            size, limit = f"{n_bytes:,} bytes", f"{max_bytes:,} bytes"
        raise ValueError(f"the file is {size}; the limit is {limit} "
                         "(save a smaller or more compressed image)")


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes} bytes"


def _read_path(path, max_bytes: int) -> bytes:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ValueError(f"`source` path {name!r} is not an existing file")
    if not os.path.isfile(name):
        raise ValueError(f"`source` path {name!r} is not a regular file (it is a folder, device or pipe); "
                         "expected an image file")
    _check_size(os.path.getsize(name), max_bytes)  # refuse before reading a huge file
    with open(name, "rb") as handle:
        return _read_capped(handle, max_bytes)


def _read_capped(handle, max_bytes: int) -> bytes:
    """Read at most ``max_bytes`` in chunks; ValueError as soon as the stream gives more."""
    chunks, total = [], 0
    while True:
        chunk = handle.read(min(_STREAM_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        if isinstance(chunk, str):
            raise ValueError("`source` is a text-mode file object; open the image in binary mode ('rb')")
        chunks.append(bytes(chunk))
        total += len(chunk)
        if total > max_bytes:
            raise ValueError(f"the input is larger than the limit of {_megabytes(max_bytes)} (reading stopped "
                             "there; an endless stream such as /dev/zero is never an image)")
    return b"".join(chunks)


def _read_file_object(handle, max_bytes: int) -> bytes:
    if hasattr(handle, "getvalue"):  # BytesIO, Streamlit UploadedFile: whole buffer, position untouched
        data = handle.getvalue()
    else:
        data = _read_rewinding(handle, max_bytes)
    if isinstance(data, str):
        raise ValueError("`source` is a text-mode file object; open the image in binary mode ('rb')")
    return bytes(data)


def _read_rewinding(handle, max_bytes: int):
    _refuse_special_file(handle)
    seekable = getattr(handle, "seekable", lambda: False)()
    position = handle.tell() if seekable else None
    if seekable:
        handle.seek(0)
    try:
        return _read_capped(handle, max_bytes)
    finally:
        if seekable:
            handle.seek(position)


def _refuse_special_file(handle) -> None:
    """ValueError for a file object reading from a device (/dev/zero, /dev/urandom): it never ends."""
    try:
        mode = os.fstat(handle.fileno()).st_mode
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return  # no file descriptor: an in-memory stream
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISDIR(mode):
        raise ValueError("`source` is a file object reading from a device, not a regular file; "
                         "expected an image file")


# --------------------------------------------------------------------------- decoding


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode image bytes into a :class:`LoadedImage` (see the module policies).

    Raises
    ------
    ValueError
        If the format is not accepted, the image is larger than
        ``max_pixels`` or the data cannot be decoded.
    """
    with _open(data, max_pixels) as picture:
        fmt = _accepted_format(picture)
        _check_pixels(picture.size, max_pixels)
        _check_jpeg_scans(data, picture, fmt, max_pixels)
        notices = _frame_notices(picture, fmt)
        stored_mode, stored_size = picture.mode, (picture.height, picture.width)
        _load(picture, fmt)
        upright = _apply_orientation(picture, notices)
        rgb = to_rgb_uint8(upright, notices)
        if upright is not picture:
            upright.close()
    return LoadedImage(image=rgb, format=fmt, original_size=stored_size, mode=stored_mode, notices=notices)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    check_header_segments(data)
    try:
        return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ValueError(f"the image is too large to decode safely ({exc}); "
                         f"the limit is {max_pixels / 1e6:g} MP") from exc
    except UnidentifiedImageError as exc:
        raise ValueError(f"the content is {describe_content(data)}; "
                         f"expected a {_ACCEPTED_TEXT} image") from exc
    except Exception as exc:  # noqa: BLE001 - a plugin choking on a damaged header
        bomb = chunk_bomb_message(exc)
        if bomb:
            raise ValueError(bomb) from exc
        raise ValueError(f"the image header could not be read ({type(exc).__name__}: {exc}); "
                         f"the file is damaged or not a valid {_ACCEPTED_TEXT} image") from exc


def chunk_bomb_message(error: Exception) -> str | None:
    """A clear message when Pillow refused a compressed metadata chunk that inflates too far, else None."""
    if isinstance(error, ValueError) and "decompressed data too large" in str(error).lower():
        return ("a compressed metadata chunk of the image (PNG text or colour profile) inflates beyond "
                "Pillow's safety limit (a decompression bomb); the image was not decoded")
    return None


def jpeg_scan_count(data: bytes) -> int:
    """Upper bound on the scans of a JPEG: its start-of-scan markers (0xFFDA).

    Entropy-coded data escapes every 0xFF byte, so a scan cannot hide; an
    embedded thumbnail's scans are counted too, which only overestimates.
    """
    return data.count(b"\xff\xda")


def _check_jpeg_scans(data: bytes, picture: Image.Image, fmt: str, max_pixels: int) -> None:
    compression = str(picture.info.get("compression", "")).lower()
    if fmt != "JPEG" and not (fmt == "TIFF" and "jpeg" in compression):
        return
    scans = jpeg_scan_count(data)
    pixels = picture.width * picture.height
    budget = max(1, JPEG_SCAN_PIXEL_BUDGET // max(pixels, 1))
    allowed = min(MAX_JPEG_SCANS, budget)
    if scans > allowed:
        raise ValueError(f"the JPEG has {scans} scans; at most {allowed} are decoded for a "
                         f"{picture.width} x {picture.height} picture (at most {MAX_JPEG_SCANS} scans and "
                         f"{JPEG_SCAN_PIXEL_BUDGET / 1e6:g} million scans x pixels; an ordinary progressive "
                         "JPEG has about 10): re-save it as a baseline JPEG or PNG")


def describe_content(data: bytes) -> str:
    """Name what some bytes look like, for error messages ("a PDF document").

    Tries the Pillow formats whose header is small and fixed (a hostile
    PSD, EPS or ICNS header makes Pillow walk the whole file in Python),
    then a short table of common signatures. Never quotes the content
    itself (it may come from a file the user must not read).
    """
    try:
        with Image.open(io.BytesIO(data), formats=_IDENTIFIED_FORMATS) as other:
            return f"a {other.format} image (which is not accepted)"
    except Image.DecompressionBombError:
        return "an image too large to decode safely (a decompression bomb)"
    except Exception as error:  # noqa: BLE001 - identification only: any failure means "not a Pillow format"
        if chunk_bomb_message(error):
            return "an image whose compressed metadata inflates beyond the safety limit (a decompression bomb)"
    for signature, fmt in _ACCEPTED_SIGNATURES:
        if data.startswith(signature):
            return f"a damaged or truncated {fmt} file"
    head = data[:64].lstrip()
    for signature, name in _SIGNATURES:
        if head.startswith(signature) or head.lower().startswith(signature):
            return name
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], "an ISO media file (video or HEIF)")
    if _looks_like_text(data[:512]):
        return "a text file"  # never echo the content: it may be a file the user must not read
    return "unrecognised data (binary, with no known file signature)"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _accepted_format(picture: Image.Image) -> str:
    fmt = _FORMAT_ALIASES.get(picture.format, picture.format)
    if fmt not in ACCEPTED_FORMATS:  # only reachable if Pillow maps an accepted plugin to a new name
        raise ValueError(f"the content is a {picture.format} image; expected {_ACCEPTED_TEXT}")
    return fmt


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    pixels = width * height
    if width < 1 or height < 1:
        raise ValueError(f"the image header says {width} x {height} pixels; an image needs at least 1 x 1")
    if pixels > max_pixels:
        raise ValueError(f"the image is {width} x {height} = {pixels / 1e6:.1f} MP; the limit is "
                         f"{max_pixels / 1e6:g} MP (downscale it before uploading)")


def frame_count(picture: Image.Image, limit: int = MAX_COUNTED_FRAMES) -> int:
    """Frames of an image, counting no further than ``limit`` + 1 (which means "more than ``limit``").

    APNG, WebP and MPO declare their count in the header. GIF and TIFF do
    not: Pillow's ``n_frames`` walks every frame, which a file of a million
    tiny frames turns into minutes, so frames are stepped through only up
    to ``limit``.
    """
    if picture.format not in ("GIF", "TIFF"):
        return getattr(picture, "n_frames", 1)
    count = 1
    try:
        while count <= limit:
            picture.seek(count)
            count += 1
    except Exception:  # noqa: BLE001 - EOFError past the last frame; a damaged later frame ends the count too
        pass
    finally:
        picture.seek(0)
    return count


def _frame_notices(picture: Image.Image, fmt: str) -> list[str]:
    frames = frame_count(picture)
    if frames <= 1:
        return []
    what = {"TIFF": ("multi-page TIFF", "page"), "JPEG": ("multi-picture JPEG (MPO)", "picture")}
    kind, unit = what.get(fmt, (f"animated {fmt}", "frame"))
    count = f"{frames} {unit}s" if frames <= MAX_COUNTED_FRAMES else f"more than {MAX_COUNTED_FRAMES} {unit}s"
    return [f"{kind} with {count}: only the first {unit} is used"]


def jpeg_segment_count(data: bytes, limit: int) -> int:
    """Marker segments of a JPEG before its first scan (stops counting after ``limit``)."""
    position, count, end = 2, 0, len(data)
    while position + 4 <= end and count <= limit:
        count += 1
        if data[position] != 0xFF:
            break  # malformed: Pillow reports it
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
        elif marker in (0xDA, 0xD9):
            break
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:
            position += 2
        else:
            position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return count


def tiff_strip_count(data: bytes) -> int:
    """Strips or tiles the first image of a TIFF declares (StripOffsets / TileOffsets counts); 0 if unreadable."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return 0
    version = struct.unpack_from(order + "H", data, 2)[0]
    big = version == 43
    try:
        if big:
            offset = struct.unpack_from(order + "Q", data, 8)[0]
            entries, entry_size, start = struct.unpack_from(order + "Q", data, offset)[0], 20, offset + 8
        else:
            offset = struct.unpack_from(order + "I", data, 4)[0]
            entries, entry_size, start = struct.unpack_from(order + "H", data, offset)[0], 12, offset + 2
        strips = 0
        for k in range(min(entries, 4096)):
            at = start + k * entry_size
            tag = struct.unpack_from(order + "H", data, at)[0]
            if tag in (273, 324):  # StripOffsets, TileOffsets
                count = struct.unpack_from(order + ("Q" if big else "I"), data, at + 4)[0]
                strips = max(strips, count)
        return strips
    except struct.error:
        return 0  # a damaged header: Pillow reports it


def check_header_segments(data: bytes) -> None:
    """ValueError for a PNG, JPEG or TIFF (by signature) with more pieces than Pillow should parse.

    Pillow reads PNG chunks, JPEG header segments and TIFF strips one by one
    in Python, so a few MB of empty ones take seconds to minutes; they are
    counted first.
    """
    if data.startswith(b"\xff\xd8") and jpeg_segment_count(data, MAX_JPEG_SEGMENTS) > MAX_JPEG_SEGMENTS:
        raise ValueError(f"the JPEG has more than {MAX_JPEG_SEGMENTS:,} header segments before its picture; "
                         "an ordinary JPEG has a dozen or two: re-save it")
    check_png_chunks(data)
    strips = tiff_strip_count(data)
    if strips > MAX_TIFF_STRIPS:
        raise ValueError(f"the TIFF declares {strips:,} strips or tiles; at most {MAX_TIFF_STRIPS:,} are read "
                         "(Pillow handles each one in Python; an ordinary TIFF has a few thousand): re-save it")


def png_chunk_count(data: bytes, limit: int) -> int:
    """Chunks of a PNG, counted from their length fields (stops counting after ``limit``)."""
    position, count, end = 8, 0, len(data) - 8
    header = struct.Struct(">I4s")
    while position <= end and count <= limit:
        length, kind = header.unpack_from(data, position)
        count += 1
        if kind == b"IEND":
            break
        position += 12 + length
    return count


def check_png_chunks(data: bytes) -> None:
    """ValueError for a PNG (by its signature) of more than :data:`MAX_PNG_CHUNKS` chunks, before Pillow reads it."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return
    chunks = png_chunk_count(data, MAX_PNG_CHUNKS)
    if chunks > MAX_PNG_CHUNKS:
        raise ValueError(f"the PNG has more than {MAX_PNG_CHUNKS:,} chunks; Pillow reads each one in Python, so "
                         "at most that many are accepted (an ordinary PNG has a few dozen to a few thousand): "
                         "re-save it")


def _load(picture: Image.Image, fmt: str) -> None:
    try:
        picture.seek(0)
        picture.load()
    except Image.DecompressionBombError as exc:
        raise ValueError(f"the image is too large to decode safely ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, SyntaxError, struct.error, zlib.error...
        raise ValueError(f"the {fmt} data could not be decoded: the file is truncated or corrupt "
                         f"({type(exc).__name__}: {exc}); expected a complete {_ACCEPTED_TEXT} file") from exc


def _apply_orientation(picture: Image.Image, notices: list[str]) -> Image.Image:
    try:
        orientation = picture.getexif().get(0x0112, 1)
        if orientation in (None, 1):
            return picture
        upright = ImageOps.exif_transpose(picture)
    except Exception as exc:  # noqa: BLE001 - malformed EXIF must not lose the picture
        notices.append(f"the EXIF orientation could not be read ({exc}); the image is shown as stored")
        return picture
    notices.append(f"rotated upright following the EXIF orientation tag ({orientation})")
    return upright


# --------------------------------------------------------------------------- conversion


def to_rgb_uint8(picture: Image.Image, notices: list[str] | None = None) -> np.ndarray:
    """Convert a loaded Pillow image of any mode to an (H, W, 3) uint8 array.

    Alpha is composited onto white; 16/32-bit integer and float images are
    rescaled as described in the module notes. A notice is appended to
    ``notices`` (when given) for each such conversion.
    """
    notices = notices if notices is not None else []
    mode = picture.mode
    if mode.startswith("I") or mode.startswith("F"):
        gray = rescale_to_uint8(np.asarray(picture), notices)
        return np.repeat(gray[..., None], 3, axis=2)
    if _has_alpha(picture):
        rgba = np.asarray(picture.convert("RGBA"))
        if rgba[..., 3].min() < 255:
            notices.append("transparent pixels were composited onto a white background")
        return composite_on_white(rgba)
    if mode == "CMYK":
        notices.append("CMYK colours were converted to RGB without a colour profile")
    try:
        rgb = picture if mode == "RGB" else picture.convert("RGB")  # skip a 12 MP copy when possible
        return np.array(rgb, dtype=np.uint8)
    except (ValueError, OSError) as exc:
        raise ValueError(f"pixel mode {mode!r} cannot be converted to RGB ({exc}); "
                         "expected gray, palette, RGB(A), CMYK or 16-bit/float gray pixels") from exc


def _has_alpha(picture: Image.Image) -> bool:
    return "A" in picture.getbands() or "a" in picture.mode or (
        picture.mode in ("P", "L", "RGB") and "transparency" in picture.info)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Blend an (H, W, 4) uint8 RGBA array onto white; returns (H, W, 3) uint8."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    blended = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.round(blended).astype(np.uint8)


def rescale_to_uint8(values: np.ndarray, notices: list[str] | None = None) -> np.ndarray:
    """Map high-bit-depth or float pixel values to uint8 without clipping.

    Parameters
    ----------
    values : ndarray
        Integer or floating-point pixel values, any shape.
    notices : list of str, optional
        Receives one sentence saying which rule was used.

    Returns
    -------
    ndarray of uint8, same shape
        Monotonic in the input: a larger value never maps to a smaller one.

    Notes
    -----
    Integers in 0..65535 are divided by ``2**b - 1`` with ``b`` the smallest
    bit depth, at least 8, that holds the maximum (8-bit data passes
    through, 12-bit data is divided by 4095, full 16-bit data by 65535).
    Other integers and floats outside [0, 1] are stretched from their
    minimum to their maximum; floats in [0, 1] are multiplied by 255. NaN
    maps to 0, and so does a constant image that cannot be placed.
    """
    notices = notices if notices is not None else []
    data = np.asarray(values)
    floating = np.issubdtype(data.dtype, np.floating)
    finite = data[np.isfinite(data)] if floating else data
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if not floating and low >= 0 and high <= 65535:
        offset, scale, bits = integer_scale(data)  # the rule every method applies to integer arrays
        if bits > 8:
            notices.append(f"{bits}-bit values (0..{int(scale)}) were rescaled to 8 bits")
    elif floating and low >= 0 and high <= 1:
        offset, scale = 0.0, 1.0
    else:
        offset, scale = low, (high - low) or np.inf
        notices.append(f"values from {low:.4g} to {high:.4g} were stretched to 0..255")
    if floating:
        data = np.clip(np.nan_to_num(data, nan=offset, posinf=high, neginf=low), low, high)
    unit = (data.astype(np.float64) - offset) / scale
    return np.round(unit * 255.0).astype(np.uint8)
