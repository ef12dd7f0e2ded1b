"""The bundled models, trained here on ShapeScenes, registered as methods ``unet``, ``segnet``, ``deeplabv3``.

Weights live in ``seglib/deep/weights/<name>.safetensors`` next to a model
card ``<name>.json`` (architecture, size, training settings, held-out
scores). Models are built once per process per weights file and only used
for inference afterwards, so one instance is safely shared by all sessions.
A ``weights=`` argument (a path or bytes: safetensors, or a state dict saved
with ``torch.save``) replaces the bundled weights. Importing this module does
not import torch; the first model use does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..registry import Param, register

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_INPUT_SIZE = 128
WARNING = "Trained on synthetic shapes: expect nonsense on photos"
_MAX_MODELS = 8
_models: "OrderedDict[tuple, tuple]" = OrderedDict()
_lock = threading.Lock()
_threads_capped = False


def weights_path(name: str) -> Path:
    """Where the bundled weights of ``name`` live."""
    return WEIGHTS_DIR / f"{name}.safetensors"


def load_card(name: str) -> dict | None:
    """The model card of ``name`` as a dict, or None if it has not been trained yet."""
    path = WEIGHTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


# The training commands of the bundled weights (15-65 minutes each on one shared CPU thread).
RECIPES = {
    "unet": "--width 12 --depth 4 --steps 8000 --scenes 8000",
    "segnet": "--width 16 --depth 4 --steps 5000 --scenes 8000",
    "deeplabv3": "--width 16 --depth 2 --steps 3000 --scenes 8000",
}


def training_command(name: str) -> str:
    """The shell command that trains and exports the bundled weights of ``name``."""
    return (f"python -m seglib.deep.train --arch {name} {RECIPES[name]} --threads 1 --out runs/{name} "
            "--export seglib/deep/weights")


def _missing_message(name: str) -> str:
    return (f"the bundled weights of {name!r} are missing ({weights_path(name)} not found). "
            f"Train them with: {training_command(name)}")


def _cap_threads() -> None:
    """Cap torch's threads once, so one inference does not starve other sessions."""
    global _threads_capped
    if not _threads_capped:
        import torch

        torch.set_num_threads(min(2, os.cpu_count() or 1))
        _threads_capped = True


def _source_key(name: str, weights) -> tuple[tuple, object]:
    """A cache key for a weights source (path + mtime + size, or content hash) and the source to read."""
    if weights is None:
        path = weights_path(name)
        if not path.is_file():
            raise RuntimeError(_missing_message(name))
        weights = path
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"weights={str(weights)!r}: no such file; expected a .safetensors file or a "
                                    "state dict saved with torch.save")
        stat = path.stat()
        return (name, str(path), stat.st_mtime_ns, stat.st_size), path
    if hasattr(weights, "read"):  # an open binary file, e.g. a Streamlit upload
        weights = weights.read()
    if isinstance(weights, (bytes, bytearray, memoryview)):
        data = bytes(weights)
        return (name, "bytes", hashlib.blake2b(data, digest_size=16).hexdigest()), data
    raise TypeError(f"weights of type {type(weights).__name__} is not allowed: expected None (bundled), "
                    "a path, bytes or a binary file object")


def _model_info(name: str, metadata: dict) -> dict:
    """Architecture config, class names and input size: from the file's metadata, else the bundled card."""
    card = load_card(name) or {}
    arch = metadata.get("arch", name)
    if arch != name:
        raise ValueError(f"these weights are for {arch!r}, not {name!r}")
    config = json.loads(metadata["config"]) if "config" in metadata else card.get("config")
    if config is None:
        raise RuntimeError(f"cannot tell the size of the {name!r} network: the weights carry no config and "
                           f"{_missing_message(name)}")
    class_names = json.loads(metadata["class_names"]) if "class_names" in metadata else card.get("class_names")
    input_size = int(metadata.get("input_size", card.get("input_size", DEFAULT_INPUT_SIZE)))
    return {"config": config, "class_names": class_names, "input_size": input_size}


