"""SAM's image embeddings: computed once per image and model, kept in memory and optionally on disk.

The embedding is keyed by the working image's content hash and the model's
key (architecture and weights file). An in-memory LRU keeps the last few;
with ``$SEGDASH_SAM_EMBEDDING_DIR`` set they are also stored there as
safetensors (bounded, least recently used pruned first), so a restarted app
skips the encoder for images it has seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...cache import fingerprint
from ...imaging import as_uint8, to_rgb
from ..lru import LRUCache
from .model import LoadedSam

EMBEDDING_DIR_ENV = "SEGDASH_SAM_EMBEDDING_DIR"
"""Folder where image embeddings are also kept on disk, so they outlive the process (unset: memory only)."""
_MAX_EMBEDDINGS = 8         # 4 MB each
_MAX_DISK_EMBEDDINGS = 256  # 1 GB at most in the embedding folder; the least recently used go first

_embeddings = LRUCache(_MAX_EMBEDDINGS)
_encode_lock = threading.Lock()
embedding_stats = _embeddings.stats
"""Hits and misses of the image-embedding cache (a miss runs the image encoder)."""


@dataclass(frozen=True, eq=False)
class Embedding:
    """SAM's image embedding of one image, with the sizes needed to map prompts and masks."""

    features: Any                  # torch.Tensor (1, C, h, w); SAM 2.1: a dict of named tensors
    input_size: tuple[int, int]    # the image resized for the encoder, before padding
    original_size: tuple[int, int]  # the image's (H, W)
    seconds: float


def image_embedding(loaded: LoadedSam, image: np.ndarray) -> tuple[Embedding, bool]:
    """The embedding of ``image`` (computed once per image content and model); and whether it was cached.

    ``loaded`` is a loaded SAM or SAM 2.1; its ``encode(rgb)`` runs the image encoder.
    """
    key = (fingerprint(image), loaded.key)
    embedding = _embeddings.get(key)
    if embedding is not None:
        return embedding, True
    with _encode_lock:  # one encoder run at a time: a second request for the same image waits and reuses it
        embedding = _embeddings.peek(key)
        if embedding is not None:
            return embedding, True
        stored = _embedding_file(key)
        embedding = _read_embedding(stored, loaded.device) if stored is not None else None
        if embedding is not None:
            _embeddings.put(key, embedding)
            return embedding, True
        start = time.perf_counter()
        rgb = as_uint8(to_rgb(image))
        features, input_size = loaded.encode(rgb)
        embedding = Embedding(features, tuple(input_size), tuple(rgb.shape[:2]), time.perf_counter() - start)
        _embeddings.put(key, embedding)
        if stored is not None:
            _write_embedding(stored, embedding)
        return embedding, False


def _embedding_file(key: tuple) -> Path | None:
    """Where the embedding of ``key`` (image fingerprint, model key) lives on disk; None when not enabled."""
    folder = os.environ.get(EMBEDDING_DIR_ENV)
    if not folder:
        return None
    name = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    return Path(folder).expanduser() / f"{name}.safetensors"


def _read_embedding(path: Path, device) -> Embedding | None:
    """A stored embedding (safetensors: data only), or None when missing or unreadable (it is then recomputed)."""
    import torch
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            meta = file.metadata() or {}
            tensors = {name: file.get_tensor(name).to(device) for name in file.keys()}
            for name in json.loads(meta.get("channels_last", "[]")):  # stored contiguous: the layout comes back
                tensors[name] = tensors[name].contiguous(memory_format=torch.channels_last)
            features = tensors["features"] if set(tensors) == {"features"} else tensors
            embedding = Embedding(features, tuple(json.loads(meta["input_size"])),
                                  tuple(json.loads(meta["original_size"])), float(meta["seconds"]))
        os.utime(path)  # recently used: pruned last
        return embedding
    except Exception:  # noqa: BLE001 - missing, truncated or foreign: the encoder runs and rewrites it
        return None


def _write_embedding(path: Path, embedding: Embedding) -> None:
    """Store ``embedding`` atomically and keep the folder within :data:`_MAX_DISK_EMBEDDINGS` files.

    A folder that cannot be written only costs the encoder run next time: the error is not raised.
    """
    import torch
    from safetensors.torch import save_file

    tensors = embedding.features if isinstance(embedding.features, dict) else {"features": embedding.features}
    channels_last = [name for name, t in tensors.items()
                     if t.ndim == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)]
    meta = {"input_size": json.dumps(list(embedding.input_size)),
            "original_size": json.dumps(list(embedding.original_size)), "seconds": repr(embedding.seconds),
            "channels_last": json.dumps(channels_last)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, str(partial), metadata=meta)
        partial.replace(path)
        files = sorted(path.parent.glob("*.safetensors"), key=lambda f: f.stat().st_mtime_ns)
        for old in files[:max(0, len(files) - _MAX_DISK_EMBEDDINGS)]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


