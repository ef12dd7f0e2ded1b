"""DeepLabV3: a dilated convolutional backbone followed by atrous spatial pyramid pooling (ASPP).

Instead of shrinking the image further, DeepLab's backbone stops
down-sampling early and widens its later convolutions with holes
(*atrous* / dilated convolutions) so they see more context at the same
resolution. ASPP then looks at every position through parallel branches:
a 1x1 convolution, three 3x3 convolutions with growing atrous rates (small,
medium and large context) and an image-pooling branch (the whole image's
average, for global context). Their outputs are concatenated, projected
and classified; the logits are upsampled bilinearly to the input size.

This teaching version is small: its backbone is a plain stack of
convolutions (no ResNet) with output stride ``2**depth`` (4 by default,
since our images are small; the paper uses 8 or 16).

References
----------
L.-C. Chen, G. Papandreou, F. Schroff & H. Adam, Rethinking atrous
convolution for semantic image segmentation, arXiv:1706.05587, 2017.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import is_int
from .blocks import SegmentationNet, check_config, conv_bn_relu, normalise

MAX_RATES = 8
"""Most ASPP branches a DeepLabV3 may have (each is a full convolution block)."""
MAX_RATE = 64
"""Largest atrous rate (the padding of a branch equals its rate)."""


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel 1x1, atrous 3x3 and image-pooling branches.

    Parameters
    ----------
    in_channels, out_channels : int
    rates : tuple of int
        Atrous rates of the 3x3 branches.
    """

    def __init__(self, in_channels: int, out_channels: int, rates: tuple[int, ...]):
        super().__init__()
        self.rates = tuple(rates)
        pointwise = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
                                  nn.ReLU(inplace=True))
        self.branches = nn.ModuleDict({"1x1": pointwise})
        for rate in self.rates:
            self.branches[f"rate {rate}"] = conv_bn_relu(in_channels, out_channels, dilation=rate)
        # No batch norm on the 1x1 pooled map: it would fail on single-image batches.
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1),
                                        nn.ReLU(inplace=True))
        n_branches = len(self.branches) + 1
        self.project = nn.Sequential(nn.Conv2d(n_branches * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        """Each branch's output (``1x1``, ``rate r``..., ``image pooling``) and the ``projection``."""
        outputs = {name: branch(x) for name, branch in self.branches.items()}
        pooled = self.image_pool(x)
        outputs["image pooling"] = pooled.expand(-1, -1, *x.shape[-2:])
        outputs["projection"] = self.project(torch.cat(list(outputs.values()), dim=1))
        return outputs

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_branches(x)["projection"]


class DeepLabV3(SegmentationNet):
    """A small DeepLabV3.

    Parameters
    ----------
    n_classes, in_channels, width
        See :class:`~seglib.deep.blocks.SegmentationNet`.
    depth : int, default 2
        Number of stride-2 stages, 1 to 5: the output stride is ``2**depth``.
    rates : tuple of int, default (3, 6, 9)
        Atrous rates of the ASPP branches (in feature-map pixels): one to
        :data:`MAX_RATES` of them, each 1 to :data:`MAX_RATE`.
    dilated_blocks : int, default 2
        Convolution blocks after the last down-sampling, with dilation 2, that
        grow the receptive field without losing resolution.
    """

    arch = "deeplabv3"

    def __init__(self, n_classes: int, *, in_channels: int = 3, width: int = 16, depth: int = 2,
                 rates: tuple[int, ...] = (3, 6, 9), dilated_blocks: int = 2):
        check_config("dilated_blocks", dilated_blocks, 0, 8)
        if (not isinstance(rates, (list, tuple)) or not 1 <= len(rates) <= MAX_RATES
                or not all(is_int(r) and 1 <= r <= MAX_RATE for r in rates)):
            raise ValueError(f"rates={str(rates)[:80]} is not allowed: expected 1 to {MAX_RATES} integers in "
                             f"[1, {MAX_RATE}]")
        rates = tuple(int(r) for r in rates)
        super().__init__(dict(n_classes=n_classes, in_channels=in_channels, width=width, depth=depth,
                              rates=list(rates), dilated_blocks=dilated_blocks), max_depth=5)
        stages, c_in = [], in_channels
        for i in range(depth):
            c_out = width * 2**i
            stages.append(nn.Sequential(conv_bn_relu(c_in, c_out, stride=2), conv_bn_relu(c_out, c_out)))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        c_deep = 2 * c_in
        self.dilated = nn.Sequential(conv_bn_relu(c_in, c_deep, dilation=2),
                                     *(conv_bn_relu(c_deep, c_deep, dilation=2) for _ in range(dilated_blocks)))
        self.aspp = ASPP(c_deep, c_deep, rates)
        self.head = nn.Sequential(conv_bn_relu(c_deep, c_deep), nn.Conv2d(c_deep, n_classes, 1))

    def glass_box_layers(self) -> list[str]:
        rates = [f"ASPP: rate {r}" for r in self.config["rates"]]
        return ["stage 1", "dilated", "ASPP: 1x1", *rates, "ASPP: projection"]

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        """Named maps: ``stage i``, ``dilated``, ``ASPP: <branch>`` per branch, ``low-res logits``, ``logits``."""
        features: dict[str, Tensor] = {}
        h = normalise(x)
        for i, stage in enumerate(self.stages, 1):
            h = stage(h)
            features[f"stage {i}"] = h
        h = self.dilated(h)
        features["dilated"] = h
        for name, value in self.aspp.forward_branches(h).items():
            features[f"ASPP: {name}"] = value
        low = self.head(features["ASPP: projection"])
        features["low-res logits"] = low
        features["logits"] = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return features

