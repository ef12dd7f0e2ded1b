"""Dataset evaluation: images per second in-process and on a 2-worker Dask cluster, and memory against dataset size.

Run: ``python -m benchmarks.bench_evaluate [--images 40] [--memory 100,1000] [--no-cluster]``

Throughput rows run ``seglib.evaluate.evaluate`` on ShapeScenes 256x256
(medium difficulty, held-out test seeds) with one method at its defaults and
no result cache, so every image is generated, segmented and scored. Each
scheduler gets a two-image warm-up first (imports, model loading on the
workers). "in-process" is the default thread pool; "dask 2 workers" a
``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` of worker
processes. ``method ms/image`` is the median time of the method alone
(``elapsed_s``), the rest being scene generation and scoring. A deep model
without bundled weights is skipped with a note.

Memory rows evaluate otsu on 100 and on 1000 images in this process under
``tracemalloc``: the peak of Python and numpy allocations during the call.
It should not grow with the count (images stream through a bounded window;
only the small result rows accumulate).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from seglib.datasets import open_dataset
from seglib.evaluate import evaluate

from .harness import table

METHODS = ("otsu", "kmeans", "unet")
SIZE, DIFFICULTY = 256, "medium"


def _dataset(n: int, first_seed: int | None = None):
    return open_dataset("shapes", n=n, size=SIZE, difficulty=DIFFICULTY,
                        **({} if first_seed is None else {"first_seed": first_seed}))


def _missing_weights(slug: str) -> str | None:
    if slug not in ("unet", "segnet", "deeplabv3"):
        return None
    from seglib.deep import bundled

    return None if bundled.weights_path(slug).is_file() else f"no bundled weights at {bundled.weights_path(slug)}"


def throughput(slug: str, n: int, scheduler, label: str) -> dict:
    """Images per second of one method over ``n`` scenes on ``scheduler``."""
    evaluate(_dataset(2, first_seed=0), [slug], scheduler=scheduler, cache=None)  # warm-up
    start = time.perf_counter()
    frame = evaluate(_dataset(n), [slug], scheduler=scheduler, cache=None)
    wall = time.perf_counter() - start
    failed = int((frame["error"] != "").sum())
    return {"method": slug, "where": label, "images": n, "seconds": wall, "images/s": n / wall,
            "method ms/image": 1000 * float(frame["elapsed_s"].median()), "failed": failed}


def peak_memory(n: int) -> dict:
    """Peak traced allocation (MB) while evaluating otsu on ``n`` scenes in this process."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    frame = evaluate(_dataset(n), ["otsu"], cache=None)
    wall = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"images": n, "peak MB": peak / 2**20, "table KB": frame.memory_usage(deep=True).sum() / 1024,
            "seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40, help="scenes per throughput row")
    parser.add_argument("--memory", default="100,1000", help="dataset sizes for the memory rows")
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask LocalCluster rows")
    args = parser.parse_args()

    slugs = []
    for slug in METHODS:
        reason = _missing_weights(slug)
        if reason:
            print(f"skipping {slug}: {reason}")
        else:
            slugs.append(slug)
    rows = [throughput(slug, args.images, None, "in-process (threads)") for slug in slugs]
    if not args.no_cluster:
        import distributed

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            rows += [throughput(slug, args.images, client, "dask 2 workers") for slug in slugs]
    print(f"\nThroughput on ShapeScenes {SIZE}x{SIZE} ({DIFFICULTY}), no result cache\n")
    print(table(rows))
    memory = [peak_memory(int(n)) for n in args.memory.split(",")]
    print("\nPeak traced memory while evaluating otsu (in-process)\n")
    print(table(memory))


if __name__ == "__main__":
    main()
