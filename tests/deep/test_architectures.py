"""The three architectures: output shapes, the parts that make each one what it is, glass-box features."""

import pytest
import torch
from torch import nn

from seglib.deep.deeplab import ASPP, DeepLabV3
from seglib.deep.models import ARCHITECTURES, build_model
from seglib.deep.segnet import SegNet
from seglib.deep.unet import UNet

SMALL = {"width": 4, "depth": 2}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("size", [(64, 64), (50, 70)])
def test_output_has_input_size_and_one_channel_per_class(arch, size):
    net = build_model(arch, n_classes=5, **SMALL).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 5, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_glass_box_layers_are_features_and_logits_come_last(arch):
    net = build_model(arch, n_classes=3, **SMALL).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        features = net.forward_features(x)
        torch.testing.assert_close(features["logits"], net(x))
    assert list(features)[-1] == "logits"
    assert net.glass_box_layers() and set(net.glass_box_layers()) <= set(features)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_width_and_depth_change_the_network(arch):
    small = build_model(arch, n_classes=4, width=4, depth=2)
    wider = build_model(arch, n_classes=4, width=8, depth=2)
    deeper = build_model(arch, n_classes=4, width=4, depth=3)
    assert small.n_parameters() < wider.n_parameters()
    assert small.n_parameters() < deeper.n_parameters()
    assert wider.config["width"] == 8 and deeper.config["depth"] == 3


def test_unet_decoder_concatenates_the_encoder_skip():
    net = UNet(3, width=4, depth=2)
    # The top decoder's first convolution reads the skip (4 channels) plus the upsampled map (4 channels).
    first_conv = net.decoders[-1][0][0]
    assert first_conv.in_channels == 2 * 4
    assert any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())


def test_unet_skips_carry_information():
    net = UNet(2, width=4, depth=2).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        before = net(x)
        net.encoders[0][1][0].weight.zero_()  # silence the top skip (and all that follows from it)
        after = net(x)
    assert not torch.allclose(before, after)


def test_segnet_unpools_with_the_encoder_pooling_indices():
    net = SegNet(3, width=4, depth=3).eval()
    kinds = [type(m) for m in net.modules()]
    assert nn.MaxUnpool2d in kinds
    assert net.pool.return_indices
    assert not any(isinstance(m, (nn.ConvTranspose2d, nn.Upsample)) for m in net.modules())
    with torch.no_grad():
        features = net.forward_features(torch.rand(1, 3, 64, 64))
    for i in (1, 2, 3):
        indices = features[f"pooling indices {i}"]
        assert indices.dtype == torch.int64
        pre_pool = features[f"encoder {i}"]
        assert indices.shape[-2:] == (pre_pool.shape[-2] // 2, pre_pool.shape[-1] // 2)
        # Each index points at the maximum of its 2x2 window in the pre-pooling map.
        flat = pre_pool.flatten(2)
        torch.testing.assert_close(flat.gather(2, indices.flatten(2)), nn.functional.max_pool2d(pre_pool, 2).flatten(2))


def test_segnet_output_depends_on_where_the_maxima_were():
    net = SegNet(2, width=4, depth=1).eval()
    calls = []
    original = net.unpool.forward
    net.unpool.forward = lambda x, indices, output_size=None: calls.append(indices) or original(x, indices, output_size)
    with torch.no_grad():
        net(torch.rand(1, 3, 16, 16))
    assert len(calls) == 1 and calls[0].shape[-2:] == (8, 8)


def test_deeplab_uses_atrous_convolutions_and_aspp():
    net = DeepLabV3(4, width=4, depth=2, rates=(2, 4, 6))
    dilations = {m.dilation[0] for m in net.modules() if isinstance(m, nn.Conv2d)}
    assert {2, 4, 6} <= dilations
    assert isinstance(net.aspp, ASPP)
    assert any(isinstance(m, nn.AdaptiveAvgPool2d) for m in net.aspp.modules())
    with torch.no_grad():
        features = net.forward_features(torch.rand(1, 3, 64, 64))
    for name in ("ASPP: 1x1", "ASPP: rate 2", "ASPP: rate 4", "ASPP: rate 6", "ASPP: image pooling"):
        assert features[name].shape[-2:] == (16, 16)  # output stride 4 with depth 2
    assert features["low-res logits"].shape[-2:] == (16, 16)
    assert features["logits"].shape[-2:] == (64, 64)


def test_deeplab_works_on_single_image_batches_in_training_mode():
    net = DeepLabV3(3, width=4, depth=2).train()
    net(torch.rand(1, 3, 32, 32)).sum().backward()


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("bad", [{"width": 0}, {"depth": 0}, {"width": 2.5}])
def test_bad_config_is_rejected_naming_the_setting(arch, bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        build_model(arch, n_classes=3, **{**SMALL, **bad})


def test_unknown_architecture_lists_the_valid_ones():
    with pytest.raises(KeyError, match="unet, segnet, deeplabv3"):
        build_model("fcn", n_classes=3)
