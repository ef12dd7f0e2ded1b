"""Safe reading, checking and writing of model weights.

Weights are read as safetensors (pure data, never code) or, for files made
with ``torch.save``, through ``torch.load(weights_only=True)``, which refuses
any pickle that would build objects other than tensors and plain
containers. A malicious pickle, a truncated file, something that is not a
checkpoint at all, or a state dict that does not fit the network all give a
``ValueError`` that says what is wrong; nothing in the file is ever run.

A file cannot make the reader do much work either. Paths are read in place
(memory-mapped); bytes and file objects are read only up to
:data:`~seglib.deep.sources.MAX_IN_MEMORY_BYTES`; a ``torch.save`` zip must
store its entries uncompressed (as ``torch.save`` does), so it cannot expand.
And a network described by a file (its architecture and sizes) is built by
:func:`build_checked`: first as a skeleton on torch's ``meta`` device, which
allocates nothing, to check its parameter count against a budget and every
tensor shape in the file against it; only then for real.

>>> from seglib.deep.models import build_model
>>> net = build_model("unet", n_classes=4, width=4, depth=1)
>>> state = load_state_dict(state_dict_bytes(net), expected=net)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import struct
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import load_file as load_safetensors_file
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from . import sources

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

_HEAD_BYTES = 16  # enough to tell safetensors (8-byte length, then "{") from a torch zip or pickle
_ZIP_MAGIC = b"PK\x03\x04"

# Keys under which training scripts (ours and common ones) nest the model's state dict.
_NESTED_KEYS = ("model", "state_dict", "model_state_dict")


def _read_bytes(source: Source) -> tuple[bytes, str]:
    """The raw bytes of ``source`` (bytes or a binary file object; paths are read in place) and a name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > sources.MAX_IN_MEMORY_BYTES:
            raise ValueError(f"the given bytes are {len(source)} bytes; weights given as bytes may be at most "
                             f"{sources.MAX_IN_MEMORY_BYTES / 2**20:.0f} MB: pass the file's path instead")
        return bytes(source), "the given bytes"
    if hasattr(source, "read"):
        return sources.read_capped(source), getattr(source, "name", "the given file object")
    raise TypeError(f"weights source of type {type(source).__name__} is not supported: "
                    "expected a path, bytes or a binary file object")


def _looks_like_safetensors(data: bytes) -> bool:
    # An 8-byte little-endian header length, then a JSON object.
    return len(data) >= 10 and data[8:9] == b"{" and struct.unpack("<Q", data[:8])[0] > 0


def _read_safetensors(source: bytes | Path, name: str) -> dict:
    """Tensors of a safetensors file given as bytes, or as a path (memory-mapped, never read whole)."""
    try:
        return load_safetensors_bytes(source) if isinstance(source, bytes) else load_safetensors_file(source)
    except (SafetensorError, ValueError, RuntimeError, OSError) as error:
        raise ValueError(f"{name} is not a valid safetensors file (truncated or corrupt?): {error}") from None


