import numpy as np
import pytest
from skimage import data, filters
from skimage.color import rgb2gray

import seglib
from seglib.samples import load_sample
from seglib.traditional import threshold
from seglib.traditional.threshold import between_class_variance


@pytest.mark.parametrize("name", ["camera", "coins", "astronaut"])
def test_otsu_agrees_with_scikit_image(name):
    image = getattr(data, name)()
    gray = rgb2gray(image) if image.ndim == 3 else image / 255.0
    result = seglib.segment(image, "otsu", working_size=None, polarity="bright")
    expected = gray > filters.threshold_otsu(gray)
    np.testing.assert_array_equal(result.labels, expected.astype(np.int32))
    assert result.stages["histogram"].markers["threshold"] == pytest.approx(filters.threshold_otsu(gray))
    auto = seglib.segment(image, "otsu", working_size=None)  # the default: the smaller side of the threshold
    smaller = expected if 2 * expected.sum() <= expected.size else ~expected
    np.testing.assert_array_equal(auto.labels, smaller.astype(np.int32))
    assert any(note.startswith("Auto polarity: ") for note in auto.notes)


@pytest.mark.parametrize("slug, func", [("li", filters.threshold_li), ("yen", filters.threshold_yen),
                                        ("triangle", filters.threshold_triangle), ("isodata", filters.threshold_isodata)])
def test_automatic_thresholds_agree_with_scikit_image(slug, func):
    gray = data.coins() / 255.0
    result = seglib.segment(data.coins(), slug, working_size=None, polarity="bright")
    np.testing.assert_array_equal(result.labels, (gray > func(gray)).astype(np.int32))


@pytest.mark.parametrize("slug", ["otsu", "adaptive-threshold"])
def test_auto_polarity_finds_dark_and_bright_objects_alike(slug):
    from seglib.datasets.shapes import make_scene

    sides = set()
    for seed in range(6):  # easy scenes draw their objects brighter or darker than the background
        scene = make_scene(seed, size=128, difficulty="easy")
        truth = scene.semantic > 0
        gray = rgb2gray(scene.image)
        side = "bright" if gray[truth].mean() > gray[~truth].mean() else "dark"
        sides.add(side)
        result = seglib.segment(scene.image, slug)
        assert f"Auto polarity: {side} objects (the smaller side of the threshold)." in result.notes, seed
        if slug == "otsu":
            dice = 2 * np.logical_and(result.labels > 0, truth).sum() / (np.count_nonzero(result.labels) + truth.sum())
            assert dice > 0.99, (seed, dice)
    assert sides == {"bright", "dark"}, "the scenes tried have both polarities"


def test_between_class_variance_peaks_at_otsu():
    gray = data.camera() / 255.0
    counts, edges = np.histogram(gray, bins=256, range=(0, 1))
    centres = (edges[:-1] + edges[1:]) / 2
    best = centres[np.argmax(between_class_variance(centres, counts))]
    assert abs(best - filters.threshold_otsu(gray, nbins=256)) <= 1 / 256


def test_polarity_dark_selects_dark_pixels(quadrant_gray):
    image, truth = quadrant_gray
    bright = seglib.segment(image, "global-threshold", threshold=0.5).labels
    dark = seglib.segment(image, "global-threshold", threshold=0.5, polarity="dark").labels
    np.testing.assert_array_equal(bright, 1 - dark)
    np.testing.assert_array_equal(dark, (truth <= 1).astype(np.int32))


def test_multi_otsu_separates_quadrant_levels(quadrant_gray):
    image, truth = quadrant_gray
    result = seglib.segment(image, "multi-otsu", classes=4)
    np.testing.assert_array_equal(result.labels, truth)
    assert result.class_names == ["level 0", "level 1", "level 2", "level 3"]
    assert len(result.stages["histogram"].markers) == 3


def test_multi_otsu_with_fewer_levels_than_classes_does_not_crash():
    image = np.zeros((8, 8), np.uint8)
    image[:, 4:] = 255
    result = seglib.segment(image, "multi-otsu", classes=4)
    assert result.labels[:, :4].max() < result.labels[:, 4:].min()


def test_local_thresholds_beat_global_under_illumination_gradient():
    # Dark text-like bars on paper whose brightness ramps from 0.2 to 1.0.
    ramp = np.tile(np.linspace(0.2, 1.0, 200), (100, 1))
    truth = np.zeros_like(ramp, dtype=bool)
    truth[20:80, 10:190:20] = True
    truth[20:80, 11:190:20] = True
    truth[20:80, 12:190:20] = True
    image = np.where(truth, ramp * 0.5, ramp)
    otsu = seglib.segment(image, "otsu", polarity="dark").labels.astype(bool)
    for slug, params in [("sauvola", {}), ("adaptive-threshold", {"polarity": "dark", "offset": 0.02})]:
        local = seglib.segment(image, slug, **params).labels.astype(bool)
        assert (local == truth).mean() > 0.98, slug
        assert (local == truth).mean() > (otsu == truth).mean(), slug


def test_adaptive_threshold_accepts_even_block_size():
    image = np.random.default_rng(0).random((20, 20))
    result = seglib.segment(image, "adaptive-threshold", block_size=4 + 1)
    assert result.stages["threshold surface"].shape == (20, 20)


def test_constant_image_gives_empty_foreground():
    result = seglib.segment(np.full((10, 10), 0.5), "otsu")
    assert result.labels.sum() == 0


def test_multi_otsu_with_five_classes_separates_five_levels():
    levels = np.array([10, 60, 120, 180, 240], np.uint8)
    truth = np.repeat(np.arange(5), 8)[None, :].repeat(6, axis=0)
    result = seglib.segment(levels[truth], "multi-otsu", classes=5)
    np.testing.assert_array_equal(result.labels, truth)
    assert len(result.stages["histogram"].markers) == 4


