"""The ``sam2`` and ``sam2-auto`` methods: SAM 2.1 prompted with clicks and boxes, or with a grid of clicks.

Both answer exactly as ``sam`` and ``sam-auto`` do (same prompts, same
candidates with predicted IoU and stability, same refinement with the
previous low-resolution mask, same instant re-filtering of stored raw
masks) and share their image-embedding cache; only the network differs.
Decoding is the ``sam2`` package's own: :class:`SAM2ImagePredictor` for
prompts and :class:`SAM2AutomaticMaskGenerator` for the grid, run on the
cached embedding instead of re-encoding the picture.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from ... import progress
from ...interactive import working_prompts
from ...prompts import Prompts
from ...registry import Param, register
from .auto import _AUTO_BATCH, AUTO_PARAMS, RawMasks, auto_result, raw_masks
from .embedding import Embedding, image_embedding
from .model import _MASK_THRESHOLD, _STABILITY_OFFSET, decoder_threads
from .prompt import CANDIDATE, MULTIMASK, SAM_INPUTS, Decoded, SamSegmentation, check_mask_input, prompt_result
from .sam2_model import SAM2_REFERENCE, SIZES, LoadedSam2, load_sam2

MODEL_SIZE = Param(
    "model_size", "tiny", choices=tuple(SIZES),
    help="Size of SAM 2.1's image encoder: tiny (39M parameters, a 156 MB download) answers a first click "
         "in about two seconds on a laptop CPU; small (46M, 184 MB), base+ (81M, 324 MB) and large "
         "(224M, 898 MB) are a little more accurate and slower.",
)
FAMILY = "SAM 2.1"


def decode(loaded: LoadedSam2, embedding: Embedding, prompts: Prompts, *, multimask: bool = True,
           mask_input: np.ndarray | None = None) -> Decoded:
    """Run SAM 2.1's prompt encoder and mask decoder (the package's predictor) on a cached embedding.

    Parameters
    ----------
    prompts : Prompts
        In the pixels of the embedded image (``embedding.original_size``).
    multimask : bool
        Three candidate masks (for ambiguous prompts such as one click) or one.
    mask_input : ndarray, optional
        Low-resolution logits of an earlier prediction, fed back to refine it.
    """
    import torch
    from sam2.utils.amg import calculate_stability_score

    start = time.perf_counter()
    refine = check_mask_input(mask_input, loaded.image_size // 4)
    points = labels = None
    if len(prompts.points):
        points, labels = prompts.points.astype(np.float32), prompts.labels.astype(np.int32)
    box = None if prompts.box is None else np.asarray(prompts.box, dtype=np.float32)
    with loaded.lock, torch.inference_mode(), decoder_threads():
        loaded.predictor.use(embedding.features, embedding.original_size)
        logits, iou, low_res = loaded.predictor.predict(
            point_coords=points, point_labels=labels, box=box, mask_input=None if refine is None else refine[0],
            multimask_output=multimask, return_logits=True)
        loaded.predictor.reset_predictor()
        stability = calculate_stability_score(torch.from_numpy(logits), _MASK_THRESHOLD, _STABILITY_OFFSET)
    return Decoded(logits=logits, predicted_iou=iou, stability=stability.numpy(), low_res=low_res,
                   seconds=time.perf_counter() - start)


@register(
    "sam2",
    title="Segment Anything 2.1 (SAM 2.1)",
    family="interactive",
    kind="binary",
    params=(MODEL_SIZE, MULTIMASK, CANDIDATE),
    description="Meta's second Segment Anything: a hierarchical image encoder (Hiera) that is lighter and, in "
                "its authors' tests, more accurate on single images than SAM's. It embeds the picture once; a "
                "light decoder turns each click or box into three candidate masks with its own estimate of "
                "their quality (predicted IoU) and a stability score.",
    references=(SAM2_REFERENCE,),
    inputs=("points", "box", "mask_input") + SAM_INPUTS,
    supplied=("original_shape",),
    prompt_need="point or box",
)
def sam2(image, *, points=None, box=None, original_shape=None, weights=None, config=None, mask_input=None,
         model_size, multimask, candidate):
    prompts, notes = working_prompts(image, points, box, original_shape, method="sam2")
    loaded = load_sam2(model_size, weights, config=config)
    embedding, hit = image_embedding(loaded, image)
    decoded = decode(loaded, embedding, prompts, multimask=multimask, mask_input=mask_input)
    return prompt_result(image, prompts, notes, loaded.name, embedding, hit, decoded, candidate,
                         refined=mask_input is not None, family=FAMILY)


# ----------------------------------------------------------------------------- automatic masks


@functools.cache
def _generator_class():
    """The package's automatic mask generator, keeping every mask and reporting progress per batch.

    Each batch's masks leave the package's ``_process_batch`` as run lengths
    in Python lists, which its ``MaskData.cat`` then deep-copies number by
    number, twice (into the crop's data, then the image's): for detailed
    masks most of the generator's time (94 of 131 s for an 8 x 8 grid of
    random-weight SAM 2.1 tiny masks at 1024 x 768). Here each batch's run
    lengths are compressed (pycocotools, the same RLE ``output_mode="coco_rle"``
    gives) as they arrive, so the copies copy a few bytes.
    """
    from pycocotools import mask as coco_mask
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    class RawMaskGenerator(SAM2AutomaticMaskGenerator):
        def __init__(self, loaded: LoadedSam2, points_per_side: int):
            # No thresholds and no NMS (IoU > 1 never happens): filter_masks applies them later, instantly.
            super().__init__(loaded.model, points_per_side=points_per_side, points_per_batch=_AUTO_BATCH,
                             pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0,
                             mask_threshold=_MASK_THRESHOLD, stability_score_offset=_STABILITY_OFFSET,
                             output_mode="coco_rle")
            self.predictor = loaded.predictor  # holds the cached embedding (set by the caller)
            self.total, self.done = points_per_side ** 2, 0

        def _process_batch(self, points, *args, **kwargs):
            data = super()._process_batch(points, *args, **kwargs)
            data["areas"] = [sum(rle["counts"][1::2]) for rle in data["rles"]]  # generate()'s area_from_rle
            data["rles"] = [coco_mask.frPyObjects(rle, *rle["size"]) for rle in data["rles"]]
            self.done += len(points)
            progress.report(self.done / self.total,
                            f"SAM 2.1 automatic masks: {self.done} of {self.total} grid points decoded")
            return data

        def raw(self, image):
            """The package's masks of ``image`` (``_generate_masks``: what ``generate`` lists), RLE compressed."""
            return self._generate_masks(image)

    return RawMaskGenerator


