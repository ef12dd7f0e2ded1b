"""Latency of prompt-driven segmentation: SAM and SAM 2.1 (encoder, decoder per prompt, automatic masks) and the
classical methods.

Run: ``python -m benchmarks.bench_interactive [--repeats 5] [--skip-sam] [--skip-classical] [--sam2-only]
[--rows encoder,disk,decoder,raw,filter] [--through-server]``

Every row is a full :func:`seglib.segment` call on a 1024 x 768 RGB photo
(scikit-image's astronaut, resized) at default parameters.

SAM is the real ``vit_b`` architecture and SAM 2.1 the real ``tiny`` one (built
by the ``sam2`` package from its own config), both with RANDOM weights, saved
to a temporary file and loaded like a checkpoint: no download is needed, and
the timings do not depend on the weight values (the same operations run on
the same tensor sizes), only the masks are meaningless. Rows, for each:

- encoder: the first prompt on an image (embedding cache emptied before each run);
- embedding on disk: the same with ``$SEGDASH_SAM_EMBEDDING_DIR`` holding the image's embedding,
  as after a restart;
- decoder per prompt: a further prompt on the same image (embedding cached);
- decoder per refined prompt: a new click each run with the previous answer's mask fed back
  (``mask_input``), as the Prompt page does for every click after the first;
- automatic masks: generating the raw masks of a 16 x 16 grid (embedding cached);
- re-filter: moving a filter slider of ``sam-auto`` (raw masks cached).

SAM 2.1's rows (but the on-disk one) time SAM vit_b alternately in the same
process as their baseline, so the speed-up column holds on a busy machine.

Classical methods are timed on a first click (stage caches emptied) and on
a next click on the same image (cached early stages reused). Torch uses at
most 2 threads.

``--through-server`` times instead a first SAM 2.1 click on a new picture as the
dashboard serves it, without a browser on the machine: ``streamlit run app.py``
with ``$SEGDASH_SAM2_WEIGHTS`` naming the random weights, and a websocket
client (:mod:`benchmarks.streamlit_client`) opening Explore's link
``?method=sam2&sample=S&points=x,y,1`` for one sample after another: from the
request to the run's end (its pictures fetched), the encoder, the decoder and
the page's own work. The first sample (model loading) is not timed.
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
SAM2_ENCODER_TARGET_MS, SAM2_DECODER_TARGET_MS = 2000, 100


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


ROWS = ("encoder", "disk", "decoder", "refined", "raw", "filter")
"""The SAM rows, in order: image encoder, embedding on disk, decoder per prompt, decoder per refined prompt,
raw automatic masks, re-filter."""


def sam_rows(image: np.ndarray, weights: Path, repeats: int, *, slug: str = "sam", model: str = "vit_b",
             encoder_target_ms: float | None = None, decoder_target_ms: float = DECODER_TARGET_MS,
             baseline: tuple[str, str, Path] | None = None, rows: tuple[str, ...] = ROWS) -> list[dict]:
    """Encoder, embedding on disk, decoder per prompt, raw automatic masks and re-filter of ``slug``.

    ``baseline`` = (slug, label, weights) of another SAM timed alternately with every row but the
    on-disk one, in the same process (its ratio to this one is the speed-up column). ``rows``: which
    of :data:`ROWS` to time.
    """
    def calls(name: str, path: Path) -> dict:
        prompt, auto = dict(points=[CLICK], weights=str(path)), dict(weights=str(path), points_per_side=16)
        fresh = lambda what: lambda: (sam.clear_caches(what), seglib.segment(image, name, **prompt))  # noqa: E731
        earlier, clicks = {}, _next_clicks()

        def refined():
            """A new click refining the previous answer (its low-resolution logits fed back), as on the Prompt page."""
            if "logits" not in earlier:
                earlier["logits"] = seglib.segment(image, name, **prompt).low_res_logits
            result = seglib.segment(image, name, points=next(clicks), weights=str(path), mask_input=earlier["logits"])
            earlier["logits"] = result.low_res_logits
            return result

        return {
            "encoder": lambda: (sam.clear_caches("embeddings"), seglib.segment(image, name, **prompt)),
            "disk": lambda: seglib.segment(image, name, **prompt),
            "decoder": lambda: seglib.segment(image, name, points=[CLICK, NEGATIVE], weights=str(path)),
            "refined": refined,
            "raw": lambda: (sam.clear_caches("raw_masks"), seglib.segment(image, f"{name}-auto", **auto)),
            "filter": lambda: seglib.segment(image, f"{name}-auto", pred_iou_thresh=0.5, stability_score_thresh=0.5,
                                             **auto),
            "warm": fresh("raw_masks"),
        }

    own = calls(slug, weights)
    other = calls(baseline[0], baseline[2]) if baseline else {}
    own["warm"]()  # load the model once, as the dashboard keeps it
    if baseline:
        other["warm"]()
    vs = dict(baseline_label=baseline[1]) if baseline else {}
    cases = [
        (Case(f"{slug} {model}: image encoder (first prompt)", SIZE, own["encoder"], other.get("encoder"),
              target_ms=encoder_target_ms, **vs), max(2, repeats // 2)),
        (Case(f"{slug} {model}: first prompt, embedding on disk (a restarted app)", SIZE, own["disk"],
              setup=lambda: sam.clear_caches("embeddings")), max(2, repeats // 2)),
        (Case(f"{slug} {model}: decoder per prompt (embedding cached)", SIZE, own["decoder"], other.get("decoder"),
              target_ms=decoder_target_ms, **vs), repeats),
        (Case(f"{slug} {model}: decoder per refined prompt (mask_input, embedding cached)", SIZE, own["refined"],
              other.get("refined"), target_ms=decoder_target_ms, **vs), repeats),
        (Case(f"{slug}-auto {model}: raw masks, 16 x 16 grid (embedding cached)", SIZE, own["raw"], other.get("raw"),
              **vs), 1),
        (Case(f"{slug}-auto {model}: re-filter (raw masks cached)", SIZE, own["filter"], other.get("filter"),
              target_ms=FILTER_TARGET_MS, **vs), repeats),
    ]
    cases = [(case, n) for (case, n), row in zip(cases, ROWS) if row in rows]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case, n in cases:
            on_disk = "on disk" in case.label
            if on_disk:  # the encoder row above ran without it; store this image's embedding once
                os.environ[sam.EMBEDDING_DIR_ENV] = folder
                own["disk"]()
            try:
                results.append(measure(case, repeats=n, warmup=0 if n == 1 else 1))
            finally:
                os.environ.pop(sam.EMBEDDING_DIR_ENV, None)
            print(f"{case.label}: {results[-1]['median ms']:.1f} ms (baseline {results[-1]['baseline ms']})",
                  flush=True)
    return results


def random_sam2_weights(folder: str) -> Path:
    """SAM 2.1 tiny with RANDOM weights, saved in ``folder`` as its loader reads checkpoints; the file's path."""
    from seglib.deep.checkpoints import save_weights
    from seglib.deep.sam import sam2_model

    return save_weights(sam2_model.build_sam2_network("tiny"), Path(folder) / "sam2.1_hiera_tiny_random.safetensors")