def _check_stored_zip(source: bytes | Path, name: str) -> None:
    """``ValueError`` when a zip checkpoint compresses an entry: torch.save never does, and a compressed
    entry could expand far beyond the file's size."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            packed = [info.filename for info in archive.infolist() if info.compress_type != zipfile.ZIP_STORED]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ValueError(f"{name} is not a readable torch checkpoint (truncated or corrupt zip?): {error}") from None
    if packed:
        raise ValueError(f"{name} is a zip with compressed entries ({_few(packed, 3)}); torch.save stores its "
                         "entries uncompressed, and only such files are read")


def _read_torch(source: bytes | Path, name: str, head: bytes = b"") -> object:
    """A ``torch.save`` file given as bytes, or as a path (memory-mapped when it is a zip checkpoint)."""
    if head.startswith(_ZIP_MAGIC):
        _check_stored_zip(source, name)
    target = io.BytesIO(source) if isinstance(source, bytes) else source
    mmap = not isinstance(source, bytes) and head.startswith(_ZIP_MAGIC)  # torch.load maps only zip files
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error below says what matters
            warnings.simplefilter("ignore")
            return torch.load(target, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL ([\w.]+)", str(error))
        if found is None:  # not a pickle of anything: garbage or another file type
            detail = re.search(r"Unsupported operand \d+|Unsupported class \S+", str(error))
            raise ValueError(f"{name} is not a readable torch checkpoint (truncated or corrupt?): "
                             f"{detail.group(0) if detail else 'invalid pickle data'}") from None
        raise ValueError(
            f"refusing to load {name}: it is a pickle that would build Python objects other than tensors "
            f"(it references {found.group(1)}, which could run code); only plain state dicts are accepted. "
            "Save weights with safetensors or torch.save(model.state_dict(), path).") from None
    except Exception as error:  # noqa: BLE001 - torch raises many types for junk input (KeyError, RuntimeError, EOFError...)
        raise ValueError(f"{name} is not a readable torch checkpoint (truncated or corrupt?): "
                         f"{type(error).__name__}: {error}") from None


def _as_state_dict(obj: object, name: str) -> dict[str, torch.Tensor]:
    """Unwrap ``{"model": state_dict, ...}`` checkpoints and check every value is a tensor."""
    if isinstance(obj, Mapping):
        for key in _NESTED_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError(f"{name} does not contain a state dict: expected a mapping of parameter names to "
                         f"tensors, got {type(obj).__name__}{' (empty)' if isinstance(obj, Mapping) else ''}")
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{name} is not a state dict: the entries {', '.join(bad[:5])} are not tensors")
    return dict(obj)


def read_weights(source: Source) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a state dict and its metadata from a safetensors or ``torch.save`` file, safely.

    Parameters
    ----------
    source : path, bytes or binary file object
        The format is recognised from the content, not the file name. A torch
        checkpoint may nest the state dict under ``"model"`` or ``"state_dict"``.

    Returns
    -------
    state : dict of str to Tensor
    metadata : dict of str to str
        The safetensors header's ``__metadata__`` (empty for torch files).

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    ValueError
        For a pickle with code, a truncated or corrupt file, or a file that
        does not hold a state dict.
    """
    if isinstance(source, (str, os.PathLike)):
        # A path is read in place (memory-mapped), so a 2.5 GB checkpoint never sits in memory twice.
        data, name = _path(source), repr(str(source))
        with open(data, "rb") as file:
            head = file.read(_HEAD_BYTES)
    else:
        data, name = _read_bytes(source)
        head = data[:_HEAD_BYTES]
    if not head:
        raise ValueError(f"{name} is empty: expected a safetensors or torch.save weights file")
    if _looks_like_safetensors(head):
        return _as_state_dict(_read_safetensors(data, name), name), _safetensors_metadata(data)
    return _as_state_dict(_read_torch(data, name, head), name), {}


def _path(source: str | os.PathLike) -> Path:
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist (or is not a file)")
    return path


def _safetensors_metadata(source: bytes | Path) -> dict[str, str]:
    # Only called after the file parsed as safetensors, so the header is valid JSON.
    if isinstance(source, bytes):
        length = struct.unpack("<Q", source[:8])[0]
        return dict(json.loads(source[8:8 + length]).get("__metadata__") or {})
    with open(source, "rb") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        return dict(json.loads(file.read(length)).get("__metadata__") or {})


def read_state_dict(source: Source) -> dict[str, torch.Tensor]:
    """Read a state dict safely (see :func:`read_weights`, which also returns metadata)."""
    return read_weights(source)[0]


def check_state_dict(state: Mapping[str, torch.Tensor], expected: nn.Module, name: str = "the weights") -> dict:
    """Check that ``state`` fits ``expected`` exactly; return it cast to the module's dtypes.

    Raises
    ------
    ValueError
        Listing missing keys, unexpected keys and shape mismatches.
    """
    target = expected.state_dict()
    _check_fit(state, target, name, type(expected).__name__)
    return {k: state[k].to(dtype=target[k].dtype) for k in target}


