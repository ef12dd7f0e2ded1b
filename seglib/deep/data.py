"""ShapeScenes data for the deep models: a pre-generated training set, augmentation and evaluation.

Scenes are drawn at ``SCENE_SIZE`` pixels by
:func:`seglib.datasets.shapes.make_scene` and shrunk to the network's input
size exactly as inference shrinks any image (:func:`~seglib.deep.inference.model_input`),
so the model trains on what it will see. Training scenes use seeds below
:data:`HELDOUT_SEED`; the model cards' metrics use seeds from it upwards,
never seen in training.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..imaging import as_float, resize_labels
from ..metrics import confusion_matrix
from .inference import model_input, predict

SCENE_SIZE = 256
DIFFICULTIES = ("easy", "medium", "hard")
VALIDATION_SEED = 90_000  # small validation split watched during training
HELDOUT_SEED = 100_000  # model-card test split: seeds HELDOUT_SEED ... HELDOUT_SEED + n - 1


def scene(seed: int, difficulty: str | None = None, size: int = SCENE_SIZE):
    """One ShapeScenes scene (see :func:`seglib.datasets.shapes.make_scene`)."""
    from ..datasets.shapes import make_scene

    return make_scene(seed, size=size, difficulty=difficulty)


def class_names() -> list[str]:
    """The ShapeScenes class names (background first)."""
    return list(scene(0, "easy", size=64).class_names)


def _shrink(image: np.ndarray, semantic: np.ndarray, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A scene at the network's input size: uint8 (S, S, 3) image and uint8 labels."""
    x, (h, w) = model_input(as_float(image), input_size)
    small = np.round(x[0, :, :h, :w].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    return small, resize_labels(semantic, (h, w)).astype(np.uint8)


def make_training_set(n_scenes: int, *, seed: int = 0, input_size: int = 128,
                      progress=None) -> dict[str, np.ndarray]:
    """Pre-generate ``n_scenes`` training scenes of random difficulty at ``input_size``.

    Parameters
    ----------
    n_scenes : int
        Number of scenes; their seeds are ``seed * n_scenes + i``, all below
        :data:`VALIDATION_SEED` (so disjoint from validation and test seeds).
    seed : int
        Chooses the scenes and their difficulties.
    input_size : int
        Side of the stored images (scenes are drawn at 256 px and shrunk).
    progress : callable, optional
        Called as ``progress(i, n_scenes)`` every 500 scenes.

    Returns
    -------
    dict
        ``images`` (N, S, S, 3) uint8, ``labels`` (N, S, S) uint8,
        ``seeds`` (N,), ``difficulties`` (N,) str, ``class_names``.
    """
    first = seed * n_scenes
    if first + n_scenes > VALIDATION_SEED:
        raise ValueError(f"n_scenes={n_scenes} with seed={seed} would use scene seeds up to {first + n_scenes}; "
                         f"training seeds must stay below {VALIDATION_SEED}")
    rng = np.random.default_rng(seed)
    difficulties = rng.choice(DIFFICULTIES, size=n_scenes)
    images, labels = [], []
    for i, difficulty in enumerate(difficulties):
        s = scene(first + i, str(difficulty))
        image, semantic = _shrink(s.image, s.semantic, input_size)
        images.append(image)
        labels.append(semantic)
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1, n_scenes)
    return {"images": np.stack(images), "labels": np.stack(labels), "seeds": np.arange(first, first + n_scenes),
            "difficulties": difficulties.astype(str), "class_names": np.array(s.class_names)}


