"""Training the bundled architectures on ShapeScenes, with checkpoints, resume and a CLI.

>>> model, history = train("unet", width=8, depth=2, steps=2, n_scenes=8, batch_size=2)  # doctest: +SKIP

From a shell (logs one line per ``--log-every`` steps, checkpoints to ``--out``)::

    python -m seglib.deep.train --arch unet --steps 6000 --threads 1 --out runs/unet \\
        --export seglib/deep/weights

Training is reproducible from ``seed``: it fixes the initial weights, the
training scenes, the batch order and the augmentation. A run resumed from a
checkpoint continues with the saved random states and gives the same
result as an uninterrupted run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import check_int
from ..threads import limit_threads
from . import data
from .blocks import SegmentationNet
from .checkpoints import model_metadata, save_weights
from .models import ARCHITECTURES, build_model

WARNING = "Trained on synthetic shapes: expect nonsense on photos"
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainSettings:
    """Everything that determines a training run (stored in checkpoints and model cards)."""

    arch: str
    width: int = 16
    depth: int | None = None  # None: the architecture's default
    steps: int = 1000
    batch_size: int = 8
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seed: int = 0
    image_size: int = 128
    crop_size: int | None = None  # None: whole scenes
    n_scenes: int = 4000
    val_every: int = 250
    val_scenes: int = 24

    def model_config(self, n_classes: int) -> dict:
        config = {"n_classes": n_classes, "width": self.width}
        if self.depth is not None:
            config["depth"] = self.depth
        return config


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights: progress, history and random states."""

    step: int = 0
    elapsed_s: float = 0.0
    history: list = field(default_factory=list)


def _check_settings(settings: TrainSettings) -> None:
    if settings.arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {settings.arch!r}; valid architectures are: {', '.join(ARCHITECTURES)}")
    for name in ("steps", "batch_size", "image_size", "crop_size", "n_scenes", "val_every", "val_scenes"):
        if name == "crop_size" and settings.crop_size is None:
            continue
        value, low = getattr(settings, name), 0 if name == "val_scenes" else 1
        check_int(value, name, low=low)
    if settings.image_size % 16:
        raise ValueError(f"image_size={settings.image_size} is not allowed: expected a multiple of 16")
    if settings.crop_size is not None and (settings.crop_size % 16 or settings.crop_size > settings.image_size):
        raise ValueError(f"crop_size={settings.crop_size} is not allowed: expected a multiple of 16 "
                         f"no larger than image_size={settings.image_size}, or None")
    if not settings.lr > 0:
        raise ValueError(f"lr={settings.lr!r} is not allowed: expected a positive number")


