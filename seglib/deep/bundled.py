"""The bundled models, trained here on ShapeScenes, registered as methods ``unet``, ``segnet``, ``deeplabv3``.

Weights live in ``seglib/deep/weights/<name>.safetensors`` next to a model
card ``<name>.json`` (architecture, size, training settings, held-out
scores). Models are built once per process per weights file (a bounded
:class:`~seglib.deep.lru.LRUCache`) and only used for inference afterwards,
so one instance is safely shared by all sessions. A ``weights=`` argument (a
path, bytes or a binary file: safetensors, or a state dict saved with
``torch.save``, see :mod:`seglib.deep.sources`) replaces the bundled weights.

A weights file may describe its own network (``arch``, ``config``,
``class_names``, ``input_size`` in its safetensors metadata, written by
:func:`~seglib.deep.checkpoints.model_metadata`). That description is checked
before anything is built: the architecture must be this method's, the config
a JSON object of the constructor's arguments with RGB input, and the network
it describes must stay within :data:`MAX_PARAMETERS` and match every tensor
shape in the file (:func:`~seglib.deep.checkpoints.build_checked`).

Importing this module does not import torch; the first model use does.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from ..checks import check_int, parse_json
from ..registry import Param, register
from ..threads import cap_threads
from .lru import LRUCache
from .sources import user_source

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_INPUT_SIZE = 128
WARNING = "Trained on synthetic shapes: expect nonsense on photos"
MAX_PARAMETERS = 32_000_000
"""Largest network a weights file may describe (128 MB of float32; the bundled ones have 0.3-1.1 million,
the Train page's largest about 2 million)."""
INFERENCE_THREADS = min(2, os.cpu_count() or 1)
"""Torch threads of the serving process: one inference must not starve the other sessions."""
_models = LRUCache(8)


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


def _declared(metadata: dict, key: str, fallback, what: str):
    """The JSON value ``metadata[key]`` (``fallback`` when absent), or ``ValueError`` naming it."""
    if key not in metadata:
        return fallback
    return parse_json(metadata[key], f"the weights file's {key!r} metadata ({what})")


def _model_info(name: str, metadata: dict) -> dict:
    """Architecture config, class names and input size: from the file's metadata, else the bundled card.

    Only checked values come out: the config is a JSON object with RGB input
    (its sizes are then checked by the constructor and the parameter budget).
    """
    card = load_card(name) or {}
    arch = metadata.get("arch", name)
    if arch != name:
        raise ValueError(f"these weights are for {arch!r}, not {name!r}")
    config = _declared(metadata, "config", card.get("config"), "an object of the network's sizes")
    if config is None:
        raise RuntimeError(f"cannot tell the size of the {name!r} network: the weights carry no config and "
                           f"{_missing_message(name)}")
    if not isinstance(config, dict) or config.get("in_channels", 3) != 3:
        raise ValueError(f"the weights' config {str(config)[:200]!r} is not allowed: expected an object of "
                         f"the {name!r} constructor's arguments for RGB input (in_channels 3)")
    class_names = _declared(metadata, "class_names", card.get("class_names"), "a list of names")
    if not isinstance(class_names, list) or not all(isinstance(c, str) and len(c) <= 100 for c in class_names):
        class_names = None
    input_size = metadata.get("input_size", card.get("input_size", DEFAULT_INPUT_SIZE))
    input_size = check_int(int(input_size) if str(input_size).isdigit() else input_size,
                           "the weights' input_size", low=16, high=4096)
    return {"config": config, "class_names": class_names, "input_size": input_size}


def _build(name: str, source) -> tuple:
    """A network with checked weights from ``source`` (see :func:`~seglib.deep.checkpoints.build_checked`)."""
    from .checkpoints import build_checked, read_weights
    from .models import build_model

    state, metadata = read_weights(source)
    info = _model_info(name, metadata)
    model = build_checked(lambda: build_model(name, **info["config"]), state, name=f"the {name!r} weights",
                          max_parameters=MAX_PARAMETERS)
    if not info["class_names"] or len(info["class_names"]) != model.n_classes:
        info["class_names"] = [f"class {i}" for i in range(model.n_classes)]
    return model, info


def load_model_info(name: str, weights=None) -> tuple:
    """The (cached) model for ``name`` and weights source, with its info dict.

    A source that fails to load raises and caches nothing: the model other
    sessions use is never replaced by a broken one.
    """
    if weights is None:
        weights = weights_path(name)
        if not weights.is_file():
            raise RuntimeError(_missing_message(name))
    source = user_source(weights, name)
    built = _models.get_or_build(source.key, lambda: _build(name, source.data))
    cap_threads(INFERENCE_THREADS)  # torch is imported by now
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
