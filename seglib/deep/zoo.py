"""Pretrained torchvision models for real photos: four semantic networks and Mask R-CNN.

Registered as methods ``tv-deeplabv3-mobilenet``, ``tv-deeplabv3-resnet50``,
``tv-fcn-resnet50``, ``tv-lraspp`` (semantic, the 20 Pascal VOC classes plus
background) and ``mask-rcnn`` (instance, the 91 COCO categories). Everything
about a model comes from torchvision's weights API
(:func:`torchvision.models.get_weight`): the file to download, the input
transforms, the class names and the published scores shown in the model card.

Each model is a declaration (:class:`ZooModel`): its torchvision builder and
weights, and the published file as a :class:`~seglib.deep.sources.Download`
(URL, size, the SHA-256 prefix torchvision puts in the file name), so pages
can say how large a download is without importing torchvision. The file is
downloaded on first use into torch's standard cache
(``torch.hub.get_dir()/checkpoints``, as ``torchvision`` itself does) by
:func:`seglib.deep.sources.download`; offline and uncached, a method fails
within seconds with a :class:`WeightsUnavailable` error that names the file
it needs and where to put it. A ``weights=`` argument (a path, bytes or a
binary file: a state dict saved with ``torch.save``, as torchvision's own
files are, or safetensors) is loaded instead, safely, through
:mod:`seglib.deep.checkpoints`; its tensor shapes are checked against the
architecture before the network is built.

Models are built once per process per weights file (a bounded
:class:`~seglib.deep.lru.LRUCache`), kept in eval mode and only used under
``torch.inference_mode``, so one instance is shared by every session.
Importing this module imports neither torch nor torchvision; the first use does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import cached_stage
from ..imaging import to_rgb
from ..registry import Param, register
from ..result import Segmentation
from ..threads import cap_threads
from .lru import LRUCache
from .sources import DOWNLOAD_TIMEOUT_S, Download, Source, declare_download, download, user_source
from .sources import WeightsUnavailable  # noqa: F401 - part of this module's API (zoo.WeightsUnavailable)

SEMANTIC_INPUT_SIZE = 520  # torchvision's segmentation transforms resize the shorter side to 520 px
DETECTION_SIZE = 640
MAX_ASPECT = 1333 / 800  # the longer side may be at most this times the shorter side's target
MAX_NOTED_INSTANCES = 12
MAX_PROPOSALS_SHOWN = 100
MAX_PARAMETERS = 50_000_000
"""The architectures are fixed (Mask R-CNN, the largest, has 44 million parameters): a bound, not a choice."""
INFERENCE_THREADS = 2
"""Torch threads of the serving process: one inference must not starve the other sessions."""
TORCHVISION_URL = "https://download.pytorch.org/models/"
_models = LRUCache(4)


def _published(file_name: str, size_mb: float) -> Download:
    """A torchvision weights file: its name ends in the first hex digits of its SHA-256."""
    return Download(file_name, TORCHVISION_URL + file_name, size=round(size_mb * 1e6),
                    digest=file_name.rsplit("-", 1)[1].split(".")[0])


@dataclass(frozen=True)
class ZooModel:
    """A torchvision model offered as a method.

    Attributes
    ----------
    builder : str
        Name for :func:`torchvision.models.get_model`.
    weights : str
        ``"<Enum>.<member>"`` for :func:`torchvision.models.get_weight`.
    download : Download
        The published weights file (a test checks it against torchvision's metadata).
    architecture : str
        One line for the model card.
    """

    builder: str
    weights: str
    download: Download
    architecture: str
    title: str
    description: str
    references: tuple[str, ...]
    kind: str = "semantic"


_DEEPLAB = ("L.-C. Chen, G. Papandreou, F. Schroff & H. Adam, Rethinking atrous convolution for semantic image "
            "segmentation, arXiv:1706.05587, 2017.")
_MOBILENET = ("A. Howard et al., Searching for MobileNetV3, ICCV 2019.")
_RESNET = "K. He, X. Zhang, S. Ren & J. Sun, Deep residual learning for image recognition, CVPR 2016."
_VOC_NOTE = "Pretrained on a subset of COCO with the 20 Pascal VOC classes; other things count as background."

MODELS: dict[str, ZooModel] = {
    "tv-deeplabv3-mobilenet": ZooModel(
        "deeplabv3_mobilenet_v3_large", "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1",
        _published("deeplabv3_mobilenet_v3_large-fc3c493d.pth", 42.301),
        "DeepLabV3 head (ASPP) on a dilated MobileNetV3-Large backbone",
        "DeepLabV3 (MobileNetV3, torchvision)",
        "DeepLabV3's atrous spatial pyramid pooling on a light MobileNetV3 backbone: the fastest of the "
        f"DeepLab models, a good first try on photos. {_VOC_NOTE}",
        (_DEEPLAB, _MOBILENET)),
    "tv-deeplabv3-resnet50": ZooModel(
        "deeplabv3_resnet50", "DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1",
        _published("deeplabv3_resnet50_coco-cd0a2569.pth", 160.515),
        "DeepLabV3 head (ASPP) on a dilated ResNet-50 backbone",
        "DeepLabV3 (ResNet-50, torchvision)",
        "DeepLabV3 on a ResNet-50 whose last stages use dilated convolutions instead of striding, so the "
        f"features stay at 1/8 of the image size: slower, but the most accurate model here. {_VOC_NOTE}",
        (_DEEPLAB, _RESNET)),
    "tv-fcn-resnet50": ZooModel(
        "fcn_resnet50", "FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1",
        _published("fcn_resnet50_coco-1167a1af.pth", 135.009),
        "Fully convolutional network head on a dilated ResNet-50 backbone",
        "FCN (ResNet-50, torchvision)",
        "The fully convolutional network: a classification network whose last layers are convolutions, so it "
        f"labels every position, then upsamples the coarse scores to the image. {_VOC_NOTE}",
        ("J. Long, E. Shelhamer & T. Darrell, Fully convolutional networks for semantic segmentation, "
         "CVPR 2015.", _RESNET)),
    "tv-lraspp": ZooModel(
        "lraspp_mobilenet_v3_large", "LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1",
        _published("lraspp_mobilenet_v3_large-d234d4ea.pth", 12.49),
        "Lite R-ASPP head on a MobileNetV3-Large backbone",
        "LR-ASPP (MobileNetV3, torchvision)",
        "Lite reduced ASPP: a tiny head that gates deep, coarse features with a global attention vector and "
        f"adds detail from an early layer; built for phones, so it is the quickest model here. {_VOC_NOTE}",
        (_MOBILENET,)),
    "mask-rcnn": ZooModel(
        "maskrcnn_resnet50_fpn", "MaskRCNN_ResNet50_FPN_Weights.COCO_V1",
        _published("maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", 169.84),
        "Mask R-CNN: ResNet-50 + feature pyramid, region proposal network, box and mask heads",
        "Mask R-CNN (ResNet-50 FPN, torchvision)",
        "A two-stage instance segmenter: a region proposal network suggests boxes that may hold objects, a head "
        "classifies and refines each box, and a small network paints a 28 x 28 mask inside it. Pretrained on COCO "
        "(91 categories): each detected object becomes its own instance.",
        ("K. He, G. Gkioxari, P. Dollar & R. Girshick, Mask R-CNN, ICCV 2017.",
         "T.-Y. Lin et al., Feature pyramid networks for object detection, CVPR 2017."),
        kind="instance"),
}


def _spec(name: str) -> ZooModel:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown zoo model {name!r}; valid models are: {', '.join(MODELS)}") from None


def weights_enum(name: str):
    """The torchvision ``Weights`` member of zoo model ``name`` (metadata, transforms, URL)."""
    from torchvision.models import get_weight

    return get_weight(_spec(name).weights)


def class_names(name: str) -> list[str]:
    """Class names of zoo model ``name``, from its weights' ``meta["categories"]``."""
    return list(weights_enum(name).meta["categories"])


# ---------------------------------------------------------------- files and downloads

def weights_file(name: str) -> str:
    """File name of the pretrained weights (the last part of their URL)."""
    return _spec(name).download.file_name


def cache_path(name: str) -> Path:
    """Where torch's cache keeps the weights: ``torch.hub.get_dir()/checkpoints/<file>``."""
    return _spec(name).download.path


def is_cached(name: str) -> bool:
    """Whether the pretrained weights of ``name`` are already in torch's cache."""
    return _spec(name).download.is_cached()


def download_size_mb(name: str) -> float:
    """Size of the weights file in MB, as published."""
    return _spec(name).download.size_mb


def missing_message(name: str, reason: str = "") -> str:
    """What to do when the weights of ``name`` are neither cached nor downloadable."""
    return _spec(name).download.missing_message(repr(name), reason)


def download_weights(name: str, progress: Callable[[int, int], None] | None = None,
                     timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The cached weights file of ``name``, downloaded first if it is not there.

    See :func:`seglib.deep.sources.download` (``WeightsUnavailable`` offline,
    ``ValueError`` for a corrupt download).
    """
    return download(_spec(name).download, repr(name), progress=progress, timeout=timeout)


# ---------------------------------------------------------------- models

def _source(name: str, weights) -> Source:
    """The weights source of ``name``: the given ``weights``, else the cached download."""
    return user_source(download_weights(name) if weights is None else weights, name)


def _fit_batchnorm_counters(state: dict, model) -> dict:
    """Make BatchNorm's ``num_batches_tracked`` counters agree with ``model``.

    torchvision's pretrained detectors use frozen batch norm, which has no
    counter; rebuilt without pretrained weights they use ordinary batch norm,
    which has one. The counter does nothing at inference, so a missing one
    starts at zero (as in a fresh model) and one the model lacks is dropped.
    """
    import torch

    target = model.state_dict()
    fitted = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked") or k in target}
    for key in target:
        if key.endswith("num_batches_tracked") and key not in fitted:
            fitted[key] = torch.zeros((), dtype=torch.long)
    return fitted


def _build(name: str, data):
    """A torchvision network for ``name`` with checked weights from ``data``, in eval mode."""
    import torch
    import torchvision.models

    from .checkpoints import build_checked, read_state_dict

    spec = _spec(name)
    state = read_state_dict(data)
    # The auxiliary training head of the semantic models is not needed to predict: leave it out.
    state = {k: v for k, v in state.items() if not k.startswith("aux_classifier.")}
    extra = {"aux_loss": False} if spec.kind == "semantic" else {}

    def build():
        return torchvision.models.get_model(spec.builder, weights=None, weights_backbone=None,
                                            num_classes=len(class_names(name)), **extra)

    with torch.device("meta"):
        skeleton = build()  # allocates nothing: only its keys are used here
    state = _fit_batchnorm_counters(state, skeleton)
    return build_checked(build, state, name=f"the {name!r} weights", max_parameters=MAX_PARAMETERS)


def _loaded(source: Source):
    model = _models.get_or_build(source.key, lambda: _build(source.key[0], source.data))
    cap_threads(INFERENCE_THREADS)
    return model


def load_model(name: str, weights=None):
    """The torch module of zoo model ``name``, built once per process per weights file.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    weights : path, bytes or binary file, optional
        A local weights file instead of the (downloaded) pretrained one.

    Raises
    ------
    WeightsUnavailable
        Offline and uncached (says which file to put where).
    ValueError
        If ``weights`` is malformed, unsafe or does not fit the architecture.
    """
    return _loaded(_source(name, weights))


def clear_models() -> None:
    """Forget the built models (tests and memory pressure)."""
    _models.clear()


# ---------------------------------------------------------------- model cards

def published_metrics(name: str) -> dict[str, float]:
    """The scores torchvision publishes for the weights (``meta["_metrics"]``), flattened.

    Keys are ``"<metric> (<dataset>)"``, e.g. ``"miou (COCO-val2017-VOC-labels)"``.
    """
    metrics = weights_enum(name).meta.get("_metrics", {})
    return {f"{metric} ({dataset})": value for dataset, values in metrics.items() for metric, value in values.items()}


@functools.cache
def model_card(name: str) -> dict:
    """The model card of zoo model ``name``, from its weights' metadata (read once: it imports torchvision).

    Registered as the method's ``card`` function, so registering does not
    import torchvision; :meth:`seglib.registry.Method.model_card` calls it.
    """
    spec, weights = _spec(name), weights_enum(name)
    meta = weights.meta
    return {
        "name": name,
        "architecture": spec.architecture,
        "weights": spec.weights,
        "parameters": meta.get("num_params"),
        "training_data": " ".join(str(meta.get("_docs", "")).split()) or "see the recipe",
        "recipe": meta.get("recipe", ""),
        "input": _input_description(name),
        "gflops": meta.get("_ops"),
        "file": weights_file(name),
        "file_size_mb": meta.get("_file_size"),
        "download_url": weights.url,
        "cache_path": str(cache_path(name)),
        "published_metrics": published_metrics(name),
        "class_names": list(meta["categories"]),
        "warning": "Published scores were measured by torchvision at its own input size; this dashboard lets "
                   "you change the size, which changes speed and accuracy.",
    }


def _input_description(name: str) -> str:
    if _spec(name).kind == "semantic":
        return (f"RGB, shorter side resized (default {SEMANTIC_INPUT_SIZE} px), normalised with ImageNet mean and "
                "standard deviation")
    return "RGB in [0, 1]; the detector resizes the shorter side (800 px in the published evaluation) and normalises"


# ---------------------------------------------------------------- inference helpers

def _as_tensor(image: np.ndarray):
    """A (1, 3, H, W) float32 tensor of an image in [0, 1] (gray repeated to three channels)."""
    import torch

    rgb = to_rgb(np.asarray(image, dtype=np.float32))
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def _summary_map(feature, shape: tuple[int, int]) -> np.ndarray:
    """A feature map's channel mean scaled to [0, 1], resized to ``shape``."""
    from .inference import _feature_summary, _to_image

    return _to_image(_feature_summary(feature), shape)


def _network_view(x, mean, std, shape: tuple[int, int]) -> np.ndarray:
    """The normalised network input turned back into a picture at ``shape``."""
    import torch

    from .inference import _network_view as view

    raw = x * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
    return view(raw.clamp(0, 1), tuple(raw.shape[-2:]), shape)


def _published_note(name: str) -> str:
    scores = ", ".join(f"{k} {v}" for k, v in published_metrics(name).items())
    return f"Published scores of these weights: {scores}." if scores else ""


# ---------------------------------------------------------------- semantic models

def shorter_side(shape: tuple[int, int], input_size: int) -> int:
    """The shorter side (pixels) the network sees for an image of ``shape``.

    ``input_size``, or less where the longer side would then pass
    ``input_size * 1333 / 800`` (torchvision's rule for its detectors), so a
    panorama does not become a gigantic input.
    """
    short, long = sorted(shape[:2])
    return max(1, round(short * min(input_size / short, input_size * MAX_ASPECT / long)))


def _semantic(name: str, image: np.ndarray, *, input_size: int, weights=None) -> Segmentation:
    import torch
    import torch.nn.functional as F

    from .inference import _class_maps

    model = load_model(name, weights)
    names = class_names(name)
    shape = image.shape[:2]
    transform = weights_enum(name).transforms(resize_size=shorter_side(shape, input_size))
    with torch.inference_mode():
        x = transform(_as_tensor(image))
        features = model.backbone(x)
        if "high" in features:  # LR-ASPP's head mixes a deep and an early feature map
            deep, logits = features["high"], model.classifier(features)
        else:
            deep, logits = features["out"], model.classifier(features["out"])
        logits = F.interpolate(logits, size=shape, mode="bilinear", align_corners=False)
        probabilities = torch.softmax(logits, dim=1)[0].numpy()
        stages = {"input (as the network sees it)": _network_view(x, transform.mean, transform.std, shape),
                  "features: backbone (channel mean)": _summary_map(deep, shape)}
    confidence = probabilities.max(axis=0).astype(np.float64)
    stages.update({k: v.astype(np.float64) for k, v in _class_maps(probabilities, names).items()})
    stages["class probabilities"] = confidence
    notes = [f"The network saw the image with its shorter side at {min(x.shape[-2:])} px "
             f"({x.shape[-1]} x {x.shape[-2]} px).", _published_note(name)]
    return Segmentation(labels=probabilities.argmax(axis=0).astype(np.int32), class_names=names,
                        scores=confidence, stages=stages, notes=[n for n in notes if n])


def _register_semantic(name: str) -> None:
    spec = MODELS[name]
    params = (Param("input_size", SEMANTIC_INPUT_SIZE, low=128, high=1024, step=8,
                    help="Shorter side (pixels) the network sees; torchvision's published scores use 520. "
                         "Smaller is faster but misses small objects; larger helps small objects on big photos."),)

    def run(image, *, input_size, weights=None):
        return _semantic(name, image, input_size=input_size, weights=weights)

    run.__name__ = run.__qualname__ = "segment_" + name.replace("-", "_")
    register(name, title=spec.title, family="deep", kind="semantic", params=params, inputs=("weights",),
             description=spec.description, references=spec.references, card=functools.partial(model_card, name),
             build=functools.partial(load_model, name))(run)


# ---------------------------------------------------------------- Mask R-CNN

@cached_stage
def _detections(image: np.ndarray, source: Source, detection_size: int) -> dict:
    """Mask R-CNN's raw output on ``image`` (boxes in image pixels, 28 x 28 mask probabilities).

    Runs the detector's stages one by one (as ``GeneralizedRCNN.forward``
    does) with its own resizing transform, so the shared model is never
    changed and the proposals and features can be shown.
    """
    import torch
    from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes

    model = _loaded(source)
    shape = image.shape[:2]
    transform = GeneralizedRCNNTransform(detection_size, round(detection_size * MAX_ASPECT),
                                         model.transform.image_mean, model.transform.image_std)
    with torch.inference_mode():
        x = weights_enum(source.key[0]).transforms()(_as_tensor(image)[0])
        images, _ = transform([x])
        features = model.backbone(images.tensors)
        proposals, _ = model.rpn(images, features)
        found = model.roi_heads(features, proposals, images.image_sizes)[0][0]
        resized = images.image_sizes[0]
        finest = features["0"]  # stride 4, of the image padded to a multiple of 32: crop the padding
        content = finest[..., :math.ceil(resized[0] / 4), :math.ceil(resized[1] / 4)]
        return {
            "boxes": resize_boxes(found["boxes"], resized, shape).numpy(),
            "labels": found["labels"].numpy(),
            "scores": found["scores"].numpy(),
            "masks": found["masks"][:, 0].numpy(),
            "proposals": resize_boxes(proposals[0][:MAX_PROPOSALS_SHOWN], resized, shape).numpy(),
            "features": _summary_map(content, shape),
            "input_shape": tuple(int(s) for s in resized),
        }


def paste_masks(masks: np.ndarray, boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Mask probabilities (N, 28, 28) pasted into their boxes on an (H, W) canvas: (N, H, W) float32."""
    import torch
    from torchvision.models.detection.roi_heads import paste_masks_in_image

    if len(masks) == 0:
        return np.zeros((0, *shape), dtype=np.float32)
    pasted = paste_masks_in_image(torch.from_numpy(masks[:, None]), torch.from_numpy(boxes), shape, padding=1)
    return pasted[:, 0].numpy()


def instance_labels(soft_masks: np.ndarray, mask_threshold: float) -> np.ndarray:
    """Instance map: pixel = 1 + index of the first (highest-scoring) mask above the threshold, else 0."""
    inside = np.asarray(soft_masks) > mask_threshold
    if len(inside) == 0:
        return np.zeros(inside.shape[1:], dtype=np.int32)
    return np.where(inside.any(axis=0), inside.argmax(axis=0) + 1, 0).astype(np.int32)


def draw_boxes(image: np.ndarray, boxes: np.ndarray, colours: np.ndarray, width: int = 2) -> np.ndarray:
    """An RGB float copy of ``image`` with rectangle outlines of ``boxes`` (x0, y0, x1, y1) in ``colours``."""
    canvas = to_rgb(np.asarray(image, dtype=np.float64)).copy()
    height, wide = canvas.shape[:2]
    for (x0, y0, x1, y1), colour in zip(np.round(boxes).astype(int), colours):
        x0, x1 = np.clip([x0, x1], 0, wide - 1)
        y0, y1 = np.clip([y0, y1], 0, height - 1)
        paint = np.asarray(colour, dtype=np.float64) / 255.0
        canvas[y0:y0 + width, x0:x1 + 1] = paint
        canvas[max(y1 - width + 1, 0):y1 + 1, x0:x1 + 1] = paint
        canvas[y0:y1 + 1, x0:x0 + width] = paint
        canvas[y0:y1 + 1, max(x1 - width + 1, 0):x1 + 1] = paint
    return canvas


def detect(image: np.ndarray, *, score_threshold: float = 0.5, mask_threshold: float = 0.5,
           detection_size: int = DETECTION_SIZE, weights=None) -> dict:
    """Mask R-CNN detections kept at ``score_threshold``, best first, with masks at the image's size.

    The network runs once per image, size and weights (a cached stage);
    changing the thresholds only filters and pastes.

    Returns
    -------
    dict
        ``boxes`` (N, 4) x0 y0 x1 y1, ``labels`` (N,) COCO category indices,
        ``scores`` (N,), ``soft_masks`` (N, H, W) probabilities,
        ``instances`` (H, W) int32 (0 none, i = i-th detection), plus the
        raw output (``proposals``, ``features``, ``input_shape``) and ``class_names``.
    """
    raw = _detections(image, _source("mask-rcnn", weights), int(detection_size))
    keep = np.flatnonzero(raw["scores"] >= score_threshold)  # already sorted by score, best first
    soft = paste_masks(raw["masks"][keep], raw["boxes"][keep], image.shape[:2])
    return {**raw, "boxes": raw["boxes"][keep], "labels": raw["labels"][keep], "scores": raw["scores"][keep],
            "soft_masks": soft, "instances": instance_labels(soft, mask_threshold),
            "class_names": class_names("mask-rcnn")}


def _instance_notes(found: dict, limit: int = MAX_NOTED_INSTANCES) -> list[str]:
    names, instances = found["class_names"], found["instances"]
    areas = np.bincount(instances.ravel(), minlength=len(found["scores"]) + 1)
    lines = [f"#{i + 1} {names[label]} (score {score:.2f}, {areas[i + 1]} px)"
             for i, (label, score) in enumerate(zip(found["labels"][:limit], found["scores"][:limit]))]
    more = len(found["scores"]) - limit
    return lines + ([f"... and {more} more detections"] if more > 0 else [])


def segment_instances(image: np.ndarray, *, score_threshold: float = 0.5, mask_threshold: float = 0.5,
                      detection_size: int = DETECTION_SIZE, weights=None) -> tuple[Segmentation, dict]:
    """Mask R-CNN's instance :class:`~seglib.result.Segmentation` of ``image`` and the detections of :func:`detect`.

    Labels: 0 none, ``i`` the i-th kept detection (best first). Stages: FPN
    features, region proposals, kept boxes, mask probabilities and the COCO
    class of each pixel; notes list the detections with their scores.
    """
    from ..viz import label_colours

    found = detect(image, score_threshold=score_threshold, mask_threshold=mask_threshold,
                   detection_size=detection_size, weights=weights)
    n = len(found["scores"])
    colours = label_colours(n + 1)[1:]
    soft = found["soft_masks"]
    classes = np.concatenate([[0], found["labels"]])[found["instances"]]
    stages = {
        "features: FPN finest level (channel mean)": found["features"],
        f"region proposals (top {len(found['proposals'])})": draw_boxes(image, found["proposals"],
                                                                        np.full((len(found["proposals"]), 3), 255)),
        f"detected boxes (score >= {score_threshold:g})": draw_boxes(image, found["boxes"], colours),
        "mask probabilities (max over kept detections)": soft.max(axis=0).astype(np.float64) if n
        else np.zeros(image.shape[:2]),
        "COCO class of each pixel": classes.astype(np.int32),
    }
    h, w = found["input_shape"]
    notes = [f"{n} detections with score >= {score_threshold:g} (the detector saw {w} x {h} px).",
             *_instance_notes(found), _published_note("mask-rcnn")]
    return Segmentation(labels=found["instances"], stages=stages, notes=[x for x in notes if x]), found


def _register_mask_rcnn() -> None:
    spec = MODELS["mask-rcnn"]
    params = (
        Param("score_threshold", 0.5, low=0.05, high=1.0, step=0.05,
              help="Keep detections at least this confident. Lower finds more objects (and more false ones); "
                   "moving it does not rerun the network."),
        Param("mask_threshold", 0.5, low=0.05, high=0.95, step=0.05,
              help="A pixel belongs to an object where its mask probability exceeds this. Lower grows the masks."),
        Param("detection_size", DETECTION_SIZE, low=320, high=1024, step=32,
              help="Shorter side (pixels) the detector sees; the published scores use 800. Smaller is faster "
                   "but misses small objects."),
    )

    def run(image, *, score_threshold, mask_threshold, detection_size, weights=None):
        return segment_instances(image, score_threshold=score_threshold, mask_threshold=mask_threshold,
                                 detection_size=detection_size, weights=weights)[0]

    run.__name__ = run.__qualname__ = "segment_mask_rcnn"
    register("mask-rcnn", title=spec.title, family="deep", kind="instance", params=params, inputs=("weights",),
             description=spec.description, references=spec.references, card=functools.partial(model_card, "mask-rcnn"),
             build=functools.partial(load_model, "mask-rcnn"))(run)


for _name, _model in MODELS.items():
    if _model.kind == "semantic":
        _register_semantic(_name)
    declare_download(_name, _model.download)
_register_mask_rcnn()