def _build(name: str, source) -> tuple:
    """A fresh network with checked weights from ``source``, in eval mode, and its info."""
    from .checkpoints import check_state_dict, read_weights
    from .models import build_model

    state, metadata = read_weights(source)
    info = _model_info(name, metadata)
    model = build_model(name, **info["config"])
    model.load_state_dict(check_state_dict(state, model, name=f"the {name!r} weights"))
    if not info["class_names"] or len(info["class_names"]) != model.n_classes:
        info["class_names"] = [f"class {i}" for i in range(model.n_classes)]
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, info


def load_model_info(name: str, weights=None) -> tuple:
    """The (cached) model for ``name`` and weights source, with its info dict.

    A source that fails to load raises and caches nothing: the model other
    sessions use is never replaced by a broken one.
    """
    key, source = _source_key(name, weights)
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
    _cap_threads()
    built = _build(name, source)  # outside the lock: a slow load does not block other models
    with _lock:
        _models[key] = built
        while len(_models) > _MAX_MODELS:
            _models.popitem(last=False)
    return built


def load_model(name: str, weights=None):
    """The torch module of bundled model ``name`` (or with ``weights``), built once per process.

    Raises
    ------
    RuntimeError
        If the bundled weights have not been trained yet (says how to train them).
    ValueError
        If ``weights`` is malformed, unsafe or does not fit the architecture.
    """
    return load_model_info(name, weights)[0]


def _run(name: str, image, *, input_size: int, weights=None):
    from .inference import segment_with_model

    model, info = load_model_info(name, weights)
    notes = [WARNING + ".", f"The network saw the image at {input_size} px (longest side)."]
    if input_size != info["input_size"]:
        notes.append(f"It was trained at {info['input_size']} px: other sizes change the apparent size of shapes.")
    return segment_with_model(model, image, class_names=info["class_names"], input_size=input_size,
                              layers=model.glass_box_layers(), notes=notes)


MODELS = {
    "unet": dict(
        title="U-Net (bundled, ShapeScenes)",
        description="An encoder shrinks the image into coarse, meaningful features; a decoder grows them back "
                    "and, at every scale, concatenates the encoder's maps of the same size (skip connections), "
                    "so boundaries stay sharp. This small U-Net was trained here on synthetic shape scenes.",
        references=("O. Ronneberger, P. Fischer & T. Brox, U-Net: Convolutional networks for biomedical image "
                    "segmentation, MICCAI 2015.",),
    ),
    "segnet": dict(
        title="SegNet (bundled, ShapeScenes)",
        description="An encoder-decoder where each decoder stage un-pools using the positions of the encoder's "
                    "max-pooling maxima (the pooling indices), putting values back exactly where they came from; "
                    "convolutions fill the gaps. Trained here on synthetic shape scenes.",
        references=("V. Badrinarayanan, A. Kendall & R. Cipolla, SegNet: A deep convolutional encoder-decoder "
                    "architecture for image segmentation, IEEE TPAMI 39(12), 2017.",),
    ),
    "deeplabv3": dict(
        title="DeepLabV3 (bundled, ShapeScenes)",
        description="Atrous (dilated) convolutions widen what each feature sees without shrinking the map; the "
                    "ASPP module looks at every position at several atrous rates plus the whole-image average, "
                    "and the coarse logits are upsampled. Trained here on synthetic shape scenes.",
        references=("L.-C. Chen, G. Papandreou, F. Schroff & H. Adam, Rethinking atrous convolution for semantic "
                    "image segmentation, arXiv:1706.05587, 2017.",),
    ),
}


def _register(name: str) -> None:
    card = load_card(name)
    input_size = int(card["input_size"]) if card else DEFAULT_INPUT_SIZE
    params = (Param("input_size", input_size, low=64, high=512, step=16,
                    help="Longest side (pixels) the network sees. Keep the trained size so shapes appear at "
                         "the scale it learned; larger shows finer detail but shapes look bigger to it."),)

    def run(image, *, input_size, weights=None):
        return _run(name, image, input_size=input_size, weights=weights)

    run.__name__ = run.__qualname__ = f"segment_{name}"
    register(name, family="deep", kind="semantic", params=params, inputs=("weights",), card=card,
             build=functools.partial(load_model, name), **MODELS[name])(run)


for _name in MODELS:
    _register(_name)
