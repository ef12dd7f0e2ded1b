"""Where SAM's weights come from: the official checkpoints, the environment variable, downloads.

``weights=`` names a checkpoint file. Without it, ``$SEGDASH_SAM_WEIGHTS``
is used when set, else the official checkpoint in torch's hub cache
(``torch.hub.get_dir()/checkpoints``), downloaded on first use from
``dl.fbaipublicfiles.com`` with a progress callback, and checked against
its published size and MD5 (the hex in each file name is the start of its
MD5). Offline and uncached, a :class:`SamWeightsMissing` error says within
seconds which file to put where.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
WEIGHTS_ENV = "SEGDASH_SAM_WEIGHTS"
MODEL_TYPES = ("vit_b", "vit_l", "vit_h")
DOWNLOAD_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Checkpoint:
    """An official SAM checkpoint: file name, size in bytes and MD5."""

    model_type: str
    file_name: str
    size: int
    md5: str

    @property
    def url(self) -> str:
        return BASE_URL + self.file_name


CHECKPOINTS = {
    "vit_b": Checkpoint("vit_b", "sam_vit_b_01ec64.pth", 375_042_383, "01ec64d29a2fca3f0661936605ae66f8"),
    "vit_l": Checkpoint("vit_l", "sam_vit_l_0b3195.pth", 1_249_524_607, "0b3195507c641ddb6910d2bb5adee89c"),
    "vit_h": Checkpoint("vit_h", "sam_vit_h_4b8939.pth", 2_564_550_879, "4b8939a88964f0f4ff5f5b2642c598a6"),
}


class SamWeightsMissing(FileNotFoundError):
    """No SAM checkpoint is available and none could be downloaded; the message says what to do."""


def _checkpoint(model_type: str) -> Checkpoint:
    if model_type not in CHECKPOINTS:
        raise ValueError(f"model_type={model_type!r} is not allowed: expected one of {', '.join(MODEL_TYPES)}")
    return CHECKPOINTS[model_type]


def cache_dir() -> Path:
    """Where downloaded checkpoints live: torch's hub cache, ``torch.hub.get_dir()/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def checkpoint_path(model_type: str) -> Path:
    """Where the official checkpoint of ``model_type`` is (or would be) cached."""
    return cache_dir() / _checkpoint(model_type).file_name


def find_weights(model_type: str = "vit_b") -> Path | None:
    """The weights file ``sam`` would use without ``weights=``, or None if it must be downloaded first."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    path = checkpoint_path(model_type)
    return path if path.is_file() else None


def how_to_get_weights(model_type: str = "vit_b") -> str:
    """One paragraph saying which file to download and where to put it."""
    spec = _checkpoint(model_type)
    return (f"Download {spec.file_name} ({spec.size / 1e6:.0f} MB) from {spec.url} and put it at "
            f"{checkpoint_path(model_type)}, or pass weights='path/to/{spec.file_name}', or set "
            f"{WEIGHTS_ENV}=/path/to/{spec.file_name}.")


def fetch_url(url: str, destination: Path, progress: Callable[[int, int], None] | None,
              timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Stream ``url`` into ``destination``, calling ``progress(bytes_done, bytes_total)`` per chunk."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def print_progress(done: int, total: int) -> None:
    """Default download progress: a line on stderr every 5%."""
    if total and (done == total or done * 20 // total != (done - (1 << 20)) * 20 // total):
        print(f"SAM checkpoint: {done / 1e6:.0f} / {total / 1e6:.0f} MB", file=sys.stderr, flush=True)


def verify_checkpoint(path: Path, spec: Checkpoint) -> None:
    """Check a downloaded file's size and MD5 against the published ones (``ValueError`` if they differ)."""
    size = path.stat().st_size
    if size != spec.size:
        raise ValueError(f"{path} has {size} bytes but {spec.file_name} has {spec.size}: the download is "
                         "incomplete or not the official file")
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    if digest.hexdigest() != spec.md5:
        raise ValueError(f"{path} has MD5 {digest.hexdigest()} but {spec.file_name} has {spec.md5}: the file "
                         "is corrupt or not the official checkpoint")


def download_checkpoint(model_type: str = "vit_b", *, progress: Callable[[int, int], None] | None = print_progress,
                        fetch: Callable | None = None) -> Path:
    """Download the official checkpoint of ``model_type`` into :func:`cache_dir` and verify it.

    Parameters
    ----------
    model_type : {"vit_b", "vit_l", "vit_h"}
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` during the download.
    fetch : callable, optional
        ``fetch(url, destination, progress)``; defaults to :func:`fetch_url`
        (tests pass their own and never touch the network).

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    SamWeightsMissing
        When the download fails (offline, blocked...): names the file and
        where to put it.
    ValueError
        When the downloaded file's size or MD5 is wrong (the file is removed).
    """
    spec = _checkpoint(model_type)
    target = checkpoint_path(model_type)
    partial = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        (fetch or fetch_url)(spec.url, partial, progress)
    except OSError as error:  # URLError, timeouts and disk errors are all OSErrors
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise SamWeightsMissing(f"SAM {model_type} weights are not available: {spec.file_name} is not in "
                                f"{target.parent} and downloading it failed ({reason}). "
                                + how_to_get_weights(model_type)) from None
    try:
        verify_checkpoint(partial, spec)
    except ValueError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def resolve_weights(model_type: str, weights=None, *, fetch: Callable | None = None) -> Path:
    """The checkpoint file to load: ``weights``, ``$SEGDASH_SAM_WEIGHTS``, the cache, or a fresh download."""
    if weights is not None:
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(f"weights of type {type(weights).__name__} is not allowed: expected a path to a SAM "
                            "checkpoint (.pth or .safetensors)")
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"weights={str(weights)!r}: no such file. " + how_to_get_weights(model_type))
        return path
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"{WEIGHTS_ENV}={env!r}: no such file")
        return Path(env)
    cached = checkpoint_path(model_type)
    return cached if cached.is_file() else download_checkpoint(model_type, fetch=fetch)

