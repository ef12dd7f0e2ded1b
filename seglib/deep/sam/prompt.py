"""The ``sam`` method: SAM prompted with clicks and boxes, decoded on a cached embedding.

A light prompt encoder + mask decoder turns each prompt into three candidate
masks with SAM's own quality estimate (predicted IoU) and a stability
score; the image encoder ran once for the image (:mod:`.embedding`). Each
result says how long the encoder and decoder took and whether the embedding
came from the cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...interactive import working_prompts
from ...prompts import Prompts, draw_prompts
from ...registry import Param, register
from ...result import Segmentation
from .embedding import Embedding, image_embedding
from .model import _MASK_THRESHOLD, _STABILITY_OFFSET, LoadedSam, decoder_threads, load_sam, upscale_masks
from .weights import MODEL_TYPES

@dataclass
class Decoded:
    """Masks for one prompt: logits at the image's size, predicted IoU, stability and low-res logits."""

    logits: np.ndarray       # (C, H, W) float32
    predicted_iou: np.ndarray  # (C,)
    stability: np.ndarray    # (C,)
    low_res: np.ndarray      # (C, s, s) float32, s = config.low_res_size
    seconds: float


def check_mask_input(mask_input, side: int) -> np.ndarray | None:
    """``mask_input`` as (1, 1, side, side) float32 logits, or ``ValueError`` naming the shape expected."""
    if mask_input is None:
        return None
    array = np.asarray(mask_input, dtype=np.float32)
    if array.shape not in ((side, side), (1, side, side)) or not np.all(np.isfinite(array)):
        raise ValueError(f"mask_input has shape {array.shape}; expected SAM's low-resolution logits of shape "
                         f"({side}, {side}) (result.low_res_logits of an earlier call), finite")
    return array.reshape(1, 1, side, side)


def decode(loaded: LoadedSam, embedding: Embedding, prompts: Prompts, *, multimask: bool = True,
           mask_input: np.ndarray | None = None) -> Decoded:
    """Run SAM's prompt encoder and mask decoder on a cached embedding.

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
    from segment_anything.utils.amg import calculate_stability_score
    from segment_anything.utils.transforms import ResizeLongestSide

    start = time.perf_counter()
    model, device = loaded.model, loaded.device
    transform = ResizeLongestSide(loaded.config.image_size)
    points = boxes = masks = None
    if len(prompts.points):
        coords = transform.apply_coords(prompts.points, embedding.original_size)
        points = (torch.as_tensor(coords, dtype=torch.float32, device=device)[None],
                  torch.as_tensor(prompts.labels, dtype=torch.int, device=device)[None])
    if prompts.box is not None:
        boxes = torch.as_tensor(transform.apply_boxes(prompts.box[None], embedding.original_size),
                                dtype=torch.float32, device=device)
    if mask_input is not None:
        masks = torch.as_tensor(check_mask_input(mask_input, loaded.config.low_res_size), device=device)
    with torch.inference_mode(), decoder_threads():
        sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=masks)
        low_res, iou = model.mask_decoder(image_embeddings=embedding.features,
                                          image_pe=model.prompt_encoder.get_dense_pe(),
                                          sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                          multimask_output=multimask)
        logits = upscale_masks(model, low_res, embedding)[0]
        stability = calculate_stability_score(logits, _MASK_THRESHOLD, _STABILITY_OFFSET)
    return Decoded(logits=logits.float().cpu().numpy(), predicted_iou=iou[0].float().cpu().numpy(),
                   stability=stability.float().cpu().numpy(), low_res=low_res[0].float().cpu().numpy(),
                   seconds=time.perf_counter() - start)


@dataclass
class SamSegmentation(Segmentation):
    """A :class:`~seglib.result.Segmentation` with SAM's extras.

    Attributes
    ----------
    low_res_logits : ndarray, (s, s), optional
        The chosen mask's low-resolution logits: pass them as
        ``mask_input=`` with the next, refined prompt.
    candidates : list of dict
        Per candidate (``sam``) or kept mask (``sam-auto``):
        ``predicted_iou``, ``stability``, ``area`` (working pixels) and, for
        ``sam``, ``chosen``.
    timings : dict
        ``encoder_s`` (0 on a cache hit), ``decoder_s``, ``cache_hit`` and,
        for ``sam-auto``, ``generate_s``, ``raw_cached``, ``filter_s``.
    """

    low_res_logits: np.ndarray | None = None
    candidates: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)


MODEL_TYPE = Param(
    "model_type", "vit_b", choices=MODEL_TYPES,
    help="Size of SAM's image encoder: vit_b (91M parameters, 375 MB) is the fastest; vit_l and vit_h "
         "(636M, 2.5 GB) are a little more accurate and several times slower on a CPU.",
)
MULTIMASK = Param("multimask", True,
                  help="Ask for three candidate masks (whole, part, sub-part). Best for a single click, which "
                       "is ambiguous; switch it off when several clicks or a box pin the object down.")
CANDIDATE = Param("candidate", "best", choices=("best", "1", "2", "3"), shown_when={"multimask": True},
                  help="Which candidate becomes the result: the one with the highest predicted IoU, or one "
                       "you pick after looking at the candidates' stages.")
SAM_INPUTS = ("weights", "config")
SAM_REFERENCE = "A. Kirillov et al., Segment Anything, ICCV 2023 (arXiv:2304.02643)."


def _timing_notes(embedding: Embedding, hit: bool, decoder_s: float, what: str = "decoder",
                  model: str = "SAM") -> list[str]:
    encoder = ("image embedding from the cache (encoder skipped)" if hit
               else f"image encoder {embedding.seconds:.2f} s (embedding cached for the next prompts)")
    return [f"{model}: {encoder}; {what} {decoder_s * 1000:.0f} ms."]


def _choose(candidate: str, decoded: Decoded) -> tuple[int, list[str]]:
    best = int(np.argmax(decoded.predicted_iou))
    if candidate == "best" or len(decoded.predicted_iou) == 1:
        note = [] if candidate in ("best", "1") else [f"Only one mask without multimask; candidate {candidate} "
                                                     "is not available."]
        return best, note
    return int(candidate) - 1, []


@register(
    "sam",
    title="Segment Anything (SAM)",
    family="interactive",
    kind="binary",
    params=(
        MODEL_TYPE,
        MULTIMASK,
        CANDIDATE,
    ),
    description="A foundation model trained on 11 million images and a billion masks to segment whatever a "
                "prompt points at. A heavy image encoder embeds the picture once; a light decoder turns each "
                "click or box into three candidate masks with its own estimate of their quality (predicted "
                "IoU) and a stability score.",
    references=(SAM_REFERENCE,),
    inputs=("points", "box", "mask_input") + SAM_INPUTS,
    supplied=("original_shape",),
    prompt_need="point or box",
)
def sam(image, *, points=None, box=None, original_shape=None, weights=None, config=None, mask_input=None,
        model_type, multimask, candidate):
    prompts, notes = working_prompts(image, points, box, original_shape, method="sam")
    loaded = load_sam(model_type, weights, config=config)
    embedding, hit = image_embedding(loaded, image)
    decoded = decode(loaded, embedding, prompts, multimask=multimask, mask_input=mask_input)
    return prompt_result(image, prompts, notes, loaded.name, embedding, hit, decoded, candidate,
                         refined=mask_input is not None)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-clip(logits, -50, 50)))`` in float64, computed in one buffer (the same values)."""
    values = logits.astype(np.float64)
    np.clip(values, -50, 50, out=values)
    np.negative(values, out=values)
    np.exp(values, out=values)
    values += 1.0
    return np.divide(1.0, values, out=values)