def load_training_set(path: str | os.PathLike, n_scenes: int, *, seed: int = 0, input_size: int = 128,
                      progress=None) -> dict[str, np.ndarray]:
    """The training set stored at ``path`` (an .npz), generated and saved first if it is not there."""
    path = Path(path)
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            data = {k: stored[k] for k in stored.files}
        if len(data["images"]) == n_scenes and data["images"].shape[1] == input_size:
            return data
    data = make_training_set(n_scenes, seed=seed, input_size=input_size, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data


def random_crops(images: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator):
    """One random ``size`` x ``size`` window per scene (the whole scene if it is not larger).

    Fully convolutional networks train on crops at the scale they will see
    at inference, which costs a fraction of whole scenes.
    """
    height, width = images.shape[1:3]
    if size >= height and size >= width:
        return images, labels
    rows = rng.integers(0, max(height - size, 0) + 1, len(images))
    cols = rng.integers(0, max(width - size, 0) + 1, len(images))
    image_crops = np.stack([im[r:r + size, c:c + size] for im, r, c in zip(images, rows, cols)])
    label_crops = np.stack([lb[r:r + size, c:c + size] for lb, r, c in zip(labels, rows, cols)])
    return image_crops, label_crops


def augment(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch with random flips, 90-degree rotations and colour changes.

    Colour changes (channel shuffles, saturation from grayscale to vivid,
    brightness, contrast and noise) keep the model from keying on colour:
    shapes, not paint, decide the class.

    Parameters
    ----------
    images : ndarray, (N, S, S, 3) uint8
    labels : ndarray, (N, S, S) uint8

    Returns
    -------
    x : Tensor, (N, 3, S, S) float32 in [0, 1]
    y : Tensor, (N, S, S) int64
    """
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    y = torch.from_numpy(labels.astype(np.int64))
    k = int(rng.integers(4))
    x, y = torch.rot90(x, k, dims=(2, 3)), torch.rot90(y, k, dims=(1, 2))
    if rng.random() < 0.5:
        x, y = x.flip(3), y.flip(2)
    n = len(x)
    x = x[:, torch.from_numpy(rng.permutation(3))]
    luminance = x.mean(dim=1, keepdim=True)
    saturation = torch.from_numpy(np.where(rng.random(n) < 0.15, 0.0, rng.uniform(0.5, 3.0, n))).float()
    x = luminance + saturation.view(n, 1, 1, 1) * (x - luminance)  # 0 = grayscale, > 1 = vivid colours
    contrast = torch.from_numpy(rng.uniform(0.7, 1.2, (n, 1, 1, 1))).float()
    brightness = torch.from_numpy(rng.uniform(-0.15, 0.15, (n, 1, 1, 1))).float()
    noise = torch.from_numpy(rng.uniform(0.0, 0.04, (n, 1, 1, 1))).float()
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    x = (x - 0.5) * contrast + 0.5 + brightness + noise * torch.randn(x.shape, generator=generator)
    return x.clamp(0.0, 1.0).contiguous(), y.contiguous()


def scores(matrix: np.ndarray) -> dict[str, float]:
    """Mean IoU and pixel accuracy of a summed confusion matrix (rows truth, columns prediction).

    Like :func:`seglib.metrics.mean_iou`, classes absent from both truth and
    prediction are left out of the mean.
    """
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    present = union > 0
    miou = float(np.mean(tp[present] / union[present])) if present.any() else 1.0
    return {"miou": miou, "pixel_accuracy": float(tp.sum() / max(matrix.sum(), 1))}


def evaluate_model(model, *, input_size: int, difficulties=DIFFICULTIES, n_scenes: int = 100,
                   first_seed: int = HELDOUT_SEED, scene_size: int = SCENE_SIZE) -> dict[str, dict[str, float]]:
    """mIoU and pixel accuracy of ``model`` on a fixed ShapeScenes split, per difficulty.

    Every scene is predicted at full scene size (the model runs at
    ``input_size`` and its logits are upsampled), and confusion counts are
    summed over the split before scoring (Pascal VOC style).

    Parameters
    ----------
    model : SegmentationNet
        Put in eval mode for the evaluation (and left there).
    input_size : int
        The model's input size.
    difficulties : sequence of str
    n_scenes : int
        Scenes per difficulty, seeds ``first_seed ... first_seed + n_scenes - 1``.

    Returns
    -------
    dict
        ``{difficulty: {"miou": ..., "pixel_accuracy": ..., "n_scenes": ...}}``.
    """
    model.eval()
    results = {}
    for difficulty in difficulties:
        matrix = np.zeros((model.n_classes, model.n_classes), dtype=np.int64)
        for seed in range(first_seed, first_seed + n_scenes):
            s = scene(seed, difficulty, size=scene_size)
            probabilities, _ = predict(model, as_float(s.image), input_size=input_size)
            matrix += confusion_matrix(probabilities.argmax(axis=0), s.semantic, model.n_classes)
        results[difficulty] = {**scores(matrix), "n_scenes": n_scenes}
    return results
