"""Where SAM's weights come from: the official checkpoints, the environment variable, the user's file.

``weights=`` names a checkpoint (a path, bytes or a binary file, see
:func:`seglib.deep.sources.user_source`). Without it, ``$SEGDASH_SAM_WEIGHTS``
is used when set, else the official checkpoint in torch's hub cache
(``torch.hub.get_dir()/checkpoints``), downloaded on first use from
``dl.fbaipublicfiles.com`` by :func:`seglib.deep.sources.download` with a
progress callback and checked against its published size and MD5 (the hex
in each file name is the start of its MD5). Offline and uncached, a
:class:`SamWeightsMissing` error says within seconds which file to put where.

Each official checkpoint is one :class:`~seglib.deep.sources.Download` in
:data:`CHECKPOINTS`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..sources import Download, Source, WeightsUnavailable, download, print_progress, user_source

BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
WEIGHTS_ENV = "SEGDASH_SAM_WEIGHTS"
MODEL_TYPES = ("vit_b", "vit_l", "vit_h")

SamWeightsMissing = WeightsUnavailable
"""No SAM checkpoint is available and none could be downloaded (the error every download gives)."""


def _official(file_name: str, size: int, md5: str) -> Download:
    return Download(file_name, BASE_URL + file_name, size, md5, algorithm="md5", exact_size=True, env=WEIGHTS_ENV)


CHECKPOINTS = {
    "vit_b": _official("sam_vit_b_01ec64.pth", 375_042_383, "01ec64d29a2fca3f0661936605ae66f8"),
    "vit_l": _official("sam_vit_l_0b3195.pth", 1_249_524_607, "0b3195507c641ddb6910d2bb5adee89c"),
    "vit_h": _official("sam_vit_h_4b8939.pth", 2_564_550_879, "4b8939a88964f0f4ff5f5b2642c598a6"),
}


def _checkpoint(model_type: str) -> Download:
    if model_type not in CHECKPOINTS:
        raise ValueError(f"model_type={model_type!r} is not allowed: expected one of {', '.join(MODEL_TYPES)}")
    return CHECKPOINTS[model_type]


def checkpoint_path(model_type: str) -> Path:
    """Where the official checkpoint of ``model_type`` is (or would be) cached."""
    return _checkpoint(model_type).path


def find_weights(model_type: str = "vit_b") -> Path | None:
    """The weights file ``sam`` would use without ``weights=``, or None if it must be downloaded first."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    path = checkpoint_path(model_type)
    return path if path.is_file() else None


def how_to_get_weights(model_type: str = "vit_b") -> str:
    """One sentence saying which file to download and where to put it."""
    return _checkpoint(model_type).instructions()


def download_checkpoint(model_type: str = "vit_b", *, progress: Callable[[int, int], None] | None = print_progress,
                        fetch: Callable | None = None) -> Path:
    """The official checkpoint of ``model_type`` in torch's cache, downloaded and verified first if needed.

    See :func:`seglib.deep.sources.download` (``fetch`` replaces the network
    in tests; :class:`SamWeightsMissing` offline; ``ValueError`` for a
    download of the wrong size or MD5, which is not kept).
    """
    return download(_checkpoint(model_type), f"SAM {model_type}", progress=progress, fetch=fetch)


def weights_source(model_type: str, weights=None, *, fetch: Callable | None = None) -> Source:
    """The checkpoint to load: ``weights``, ``$SEGDASH_SAM_WEIGHTS``, the cache, or a fresh download."""
    if weights is None:
        env = os.environ.get(WEIGHTS_ENV)
        if env and not Path(env).is_file():
            raise FileNotFoundError(f"{WEIGHTS_ENV}={env!r}: no such file")
        weights = env or download_checkpoint(model_type, fetch=fetch)
    return user_source(weights, "sam", hint=how_to_get_weights(model_type))