def generate_raw_masks(loaded: LoadedSam2, embedding: Embedding, points_per_side: int) -> RawMasks:
    """Every mask SAM 2.1 proposes for a grid of clicks (three per click), unfiltered, compressed."""
    import torch

    start = time.perf_counter()
    height, width = embedding.original_size
    generator = _generator_class()(loaded, points_per_side)
    # The generator crops the picture it is given and embeds the crop; its one crop here is the whole
    # embedded picture, whose embedding is already in the predictor, so a stand-in of that size suffices.
    stand_in = np.broadcast_to(np.zeros(1, dtype=np.uint8), (height, width, 3))
    with loaded.lock, torch.inference_mode(), decoder_threads():
        loaded.predictor.use(embedding.features, embedding.original_size)
        data = generator.raw(stand_in)
        loaded.predictor.reset_predictor()
    rles, area = list(data["rles"]), np.array(data["areas"], dtype=np.int64)
    keep = np.flatnonzero(area > 0)
    column = lambda name, width=(): np.asarray(data[name], dtype=np.float64).reshape(-1, *width)[keep]  # noqa: E731
    return RawMasks(
        rles=[{"size": list(rles[k]["size"]), "counts": rles[k]["counts"]} for k in keep],
        predicted_iou=column("iou_preds"), stability=column("stability_score"), area=area[keep],
        boxes=column("boxes", (4,)), points=column("points", (2,)),
        grid=generator.point_grids[0] * np.array([width, height]), shape=(height, width),
        seconds=time.perf_counter() - start)


@register(
    "sam2-auto",
    title="Segment Anything 2.1: everything (automatic masks)",
    family="interactive",
    kind="instance",
    params=(MODEL_SIZE, *AUTO_PARAMS),
    description="Segment everything with SAM 2.1: it is prompted with a grid of single clicks, each giving "
                "three masks. Masks it doubts (low predicted IoU), unstable ones and duplicates are filtered "
                "out, and the rest become instances. The raw masks are kept, so the filter sliders re-filter "
                "without running the network.",
    references=(SAM2_REFERENCE,),
    inputs=SAM_INPUTS,
    supplied=("original_shape",),
)
def sam2_auto(image, *, original_shape=None, weights=None, config=None, model_size, points_per_side,
              pred_iou_thresh, stability_score_thresh, box_nms_thresh, min_mask_region_area) -> SamSegmentation:
    loaded = load_sam2(model_size, weights, config=config)
    raw, embedding, hit, raw_hit = raw_masks(loaded, image, points_per_side, generate=generate_raw_masks)
    return auto_result(image, raw, embedding, hit, raw_hit, pred_iou_thresh=pred_iou_thresh,
                       stability_score_thresh=stability_score_thresh, box_nms_thresh=box_nms_thresh,
                       min_mask_region_area=min_mask_region_area, family=FAMILY)
