"""Where weights come from: a published file (URL, size, hash) or the user's own file or bytes.

Every deep method reads its weights from one of three places:

- a file shipped in the repository (the bundled models' ``weights/*.safetensors``);
- a file published at a URL, declared once as a :class:`Download` (file name,
  URL, size, hash) and fetched on first use into torch's hub cache
  (``torch.hub.get_dir()/checkpoints``, as torchvision does) by :func:`download`:
  streamed into a temporary file beside the target with a progress callback,
  checked against its hash (and size when published exactly), then moved in
  place, so a half-written file is never mistaken for the real one. Offline, a
  :class:`WeightsUnavailable` error names the file, its size and the folder to
  put it in within seconds, and the failure is remembered briefly so repeated
  calls fail at once;
- the user's ``weights=`` (a path, bytes or a binary file object), turned into
  a :class:`Source` by :func:`user_source`. Paths are read in place later
  (memory-mapped); bytes and file objects are held in memory, so they are
  refused above :data:`MAX_IN_MEMORY_BYTES` (a path has no such limit).

Declaring one more downloadable model is one line, e.g.::

    TINY = Download("sam2.1_hiera_tiny.pt", "https://.../sam2.1_hiera_tiny.pt", size=156_008_466,
                    digest="<sha256 hex>")
    path = download(TINY, "SAM 2.1 tiny")        # cached, verified; WeightsUnavailable offline

Reading the file safely is :mod:`seglib.deep.checkpoints`' job. This module
imports neither torch nor anything heavy. :func:`declare_download` records
which method downloads which file, so pages can say how large a download is
(:func:`download_for`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 10.0
"""Seconds a download may wait to connect or for the next chunk before it gives up."""
FAILURE_MEMORY_S = 30.0
"""A failed download is not retried for this long: repeated calls fail at once with the same reason."""
MAX_IN_MEMORY_BYTES = 256 * 2**20
"""Largest weights given as bytes or a file object (read into memory); larger files must be given as a path."""
_CHUNK = 1 << 20
_recent_failures: dict[tuple[str, str], tuple[float, str]] = {}
_failures_lock = threading.Lock()

Progress = Callable[[int, int], None]
"""``progress(bytes_done, bytes_total)``; ``bytes_total`` is 0 when the server does not say."""


class WeightsUnavailable(FileNotFoundError, RuntimeError):
    """Pretrained weights are neither cached nor downloadable; the message says which file to put where."""


@dataclass(frozen=True)
class Download:
    """A weights file published at a URL, as the downloader and the pages need it.

    Attributes
    ----------
    file_name : str
        Its name in the cache folder.
    url : str
    size : int
        Bytes, as published (shown before a download; checked when ``exact_size``).
    digest : str
        Hex digest of the file under ``algorithm``, whole or its first characters
        (torchvision publishes the first 8 to 10 in its file names).
    algorithm : {"sha256", "md5"}
    exact_size : bool
        Whether ``size`` is the exact byte count (else a rounded published figure).
    env : str, optional
        An environment variable that may name the file instead of the cache.
    """

    file_name: str
    url: str
    size: int
    digest: str
    algorithm: str = "sha256"
    exact_size: bool = False
    env: str | None = None

    def __post_init__(self):
        if self.algorithm not in ("sha256", "md5"):
            raise ValueError(f"algorithm={self.algorithm!r} is not allowed: expected 'sha256' or 'md5'")

    @property
    def size_mb(self) -> float:
        return self.size / 1e6

    @property
    def path(self) -> Path:
        """Where the file is (or will be) cached: ``torch.hub.get_dir()/checkpoints/<file_name>``."""
        return cache_dir() / self.file_name

    def is_cached(self) -> bool:
        return self.path.is_file()

    def is_available(self) -> bool:
        """Cached, or named by its environment variable: nothing to download."""
        named = os.environ.get(self.env) if self.env else None
        return Path(named).is_file() if named else self.is_cached()

    def instructions(self) -> str:
        """One sentence: where to download the file from and where to put it."""
        env = f", or set {self.env}=/path/to/{self.file_name}" if self.env else ""
        return (f"Download {self.url} ({self.size_mb:.0f} MB) on a machine with internet access and put it at "
                f"{self.path} (create the folder if needed), or pass weights='path/to/{self.file_name}'{env}.")

    def missing_message(self, what: str, reason: str = "") -> str:
        """The offline error: ``what`` needs this file, it is not in the cache folder, and what to do."""
        because = f" ({reason})" if reason else ""
        return (f"{what} needs the weights file {self.file_name} ({self.size_mb:.0f} MB), which is not in "
                f"{self.path.parent} and could not be downloaded{because}. {self.instructions()}")


def cache_dir() -> Path:
    """Torch's cache of downloaded checkpoints, ``torch.hub.get_dir()/checkpoints``.

    Without torch imported yet, torch's documented rule is applied instead
    (``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``, else
    ``~/.cache/torch/hub``), so a page can say what is cached without the
    seconds torch takes to import.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def fetch_url(url: str, destination: Path, progress: Progress | None, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Stream ``url`` into ``destination``, calling ``progress(bytes_done, bytes_total)`` per chunk."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
        total, done = int(response.headers.get("Content-Length") or 0), 0
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def print_progress(done: int, total: int) -> None:
    """A download progress line on stderr every 5% (for scripts and notebooks)."""
    if total and (done == total or done * 20 // total != (done - _CHUNK) * 20 // total):
        print(f"weights download: {done / 1e6:.0f} / {total / 1e6:.0f} MB", file=sys.stderr, flush=True)


def verify(path: Path, spec: Download) -> None:
    """``ValueError`` unless the file at ``path`` has the published size (when exact) and hash."""
    size = path.stat().st_size
    if spec.exact_size and size != spec.size:
        raise ValueError(f"the downloaded {spec.file_name} has {size} bytes, not the published {spec.size}: "
                         "the download is incomplete or the file is corrupt")
    digest = hashlib.new(spec.algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    found = digest.hexdigest()
    if not found.startswith(spec.digest.lower()):
        raise ValueError(f"the downloaded {spec.file_name} has {spec.algorithm.upper()} {found}, not the published "
                         f"{spec.digest}: the file is corrupt or not the published one")


def download(spec: Download, what: str, *, progress: Progress | None = None, fetch: Callable | None = None,
             timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The cached file of ``spec``, downloaded and verified first if it is not there.

    Parameters
    ----------
    spec : Download
    what : str
        What needs the file, for messages (``"'tv-lraspp'"``, ``"SAM vit_b"``).
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` while downloading.
    fetch : callable, optional
        ``fetch(url, destination, progress)`` replaces :func:`fetch_url`
        (tests pass their own and never touch the network).
    timeout : float
        Seconds to wait for the connection and for each chunk.

    Raises
    ------
    WeightsUnavailable
        When the download fails (offline, timeout, blocked); names the file,
        its size and where to put it. Remembered for :data:`FAILURE_MEMORY_S`.
    ValueError
        When the downloaded file's size or hash is wrong (nothing is kept).
    """
    path = spec.path
    if path.is_file():
        return path
    memory = (spec.url, str(path))
    with _failures_lock:
        failed = _recent_failures.get(memory)
    if failed is not None and time.monotonic() - failed[0] < FAILURE_MEMORY_S:
        raise WeightsUnavailable(spec.missing_message(what, failed[1]))
    tmp = None
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
            os.close(handle)
            tmp = Path(name)
            if fetch is None:
                fetch_url(spec.url, tmp, progress, timeout)
            else:
                fetch(spec.url, tmp, progress)
        except (OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
            reason = str(getattr(error, "reason", "") or error) or type(error).__name__
            with _failures_lock:
                _recent_failures[memory] = (time.monotonic(), reason)
            raise WeightsUnavailable(spec.missing_message(what, reason)) from None
        verify(tmp, spec)
        os.replace(tmp, path)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    with _failures_lock:
        _recent_failures.pop(memory, None)
    return path


# ---------------------------------------------------------------------------- which method downloads what

_method_downloads: dict[str, tuple[dict, str | None, object]] = {}


def declare_download(method: str, files: Download | dict, *, param=None) -> None:
    """Record that registered ``method`` downloads ``files`` on first use (pages read it: :func:`download_for`).

    ``files`` is one :class:`Download`, or a dict with one per value of the
    method's :class:`~seglib.registry.Param` ``param`` (SAM: one checkpoint
    per ``model_type``; the Param's default picks the file when no value is given).
    """
    if isinstance(files, Download):
        _method_downloads[method] = ({None: files}, None, None)
    else:
        _method_downloads[method] = (dict(files), param.name, param.default)


def download_for(method: str, params: dict | None = None) -> Download | None:
    """The file ``method`` would download with ``params`` (its defaults where not given), or None if none.

    >>> download_for("tv-lraspp").size_mb  # doctest: +SKIP
    12.49
    """
    if method not in _method_downloads:
        return None
    files, name, default = _method_downloads[method]
    return files.get(None if name is None else (params or {}).get(name, default))


def forget_failures() -> None:
    """Forget remembered download failures (tests; a "retry" button)."""
    with _failures_lock:
        _recent_failures.clear()


# ---------------------------------------------------------------------------- the user's weights


@dataclass(frozen=True)
class Source:
    """Weights to read: ``data`` (a path or bytes) and a ``key`` that names them, compared and hashed by key only.

    The key is (owner, resolved path, modification time, size) for a file, or
    (owner, "bytes", content hash) for bytes, so a model cache rebuilds when
    the file changes and shares one model among callers of the same weights.
    """

    key: tuple
    data: Path | bytes = field(compare=False, repr=False)


def read_capped(stream, limit: int | None = None) -> bytes:
    """All of a binary file object, or ``ValueError`` as soon as it passes ``limit`` bytes
    (default :data:`MAX_IN_MEMORY_BYTES`)."""
    limit = MAX_IN_MEMORY_BYTES if limit is None else limit
    parts, total = [], 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - total)):
        if not isinstance(chunk, (bytes, bytearray)):
            raise TypeError(f"weights file object returned {type(chunk).__name__}: expected a binary file "
                            "(open it with 'rb')")
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            raise ValueError(_too_large(getattr(stream, "name", "the given file object"), f"more than {limit}",
                                        limit))
    return b"".join(parts)


def _too_large(name, size: str, limit: int) -> str:
    return (f"weights from {name} are {size} bytes; weights given as bytes or a file object may be at most "
            f"{limit / 2**20:.0f} MB (they are held in memory): pass the file's path instead")


def user_source(weights, owner: str, *, hint: str = "") -> Source:
    """The :class:`Source` of a ``weights=`` argument: a path, bytes or a binary file object.

    Parameters
    ----------
    owner : str
        The model the weights are for; part of the key.
    hint : str
        Appended to the "no such file" error (e.g. how to get the official file).

    Raises
    ------
    FileNotFoundError
        A path that is not a file.
    ValueError
        Bytes or a file object larger than :data:`MAX_IN_MEMORY_BYTES`.
    TypeError
        Anything else.
    """
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"weights={str(weights)!r}: no such file. "
                                    + (hint or "Expected a .safetensors file or a state dict saved with torch.save."))
        path = path.resolve()
        stat = path.stat()
        return Source((owner, str(path), stat.st_mtime_ns, stat.st_size), path)
    if hasattr(weights, "read"):  # an open binary file, e.g. a Streamlit upload
        weights = read_capped(weights)
    if isinstance(weights, (bytes, bytearray, memoryview)):
        data = bytes(weights)
        if len(data) > MAX_IN_MEMORY_BYTES:
            raise ValueError(_too_large("the given bytes", str(len(data)), MAX_IN_MEMORY_BYTES))
        return Source((owner, "bytes", hashlib.blake2b(data, digest_size=16).hexdigest()), data)
    raise TypeError(f"weights of type {type(weights).__name__} is not allowed: expected None (the method's own "
                    "weights), a path, bytes or a binary file object")
