"""Running a network on numpy images of any size: resizing, padding, mapping back, glass-box stages."""

import numpy as np
import pytest
import torch

from seglib.deep.inference import model_input, pooling_positions, predict, segment_with_model
from seglib.deep.models import ARCHITECTURES, build_model

NAMES = ["background", "disk", "square"]


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def net(request):
    torch.manual_seed(0)
    return build_model(request.param, n_classes=3, width=4, depth=2).eval()


def test_model_input_keeps_aspect_and_pads_to_a_multiple_of_16():
    x, content = model_input(np.random.default_rng(0).random((100, 50)), 64)
    assert content == (64, 32)
    assert x.shape == (1, 3, 64, 32) and x.dtype == torch.float32
    x, content = model_input(np.full((30, 90, 3), 0.25), 64)
    assert content == (21, 64) and x.shape == (1, 3, 32, 64)
    torch.testing.assert_close(x, torch.full_like(x, 0.25))  # border repeated, values kept


def test_model_input_repeats_gray_to_three_channels():
    gray = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    x, _ = model_input(gray, 64)
    torch.testing.assert_close(x[0, 0], x[0, 1])
    torch.testing.assert_close(x[0, 0].double(), torch.from_numpy(gray), atol=1e-6, rtol=0)


def test_pooling_positions_name_the_window_pixel_of_the_maximum():
    pre = torch.zeros(1, 1, 4, 4)
    pre[0, 0, 0, 1] = 1  # window (0, 0): top-right
    pre[0, 0, 3, 2] = 1  # window (1, 1): bottom-left
    pre[0, 0, 3, 1] = 1  # window (1, 0): bottom-right
    _, indices = torch.nn.functional.max_pool2d(pre, 2, return_indices=True)
    assert pooling_positions(indices, 4)[0, 0].tolist() == [[1, 0], [3, 2]]


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3), (37, 53, 3), (200, 90)])
def test_segmentation_at_the_image_size_with_stages_of_the_same_size(net, shape):
    image = np.random.default_rng(1).random(shape)
    before = image.copy()
    result = segment_with_model(net, image, class_names=NAMES, input_size=64, layers=net.glass_box_layers())
    np.testing.assert_array_equal(image, before)
    assert result.labels.shape == shape[:2] and result.labels.dtype == np.int32
    assert set(np.unique(result.labels)) <= {0, 1, 2}
    assert result.class_names == NAMES
    for name, stage in result.stages.items():
        assert stage.shape[:2] == shape[:2], name
        assert np.all(np.isfinite(stage)), name
    np.testing.assert_allclose(result.scores, result.stages["class probabilities"])


def test_labels_are_the_most_probable_class_and_probabilities_sum_to_one(net):
    image = np.random.default_rng(2).random((40, 40, 3))
    probabilities, _ = predict(net, image, input_size=64)
    assert probabilities.shape == (3, 40, 40)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, atol=1e-5)
    result = segment_with_model(net, image, class_names=NAMES, input_size=64)
    np.testing.assert_array_equal(result.labels, probabilities.argmax(axis=0))
    assert [k for k in result.stages if k.startswith("probability: ")] == [f"probability: {n}" for n in NAMES]


def test_constant_image_gives_finite_output(net):
    result = segment_with_model(net, np.full((12, 12, 3), 0.5), class_names=NAMES, input_size=64,
                                layers=net.glass_box_layers())
    assert all(np.all(np.isfinite(v)) for v in result.stages.values())


def test_architecture_specific_stages():
    torch.manual_seed(0)
    segnet = build_model("segnet", n_classes=3, width=4, depth=2).eval()
    stages = segment_with_model(segnet, np.random.default_rng(0).random((32, 32, 3)), class_names=NAMES,
                                input_size=64, layers=segnet.glass_box_layers()).stages
    assert stages["pooling indices 1"].dtype == np.int32
    assert set(np.unique(stages["pooling indices 1"])) <= {0, 1, 2, 3}
    deeplab = build_model("deeplabv3", n_classes=3, width=4, depth=2, rates=(2, 4)).eval()
    stages = segment_with_model(deeplab, np.random.default_rng(0).random((32, 32)), class_names=NAMES,
                                input_size=64, layers=deeplab.glass_box_layers()).stages
    assert {"ASPP: 1x1", "ASPP: rate 2", "ASPP: rate 4"} <= set(stages)


def test_class_names_must_match_the_model(net):
    with pytest.raises(ValueError, match="class_names has 2 names but the model predicts 3"):
        segment_with_model(net, np.zeros((8, 8)), class_names=["a", "b"], input_size=64)