def _check_fit(state: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], name: str, what: str) -> None:
    problems = []
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    if missing:
        problems.append(f"missing keys: {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_few(unexpected)}")
    for key in target:
        if key in state and tuple(state[key].shape) != tuple(target[key].shape):
            problems.append(f"shape mismatch for key {key!r}: expected {tuple(target[key].shape)}, "
                            f"got {tuple(state[key].shape)}")
    if problems:
        raise ValueError(f"{name} do not fit {what}: " + "; ".join(problems))


def parameter_count(model: nn.Module) -> int:
    """Numbers held by the model's parameters and buffers (works on a ``meta``-device skeleton)."""
    return sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers())


def build_checked(build: Callable[[], nn.Module], state: Mapping[str, torch.Tensor], *, name: str,
                  max_parameters: int) -> nn.Module:
    """The network ``build()`` makes, with ``state`` loaded, built for real only once it is known to fit.

    ``build()`` first runs on torch's ``meta`` device, which allocates no
    memory: the skeleton's parameter count must stay within
    ``max_parameters`` and every tensor of ``state`` must have the shape the
    skeleton expects (:func:`check_state_dict`). So a tiny file that declares
    a gigantic network, or tensors of another size, costs nothing.

    Returns
    -------
    nn.Module
        In eval mode, without gradients.

    Raises
    ------
    ValueError
        Naming the parameter count and the budget, or the keys that do not fit.
    """
    with torch.device("meta"):
        try:
            skeleton = build()
        except ValueError:
            raise
        except Exception as error:  # noqa: BLE001 - odd sizes fail deep inside torch with any error type
            raise ValueError(f"{name} describe a network that cannot be built: {type(error).__name__}: "
                             f"{error}") from None
    count = parameter_count(skeleton)
    if count > max_parameters:
        raise ValueError(f"{name} describe a network of {count:,} parameters; at most {max_parameters:,} are "
                         "allowed here")
    _check_fit(state, skeleton.state_dict(), name, type(skeleton).__name__)
    model = build()
    model.load_state_dict(check_state_dict(state, model, name=name))
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _few(keys: list[str], n: int = 6) -> str:
    shown = ", ".join(repr(k) for k in keys[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_state_dict(source: Source, *, expected: nn.Module) -> dict[str, torch.Tensor]:
    """Read weights safely and check they fit ``expected`` (which is not modified).

    Parameters
    ----------
    source : path, bytes or binary file object
        safetensors, or a state dict saved with ``torch.save``.
    expected : nn.Module
        A network of the intended architecture and size.

    Returns
    -------
    dict of str to Tensor
        Ready for ``expected.load_state_dict(state)``.

    Raises
    ------
    ValueError
        See :func:`read_state_dict` and :func:`check_state_dict`.
    """
    return check_state_dict(read_state_dict(source), expected, name=f"weights from {_describe(source)}")


def _describe(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(str(source))
    return "the given bytes" if isinstance(source, (bytes, bytearray, memoryview)) else "the given file"


def load_weights(model: nn.Module, source: Source) -> nn.Module:
    """Load checked weights from ``source`` into ``model`` and return it.

    ``model`` is only changed when the weights are valid and fit it: a failing
    load leaves it untouched.
    """
    model.load_state_dict(load_state_dict(source, expected=model))
    return model


def state_dict_bytes(model: nn.Module, *, half: bool = False, metadata: dict[str, str] | None = None) -> bytes:
    """The model's state dict serialised as safetensors (``half`` stores float tensors as float16)."""
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point():
            value = value.half()
        state[key] = value
    return save_safetensors_bytes(state, metadata=metadata)


def model_metadata(model, *, class_names: list[str], input_size: int) -> dict[str, str]:
    """Safetensors metadata that lets a weights file rebuild its network on its own.

    ``arch``, ``config`` (JSON constructor arguments), ``class_names`` (JSON)
    and ``input_size``; read back by :func:`read_weights`.
    """
    return {"arch": model.arch, "config": json.dumps(model.config), "class_names": json.dumps(list(class_names)),
            "input_size": str(int(input_size))}


def save_weights(model: nn.Module, path: str | os.PathLike, **kwargs) -> Path:
    """Write the model's weights to ``path`` as safetensors (see :func:`state_dict_bytes`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(state_dict_bytes(model, **kwargs))
    return path
