"""Running a segmentation network on a numpy image of any size, with its glass box.

The network sees the image at a fixed scale: the longest side resized to
``input_size`` (what it was trained at), padded to a multiple of 16 by
repeating the border. Logits are cropped back to the image, upsampled
bilinearly to the working size and turned into probabilities there, so the
labels follow smooth class boundaries instead of blocky pixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..imaging import resize_image, to_rgb
from ..result import Segmentation
from .blocks import SegmentationNet

PAD_MULTIPLE = 16
MAX_CLASS_MAPS = 5


def model_input(image: np.ndarray, input_size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """The (1, 3, H', W') float32 tensor a network sees, and the (h, w) of the image inside it.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        Float in [0, 1] (gray is repeated to three channels).
    input_size : int
        Longest side after resizing; the other side keeps the aspect ratio.
        Both are then padded (border repeated) to a multiple of 16.
    """
    image = to_rgb(np.asarray(image, dtype=np.float64))
    height, width = image.shape[:2]
    scale = input_size / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    small = np.clip(resize_image(image, (h, w)), 0.0, 1.0)
    pad = [(0, -h % PAD_MULTIPLE), (0, -w % PAD_MULTIPLE), (0, 0)]
    padded = np.pad(small, pad, mode="edge").astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None], (h, w)


def _crop(tensor: torch.Tensor, content: tuple[int, int], padded: tuple[int, int]) -> torch.Tensor:
    """Crop a (1, C, h', w') map of a padded input to the part that covers the image."""
    rows = max(1, -(-content[0] * tensor.shape[-2] // padded[0]))
    cols = max(1, -(-content[1] * tensor.shape[-1] // padded[1]))
    return tensor[..., :rows, :cols]


def _to_image(tensor: torch.Tensor, shape: tuple[int, int], mode: str = "bilinear") -> np.ndarray:
    """Resize a (1, 1, h, w) map to ``shape`` and return it as a 2-D float64 array."""
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(tensor.float(), size=shape, mode=mode, **kwargs)[0, 0].double().numpy()


def _feature_summary(feature: torch.Tensor) -> torch.Tensor:
    """Mean activation over channels, scaled to [0, 1] (one picture per layer)."""
    mean = feature.float().mean(dim=1, keepdim=True)
    low, high = mean.min(), mean.max()
    return (mean - low) / (high - low) if high > low else torch.zeros_like(mean)


def pooling_positions(indices: torch.Tensor, width: int) -> torch.Tensor:
    """Which pixel of each 2x2 window held the maximum: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.

    Parameters
    ----------
    indices : Tensor, (N, C, h, w)
        ``MaxPool2d(return_indices=True)`` output: flat positions in the (2h, 2w) input.
    width : int
        Width of the map before pooling.
    """
    return (indices // width % 2) * 2 + indices % width % 2


def _class_maps(probabilities: np.ndarray, class_names: list[str]) -> dict[str, np.ndarray]:
    """Probability maps of the (at most five) most present classes, in class order."""
    order = np.argsort(-probabilities.reshape(len(class_names), -1).sum(axis=1), kind="stable")
    keep = sorted(order[:MAX_CLASS_MAPS])
    return {f"probability: {class_names[k]}": probabilities[k] for k in keep}


def glass_box(features: dict[str, torch.Tensor], layers: list[str], content: tuple[int, int],
              padded: tuple[int, int], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Display maps of the chosen layers at the working size.

    Activations become their channel mean (``features: <layer>``); SegNet's
    pooling indices become the window position of the first channel's
    maxima (``pooling indices <i>``), and DeepLab's ASPP branches keep their
    names (``ASPP: rate r``).
    """
    stages = {}
    for name in layers:
        feature = features[name]
        if name.startswith("pooling indices"):
            positions = pooling_positions(feature[:, :1], _pre_pool_width(features, name))
            stages[name] = _to_image(_crop(positions, content, padded), shape, mode="nearest").astype(np.int32)
        else:
            label = name if name.startswith("ASPP") else f"features: {name}"
            stages[label] = _to_image(_crop(_feature_summary(feature), content, padded), shape)
    return stages


def _pre_pool_width(features: dict[str, torch.Tensor], name: str) -> int:
    """Width of the map that was pooled into ``pooling indices i`` (SegNet's ``encoder i``)."""
    encoder = features.get(name.replace("pooling indices", "encoder"))
    return encoder.shape[-1] if encoder is not None else 2 * features[name].shape[-1]


def predict(model: SegmentationNet, image: np.ndarray, *, input_size: int,
            layers: list[str] = ()) -> tuple[np.ndarray, dict]:
    """Class probabilities at the image's size, and glass-box maps of ``layers``.

    Returns
    -------
    probabilities : ndarray, (K, H, W) float32
    stages : dict of str to ndarray
        ``input (as the network sees it)`` and the maps of :func:`glass_box`.
    """
    shape = np.shape(image)[:2]
    x, content = model_input(image, input_size)
    padded = tuple(x.shape[-2:])
    with torch.inference_mode():
        features = model.forward_features(x)
        logits = _crop(features["logits"], content, padded)
        logits = F.interpolate(logits, size=shape, mode="bilinear", align_corners=False)
        probabilities = torch.softmax(logits, dim=1)[0].numpy()
        stages = {"input (as the network sees it)": _network_view(x, content, shape)}
        stages.update(glass_box(features, list(layers), content, padded, shape))
    return probabilities, stages


def segment_with_model(model: SegmentationNet, image: np.ndarray, *, class_names: list[str], input_size: int,
                       layers: list[str] = (), notes: list[str] = ()) -> Segmentation:
    """A semantic :class:`~seglib.result.Segmentation` of ``image`` by ``model``.

    Stages: ``input`` (what the network sees, at the working size), the
    ``layers``' maps, ``probability: <class>`` maps and ``class probabilities``
    (the winning class's probability, also returned as ``scores``).
    """
    if len(class_names) != model.n_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the model predicts {model.n_classes} classes")
    probabilities, stages = predict(model, image, input_size=input_size, layers=layers)
    confidence = probabilities.max(axis=0).astype(np.float64)
    stages.update({k: v.astype(np.float64) for k, v in _class_maps(probabilities, list(class_names)).items()})
    stages["class probabilities"] = confidence
    return Segmentation(labels=probabilities.argmax(axis=0).astype(np.int32), class_names=list(class_names),
                        scores=confidence, stages=stages, notes=list(notes))


def _network_view(x: torch.Tensor, content: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """The image at the network's resolution, scaled back up: shows what detail the model loses."""
    small = x[0, :, :content[0], :content[1]].numpy().transpose(1, 2, 0).astype(np.float64)
    view = resize_image(small, shape)
    return np.clip(view if view.ndim == 3 else np.stack([view] * 3, axis=-1), 0.0, 1.0)
