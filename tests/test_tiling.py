"""Tiled full-resolution segmentation equals the untiled result for local methods."""

import numpy as np
import pytest
from skimage import data, transform

import seglib
import seglib.tiling as tiling
from seglib.tiling import TILEABLE, segment_tiled, tile_margin


@pytest.fixture(scope="module")
def photo():
    # 150 x 190: tiles of 64 leave ragged tiles at the right and bottom edges
    return (transform.resize(data.astronaut(), (150, 190)) * 255).astype(np.uint8)


@pytest.mark.parametrize("slug, params", [
    ("global-threshold", {"threshold": 0.4}),
    ("adaptive-threshold", {"block_size": 41}),
    ("adaptive-threshold", {"block_size": 15, "offset": 0.02, "polarity": "dark"}),
    ("sobel", {}),
    ("sobel", {"thin": True, "threshold": 0.05}),
    ("log", {"sigma": 1.5}),
])
def test_tiled_equals_untiled(photo, slug, params):
    whole = seglib.segment(photo, slug, working_size=None, **params)
    tiled = segment_tiled(photo, slug, tile_size=64, **params)
    np.testing.assert_array_equal(tiled.labels, whole.labels)
    assert tiled.labels.dtype == np.int32 and tiled.kind == whole.kind
    assert any("Ran in 9 tile(s) of up to 64 px" in note for note in tiled.notes)


@pytest.mark.parametrize("invert", [False, True])
def test_auto_polarity_is_decided_for_the_whole_image_not_per_tile(photo, invert):
    image = 255 - photo if invert else photo
    whole = seglib.segment(image, "adaptive-threshold", working_size=None, block_size=41)
    tiled = segment_tiled(image, "adaptive-threshold", tile_size=64, block_size=41)
    np.testing.assert_array_equal(tiled.labels, whole.labels)
    side = [n for n in whole.notes if n.startswith("Auto polarity")]
    assert side and side[0] in tiled.notes
    assert 2 * np.count_nonzero(tiled.labels) <= tiled.labels.size  # the smaller side is foreground


def test_gray_input_and_one_tile(photo):
    gray = photo[..., 0]
    whole = seglib.segment(gray, "sobel", working_size=None)
    np.testing.assert_array_equal(segment_tiled(gray, "sobel", tile_size=64).labels, whole.labels)
    np.testing.assert_array_equal(segment_tiled(gray, "sobel", tile_size=512, scheduler="synchronous").labels,
                                  whole.labels)


def test_a_margin_too_small_breaks_the_equality(photo, monkeypatch):
    # the test above can fail: with half the margin, pixels near tile borders differ
    params = {"block_size": 41}
    whole = seglib.segment(photo, "adaptive-threshold", working_size=None, **params)
    monkeypatch.setitem(TILEABLE, "adaptive-threshold", lambda p: tiling._adaptive_margin(p) // 2)
    tiled = segment_tiled(photo, "adaptive-threshold", tile_size=64, **params)
    assert (tiled.labels != whole.labels).any()


@pytest.mark.parametrize("method, block, margin", [("gaussian", 35, 23), ("gaussian", 36, 24), ("mean", 35, 17),
                                                   ("median", 9, 4)])
def test_adaptive_margin_is_the_filter_radius(method, block, margin):
    assert tiling._adaptive_margin({"block_size": block, "method": method}) == margin


def test_margins_of_edge_methods():
    assert tile_margin("global-threshold") == 0
    assert tile_margin("sobel") == 1 and tile_margin("sobel", {"thin": True}) == 2
    assert tile_margin("log", {"sigma": 2.0}) == 9


@pytest.mark.parametrize("slug, params, match", [
    ("otsu", {}, "method 'otsu' is not local, so it cannot run tiled; tileable methods: global-threshold"),
    ("sobel", {"close_regions": True}, "close_regions=True numbers regions across the whole image"),
    ("sobel", {"threshold": 2.0}, r"threshold=2.0 is not allowed"),
])
def test_methods_that_cannot_run_tiled(photo, slug, params, match):
    with pytest.raises(ValueError, match=match):
        segment_tiled(photo, slug, **params)


@pytest.mark.parametrize("tile_size", [8, 64.0, True])
def test_bad_tile_size(photo, tile_size):
    with pytest.raises(ValueError, match=r"tile_size=.* is not allowed: expected an integer >= 16"):
        segment_tiled(photo, "sobel", tile_size=tile_size)


def test_input_is_not_mutated(photo):
    before = photo.copy()
    segment_tiled(photo, "log", tile_size=64)
    np.testing.assert_array_equal(photo, before)