def _schedule(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up over 5% of the steps, then cosine decay to zero."""
    warmup = max(1, steps // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return float(0.5 * (1 + np.cos(np.pi * min(1.0, (step - warmup) / max(1, steps - warmup)))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _save_checkpoint(path: Path, model, optimizer, scheduler, state: TrainState, rng, settings) -> None:
    checkpoint = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "step": state.step, "elapsed_s": state.elapsed_s, "history": state.history,
        "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
        "settings": asdict(settings),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint behind


def _resume(path: Path, model, optimizer, scheduler, rng, settings) -> TrainState:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint["settings"] != asdict(settings):
        raise ValueError(f"checkpoint {str(path)!r} was made with other settings ({checkpoint['settings']}); "
                         "use another checkpoint_dir or the same settings")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    rng.bit_generator.state = json.loads(checkpoint["rng"])
    torch.set_rng_state(checkpoint["torch_rng"])
    return TrainState(step=checkpoint["step"], elapsed_s=checkpoint["elapsed_s"], history=list(checkpoint["history"]))


def _validate(model: SegmentationNet, settings: TrainSettings) -> float:
    result = data.evaluate_model(model, input_size=settings.image_size, difficulties=("medium",),
                                 n_scenes=settings.val_scenes, first_seed=data.VALIDATION_SEED)
    model.train()
    return result["medium"]["miou"]


def train(arch: str, *, width: int = 16, depth: int | None = None, steps: int = 1000, batch_size: int = 8,
          lr: float = 5e-3, seed: int = 0, image_size: int = 128, crop_size: int | None = None,
          n_scenes: int = 4000, val_every: int = 250,
          val_scenes: int = 24, progress: Callable | None = None, checkpoint_dir: str | os.PathLike | None = None,
          checkpoint_every: int = 250, dataset: dict | str | os.PathLike | None = None,
          threads: int | None = None, should_stop: Callable[[], bool] | None = None):
    """Train ``arch`` on ShapeScenes of random difficulty.

    Parameters
    ----------
    arch : str
        ``"unet"``, ``"segnet"`` or ``"deeplabv3"``.
    width, depth : int
        Network size (``depth=None`` keeps the architecture's default).
        Width 16 trains in about an hour on one CPU thread; width 4-8 learns
        something in a minute.
    steps, batch_size, lr : int, int, float
        Optimisation: AdamW with warm-up and cosine decay of ``lr``, on
        cross-entropy plus soft Dice loss; the classifier starts at the class prior.
    seed : int
        Fixes initial weights, training scenes, batch order and augmentation.
    image_size : int
        The network's input size: scenes are drawn at 256 px and shrunk so
        their longest side is ``image_size`` (a multiple of 16), exactly as
        inference shrinks any image.
    crop_size : int or None
        Side of the random training crops (None: whole scenes). Crops keep the
        inference scale at a fraction of the cost.
    n_scenes : int
        Size of the pre-generated training set.
    val_every, val_scenes : int
        Every ``val_every`` steps (and at the end), the mIoU on
        ``val_scenes`` fixed medium validation scenes is recorded
        (``val_scenes=0`` skips validation).
    progress : callable, optional
        Called as ``progress(step, loss, val_miou)`` after every step
        (``val_miou`` is None except on validation steps).
    checkpoint_dir : path, optional
        Where ``checkpoint.pt`` is written every ``checkpoint_every`` steps
        and at the end. If it already holds a checkpoint of the same settings,
        training resumes from it.
    dataset : dict or path, optional
        A training set from :func:`seglib.deep.data.make_training_set`, or an
        .npz path where it is cached (generated if missing).
    threads : int, optional
        Torch threads while training (:func:`seglib.threads.limit_threads`;
        the setting before is restored after).
    should_stop : callable, optional
        Polled every step; returning True stops early (a checkpoint is still
        written), e.g. a Cancel button.

    Returns
    -------
    model : SegmentationNet
        In eval mode.
    history : list of dict
        One entry per step: ``step``, ``loss``, ``lr``, ``val_miou`` (or None), ``elapsed_s``.
    """
    settings = TrainSettings(arch=arch, width=width, depth=depth, steps=steps, batch_size=batch_size, lr=lr,
                             seed=seed, image_size=image_size, crop_size=crop_size, n_scenes=n_scenes,
                             val_every=val_every,
                             val_scenes=val_scenes)
    _check_settings(settings)
    with limit_threads(threads, blas=False) if threads is not None else contextlib.nullcontext():
        train_set = _training_set(dataset, settings)
        n_classes = len(train_set["class_names"])

        torch.manual_seed(seed)
        model = build_model(arch, **settings.model_config(n_classes))
        _init_prior(model, train_set["labels"])
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=settings.weight_decay)
        scheduler = _schedule(optimizer, steps)
        rng = np.random.default_rng(seed)
        state = TrainState()
        checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
        if checkpoint is not None and checkpoint.is_file():
            state = _resume(checkpoint, model, optimizer, scheduler, rng, settings)

        model.train()
        started = time.perf_counter() - state.elapsed_s
        while state.step < steps and not (should_stop and should_stop()):
            loss = _step(model, optimizer, scheduler, train_set, rng, settings)
            state.step += 1
            due = state.step % val_every == 0 or state.step == steps
            val = _validate(model, settings) if due and val_scenes > 0 else None
            state.elapsed_s = time.perf_counter() - started
            state.history.append({"step": state.step, "loss": loss, "lr": float(scheduler.get_last_lr()[0]),
                                  "val_miou": val, "elapsed_s": round(state.elapsed_s, 3)})
            if progress is not None:
                progress(state.step, loss, val)
            if checkpoint is not None and (state.step % checkpoint_every == 0 or state.step == steps):
                _save_checkpoint(checkpoint, model, optimizer, scheduler, state, rng, settings)
        if checkpoint is not None and state.step < steps:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, state, rng, settings)
        model.eval()
        mix = set(np.asarray(train_set.get("difficulties", data.DIFFICULTIES)).astype(str))
        model.train_settings = asdict(settings) | {"difficulties": [d for d in data.DIFFICULTIES if d in mix]}
        model.class_names = [str(c) for c in train_set["class_names"]]
        return model, state.history


def _training_set(dataset, settings: TrainSettings) -> dict:
    if isinstance(dataset, dict):
        return dataset
    if dataset is not None:
        return data.load_training_set(dataset, settings.n_scenes, seed=settings.seed, input_size=settings.image_size)
    return data.make_training_set(settings.n_scenes, seed=settings.seed, input_size=settings.image_size)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice loss averaged over classes: 1 - 2|P.T| / (|P| + |T|) with softmax probabilities P.

    Unlike cross-entropy, every class weighs the same whatever its area, so
    small shapes matter as much as the background that fills most pixels.
    """
    probabilities = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probabilities.dtype)
    overlap = (probabilities * onehot).sum(dim=(0, 2, 3))
    total = probabilities.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1.0 - ((2 * overlap + smooth) / (total + smooth)).mean()


def _init_prior(model: SegmentationNet, labels: np.ndarray) -> None:
    """Start the classifier's biases at the log class frequencies, so step 0 already predicts the prior."""
    counts = np.bincount(labels[: min(len(labels), 500)].ravel(), minlength=model.n_classes)[: model.n_classes]
    prior = (counts + 1) / (counts.sum() + model.n_classes)
    with torch.no_grad():
        model.classifier().bias.copy_(torch.from_numpy(np.log(prior)).float())


def _step(model, optimizer, scheduler, train_set: dict, rng: np.random.Generator, settings: TrainSettings) -> float:
    """One optimisation step on a random augmented batch; returns the loss."""
    n, batch_size = len(train_set["images"]), settings.batch_size
    pick = np.sort(rng.choice(n, size=batch_size, replace=n < batch_size))
    images, labels = train_set["images"][pick], train_set["labels"][pick]
    if settings.crop_size is not None:
        images, labels = data.random_crops(images, labels, settings.crop_size, rng)
    x, y = data.augment(images, labels, rng)
    logits = model(x)
    loss = F.cross_entropy(logits, y) + dice_loss(logits, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return float(loss.detach())


def model_card(model: SegmentationNet, history: list, *, metrics: dict, eval_scenes: int) -> dict:
    """The model card of a trained model (see ``seglib/deep/weights/*.json``)."""
    settings = model.train_settings
    return {
        "name": settings["arch"],
        "architecture": type(model).__name__,
        "config": model.config,
        "parameters": model.n_parameters(),
        "class_names": model.class_names,
        "input_size": settings["image_size"],
        "input": f"RGB in [0, 1], longest side resized to {settings['image_size']} px, padded to a multiple of 16",
        "training_data": (f"ShapeScenes (seglib.datasets.shapes.make_scene), {settings['n_scenes']} scenes of "
                          f"{_difficulty_text(settings)} drawn at {data.SCENE_SIZE} px (shrunk to "
                          f"{settings['image_size']} px if smaller); {_crops_text(settings)}, flips, "
                          "90-degree rotations, channel shuffles, "
                          "saturation (grayscale to vivid), brightness, contrast and noise"),
        "training": {k: settings[k] for k in ("steps", "batch_size", "lr", "weight_decay", "seed", "image_size",
                                              "crop_size", "n_scenes")}
                    | {"optimizer": "AdamW, 5% warm-up, cosine decay", "loss": "cross-entropy + soft Dice",
                       "final_loss": _mean_loss(history), "threads": torch.get_num_threads()},
        "wall_time_s": round(history[-1]["elapsed_s"], 1) if history else 0.0,
        "evaluation": (f"{eval_scenes} held-out scenes per difficulty at {data.SCENE_SIZE} px, seeds "
                       f"{data.HELDOUT_SEED}-{data.HELDOUT_SEED + eval_scenes - 1} (training seeds are below "
                       f"{data.VALIDATION_SEED}); confusion summed over the split"),
        "metrics": metrics,
        "warning": WARNING,
    }


def _difficulty_text(settings: dict) -> str:
    """``"random difficulty"`` for the full mix, else the difficulties named (``"easy and medium difficulty"``)."""
    mix = settings.get("difficulties") or list(data.DIFFICULTIES)
    return "random difficulty" if set(mix) == set(data.DIFFICULTIES) else " and ".join(mix) + " difficulty"


def _crops_text(settings: dict) -> str:
    if settings["crop_size"] is None:
        return "whole scenes"
    return f"random {settings['crop_size']} px crops"


def _mean_loss(history: list, last: int = 50) -> float | None:
    losses = [h["loss"] for h in history[-last:]]
    return round(float(np.mean(losses)), 4) if losses else None


def export(model: SegmentationNet, history: list, out_dir: str | os.PathLike, *, eval_scenes: int = 100,
           half: bool = False) -> dict:
    """Write ``<arch>.safetensors`` and the ``<arch>.json`` model card (metrics measured now) to ``out_dir``."""
    arch = model.train_settings["arch"]
    metrics = data.evaluate_model(model, input_size=model.train_settings["image_size"], n_scenes=eval_scenes)
    card = model_card(model, history, metrics=_rounded(metrics), eval_scenes=eval_scenes)
    out = Path(out_dir)
    metadata = model_metadata(model, class_names=model.class_names, input_size=model.train_settings["image_size"])
    save_weights(model, out / f"{arch}.safetensors", half=half, metadata=metadata)
    (out / f"{arch}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _rounded(metrics: dict) -> dict:
    return {d: {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()} for d, m in metrics.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train a segmentation network on ShapeScenes.")
    parser.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=None)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=128, help="network input size (longest side)")
    parser.add_argument("--crop-size", type=int, default=0, help="training crop side; 0 for whole scenes")
    parser.add_argument("--val-scenes", type=int, default=24, help="medium validation scenes (0: no validation)")
    parser.add_argument("--scenes", type=int, default=4000, help="size of the pre-generated training set")
    parser.add_argument("--data", default=None, help=".npz cache of the training set (generated if missing)")
    parser.add_argument("--out", required=True, help="directory for checkpoint.pt (resumed if present)")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (keep 1 on a shared machine)")
    parser.add_argument("--export", default=None, help="directory to write <arch>.safetensors and <arch>.json")
    parser.add_argument("--eval-scenes", type=int, default=100, help="held-out scenes per difficulty for the card")
    args = parser.parse_args(argv)

    def log(step, loss, val):
        if step % args.log_every == 0 or val is not None:
            val_text = f" val_mIoU={val:.4f}" if val is not None else ""
            print(f"step {step}/{args.steps} loss={loss:.4f}{val_text} t={time.perf_counter() - t0:.0f}s", flush=True)

    t0 = time.perf_counter()
    data_path = args.data or Path(args.out) / f"shapes_{args.scenes}x{args.image_size}_seed{args.seed}.npz"
    with limit_threads(args.threads, blas=False):  # the export's evaluation too
        model, history = train(args.arch, width=args.width, depth=args.depth, steps=args.steps,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed, image_size=args.image_size,
                               crop_size=args.crop_size or None, n_scenes=args.scenes, val_every=args.val_every,
                               val_scenes=args.val_scenes, progress=log, checkpoint_dir=args.out,
                               checkpoint_every=args.checkpoint_every, dataset=data_path)
        print(f"trained {args.arch}: {model.n_parameters()} parameters, {history[-1]['elapsed_s']:.0f}s of "
              "training", flush=True)
        if args.export:
            card = export(model, history, args.export, eval_scenes=args.eval_scenes)
            print(json.dumps(card["metrics"], indent=2), flush=True)


if __name__ == "__main__":
    main()