def test_adaptive_median_surface_is_the_local_median_to_one_level():
    rng = np.random.default_rng(0)
    gray = rng.random((40, 50))
    result = seglib.segment(gray, "adaptive-threshold", method="median", block_size=9, offset=0.05)
    reference = filters.threshold_local(gray, 9, method="median", offset=0.05)
    inside = (slice(4, -4), slice(4, -4))  # at the border the window holds fewer pixels instead of reflecting
    np.testing.assert_allclose(result.stages["threshold surface"][inside], reference[inside], atol=0.5 / 255 + 1e-9)


def test_moving_a_threshold_or_offset_reuses_the_picture_s_gray_histogram_and_local_statistic():
    from seglib import cache

    image = data.coffee()
    first = seglib.segment(image, "global-threshold", threshold=0.3)
    second = seglib.segment(image, "global-threshold", threshold=0.6)
    assert second.stages["gray"] is first.stages["gray"]  # the same read-only object: its figure is reused
    assert not second.stages["gray"].flags.writeable
    assert np.array_equal(first.stages["histogram"].series["pixels"], second.stages["histogram"].series["pixels"])
    assert first.stages["histogram"].markers["threshold"] == 0.3
    assert np.count_nonzero(second.labels) < np.count_nonzero(first.labels)

    cache.clear()
    low = seglib.segment(image, "adaptive-threshold", offset=0.0, method="gaussian")
    misses = cache.stats["misses"]
    high = seglib.segment(image, "adaptive-threshold", offset=0.05, method="gaussian")
    assert cache.stats["misses"] == misses  # gray and the local statistic came from the cache
    # threshold_local subtracts its offset last: the cached statistic minus the offset is its surface
    # (stages are float32 pictures: equal to the last of float32's seven digits)
    gray = rgb2gray(image)
    expected = filters.threshold_local(gray, block_size=35, method="gaussian", offset=0.05)
    assert np.allclose(high.stages["threshold surface"], low.stages["threshold surface"] - 0.05, rtol=0, atol=2e-7)
    assert np.allclose(high.stages["threshold surface"], expected, atol=1e-6)


@pytest.mark.parametrize("window_size, k", [(3, 0.0), (25, 0.2), (101, 0.73)])
def test_moving_sauvola_s_k_reuses_its_local_statistics_and_keeps_scikit_image_s_surface(window_size, k,
                                                                                         monkeypatch):
    from seglib import cache

    calls = []
    statistics = threshold._skimage_mean_std
    monkeypatch.setattr(threshold, "_skimage_mean_std", lambda *args: calls.append(args[1:]) or statistics(*args))
    cache.clear()
    image = data.page()
    seglib.segment(image, "sauvola", window_size=window_size, k=0.5)
    result = seglib.segment(image, "sauvola", window_size=window_size, k=k)
    assert calls == [(window_size,)]  # the local mean and deviation were computed once, for both values of k
    gray = result.stages["gray"]
    expected = filters.threshold_sauvola(gray, window_size=window_size, k=k)
    assert np.array_equal(result.stages["threshold surface"], expected.astype(np.float32))  # bit for bit, as float32


def _split_score(prob, ends):
    """Otsu's objective for the classes ending at ``ends``, summed class by class (scikit-image's quirks:
    bin 0 weighs 1, a class of bin 0 alone scores 0)."""
    p = np.asarray(prob, np.float64)
    weight = np.arange(len(p), dtype=np.float64)
    weight[0] = 1.0
    bounds = [-1, *ends, len(p) - 1]
    score = 0.0
    for first, last in zip(np.add(bounds[:-1], 1), bounds[1:]):
        mass, moment = p[first:last + 1].sum(), (p * weight)[first:last + 1].sum()
        if mass > 0 and not (first == 0 and last == 0):
            score += moment * moment / mass
    return score


def test_multi_otsu_indices_find_scikit_images_split_or_an_equal_one():
    rng = np.random.default_rng(3)
    same = 0
    for _ in range(150):
        bins, classes = int(rng.integers(8, 40)), int(rng.integers(2, 6))
        counts = rng.integers(0, 50, bins) * (rng.random(bins) < 0.7)
        counts[[0, -1]] = rng.integers(1, 50, 2)  # scikit-image trims empty end bins of a given histogram
        if np.count_nonzero(counts) <= classes:
            continue
        prob = (counts / counts.sum()).astype(np.float32)
        theirs = filters.threshold_multiotsu(hist=(prob, np.arange(bins)), classes=classes).astype(int)
        ours = threshold.multi_otsu_indices(prob, classes)
        assert list(ours) == sorted(set(ours)) and len(ours) == classes - 1
        same += np.array_equal(ours, theirs)
        # Where they differ, the splits score the same to float32 precision (scikit-image's arithmetic).
        assert _split_score(prob, ours) >= _split_score(prob, theirs) * (1 - 1e-6)
    assert same >= 140


@pytest.mark.parametrize("name", ["camera", "coins", "astronaut"])
def test_multi_otsu_thresholds_are_scikit_images_on_samples(name):
    picture = load_sample(name)
    for classes in (2, 3, 4):
        result = seglib.segment(picture, "multi-otsu", classes=classes, working_size=None)
        gray = result.stages["gray"]
        half_bin = (gray.max() - gray.min()) / 512
        found = [result.stages["histogram"].markers[f"threshold {i + 1}"] for i in range(classes - 1)]
        np.testing.assert_allclose(found, filters.threshold_multiotsu(gray, classes=classes) + half_bin, rtol=1e-12)
