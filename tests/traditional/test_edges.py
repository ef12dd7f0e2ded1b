import numpy as np
import pytest
from skimage import data, feature, filters
from skimage.color import rgb2gray

import seglib
from seglib import cache
from seglib.traditional import edges

from helpers import quadrants


def square(size=40, low=0.2, high=0.8):
    image = np.full((size, size), low)
    image[size // 4:3 * size // 4, size // 4:3 * size // 4] = high
    return image


def noisy_square():
    rng = np.random.default_rng(3)
    return np.clip(square(64) + rng.normal(0, 0.08, (64, 64)), 0, 1)


CANNY_IMAGES = {
    "camera": lambda: data.camera()[100:356, 150:406],
    "coins": lambda: data.coins(),
    "square": lambda: square(),
    "noisy square": noisy_square,
    "astronaut (rgb)": lambda: data.astronaut()[:200, 150:350],
}


def gray_of(image):
    if image.ndim == 3:
        return rgb2gray(image)
    return image / 255.0 if image.dtype == np.uint8 else image


@pytest.mark.parametrize("name", CANNY_IMAGES)
@pytest.mark.parametrize("sigma, low, high", [(1.0, 0.1, 0.2), (2.0, 0.03, 0.08), (0.0, 0.2, 0.5), (3.0, 0.0, 0.0)])
def test_canny_equals_scikit_image(name, sigma, low, high):
    image = CANNY_IMAGES[name]()
    result = seglib.segment(image, "canny", working_size=None, sigma=sigma, thresholds="absolute",
                            low_threshold=low, high_threshold=high)
    expected = feature.canny(gray_of(image), sigma, low, high)
    np.testing.assert_array_equal(result.labels, expected.astype(np.int32))
    assert result.kind == "edges"


@pytest.mark.parametrize("name", CANNY_IMAGES)
@pytest.mark.parametrize("sigma, low, high", [(1.0, 0.8, 0.95), (2.0, 0.5, 0.9), (0.0, 0.9, 0.99)])
def test_canny_quantile_thresholds_equal_scikit_image(name, sigma, low, high):
    image = CANNY_IMAGES[name]()
    result = seglib.segment(image, "canny", working_size=None, sigma=sigma, thresholds="quantiles",
                            low_quantile=low, high_quantile=high)
    expected = feature.canny(gray_of(image), sigma, low, high, use_quantiles=True)
    np.testing.assert_array_equal(result.labels, expected.astype(np.int32))


def test_canny_defaults_mark_a_few_percent_of_pixels_on_every_sample():
    """Default Canny draws outlines, not a wash: at most 10% edge pixels on each bundled
    sample and the default ShapeScene (absolute 0.1/0.2 marked 22% of the IHC stain)."""
    from seglib.datasets.shapes import make_scene
    from seglib.samples import SAMPLES

    pictures = {s.name: s.load() for s in SAMPLES} | {"scene": make_scene(3, size=384, difficulty="medium").image}
    fractions = {name: seglib.segment(image, "canny").labels.mean() for name, image in pictures.items()}
    assert all(0.005 < f < 0.10 for f in fractions.values()), fractions
    absolute = seglib.segment(pictures["ihc"], "canny", thresholds="absolute").labels.mean()
    assert absolute > 0.15, "the textbook thresholds should still wash the IHC stain (the case this fixes)"


def test_non_maximum_suppression_equals_scikit_image_helper():
    helper = pytest.importorskip("skimage.feature._canny_cy")._nonmaximum_suppression_bilinear
    rng = np.random.default_rng(0)
    # Small integers make zeros and ties (|gi| == |gj|, equal neighbours) common.
    rows = rng.integers(-3, 4, (40, 50)).astype(np.float64)
    cols = rng.integers(-3, 4, (40, 50)).astype(np.float64)
    magnitude = np.hypot(rows, cols)
    inside = np.zeros((40, 50), np.uint8)
    inside[1:-1, 1:-1] = 1
    np.testing.assert_array_equal(edges.nonmax_suppression(rows, cols, magnitude),
                                  helper(rows, cols, magnitude, inside, 0.0))


def test_canny_stages_explain_hysteresis():
    result = seglib.segment(noisy_square(), "canny", thresholds="absolute", low_threshold=0.05, high_threshold=0.3)
    stages = result.stages
    assert list(stages)[:3] == ["smoothed", "gradient magnitude", "non-maximum suppression"]
    thinned = stages["non-maximum suppression"]
    assert np.count_nonzero(thinned) < np.count_nonzero(stages["gradient magnitude"]) / 2
    picture = stages["strong and weak edges"]
    assert picture.shape == (64, 64, 3)
    strong = np.all(picture == 1.0, axis=-1)
    np.testing.assert_array_equal(strong, thinned >= 0.3)
    candidates = picture.sum(axis=-1) > 0
    assert np.all(result.labels[candidates & ~strong] <= 1)
    assert np.all(result.labels[strong] == 1) and not np.any(result.labels[~candidates])
    dropped = candidates & (result.labels == 0)
    assert dropped.any(), "the noise should leave some isolated weak candidates"
    np.testing.assert_array_equal(stages["edges"], result.labels.astype(bool))


def test_hysteresis_keeps_weak_pixels_only_when_linked_to_strong():
    thinned = np.zeros((7, 9))
    thinned[1, 1:6] = [0.5, 0.15, 0.15, 0.15, 0.15]  # strong start, weak tail
    thinned[4, 2:7] = 0.15  # weak only
    thinned[6, 8] = 0.05  # below low
    result, candidates, strong = edges.hysteresis(thinned, 0.1, 0.4)
    np.testing.assert_array_equal(result, (thinned > 0.1) & (np.arange(7)[:, None] == 1))
    assert candidates.sum() == 10 and strong.sum() == 1


def test_canny_rejects_low_above_high():
    with pytest.raises(ValueError, match=r"low_threshold=0\.3.*high_threshold=0\.2"):
        seglib.segment(square(), "canny", thresholds="absolute", low_threshold=0.3, high_threshold=0.2)
    with pytest.raises(ValueError, match=r"low_quantile=0\.9.*high_quantile=0\.8"):
        seglib.segment(square(), "canny", low_quantile=0.9, high_quantile=0.8)


@pytest.mark.parametrize("slug, params, name", [
    ("canny", {"sigma": -1.0}, "sigma"),
    ("canny", {"high_threshold": 1.5}, "high_threshold"),
    ("sobel", {"threshold": -0.1}, "threshold"),
    ("log", {"sigma": 0.0}, "sigma"),
    ("log", {"close_regions": "yes"}, "close_regions"),
])
def test_parameters_outside_their_spec_are_rejected(slug, params, name):
    with pytest.raises(ValueError, match=name):
        seglib.segment(square(), slug, **params)


def _counting(monkeypatch, name):
    calls = []
    original = getattr(edges, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(edges, name, counted)
    return calls


def test_canny_threshold_change_reuses_cached_gradients(monkeypatch):
    cache.clear()
    thinning = _counting(monkeypatch, "thin")
    image = noisy_square()
    first = seglib.segment(image, "canny", thresholds="absolute", low_threshold=0.05, high_threshold=0.2)
    second = seglib.segment(image, "canny", thresholds="absolute", low_threshold=0.1, high_threshold=0.4)
    assert len(thinning) == 1
    assert second.labels.sum() < first.labels.sum()
    seglib.segment(image, "canny", sigma=2.0)
    assert len(thinning) == 2


def test_log_threshold_change_reuses_cached_response(monkeypatch):
    cache.clear()
    crossings = _counting(monkeypatch, "zero_crossing_strength")
    image = noisy_square()
    loose = seglib.segment(image, "log", threshold=0.0).labels
    strict = seglib.segment(image, "log", threshold=0.3).labels
    assert len(crossings) == 1
    assert strict.sum() < loose.sum() and np.all(strict <= loose)


def test_sobel_stages_and_threshold():
    image = data.camera()[:128, :128]
    gray = image / 255.0
    result = seglib.segment(image, "sobel", threshold=0.08)
    np.testing.assert_allclose(result.stages["magnitude"], filters.sobel(gray), atol=1e-12)
    np.testing.assert_allclose(result.stages["gradient x"], filters.sobel(gray, axis=1), atol=1e-12)
    np.testing.assert_array_equal(result.labels, (filters.sobel(gray) > 0.08).astype(np.int32))
    thin = seglib.segment(image, "sobel", threshold=0.08, thin=True).labels
    assert 0 < thin.sum() < result.labels.sum() / 2
    assert np.all(thin <= result.labels)


def test_sobel_gradient_signs_follow_axes():
    ramp = np.tile(np.linspace(0, 1, 20), (10, 1))  # brighter to the right
    result = seglib.segment(ramp, "sobel")
    assert np.all(result.stages["gradient x"][:, 1:-1] > 0)
    np.testing.assert_allclose(result.stages["gradient y"], 0, atol=1e-12)


@pytest.mark.parametrize("height", [0.2, 0.5])
def test_log_contrast_reads_as_step_height(height):
    image = np.full((40, 40), 0.2)
    image[:, 20:] += height
    strength = seglib.segment(image, "log", sigma=2.0).stages["zero crossings"]
    assert strength.max() == pytest.approx(height, rel=0.05)
    # One-pixel line at the step; elsewhere only faint crossings (the truncated
    # kernel's small response to flat areas), which any threshold removes.
    assert set(np.nonzero(strength > 0.01)[1]) == {19}
    assert not seglib.segment(image, "log", threshold=height * 1.1).labels.any()
    assert seglib.segment(image, "log", threshold=height * 0.9).labels[:, 19].all()


def test_log_threshold_suppresses_flat_noise():
    noise = np.clip(0.5 + np.random.default_rng(1).normal(0, 0.03, (60, 60)), 0, 1)
    assert seglib.segment(noise, "log", threshold=0.0).labels.mean() > 0.1
    assert seglib.segment(noise, "log", threshold=0.1).labels.sum() == 0


@pytest.mark.parametrize("slug", ["canny", "sobel", "log"])
def test_close_regions_turns_a_contour_into_inside_and_outside(slug):
    image = square(40)
    result = seglib.segment(image, slug, close_regions=True)
    assert result.kind == "regions"
    assert result.labels.min() == 1 and result.labels.max() == 2
    inside = result.labels == result.labels[20, 20]
    truth = image > 0.5
    assert (inside & truth).sum() / (inside | truth).sum() > 0.85
    assert "regions from edges" in result.stages and "edges" in result.stages


@pytest.mark.parametrize("slug", ["canny", "sobel", "log"])
@pytest.mark.parametrize("rgb", [False, True])
def test_edge_maps_are_zero_one_and_mark_quadrant_borders(slug, rgb):
    image, truth = quadrants(32, rgb=rgb)
    labels = seglib.segment(image, slug).labels
    assert set(np.unique(labels)) <= {0, 1} and labels.any()
    border = np.zeros_like(labels, dtype=bool)
    border[11:21, :] = border[:, 11:21] = True  # near the quadrant boundaries (LoG rounds the junction)
    assert labels[~border].sum() <= 0.05 * labels.sum()


def test_regions_from_edges_closes_lines_stopping_short_of_the_border():
    wall = np.zeros((9, 9), dtype=bool)
    wall[4, 1:8] = True  # Canny-style: the border pixels stay empty
    labels = edges.regions_from_edges(wall)
    assert labels.max() == 2
    assert labels[0, 0] != labels[8, 0]
    np.testing.assert_array_equal(edges.regions_from_edges(np.ones((3, 3), bool)), 1)


@pytest.mark.parametrize("slug", ["canny", "sobel", "log"])
@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3), (2, 3), (12, 12, 3)])
@pytest.mark.parametrize("close_regions", [False, True])
def test_tiny_and_constant_images(slug, shape, close_regions):
    rng = np.random.default_rng(0)
    for image in (np.full(shape, 0.5), rng.random(shape)):
        result = seglib.segment(image, slug, close_regions=close_regions)
        assert result.labels.shape == shape[:2]
        assert result.labels.min() >= (1 if close_regions else 0)
        for name, stage in result.stages.items():
            if isinstance(stage, np.ndarray):
                assert np.all(np.isfinite(stage)), name
    flat = seglib.segment(np.full(shape, 0.5), slug).labels
    assert not flat.any()


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (17, 300), (303, 384), (600, 41)])
@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.3, 3.7, 10.0])
def test_canny_coverage_equals_the_blur_of_the_whole_ones_image(shape, sigma):
    # Made from the bands near the borders only; skimage's canny divides by the blur of the whole image.
    expected = filters.gaussian(np.ones(shape), sigma=sigma, mode="constant", cval=0.0) + np.finfo(np.float64).eps
    np.testing.assert_array_equal(edges._coverage(shape, sigma), expected)


def test_zero_crossing_strength_marks_the_pixel_nearer_zero_with_the_pairs_contrast():
    rng = np.random.default_rng(11)
    response = rng.normal(size=(23, 31))
    response[rng.random(response.shape) < 0.1] = 0.0  # zeros count as positive
    expected = np.zeros_like(response)
    for (r, c), value in np.ndenumerate(response):  # every 4-neighbour pair, one at a time
        for nr, nc in ((r + 1, c), (r, c + 1)):
            if nr < response.shape[0] and nc < response.shape[1]:
                other = response[nr, nc]
                if (value >= 0) != (other >= 0):
                    nearer = (r, c) if abs(value) <= abs(other) else (nr, nc)
                    expected[nearer] = max(expected[nearer], abs(value - other) * 2.5)
    np.testing.assert_array_equal(edges.zero_crossing_strength(response, scale=2.5), expected)
