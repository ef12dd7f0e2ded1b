"""Latency of the torchvision zoo models and of the panoptic hybrid on a 512x512 image.

Run: ``python -m benchmarks.bench_zoo [--repeats 5] [--size 512] [--only tv-lraspp ...]``

Every model is built with RANDOM weights (saved to a temporary file and
passed as ``weights=``), so the benchmark needs no download. Latency does not
depend on the weight values, with one caveat: Mask R-CNN's mask head runs
once per detection, and random weights give about as many detections as the
detector allows (up to 100), which is the slow end for real photos.

Each row is a full ``seglib.segment`` call at default parameters (input
transform, forward pass, output mapped back, glass-box stages), next to the
bare forward pass on the transformed input as the baseline. Models are built
before timing (one warm-up run); torch uses at most 2 threads, as in the app.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision.models

import seglib
from seglib.datasets.shapes import make_scene
from seglib.deep import bundled, zoo
from seglib.deep.checkpoints import model_metadata, save_weights
from seglib.deep.models import build_model

from .harness import Case, run_cases, table


def photo(size: int) -> np.ndarray:
    """A 512x512 test picture (skimage's astronaut, resized)."""
    from skimage import data
    from skimage.transform import resize

    return (resize(data.astronaut(), (size, size)) * 255).astype(np.uint8)


def random_weights(name: str, folder: Path) -> Path:
    """A state dict of a randomly initialised ``name`` in torchvision's layout."""
    spec = zoo.MODELS[name]
    extra = {"aux_loss": False} if spec.kind == "semantic" else {}
    torch.manual_seed(0)
    net = torchvision.models.get_model(spec.builder, weights=None, weights_backbone=None,
                                       num_classes=len(zoo.class_names(name)), **extra)
    path = folder / f"{name}.pth"
    torch.save(net.state_dict(), path)
    return path


def _forward(name: str, weights: Path, image: np.ndarray):
    """The bare forward pass of a zoo model on the input its transform makes (the baseline)."""
    model = zoo.load_model(name, weights)
    x = zoo._as_tensor(image / 255.0)
    if zoo.MODELS[name].kind == "semantic":
        x = zoo.weights_enum(name).transforms(resize_size=zoo.SEMANTIC_INPUT_SIZE)(x)
        label = f"forward only ({x.shape[-1]}x{x.shape[-2]})"
        return label, lambda: _no_grad(model, x)
    label = "torchvision's own forward (its transform: shorter side 800)"
    model_input = [x[0]]
    return label, lambda: _no_grad(model, model_input)


def _no_grad(model, x):
    with torch.inference_mode():
        model(x)


def zoo_cases(size: int, folder: Path, only: list[str] | None) -> list[Case]:
    image = photo(size)
    rows = []
    for name in zoo.MODELS:
        if only and name not in only:
            continue
        weights = random_weights(name, folder)
        baseline_label, baseline = _forward(name, weights, image)
        rows.append(Case(name, f"{size}x{size}", lambda name=name, weights=weights: seglib.segment(
            image, name, weights=str(weights)), baseline=baseline, baseline_label=baseline_label,
            setup=seglib.cache.clear))
    return rows


def unet_weights(folder: Path) -> str | None:
    """The bundled unet weights, or random weights of the same recipe (same latency)."""
    if bundled.weights_path("unet").is_file():
        return None
    torch.manual_seed(0)
    net = build_model("unet", n_classes=7, width=12, depth=4)
    return str(save_weights(net, folder / "unet.safetensors",
                            metadata=model_metadata(net, class_names=[f"c{i}" for i in range(7)], input_size=256)))


def panoptic_cases(size: int, folder: Path) -> list[Case]:
    image = make_scene(0, size=size, difficulty="medium").image
    weights = unet_weights(folder)
    label = "panoptic (bundled unet + watershed)" + (" [random unet]" if weights else "")
    return [Case(label, f"{size}x{size}", lambda: seglib.segment(image, "panoptic", backend="bundled+watershed",
                                                                 weights=weights),
                 baseline=lambda: seglib.segment(image, "unet", weights=weights), baseline_label="unet alone",
                 setup=seglib.cache.clear)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--size", type=int, default=512, help="side of the square test image")
    parser.add_argument("--only", nargs="*", default=None, help="zoo models to time (default: all)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = zoo_cases(args.size, folder, args.only) + panoptic_cases(args.size, folder)
        rows = run_cases(cases, repeats=args.repeats)
    print(f"\ntorch threads: {torch.get_num_threads()}; random weights (latency does not depend on their values)")
    print(table(rows))


if __name__ == "__main__":
    main()
