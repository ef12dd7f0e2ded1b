"""The ``sam-auto`` method: SAM prompted with a grid of clicks, its masks filtered into instances.

Every raw mask (three per grid point) is kept, compressed, with its predicted
IoU, stability, area and box, so the filter sliders re-filter without
running the decoder (:func:`filter_masks`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ... import progress
from ...cache import fingerprint
from ...prompts import Prompts, draw_prompts
from ...registry import Param, register
from ...result import Curve, Points
from .embedding import Embedding, image_embedding
from ..lru import LRUCache
from .model import _MASK_THRESHOLD, _STABILITY_OFFSET, LoadedSam, decoder_threads, load_sam, upscale_masks
from .prompt import MODEL_TYPE, SAM_INPUTS, SAM_REFERENCE, SamSegmentation, _timing_notes

_AUTO_BATCH = 16            # grid points decoded together by sam-auto
_MAX_RAW_MASKS = 4          # compressed masks of one image each
_raw_masks = LRUCache(_MAX_RAW_MASKS)


@dataclass(frozen=True, eq=False)
class RawMasks:
    """Every mask SAM proposed from a grid of points, before any filtering.

    Masks are COCO RLEs (pycocotools) at the image's size; the other fields
    have one entry per mask.
    """

    rles: list
    predicted_iou: np.ndarray
    stability: np.ndarray
    area: np.ndarray
    boxes: np.ndarray        # (N, 4) x0, y0, x1, y1
    points: np.ndarray       # (N, 2) the grid point that produced each mask
    grid: np.ndarray         # (P, 2) all grid points
    shape: tuple[int, int]
    seconds: float


def point_grid(points_per_side: int, shape: tuple[int, int]) -> np.ndarray:
    """SAM's evenly spaced ``points_per_side`` x ``points_per_side`` grid, as (x, y) in pixels of ``shape``."""
    offset = 1 / (2 * points_per_side)
    steps = np.linspace(offset, 1 - offset, points_per_side)
    xs, ys = np.meshgrid(steps, steps)
    return np.stack([xs.ravel() * shape[1], ys.ravel() * shape[0]], axis=1)


def _decode_grid_batch(loaded: LoadedSam, embedding: Embedding, points: np.ndarray):
    """Three masks per point for a batch of single-click prompts: (logits, predicted IoU), flattened."""
    import torch
    from segment_anything.utils.transforms import ResizeLongestSide

    model, device = loaded.model, loaded.device
    coords = ResizeLongestSide(loaded.config.image_size).apply_coords(points, embedding.original_size)
    coords = torch.as_tensor(coords, dtype=torch.float32, device=device)[:, None, :]
    labels = torch.ones(len(points), 1, dtype=torch.int, device=device)
    sparse, dense = model.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
    low_res, iou = model.mask_decoder(image_embeddings=embedding.features, image_pe=model.prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                      multimask_output=True)
    logits = upscale_masks(model, low_res, embedding)
    return logits.flatten(0, 1), iou.flatten()


def generate_raw_masks(loaded: LoadedSam, embedding: Embedding, points_per_side: int) -> RawMasks:
    """Decode three masks for every point of the grid and keep them all, compressed.

    Unlike ``SamAutomaticMaskGenerator``, nothing is thresholded here: the
    predicted IoU, stability, area and box of each mask are stored, so
    :func:`filter_masks` can apply any thresholds later without the decoder.
    """
    import torch
    from pycocotools import mask as coco_mask
    from segment_anything.utils.amg import batched_mask_to_box, calculate_stability_score

    start = time.perf_counter()
    shape = embedding.original_size
    grid = point_grid(points_per_side, shape)
    rles, ious, stabilities, areas, boxes, sources = [], [], [], [], [], []
    with torch.inference_mode(), decoder_threads():
        for first in range(0, len(grid), _AUTO_BATCH):
            batch = grid[first:first + _AUTO_BATCH]
            logits, iou = _decode_grid_batch(loaded, embedding, batch)
            done = first + len(batch)
            progress.report(done / len(grid), f"SAM automatic masks: {done} of {len(grid)} grid points decoded")
            masks = logits > _MASK_THRESHOLD
            area = masks.flatten(1).sum(1)
            keep = area > 0
            if not keep.any():
                continue
            masks, logits = masks[keep], logits[keep]
            stabilities.append(calculate_stability_score(logits, _MASK_THRESHOLD, _STABILITY_OFFSET).cpu().numpy())
            ious.append(iou[keep].float().cpu().numpy())
            areas.append(area[keep].cpu().numpy())
            boxes.append(batched_mask_to_box(masks).cpu().numpy())
            sources.append(np.repeat(batch, 3, axis=0)[keep.cpu().numpy()])
            stack = np.asfortranarray(masks.permute(1, 2, 0).cpu().numpy().astype(np.uint8))
            rles.extend(coco_mask.encode(stack))
    join = lambda parts, width: np.concatenate(parts) if parts else np.zeros((0,) + width)  # noqa: E731
    return RawMasks(rles=rles, predicted_iou=join(ious, ()), stability=join(stabilities, ()),
                    area=join(areas, ()).astype(np.int64), boxes=join(boxes, (4,)), points=join(sources, (2,)),
                    grid=grid, shape=tuple(shape), seconds=time.perf_counter() - start)


