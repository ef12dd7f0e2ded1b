"""SegNet: an encoder-decoder whose decoder un-pools with the encoder's max-pooling indices.

Each encoder stage max-pools and remembers *where* each maximum was (one of
the four pixels of its 2x2 window). The mirrored decoder stage puts every
value back at exactly that position (``nn.MaxUnpool2d``), leaving zeros
elsewhere, and convolutions fill in the rest. Only the indices are kept,
not whole feature maps as in U-Net, which makes SegNet memory-frugal.

References
----------
V. Badrinarayanan, A. Kendall & R. Cipolla, SegNet: A deep convolutional
encoder-decoder architecture for image segmentation, IEEE TPAMI 39(12), 2017.
"""

from __future__ import annotations

from torch import Tensor, nn

from .blocks import SegmentationNet, double_conv, normalise


class SegNet(SegmentationNet):
    """A small SegNet.

    Parameters
    ----------
    n_classes, in_channels, width
        See :class:`~seglib.deep.blocks.SegmentationNet`.
    depth : int, default 3
        Number of pooling / un-pooling pairs (1 to 6).

    Notes
    -----
    :meth:`forward_features` includes ``pooling indices i``: the flat
    (row * W + col) position, in the pre-pooling map, of every maximum.
    """

    arch = "segnet"

    def __init__(self, n_classes: int, *, in_channels: int = 3, width: int = 16, depth: int = 3):
        super().__init__(dict(n_classes=n_classes, in_channels=in_channels, width=width, depth=depth), max_depth=6)
        channels = [width * 2**i for i in range(depth)]
        self.encoders = nn.ModuleList(
            double_conv(c_in, c_out) for c_in, c_out in zip([in_channels] + channels[:-1], channels)
        )
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        # Decoder stage i mirrors encoder stage i: from channels[i] down to channels[i - 1] (width at the top).
        self.decoders = nn.ModuleList(
            double_conv(channels[i], channels[max(i - 1, 0)]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(width, n_classes, 1)

    def glass_box_layers(self) -> list[str]:
        deepest = self.config["depth"]
        return ["encoder 1", "pooling indices 1", f"encoder {deepest}", "decoder 1"]

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        """Named maps: ``encoder i``, ``pooling indices i``, ``decoder i``, ``logits``."""
        features: dict[str, Tensor] = {}
        pooled = []  # (indices, size before pooling) per stage
        h = normalise(x)
        for i, encoder in enumerate(self.encoders, 1):
            h = encoder(h)
            features[f"encoder {i}"] = h
            size = h.shape[-2:]
            h, indices = self.pool(h)
            features[f"pooling indices {i}"] = indices
            pooled.append((indices, size))
        for level, decoder in enumerate(self.decoders):
            indices, size = pooled[-1 - level]
            h = self.unpool(h, indices, output_size=size)
            h = decoder(h)
            features[f"decoder {len(pooled) - level}"] = h
        features["logits"] = self.head(h)
        return features
