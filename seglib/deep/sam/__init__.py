"""Segment Anything (SAM and SAM 2.1): prompt it with clicks and boxes (``sam``, ``sam2``) or let it segment
everything (``sam-auto``, ``sam2-auto``).

SAM (Kirillov et al., 2023) splits the work in two. A large ViT *image
encoder* turns the picture into an embedding once (seconds on a CPU); a
light *prompt encoder + mask decoder* turns each prompt into masks in a
fraction of that. So the embedding is computed once per image and model
and cached; every further prompt on the same image only runs the decoder.

The package, one concern per module:

- :mod:`.weights`: the official checkpoints, ``$SEGDASH_SAM_WEIGHTS``, downloads.
- :mod:`.model`: :class:`SamConfig`, building the network, loading checked weights.
- :mod:`.embedding`: the image encoder's output, cached in memory and on disk.
- :mod:`.prompt`: the ``sam`` method (clicks and boxes -> one mask).
- :mod:`.auto`: the ``sam-auto`` method (a grid of clicks -> instances).
- :mod:`.sam2_model`: SAM 2.1's sizes, checkpoints and checked loading (Meta's ``sam2`` package builds it).
- :mod:`.sam2_methods`: the ``sam2`` and ``sam2-auto`` methods, sharing the embedding cache and results.

The names other code uses are re-exported here (``from seglib.deep import
sam; sam.load_sam(...)``). Importing this package does not import torch;
the first use does.

>>> result = seglib.segment(image, "sam", points=[(120, 80, 1)])     # doctest: +SKIP
>>> result.candidates[0]["predicted_iou"], result.timings["cache_hit"]  # doctest: +SKIP
"""

from __future__ import annotations

from ..sources import declare_download
from . import auto, embedding, model, prompt, sam2_methods, sam2_model, weights
from .auto import RawMasks, filter_masks, generate_raw_masks, point_grid, raw_masks, sam_auto
from .embedding import EMBEDDING_DIR_ENV, Embedding, embedding_stats, image_embedding
from .model import (SAM_CONFIGS, TINY_CONFIG, LoadedSam, SamConfig, build_sam, decoder_threads, load_sam,
                    save_sam_weights, upscale_masks)
from .prompt import MODEL_TYPE, SAM_INPUTS, SAM_REFERENCE, Decoded, SamSegmentation, decode, sam
from .weights import (BASE_URL, CHECKPOINTS, MODEL_TYPES, WEIGHTS_ENV, SamWeightsMissing, checkpoint_path,
                      download_checkpoint, find_weights, how_to_get_weights, weights_source)

__all__ = [
    "auto", "BASE_URL", "build_sam", "checkpoint_path", "CHECKPOINTS", "clear_caches", "decode", "Decoded",
    "decoder_threads", "download_checkpoint", "Embedding", "embedding", "EMBEDDING_DIR_ENV", "embedding_stats",
    "filter_masks", "find_weights", "generate_raw_masks", "how_to_get_weights", "image_embedding", "load_sam",
    "LoadedSam", "model", "MODEL_TYPE", "MODEL_TYPES", "point_grid", "prompt", "raw_masks", "RawMasks", "sam",
    "sam2_methods", "sam2_model", "sam_auto", "SAM_CONFIGS", "SAM_INPUTS", "SAM_REFERENCE", "SamConfig",
    "SamSegmentation", "SamWeightsMissing", "save_sam_weights", "TINY_CONFIG", "upscale_masks", "weights", "WEIGHTS_ENV", "weights_source",
]

for _method in ("sam", "sam-auto"):
    declare_download(_method, CHECKPOINTS, param=MODEL_TYPE)
for _method in ("sam2", "sam2-auto"):
    declare_download(_method, {name: size.weights for name, size in sam2_model.SIZES.items()},
                     param=sam2_methods.MODEL_SIZE)


def clear_caches(*which: str) -> None:
    """Forget ``"models"``, ``"embeddings"`` and/or ``"raw_masks"`` (all three by default).

    For tests, benchmarks and memory pressure.
    """
    caches = {"models": model._models, "embeddings": embedding._embeddings, "raw_masks": auto._raw_masks}
    for name in which or tuple(caches):
        if name not in caches:
            raise ValueError(f"which={name!r} is not allowed: expected some of {', '.join(caches)}")
        caches[name].clear()
