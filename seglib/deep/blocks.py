"""Building blocks shared by the bundled architectures.

Every network here is a :class:`SegmentationNet`: ``forward(x)`` returns
per-pixel class logits at the input's size, and ``forward_features(x)``
returns an ordered dict of named intermediate tensors (ending with
``"logits"``) that the dashboard shows as the model's glass box.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..checks import check_int


def conv_bn_relu(in_channels: int, out_channels: int, *, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 convolution, batch normalisation and ReLU (the workhorse of all three nets).

    The padding equals the dilation, so a stride-1 block keeps the spatial size
    whatever its dilation (an atrous convolution sees a wider window, not a
    smaller output).
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def double_conv(in_channels: int, out_channels: int, *, dilation: int = 1) -> nn.Sequential:
    """Two :func:`conv_bn_relu` blocks: one U-Net / SegNet stage."""
    return nn.Sequential(
        conv_bn_relu(in_channels, out_channels, dilation=dilation),
        conv_bn_relu(out_channels, out_channels, dilation=dilation),
    )


def check_config(name: str, value: int, low: int, high: int) -> int:
    """Validate an integer architecture setting (``ValueError`` naming it)."""
    return check_int(value, name, low=low, high=high)


def normalise(x: Tensor) -> Tensor:
    """Standardise each image of a batch: subtract its mean colour, divide by its contrast.

    The background usually dominates a picture, so after this it sits near
    zero whatever its colour or brightness, and objects stand out by their
    difference from it. The contrast floor keeps flat images finite.
    """
    mean = x.mean(dim=(2, 3), keepdim=True)
    spread = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False).clamp_min(0.05)
    return (x - mean) / spread


class SegmentationNet(nn.Module):
    """Base class: a network mapping (N, C, H, W) images in [0, 1] to (N, K, H, W) logits.

    Subclasses implement :meth:`forward_features` and store their constructor
    arguments in :attr:`config`, so a model card can rebuild them. Every
    subclass takes these sizes, checked here (a weights file may declare them):

    Parameters
    ----------
    n_classes : int
        Number of output classes (background included), 1 to 1000.
    in_channels : int, default 3
        1 to 4.
    width : int, default 16
        Channels of the first stage, 1 to 256; stage ``i`` has ``width * 2**i``.
    depth : int
        Number of down-sampling stages, 1 to ``max_depth``.
    """

    arch: str = ""

    def __init__(self, config: dict, *, max_depth: int):
        check_config("n_classes", config["n_classes"], 1, 1000)
        check_config("in_channels", config["in_channels"], 1, 4)
        check_config("width", config["width"], 1, 256)
        check_config("depth", config["depth"], 1, max_depth)
        super().__init__()
        self.config = dict(config)

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x)["logits"]

    def glass_box_layers(self) -> list[str]:
        """Names of :meth:`forward_features` maps worth showing a student (a few, input to output)."""
        return []

    def classifier(self) -> nn.Conv2d:
        """The final 1x1 convolution that produces the class logits (registered last)."""
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)][-1]

    @property
    def n_classes(self) -> int:
        return self.config["n_classes"]

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
