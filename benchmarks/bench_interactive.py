"""Latency of prompt-driven segmentation: SAM (encoder, decoder per prompt, automatic masks) and the classical methods.

Run: ``python -m benchmarks.bench_interactive [--repeats 5] [--skip-sam]``

Every row is a full :func:`seglib.segment` call on a 1024 x 768 RGB photo
(scikit-image's astronaut, resized) at default parameters.

SAM is the real ``vit_b`` architecture with RANDOM weights, saved to a
temporary file and loaded like a checkpoint: no download is needed, and the
timings do not depend on the weight values (the same operations run on the
same tensor sizes), only the masks are meaningless. Rows:

- encoder: the first prompt on an image (embedding cache emptied before each run);
- embedding on disk: the same with ``$SEGDASH_SAM_EMBEDDING_DIR`` holding the image's embedding,
  as after a restart;
- decoder per prompt: a further prompt on the same image (embedding cached);
- automatic masks: generating the raw masks of a 16 x 16 grid (embedding cached);
- re-filter: moving a filter slider of ``sam-auto`` (raw masks cached).

Classical methods are timed on a first click (stage caches emptied) and on
a next click on the same image (cached early stages reused). Torch uses at
most 2 threads.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from skimage import data, transform

import seglib
from seglib import cache
from seglib.deep import sam

from .harness import Case, measure, table

SIZE = "1024x768"
CLICK, NEXT_CLICK, NEGATIVE = (512, 260, 1), (540, 330, 1), (90, 700, 0)
BOX = (300, 40, 720, 560)
CLASSICAL_TARGET_MS, DECODER_TARGET_MS, FILTER_TARGET_MS = 300, 150, 100


def photo() -> np.ndarray:
    return (transform.resize(data.astronaut(), (768, 1024)) * 255).astype(np.uint8)


def _next_clicks():
    """A new third click for every run, so no run finds its answer cached."""
    x, y, label = NEXT_CLICK
    step = 0
    while True:
        step += 1
        yield [CLICK, NEGATIVE, (x + 8 * (step % 10), y + 8 * (step // 10), label)]  # 2 solver pixels apart


def classical_cases(image: np.ndarray) -> list[Case]:
    rows = []
    for slug in ("flood-fill", "random-walker", "marker-watershed", "grabcut"):
        extra = {"box": BOX} if slug == "grabcut" else {}
        first = dict(points=[CLICK, NEGATIVE], **extra)
        clicks = _next_clicks()
        rows.append(Case(f"{slug}, first click", SIZE, lambda s=slug, k=first: seglib.segment(image, s, **k),
                         setup=cache.clear, target_ms=CLASSICAL_TARGET_MS))
        rows.append(Case(f"{slug}, next click", SIZE,
                         lambda s=slug, c=clicks, e=extra: seglib.segment(image, s, points=next(c), **e),
                         setup=lambda s=slug, k=first: seglib.segment(image, s, **k), target_ms=CLASSICAL_TARGET_MS))
    return rows


def sam_rows(image: np.ndarray, weights: Path, repeats: int) -> list[dict]:
    prompt = dict(points=[CLICK], weights=str(weights))
    auto = dict(weights=str(weights), points_per_side=16)
    seglib.segment(image, "sam", **prompt)  # load the model once, as the dashboard keeps it
    cases = [
        (Case("sam vit_b: image encoder (first prompt)", SIZE, lambda: seglib.segment(image, "sam", **prompt),
              setup=lambda: sam.clear_caches("embeddings")), max(2, repeats // 2)),
        (Case("sam vit_b: first prompt, embedding on disk (a restarted app)", SIZE,
              lambda: seglib.segment(image, "sam", **prompt), setup=lambda: sam.clear_caches("embeddings")),
         max(2, repeats // 2)),
        (Case("sam vit_b: decoder per prompt (embedding cached)", SIZE,
              lambda: seglib.segment(image, "sam", points=[CLICK, NEGATIVE], weights=str(weights)),
              target_ms=DECODER_TARGET_MS), repeats),
        (Case("sam-auto vit_b: raw masks, 16 x 16 grid (embedding cached)", SIZE,
              lambda: seglib.segment(image, "sam-auto", **auto), setup=lambda: sam.clear_caches("raw_masks")), 1),
        (Case("sam-auto vit_b: re-filter (raw masks cached)", SIZE,
              lambda: seglib.segment(image, "sam-auto", pred_iou_thresh=0.5, stability_score_thresh=0.5, **auto),
              target_ms=FILTER_TARGET_MS), repeats),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case, n in cases:
            on_disk = "on disk" in case.label
            if on_disk:  # the encoder row above ran without it; store this image's embedding once
                os.environ[sam.EMBEDDING_DIR_ENV] = folder
                seglib.segment(image, "sam", **prompt)
            try:
                rows.append(measure(case, repeats=n, warmup=0 if n == 1 else 1))
            finally:
                os.environ.pop(sam.EMBEDDING_DIR_ENV, None)
            print(f"{case.label}: {rows[-1]['median ms']:.1f} ms", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--skip-sam", action="store_true", help="only the classical methods")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    image = photo()
    rows = []
    if not args.skip_sam:
        with tempfile.TemporaryDirectory() as folder:
            print("Building SAM vit_b with RANDOM weights (timings do not depend on the weight values)...")
            weights = sam.save_sam_weights(sam.build_sam("vit_b"), sam.SAM_CONFIGS["vit_b"],
                                           Path(folder) / "sam_vit_b_random.safetensors")
            rows += sam_rows(image, weights, args.repeats)
        sam.clear_caches()
    for case in classical_cases(image):
        rows.append(measure(case, repeats=args.repeats))
        print(f"{case.label}: {rows[-1]['median ms']:.1f} ms", flush=True)
    print(f"\ntorch threads: {torch.get_num_threads()}; SAM weights are random (speed only, masks meaningless)")
    print(table(rows))


if __name__ == "__main__":
    main()