def filter_masks(raw: RawMasks, *, pred_iou_thresh: float, stability_score_thresh: float, box_nms_thresh: float,
                 min_mask_region_area: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Apply SAM's filters to raw masks and paint the survivors into one instance map.

    Masks below either threshold or smaller than ``min_mask_region_area``
    go; box non-maximum suppression (scored by predicted IoU) removes
    duplicates; the rest are painted largest first, so smaller masks lie on
    top. Islands of a label smaller than ``min_mask_region_area`` are erased,
    and masks that end up hidden are dropped.

    Returns
    -------
    labels : ndarray of int32, (H, W)
        1 = the largest visible mask, then by decreasing area; 0 = no mask.
    kept : ndarray of int
        Indices into ``raw`` of the painted masks, in label order.
    """
    import torch
    from pycocotools import mask as coco_mask
    from torchvision.ops import nms

    keep = np.flatnonzero((raw.predicted_iou >= pred_iou_thresh) & (raw.stability >= stability_score_thresh)
                          & (raw.area >= max(min_mask_region_area, 1)))
    if keep.size > 1:
        survivors = nms(torch.as_tensor(raw.boxes[keep], dtype=torch.float32),
                        torch.as_tensor(raw.predicted_iou[keep], dtype=torch.float32), float(box_nms_thresh))
        keep = keep[survivors.numpy()]
    kept = keep[np.argsort(-raw.area[keep], kind="stable")]
    labels = np.zeros(raw.shape, dtype=np.int32)
    for label, index in enumerate(kept, start=1):
        labels[coco_mask.decode(raw.rles[index]).astype(bool)] = label
    if min_mask_region_area > 0 and kept.size:
        labels = _erase_islands(labels, min_mask_region_area)
    return _drop_hidden(labels, kept)


def _drop_hidden(labels: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber labels 1..K over the masks still visible after painting (others lie fully under smaller ones)."""
    visible = np.flatnonzero(np.bincount(labels.ravel(), minlength=kept.size + 1)[1:])
    lookup = np.zeros(kept.size + 1, dtype=np.int32)
    lookup[visible + 1] = np.arange(1, visible.size + 1)
    return lookup[labels], kept[visible]


def _erase_islands(labels: np.ndarray, min_area: int) -> np.ndarray:
    from skimage.measure import label as connected

    pieces = connected(labels, background=0, connectivity=1)
    sizes = np.bincount(pieces.ravel())
    small = sizes < min_area
    small[0] = False
    return np.where(small[pieces], 0, labels).astype(np.int32)


def raw_masks(loaded: LoadedSam, image: np.ndarray, points_per_side: int,
              generate: Callable | None = None) -> tuple[RawMasks, Embedding, bool, bool]:
    """Raw masks of ``image`` (cached per image, model and grid); also the embedding and both cache hits.

    ``generate(loaded, embedding, points_per_side)`` makes them on a cache
    miss (default :func:`generate_raw_masks`, SAM 1's).
    """
    key = (fingerprint(image), loaded.key, int(points_per_side))
    embedding, hit = image_embedding(loaded, image)
    raw = _raw_masks.get(key)
    if raw is not None:
        return raw, embedding, hit, True
    raw = (generate or generate_raw_masks)(loaded, embedding, points_per_side)
    _raw_masks.put(key, raw)
    return raw, embedding, hit, False


def _histogram(values: np.ndarray, threshold: float, name: str) -> Curve:
    counts, edges = np.histogram(values, bins=50, range=(min(0.0, float(values.min(initial=0))), 1.0))
    return Curve((edges[:-1] + edges[1:]) / 2, {"raw masks": counts.astype(np.float64)}, {"threshold": threshold},
                 name, "masks")


def _mask_cloud(raw: RawMasks, kept: np.ndarray) -> Points:
    labels = np.zeros(len(raw.area), dtype=int)
    labels[kept] = 1
    cloud = np.stack([raw.predicted_iou, raw.stability, np.log10(np.maximum(raw.area, 1))], axis=1)
    if len(cloud) > 3000:
        pick = np.random.default_rng(0).choice(len(cloud), 3000, replace=False)
        cloud, labels = cloud[pick], labels[pick]
    return Points(cloud, labels, axis_names=("predicted IoU", "stability", "log10 area"))


AUTO_PARAMS = (
    Param("points_per_side", 16, low=4, high=64,
          help="SAM is clicked at every point of an n x n grid (three masks per click). 32 is SAM's "
               "default and finds small things; each doubling costs four times the decoder time."),
    Param("pred_iou_thresh", 0.86, low=0.0, high=1.0, step=0.01,
          help="Keep masks whose predicted IoU (SAM's own quality estimate) is at least this. Moving "
               "it re-filters the stored masks instantly."),
    Param("stability_score_thresh", 0.92, low=0.0, high=1.0, step=0.01,
          help="Keep masks that barely change when the logit cut-off moves by one (IoU of the masks "
               "at -1 and +1). Lower it to keep fuzzier objects."),
    Param("box_nms_thresh", 0.7, low=0.05, high=1.0, step=0.05,
          help="Two masks whose boxes overlap more than this (IoU) are duplicates: the one with the "
               "lower predicted IoU goes. Lower values remove more."),
    Param("min_mask_region_area", 0, low=0, high=20000, step=10,
          help="Drop masks smaller than this (working-image pixels) and erase islands smaller than "
               "this from the result."),
)
"""The grid and filter sliders of automatic masks (SAM 1 and 2.1)."""


@register(
    "sam-auto",
    title="Segment Anything: everything (automatic masks)",
    family="interactive",
    kind="instance",
    params=(
        MODEL_TYPE,
        *AUTO_PARAMS,
    ),
    description="Segment everything: SAM is prompted with a grid of single clicks, each giving three "
                "masks. Masks SAM itself doubts (low predicted IoU), unstable ones and duplicates are "
                "filtered out, and the rest become instances. The raw masks are kept, so the filter "
                "sliders re-filter without running the network.",
    references=(SAM_REFERENCE,),
    inputs=SAM_INPUTS,
    supplied=("original_shape",),
)
def sam_auto(image, *, original_shape=None, weights=None, config=None, model_type, points_per_side,
             pred_iou_thresh, stability_score_thresh, box_nms_thresh, min_mask_region_area):
    loaded = load_sam(model_type, weights, config=config)
    raw, embedding, hit, raw_hit = raw_masks(loaded, image, points_per_side)
    return auto_result(image, raw, embedding, hit, raw_hit, pred_iou_thresh=pred_iou_thresh,
                       stability_score_thresh=stability_score_thresh, box_nms_thresh=box_nms_thresh,
                       min_mask_region_area=min_mask_region_area)


def auto_result(image, raw: RawMasks, embedding: Embedding, hit: bool, raw_hit: bool, *, pred_iou_thresh: float,
                stability_score_thresh: float, box_nms_thresh: float, min_mask_region_area: int,
                family: str = "SAM") -> SamSegmentation:
    """The result of automatic masks (SAM 1 or 2.1): ``raw`` filtered into instances, with its stages.

    ``hit`` and ``raw_hit`` say whether the embedding and the raw masks came
    from their caches; ``family`` names the model in the timing note.
    """
    start = time.perf_counter()
    labels, kept = filter_masks(raw, pred_iou_thresh=pred_iou_thresh, stability_score_thresh=stability_score_thresh,
                                box_nms_thresh=box_nms_thresh, min_mask_region_area=min_mask_region_area)
    filter_s = time.perf_counter() - start
    # The library's own grid, not user clicks: built directly (parse_prompts caps user points at a few dozen).
    grid = Prompts(points=raw.grid, labels=np.ones(len(raw.grid), dtype=int), box=None, shape=raw.shape)
    stages = {"point grid": draw_prompts(image, grid, radius=max(1, round(max(raw.shape) / 300))),
              "predicted IoU of the raw masks": _histogram(raw.predicted_iou, pred_iou_thresh, "predicted IoU"),
              "stability of the raw masks": _histogram(raw.stability, stability_score_thresh, "stability score"),
              "raw masks (1 = kept)": _mask_cloud(raw, kept)}
    notes = (_timing_notes(embedding, hit, 0.0 if raw_hit else raw.seconds, what="grid decoding", model=family)
             + [("Raw masks from the cache: only the filters ran" if raw_hit else
                 f"{len(raw.grid)} grid points gave {len(raw.area)} raw masks")
                + f"; {kept.size} kept after the thresholds and NMS (filtering {filter_s * 1000:.0f} ms)."])
    return SamSegmentation(
        labels=labels, stages=stages, notes=notes,
        candidates=[{"predicted_iou": float(raw.predicted_iou[i]), "stability": float(raw.stability[i]),
                     "area": int(raw.area[i])} for i in kept],
        timings={"encoder_s": 0.0 if hit else embedding.seconds, "cache_hit": hit,
                 "generate_s": 0.0 if raw_hit else raw.seconds, "raw_cached": raw_hit, "filter_s": filter_s,
                 "decoder_s": 0.0 if raw_hit else raw.seconds},
    )