def prompt_result(image, prompts: Prompts, notes: list[str], name: str, embedding: Embedding, hit: bool,
                  decoded: Decoded, candidate: str, *, refined: bool, family: str = "SAM") -> SamSegmentation:
    """The result of a prompted SAM (1 or 2.1): the chosen candidate as the mask, the others as stages.

    ``name`` names the model in the notes (``"SAM vit_b"``), ``family`` in
    the timing note; ``refined`` says whether the decoder was given an earlier mask.
    """
    chosen, extra = _choose(candidate, decoded)
    masks = decoded.logits > _MASK_THRESHOLD  # each candidate thresholded once: area, stage and result
    mask = masks[chosen]
    candidates = [{"predicted_iou": float(i), "stability": float(s), "area": int(np.count_nonzero(m)),
                   "chosen": k == chosen}
                  for k, (i, s, m) in enumerate(zip(decoded.predicted_iou, decoded.stability, masks))]
    stages = {"prompts": draw_prompts(image, prompts)}
    for k, info in enumerate(candidates):
        stages[f"candidate {k + 1}: IoU {info['predicted_iou']:.2f}, stability {info['stability']:.2f}"] = masks[k]
    stages["object probability"] = probability = _sigmoid(decoded.logits[chosen])
    notes = notes + _timing_notes(embedding, hit, decoded.seconds, model=family) + extra
    notes.append(f"{name}: candidate {chosen + 1} of {len(candidates)} (predicted IoU "
                 f"{candidates[chosen]['predicted_iou']:.2f})" + ("; refined with mask_input." if refined else "."))
    return SamSegmentation(
        labels=mask.astype(np.int32), scores=probability, stages=stages, notes=notes,
        low_res_logits=decoded.low_res[chosen], candidates=candidates,
        timings={"encoder_s": 0.0 if hit else embedding.seconds, "decoder_s": decoded.seconds, "cache_hit": hit},
    )
