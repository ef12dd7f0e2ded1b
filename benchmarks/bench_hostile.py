"""Hostile inputs (issue 10): time and peak memory of every crafted case, each in a fresh process.

Run: ``python -m benchmarks.bench_hostile [--repeats 3] [--only jpeg,coco]``

Every case builds its input (a few bytes to a few MB, crafted in memory by
``tests/hostile_inputs.py``), then a child process runs it once and reports
its wall time, the growth of its peak resident memory (``ru_maxrss``) over
the baseline taken just before the call (imports and input already
counted) and the peak of tracemalloc (Python and numpy allocations). The
table shows the median seconds and the largest peaks over the repeats, and
what happened (the error message begins, or "ok"). The goal is that every
case finishes well within 10 s and 1 GiB above the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from .harness import table

ROOT = Path(__file__).resolve().parents[1]
CASES: dict[str, str] = {}


def case(name: str):
    """Register ``func`` (returning a zero-argument callable: the timed call) under ``name``."""
    def register(func):
        CASES[name] = func.__name__
        return func
    return register


# --------------------------------------------------------------------------- cases: each returns the call to time


@case("jpeg: 3000 repeated progressive scans, 64 px")
def jpeg_scans():
    from hostile_inputs import progressive_jpeg
    from seglib.io import load_image
    data = progressive_jpeg(repeats=3000)
    return lambda: load_image(data)


@case("jpeg: 90 scans at 6 MP")
def jpeg_scans_large():
    from hostile_inputs import progressive_jpeg
    from seglib.io import load_image
    data = progressive_jpeg(shape=(2000, 3000), repeats=80)
    return lambda: load_image(data)


@case("png: 15000 x 15000 1-bit bomb as a mask")
def png_bomb_mask():
    from hostile_inputs import png_bomb
    from seglib.io import load_ground_truth
    data = png_bomb(15000)
    return lambda: load_ground_truth(data)


@case("png: zTXt chunk inflating to 64 MB")
def png_text():
    from hostile_inputs import png_text_bomb
    from seglib.io import load_ground_truth
    data = png_text_bomb()
    return lambda: load_ground_truth(data)


@case("png: 40 MP gray mask (largest accepted)")
def png_largest_gray():
    from hostile_inputs import big_gray_png
    from seglib.io import load_ground_truth
    data = big_gray_png(8000, 5000)
    return lambda: load_ground_truth(data)


@case("png: 500000 empty chunks (6 MB)")
def png_chunks_many():
    from hostile_inputs import png_with_empty_chunks
    from seglib.io import load_image
    data = png_with_empty_chunks(500_000)
    return lambda: load_image(data)


@case("gif: 100000 frames (2.4 MB)")
def gif_frames():
    from hostile_inputs import gif_with_frames
    from seglib.io import load_image
    data = gif_with_frames(100_000)
    return lambda: load_image(data)


@case("png: 40 MP RGB colour mask, 1000 colours")
def png_colour_mask():
    import numpy as np
    from PIL import Image
    from seglib.io import load_ground_truth
    rng = np.random.default_rng(0)
    palette = rng.integers(1, 255, (1000, 3), dtype=np.uint8)
    index = (np.arange(5000)[:, None] // 5 + np.arange(8000)[None, :] // 8) % 1000
    data = io_bytes(Image.fromarray(palette[index]), "PNG")
    del index
    return lambda: load_ground_truth(data)


@case("tiff: 5 million one-pixel strips (40 MB)")
def tiff_many_strips():
    from hostile_inputs import tiff_strips
    from seglib.io import load_image
    data = tiff_strips()
    return lambda: load_image(data)


@case("jpeg: 2 million empty COM segments (8 MB)")
def jpeg_segments():
    from hostile_inputs import jpeg_with_segments
    from seglib.io import load_image
    data = jpeg_with_segments(n=2_000_000)
    return lambda: load_image(data)


@case("mat: 64 MB decoy before groundTruth")
def mat_decoy():
    from hostile_inputs import mat_with_decoy
    from seglib.io import load_ground_truth
    data = mat_with_decoy(64 << 20)
    return lambda: load_ground_truth(data)


@case("mat: groundTruth declaring 3 GiB")
def mat_declared():
    from hostile_inputs import mat_declaring
    from seglib.io import load_ground_truth
    data = mat_declaring(3 << 30)
    return lambda: load_ground_truth(data)


@case("rle: 1.3 MB one-run compressed string")
def rle_quadratic():
    from hostile_inputs import coco_bytes, quadratic_rle
    from seglib.io import load_ground_truth
    ann = {"image_id": 1, "category_id": 1, "segmentation": {"size": [1000, 1000], "counts": quadratic_rle()}}
    data = coco_bytes([ann], 1000, 1000)
    return lambda: load_ground_truth(data)


@case("rle: 1.3 MB valid checkerboard string, 1000 x 1300")
def rle_long_valid():
    import numpy as np
    from pycocotools import mask as coco_mask
    from hostile_inputs import coco_bytes
    from seglib.io import load_ground_truth
    mask = (np.indices((1000, 1300)).sum(axis=0) % 2).astype(np.uint8)
    counts = coco_mask.encode(np.asfortranarray(mask))["counts"].decode()
    data = coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": {"size": [1000, 1300], "counts": counts}}],
                      1000, 1300)
    return lambda: load_ground_truth(data)


@case("coco: 600 tiny polygons on 2000 x 2000")
def coco_polygons_case():
    from hostile_inputs import coco_polygons
    from seglib.io import load_ground_truth
    data = coco_polygons(600, 2000)
    return lambda: load_ground_truth(data)


@case("coco: zig-zag polygon, 20000 vertices on 4000 x 4000")
def coco_zigzag():
    from hostile_inputs import coco_bytes
    from seglib.io import load_ground_truth
    polygon = []
    for k in range(20_000):
        polygon += [float(k % 2) * 3999, k / 5]
    data = coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [polygon]}], 4000, 4000)
    return lambda: load_ground_truth(data)


@case("coco: 30 full-image RLEs at 20 MP")
def coco_full_rles():
    from hostile_inputs import coco_bytes, full_rle
    from seglib.io import load_ground_truth
    data = coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": full_rle(4000, 5000)}] * 30, 4000, 5000)
    return lambda: load_ground_truth(data)


@case("coco: 5001 annotations")
def coco_many():
    from hostile_inputs import coco_bytes
    from seglib.io import load_ground_truth
    data = coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 2, 0, 1, 1]]}] * 5_001, 8, 8)
    return lambda: load_ground_truth(data)


@case("panoptic: 4000 segments on 1000 x 1000")
def panoptic_many():
    import io
    import numpy as np
    from PIL import Image
    from seglib.io import load_ground_truth
    ids = np.arange(1000 * 1000, dtype=np.int64).reshape(1000, 1000) // 250 + 1
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    infos = [{"id": int(i), "category_id": 1, "iscrowd": 1} for i in range(1, 4001)]
    doc = json.dumps({"images": [{"id": 1, "height": 1000, "width": 1000}], "categories": [{"id": 1, "name": "x"}],
                      "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": infos}]}).encode()
    png = buffer.getvalue()
    return lambda: load_ground_truth(doc, panoptic_png=png)


@case("json: nested 100000 levels")
def json_nested():
    from hostile_inputs import nested_json
    from seglib.io import load_ground_truth
    data = nested_json()
    return lambda: load_ground_truth(data)


@case("score: regions vs 16-bit labels 3/12345/40000, 1024 x 768")
def score_sparse_labels():
    import numpy as np
    from seglib.io.ground_truth import GroundTruth
    from seglib.result import Segmentation
    from seglib.scoring import score
    truth = np.zeros((768, 1024), dtype=np.int32)
    truth[:200], truth[200:400], truth[400:600] = 3, 12345, 40000
    result = Segmentation((np.arange(768 * 1024).reshape(768, 1024) // 40000).astype(np.int32), kind="semantic")
    gt = GroundTruth(semantic=truth, source_format="mask")
    return lambda: score(result, gt)


@case("confusion: labels up to 2**31 - 1, 1024 x 768")
def confusion_huge_ids():
    import numpy as np
    from seglib.comparison import confusion
    from seglib.io.ground_truth import GroundTruth
    from seglib.result import Segmentation
    labels = np.full((768, 1024), 2**31 - 1, dtype=np.int32)
    labels[:100] = 0
    return lambda: confusion(Segmentation(labels, kind="semantic"), GroundTruth(semantic=labels.copy()))


@case("match_labels: 786k ids vs 200 classes")
def match_many():
    import numpy as np
    from seglib import metrics
    gt = np.random.default_rng(0).integers(0, 200, (768, 1024))
    pred = np.arange(768 * 1024).reshape(768, 1024)
    return lambda: metrics.match_labels(pred, gt)


@case("boundary one-to-one: tolerance 1e9")
def boundary_tolerance():
    import numpy as np
    from seglib import metrics
    labels = np.zeros((768, 1024), dtype=np.int32)
    labels[::3] = 1
    return lambda: metrics.boundary_f1(labels, labels, tolerance=1e9, matching="one-to-one")


@case("pq: class index 2**40")
def pq_huge():
    import numpy as np
    from seglib import metrics
    labels = np.ones((768, 1024), dtype=np.int64) << 50
    return lambda: metrics.panoptic_quality(labels, labels)


@case("read: /dev/zero as a file object")
def dev_zero():
    from seglib.io import load_image
    handle = open("/dev/zero", "rb")
    return lambda: load_image(handle)


@case("dataset: COCO file_name ../../etc/passwd")
def coco_escape():
    import tempfile
    from PIL import Image
    from seglib.datasets import open_dataset
    root = Path(tempfile.mkdtemp()) / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    Image.new("RGB", (8, 8)).save(root / "val2017" / "a.jpg")
    doc = {"images": [{"id": 1, "height": 8, "width": 8, "file_name": "a.jpg"},
                      {"id": 2, "height": 8, "width": 8, "file_name": "../../../../../../etc/passwd"}],
           "annotations": [], "categories": [{"id": 1, "name": "x"}]}
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    dataset = open_dataset(root)
    return lambda: dataset[0 if dataset.name(0) == "passwd" else 1]


@case("share link: 10000 bad query keys")
def share_many():
    from ui.share import parse_query
    query = {f"[re-login](https://evil.example/{k})": "![x](https://evil.example/t.png)" for k in range(10_000)}
    return lambda: parse_query(query)


def _weights_cases() -> None:
    """Rows "weights: ..." for the crafted weights files of ``benchmarks/hostile_weights.py`` (seglib.deep)."""
    from .hostile_weights import cases
    for index, (name, _, make) in enumerate(cases()):
        globals()[f"weights_{index}"] = make
        CASES[f"weights: {name}"] = f"weights_{index}"


_weights_cases()


def io_bytes(picture, fmt: str) -> bytes:
    import io
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


# --------------------------------------------------------------------------- child process


def _child(function: str) -> None:
    import resource
    import time
    import tracemalloc

    sys.path.insert(0, str(ROOT / "tests"))
    call = globals()[function]()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except ValueError as error:
        outcome = f"ValueError: {error}"
    except Exception as error:  # noqa: BLE001 - reported as a failure of the case, not raised
        outcome = f"!! {type(error).__name__}: {error}"
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_mb": (peak - baseline) / 1024, "traced_mb": traced / 1e6,
                      "outcome": outcome}))


def _run(function: str, timeout: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_hostile", "--child", function]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "rss_mb": float("nan"), "traced_mb": float("nan"),
                "outcome": f"!! timed out after {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"seconds": float("nan"), "rss_mb": float("nan"), "traced_mb": float("nan"),
                "outcome": f"!! exit {done.returncode}: {done.stderr.strip()[-200:]}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated words; cases whose name holds one")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    words = [w for w in args.only.split(",") if w]
    rows = []
    for name, function in CASES.items():
        if words and not any(w in name for w in words):
            continue
        runs = [_run(function, args.timeout) for _ in range(args.repeats)]
        outcome = runs[-1]["outcome"]
        rows.append({"case": name, "seconds": statistics.median(r["seconds"] for r in runs),
                     "peak MB (RSS)": max(r["rss_mb"] for r in runs),
                     "peak MB (traced)": max(r["traced_mb"] for r in runs),
                     "outcome": outcome[:90] + ("..." if len(outcome) > 90 else "")})
        print(f"{name}: {rows[-1]['seconds']:.2f} s, {rows[-1]['peak MB (RSS)']:.0f} MB", flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
