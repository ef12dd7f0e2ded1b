"""Latency of the bundled deep models (unet, segnet, deeplabv3) on a 512x512 image.

Run: ``python -m benchmarks.bench_deep [--repeats 5] [--size 512]``

Each row is a full ``seglib.segment`` call at default parameters (resize to
the network's input, forward pass, logits mapped back, glass-box stages),
next to the bare forward pass on an input-sized tensor as the baseline.
Models are built before timing (one warm-up run), as the dashboard keeps
them for the life of the process. Torch uses at most 2 threads.
"""

from __future__ import annotations

import argparse

import torch

import seglib
from seglib.datasets.shapes import make_scene
from seglib.deep import bundled

from .harness import Case, run_cases, table

TARGET_MS = 300


def cases(size: int) -> list[Case]:
    image = make_scene(0, size=size, difficulty="medium").image
    rows = []
    for name in bundled.MODELS:
        if not bundled.weights_path(name).is_file():
            print(f"skipping {name}: no bundled weights")
            continue
        model = bundled.load_model(name)
        input_size = seglib.method(name).param("input_size").default
        x = torch.rand(1, 3, input_size, input_size)

        def forward(model=model, x=x):
            with torch.inference_mode():
                model(x)

        rows.append(Case(name, f"{size}x{size}", lambda name=name: seglib.segment(image, name), baseline=forward,
                         baseline_label=f"forward pass only ({input_size}x{input_size})", target_ms=TARGET_MS))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--size", type=int, default=512, help="side of the square test image")
    args = parser.parse_args(argv)
    rows = run_cases(cases(args.size), repeats=args.repeats)
    print(f"\ntorch threads: {torch.get_num_threads()}")
    print(table(rows))


if __name__ == "__main__":
    main()
