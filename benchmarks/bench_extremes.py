"""Every non-deep method at the extremes its sliders allow, on a 1024x768 photo.

Run: ``python -m benchmarks.bench_extremes [--only grabcut,random-walker] [--quick]``

A share link can set any value a slider allows, so every method must stay
within the heavy budget (1.5 s at 1024x768 on a quiet machine) at all of
them. Rows, each run once with the stage cache cleared:

- the method with every numeric slider at its top (choices: the last one,
  switches on), and with every slider at its bottom;
- each slider alone at its bottom and its top (``--quick`` leaves these out);
- prompt-driven methods with the largest prompt the library accepts
  (:data:`seglib.prompts.MAX_POINTS` points), and one point more (a
  refusal, which must be quick);
- the pre- and post-processing steps at their heaviest settings.

The machine is shared, so every row is also given as a ratio to a
reference, scikit-image's ``felzenszwalb`` on the same photo, timed in the
same process just before the method's rows. :data:`REFERENCE_QUIET_MS` is
that reference on a quiet machine (the README's method table); a row is over
budget when ``ratio * REFERENCE_QUIET_MS`` exceeds 1500 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage import segmentation

import seglib
from seglib import cache, prompts

from .bench_methods import photo
from .harness import table

BUDGET_MS = 1500.0
REFERENCE_QUIET_MS = 953.0  # skimage felzenszwalb(scale=100) at 1024x768, quiet machine (README method table)


def _reference(image: np.ndarray) -> float:
    """Median of three runs of the reference, in ms."""
    floats = image / 255.0
    times = []
    for _ in range(3):
        start = time.perf_counter()
        segmentation.felzenszwalb(floats, scale=100, sigma=0.8, min_size=20, channel_axis=-1)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _top(param):
    if param.choices is not None:
        return param.choices[-1]
    if param.kind == "bool":
        return True
    return param.high if param.high is not None else param.default


def _bottom(param):
    if param.choices is not None:
        return param.choices[0]
    if param.kind == "bool":
        return False
    return param.low if param.low is not None else param.default


def settings(method, quick: bool) -> list[tuple[str, dict]]:
    """(label, params) pairs: all at the top, all at the bottom, then each slider alone at both ends."""
    params = list(method.params)
    rows = [("all top", {p.name: _top(p) for p in params}), ("all bottom", {p.name: _bottom(p) for p in params})]
    if not quick:
        for p in params:
            ends = list(p.choices) if p.choices is not None else [_bottom(p), _top(p)]
            for value in dict.fromkeys(ends):
                if value != p.default:
                    rows.append((f"{p.name}={value}", {p.name: value}))
    return rows


def _timed(run) -> tuple[float, str]:
    cache.clear()
    start = time.perf_counter()
    try:
        run()
        outcome = "ok"
    except ValueError as error:  # a refusal with a message: the intended outcome for some inputs
        outcome = "ValueError: " + str(error)[:60]
    except Exception as error:  # noqa: BLE001 - a benchmark reports every failure as a row and goes on
        outcome = f"FAILED {type(error).__name__}: {str(error)[:60]}"
    return (time.perf_counter() - start) * 1000, outcome


def _row(label: str, setting: str, ms: float, outcome: str, reference_ms: float) -> dict:
    ratio = ms / reference_ms
    quiet = ratio * REFERENCE_QUIET_MS
    return {"method": label, "setting": setting, "ms": ms, "x reference": ratio, "quiet ms (est.)": quiet,
            "budget": "over" if quiet > BUDGET_MS else "ok", "outcome": outcome}


def many_points(shape: tuple[int, int], n: int, seed: int = 0) -> list[tuple[float, float, int]]:
    """``n`` prompt points spread over an image of ``shape``, alternating object and background."""
    rng = np.random.default_rng(seed)
    ys, xs = rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)
    return [(float(x), float(y), int(i % 2 == 0)) for i, (x, y) in enumerate(zip(xs, ys))]


def method_rows(image: np.ndarray, only: set[str] | None, quick: bool) -> list[dict]:
    rows = []
    limit = getattr(prompts, "MAX_POINTS", None)
    for method in seglib.methods():
        if method.family == "deep" or method.name.startswith("sam") or (only and method.name not in only):
            continue
        reference_ms = _reference(image)
        for setting, params in settings(method, quick):
            ms, outcome = _timed(lambda: seglib.segment(image, method, **params))
            rows.append(_row(method.name, setting, ms, outcome, reference_ms))
            print(rows[-1], flush=True)
        if "points" in method.inputs and limit:
            for n in (limit, limit + 1):
                points = many_points(image.shape[:2], n)
                ms, outcome = _timed(lambda: seglib.segment(image, method, points=points))
                rows.append(_row(method.name, f"{n} prompt points", ms, outcome, reference_ms))
                print(rows[-1], flush=True)
    return rows


def pipeline_rows(image: np.ndarray) -> list[dict]:
    """Pre- and post-processing at their heaviest settings around a fast method."""
    reference_ms = _reference(image)
    cases = {
        "denoise=bilateral": dict(preprocess_options={"denoise": "bilateral"}),
        "denoise=tv": dict(preprocess_options={"denoise": "tv"}),
        "blur_sigma=10": dict(preprocess_options={"blur_sigma": 10.0}),
        "superpixels=2000": dict(postprocess_options={"superpixels": 2000}),
        "opening=15, closing=15, fill_holes, min_size=20000": dict(
            postprocess_options={"opening": 15, "closing": 15, "fill_holes": True, "min_size": 20000}),
    }
    rows = []
    for base, params in (("otsu", {}), ("slic", {"n_segments": 250})):
        for setting, options in cases.items():
            ms, outcome = _timed(lambda: seglib.segment(image, base, **params, **options))
            rows.append(_row(f"{base} + pipeline", setting, ms, outcome, reference_ms))
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated slugs to run (default: all non-deep methods)")
    parser.add_argument("--quick", action="store_true", help="only the all-top and all-bottom rows")
    parser.add_argument("--no-pipeline", action="store_true", help="leave out the pre/post-processing rows")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    image = photo()
    rows = method_rows(image, only, args.quick)
    if not args.no_pipeline and not only:
        rows += pipeline_rows(image)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
