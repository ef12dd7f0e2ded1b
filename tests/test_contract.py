"""One contract every registered method keeps, checked on tiny images."""

import numpy as np
import pytest

import seglib
from seglib.result import Curve, Points

from helpers import quadrants

METHODS = [m.name for m in seglib.methods() if m.family not in ("deep", "interactive")]


@pytest.fixture(params=["gray", "rgb"])
def image(request):
    return quadrants(32, rgb=request.param == "rgb")[0]


@pytest.mark.parametrize("slug", METHODS)
def test_method_contract(slug, image):
    before = image.copy()
    result = seglib.segment(image, slug)
    np.testing.assert_array_equal(image, before)  # input never mutated
    assert result.labels.shape == image.shape[:2]
    assert result.labels.dtype == np.int32
    assert result.kind in ("binary", "semantic", "instance", "panoptic", "regions", "edges")
    assert result.labels.min() >= 0
    if result.kind in ("binary", "edges"):
        assert set(np.unique(result.labels)) <= {0, 1}
    if result.kind == "regions":
        assert result.labels.min() >= 0 and result.labels.max() >= 1
    if result.kind in ("semantic", "panoptic"):
        assert result.class_names, "semantic results name their classes"
    assert result.stages, "every method explains itself with stages"
    for name, value in result.stages.items():
        if isinstance(value, np.ndarray):
            assert value.shape[:2] == image.shape[:2], name
            assert np.all(np.isfinite(value)), name
        else:
            assert isinstance(value, (Curve, Points)), f"{slug} stage {name!r} is a {type(value).__name__}"
    assert set(seglib.method(slug).defaults()) <= set(result.params)


@pytest.mark.parametrize("slug", METHODS)
def test_method_survives_constant_image(slug):
    result = seglib.segment(np.full((12, 12, 3), 128, np.uint8), slug)
    assert result.labels.shape == (12, 12)


@pytest.mark.parametrize("slug", METHODS)
def test_every_default_is_accepted_explicitly(slug):
    m = seglib.method(slug)
    assert m.resolve(m.defaults()) == m.defaults()
