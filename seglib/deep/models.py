"""The architecture registry: names to network classes, and building a net from a config.

>>> net = build_model("unet", n_classes=4, width=8, depth=2)
>>> type(net).__name__
'UNet'
"""

from __future__ import annotations

from .blocks import SegmentationNet
from .deeplab import DeepLabV3
from .segnet import SegNet
from .unet import UNet

ARCHITECTURES: dict[str, type[SegmentationNet]] = {"unet": UNet, "segnet": SegNet, "deeplabv3": DeepLabV3}


def architecture(name: str) -> type[SegmentationNet]:
    """The network class called ``name`` (``KeyError`` listing the valid names)."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; valid architectures are: {', '.join(ARCHITECTURES)}") from None


def build_model(arch: str, **config) -> SegmentationNet:
    """A freshly initialised network of architecture ``arch`` built from ``config``.

    Parameters
    ----------
    arch : str
        ``"unet"``, ``"segnet"`` or ``"deeplabv3"``.
    **config
        The class's constructor arguments (``n_classes``, ``width``, ``depth``, ...),
        e.g. a model card's ``"config"``.
    """
    config = dict(config)
    n_classes = config.pop("n_classes")
    if "rates" in config:
        config["rates"] = tuple(config["rates"])
    return architecture(arch)(n_classes, **config)