def random_weights(folder: str) -> tuple[Path, Path]:
    """SAM vit_b and SAM 2.1 tiny with RANDOM weights, saved as their loaders read checkpoints."""
    print("Building SAM vit_b and SAM 2.1 tiny with RANDOM weights (timings do not depend on the weight values)...")
    sam1 = sam.save_sam_weights(sam.build_sam("vit_b"), sam.SAM_CONFIGS["vit_b"],
                                Path(folder) / "sam_vit_b_random.safetensors")
    return sam1, random_sam2_weights(folder)


SERVER_SAMPLES = ("coins", "astronaut", "coffee", "chelsea", "rocket", "horse", "cell", "camera", "ihc")


def through_server(weights: Path, samples: tuple[str, ...] = SERVER_SAMPLES) -> list[dict]:
    """A first SAM 2.1 click on each of ``samples`` (a new picture each) through the app's server."""
    import asyncio

    from seglib.samples import load_sample

    from .bench_classroom import Server
    from .streamlit_client import Session

    async def click(url: str, sample: str) -> float:
        height, width = load_sample(sample).shape[:2]
        session = Session(url, f"method=sam2&sample={sample}&points={width // 2},{height // 2},1")
        report = await session.open(timeout=600)
        await session.close()
        if report.exceptions or not report.images:
            raise RuntimeError(f"{sample}: the run showed {report.exceptions or 'no picture'}")
        return report.seconds

    server = Server(env={"SEGDASH_SAM2_WEIGHTS": str(weights)})
    try:
        cpu = server.cpu_seconds()
        seconds = [asyncio.run(click(server.url, sample)) for sample in samples]
        cpu = (server.cpu_seconds() - cpu) / len(samples)
    finally:
        server.stop()
    timed = seconds[1:]  # the first one also loaded the model
    print("first clicks through the server, s:", ", ".join(f"{s:.2f}" for s in seconds), flush=True)
    return [{"case": "sam2 tiny: first click on a new picture, through the app server (no browser)",
             "pictures": len(timed), "median ms": 1000 * float(np.median(timed)),
             "max ms": 1000 * max(timed), "server CPU ms/click": 1000 * cpu,
             "target ms": SAM2_ENCODER_TARGET_MS}]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--skip-sam", action="store_true", help="only the classical methods")
    parser.add_argument("--skip-classical", action="store_true", help="only SAM and SAM 2.1")
    parser.add_argument("--sam2-only", action="store_true",
                        help="of the SAM rows, only SAM 2.1's (each with SAM vit_b timed alternately)")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"which SAM rows, comma-separated (default all: {','.join(ROWS)})")
    parser.add_argument("--through-server", action="store_true",
                        help="only a first SAM 2.1 click on new pictures through `streamlit run app.py`")
    args = parser.parse_args(argv)
    if args.through_server:
        with tempfile.TemporaryDirectory() as folder:
            print(table(through_server(random_sam2_weights(folder))))
        return
    rows_wanted = tuple(row.strip() for row in args.rows.split(",") if row.strip())
    unknown = sorted(set(rows_wanted) - set(ROWS))
    if unknown:
        parser.error(f"--rows={args.rows!r}: unknown rows {unknown}; allowed: {', '.join(ROWS)}")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    image = photo()
    rows = []
    if not args.skip_sam:
        with tempfile.TemporaryDirectory() as folder:
            sam1, sam2 = random_weights(folder)
            if not args.sam2_only:
                rows += sam_rows(image, sam1, args.repeats, rows=rows_wanted)
                sam.clear_caches()
            rows += sam_rows(image, sam2, args.repeats, slug="sam2", model="tiny",
                             encoder_target_ms=SAM2_ENCODER_TARGET_MS, decoder_target_ms=SAM2_DECODER_TARGET_MS,
                             baseline=("sam", "sam vit_b", sam1), rows=rows_wanted)
        sam.clear_caches()
    for case in [] if args.skip_classical else classical_cases(image):
        rows.append(measure(case, repeats=args.repeats))
        print(f"{case.label}: {rows[-1]['median ms']:.1f} ms", flush=True)
    print(f"\ntorch threads: {torch.get_num_threads()}; SAM and SAM 2.1 weights are random (speed only, masks "
          "meaningless)")
    print(table(rows))


if __name__ == "__main__":
    main()
