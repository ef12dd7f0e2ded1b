"""U-Net: an encoder-decoder whose decoder concatenates the encoder's feature maps.

The encoder halves the resolution ``depth`` times while doubling the number
of channels; the decoder upsamples with transposed convolutions and, at
every level, concatenates the encoder map of the same size (the skip
connection) so fine boundaries lost by pooling come back.

References
----------
O. Ronneberger, P. Fischer & T. Brox, U-Net: Convolutional networks for
biomedical image segmentation, MICCAI 2015.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import SegmentationNet, double_conv, normalise


class UNet(SegmentationNet):
    """A small U-Net.

    Parameters
    ----------
    n_classes, in_channels, width
        See :class:`~seglib.deep.blocks.SegmentationNet`.
    depth : int, default 3
        Number of 2x down-samplings, 1 to 6 (the bottleneck sees 1 / 2**depth of the input).

    Examples
    --------
    >>> net = UNet(4, width=8, depth=2)
    >>> net(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 4, 64, 64])
    """

    arch = "unet"

    def __init__(self, n_classes: int, *, in_channels: int = 3, width: int = 16, depth: int = 3):
        super().__init__(dict(n_classes=n_classes, in_channels=in_channels, width=width, depth=depth), max_depth=6)
        channels = [width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(
            double_conv(c_in, c_out) for c_in, c_out in zip([in_channels] + channels[:-2], channels[:-1])
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = double_conv(channels[-2], channels[-1])
        # Decoder level i goes from channels[i + 1] to channels[i]; built deepest first.
        self.upsamplers = nn.ModuleList(
            nn.ConvTranspose2d(channels[i + 1], channels[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.decoders = nn.ModuleList(double_conv(2 * channels[i], channels[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(width, n_classes, 1)

    def glass_box_layers(self) -> list[str]:
        return ["encoder 1", "bottleneck", "decoder 1"]

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        """Named intermediate maps: ``encoder i``, ``bottleneck``, ``decoder i``, ``logits``."""
        features: dict[str, Tensor] = {}
        skips = []
        h = normalise(x)
        for i, encoder in enumerate(self.encoders, 1):
            h = encoder(h)
            features[f"encoder {i}"] = h
            skips.append(h)
            h = self.pool(h)
        h = self.bottleneck(h)
        features["bottleneck"] = h
        for level, (up, decoder, skip) in enumerate(zip(self.upsamplers, self.decoders, reversed(skips))):
            h = up(h)
            if h.shape[-2:] != skip.shape[-2:]:  # odd sizes: pooling floored, so match the skip
                h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = decoder(torch.cat([skip, h], dim=1))
            features[f"decoder {len(skips) - level}"] = h
        features["logits"] = self.head(h)
        return features
