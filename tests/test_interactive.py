"""Classical interactive methods: flood-fill, random-walker, marker-watershed, grabcut."""

import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.segmentation import random_walker as skimage_random_walker

import seglib
from seglib import interactive
from seglib.datasets.shapes import make_scene
from seglib.imaging import as_float
from seglib.prompts import MAX_POINTS

from helpers import quadrants

CLICK_METHODS = ["flood-fill", "random-walker", "marker-watershed"]
ALL_METHODS = CLICK_METHODS + ["grabcut"]
MARGIN = 5


def iou(pred, truth):
    pred, truth = np.asarray(pred) > 0, np.asarray(truth) > 0
    return (pred & truth).sum() / (pred | truth).sum()


def deepest_point(mask):
    """(x, y) of the pixel farthest from the object's boundary: an unambiguous click."""
    distance = ndi.distance_transform_edt(mask)
    row, col = np.unravel_index(distance.argmax(), distance.shape)
    return int(col), int(row)


def box_around(mask, margin=MARGIN):
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    return (max(cols.min() - margin, 0), max(rows.min() - margin, 0),
            min(cols.max() + 1 + margin, w), min(rows.max() + 1 + margin, h))


def easy_objects(seeds=range(4), size=160):
    """(image, object mask, its box) for every object of a few easy ShapeScenes."""
    for seed in seeds:
        scene = make_scene(seed, size=size, difficulty="easy")
        for label in range(1, scene.instances.max() + 1):
            obj = scene.instances == label
            if obj.any():
                yield scene, obj, box_around(obj)


def box_is_clean(scene, obj, box):
    x0, y0, x1, y1 = box
    others = (scene.instances > 0) & ~obj
    return not others[y0:y1, x0:x1].any()


@pytest.mark.parametrize("slug", CLICK_METHODS)
def test_one_click_selects_the_object(slug):
    scores = []
    for scene, obj, _ in easy_objects():
        x, y = deepest_point(obj)
        result = seglib.segment(scene.image, slug, points=[(x, y, 1)])
        assert result.kind == "binary"
        scores.append(iou(result.labels, obj))
    assert len(scores) >= 10
    assert min(scores) >= 0.9, scores


def test_grabcut_box_selects_the_object():
    scores = []
    for scene, obj, box in easy_objects():
        if box_is_clean(scene, obj, box):
            scores.append(iou(seglib.segment(scene.image, "grabcut", box=box).labels, obj))
    assert len(scores) >= 6
    assert min(scores) >= 0.9, scores


def test_grabcut_background_click_removes_a_second_object_in_the_box():
    scene = make_scene(6, size=192, difficulty="easy")
    # Find two objects and a box that holds both; click the second as background.
    a, b = scene.instances == 1, scene.instances == 2
    both = box_around(a | b)
    with_both = seglib.segment(scene.image, "grabcut", box=both).labels
    assert iou(with_both, a | b) >= 0.9
    x, y = deepest_point(b)
    only_a = seglib.segment(scene.image, "grabcut", box=both, points=[(x, y, 0)]).labels
    assert iou(only_a, a) >= 0.9


@pytest.mark.parametrize("slug", CLICK_METHODS)
def test_a_background_click_keeps_the_mask_off_it(slug):
    scene = make_scene(3, size=160, difficulty="easy")
    obj = scene.instances == 1
    x, y = deepest_point(obj)
    bx, by = deepest_point(scene.instances == 2)
    result = seglib.segment(scene.image, slug, points=[(x, y, 1), (bx, by, 0)])
    assert result.labels[by, bx] == 0
    assert result.labels[y, x] == 1


@pytest.mark.parametrize("slug", ALL_METHODS)
def test_prompts_are_in_original_pixels_whatever_the_working_size(slug):
    scene = make_scene(2, size=128, difficulty="easy")
    big = np.kron(scene.image, np.ones((3, 3, 1), dtype=np.uint8))       # 384 x 384, objects 3x larger
    largest = np.argmax(np.bincount(scene.instances.ravel())[1:]) + 1
    obj = np.kron(scene.instances == largest, np.ones((3, 3), dtype=bool))
    x, y = deepest_point(obj)
    kwargs = {"box": box_around(obj, 12)} if slug == "grabcut" else {"points": [(x, y, 1)]}
    for working_size in (None, 256, 128):
        result = seglib.segment(big, slug, working_size=working_size, **kwargs)
        assert result.labels.shape == big.shape[:2]
        assert iou(result.labels, obj) >= 0.85, (working_size, iou(result.labels, obj))


@pytest.mark.parametrize("slug, rgb", itertools.product(ALL_METHODS, [True, False]))
def test_tiny_quadrants_gray_and_rgb(slug, rgb):
    image, truth = quadrants(8, rgb=rgb)
    before = image.copy()
    kwargs = {"box": (0, 0, 4, 4)} if slug == "grabcut" else {}
    result = seglib.segment(image, slug, points=[(1, 1, 1), (6, 1, 0), (1, 6, 0), (6, 6, 0)], **kwargs)
    np.testing.assert_array_equal(image, before)
    assert result.labels.shape == (8, 8)
    assert set(np.unique(result.labels)) <= {0, 1}
    assert result.labels[1, 1] == 1 and result.labels[6, 6] == 0
    if slug != "grabcut":  # GrabCut's colour models need more than a handful of pixels
        assert iou(result.labels, truth == 0) == 1.0
    for name, stage in result.stages.items():
        if isinstance(stage, np.ndarray):
            assert stage.shape[:2] == (8, 8) and np.all(np.isfinite(stage)), name


@pytest.mark.parametrize("slug", ALL_METHODS)
def test_constant_image_neither_crashes_nor_makes_nan(slug):
    result = seglib.segment(np.full((12, 12, 3), 128, np.uint8), slug, points=[(6, 6, 1)], box=(2, 2, 10, 10))
    assert result.labels[6, 6] == 1
    assert result.scores is None or np.all(np.isfinite(result.scores))


@pytest.mark.parametrize("slug", ALL_METHODS)
def test_without_prompts_a_default_stands_in_and_says_so(slug):
    image = np.full((32, 32, 3), 40, np.uint8)
    image[10:22, 10:22] = (220, 200, 60)  # an object in the middle: under the centre click, inside the box
    result = seglib.segment(image, slug)
    assert any("No prompt was given" in note for note in result.notes)
    assert iou(result.labels, image[..., 0] > 100) >= 0.9


@pytest.mark.parametrize("slug", ["random-walker", "marker-watershed"])
def test_a_box_alone_seeds_the_object_at_its_centre(slug):
    image = np.full((40, 40, 3), 40, np.uint8)
    image[12:28, 14:30] = (220, 200, 60)
    result = seglib.segment(image, slug, box=(10, 8, 34, 32))
    assert any("box's centre stood in" in note for note in result.notes)
    assert iou(result.labels, image[..., 0] > 100) >= 0.9
    clicked = seglib.segment(image, slug, box=(10, 8, 34, 32), points=[(20, 20, 1)])
    assert not any("centre" in note for note in clicked.notes)  # a click of the user's own: no stand-in


@pytest.mark.parametrize("slug, kwargs, match", [
    ("flood-fill", {"points": [(3, 3, 0)]}, "flood-fill needs at least one object point"),
    ("random-walker", {"points": []}, "random-walker needs at least one object point"),
    ("marker-watershed", {"points": [(3, 3, 0)]}, "needs at least one object point .* or a box"),
    ("grabcut", {"points": [(3, 3, 1)]}, r"grabcut needs box=\(x0, y0, x1, y1\)"),
    ("flood-fill", {"points": [(16, 3, 1)]}, r"points\[0\]=\(16, 3, 1\) lies outside the image \(16 x 16"),
    ("grabcut", {"box": (4, 4, 4, 9)}, "zero area"),
    ("random-walker", {"points": [(3, 3, 1)], "box": (0, 0, 17, 5)}, "box=.*outside the image"),
])
def test_bad_prompts_raise_value_errors_that_say_what_is_wrong(slug, kwargs, match):
    image, _ = quadrants(16)
    with pytest.raises(ValueError, match=match):
        seglib.segment(image, slug, **kwargs)


def test_random_walker_probability_is_scikit_images():
    rng = np.random.default_rng(1)
    image = as_float(quadrants(12)[0]) * 0.8 + rng.random((12, 12, 3)) * 0.2
    result = seglib.segment(image, "random-walker", points=[(2, 2, 1), (9, 9, 0)], beta=130.0)
    seeds = result.stages["seeds (1 object, 2 background)"]
    reference = skimage_random_walker(image, seeds, beta=130, mode="bf", channel_axis=-1, return_full_prob=True)[0]
    np.testing.assert_allclose(result.stages["object probability"], reference, atol=1e-6)


def test_min_cut_is_the_minimum_over_all_labellings():
    rng = np.random.default_rng(0)
    shape = (3, 3)
    first, second = interactive.grid_edges(shape)
    for _ in range(5):
        source, sink = rng.integers(0, 20, 9), rng.integers(0, 20, 9)
        pairwise = rng.integers(0, 15, first.size)

        def cost(fg):
            return (np.sum(np.where(fg, sink, source)) + np.sum(pairwise[fg[first] != fg[second]]))

        best = min(cost(np.array(bits, bool)) for bits in itertools.product([0, 1], repeat=9))
        assert cost(interactive.min_cut(source, sink, first, second, pairwise)) == best


def test_moving_the_late_slider_reuses_the_expensive_stage(monkeypatch):
    scene = make_scene(0, size=96, difficulty="easy")
    x, y = deepest_point(scene.instances == 1)
    calls = {"walk": 0, "gaussian": 0}
    walk, gaussian = interactive.skimage_random_walker, interactive.filters.gaussian

    def counting_walk(*args, **kwargs):
        calls["walk"] += 1
        return walk(*args, **kwargs)

    def counting_gaussian(*args, **kwargs):
        calls["gaussian"] += 1
        return gaussian(*args, **kwargs)

    monkeypatch.setattr(interactive, "skimage_random_walker", counting_walk)
    monkeypatch.setattr(interactive.filters, "gaussian", counting_gaussian)
    image = scene.image[:90]  # an image no other test uses: nothing cached yet
    for threshold in (0.3, 0.5, 0.7):
        seglib.segment(image, "random-walker", points=[(x, y, 1)], threshold=threshold)
    assert calls["walk"] == 1
    for tolerance in (0.1, 0.2, 0.3):
        seglib.segment(image, "flood-fill", points=[(x, y, 1)], tolerance=tolerance, smoothing=1.25)
    assert calls["gaussian"] == 1


def test_random_walker_threshold_trades_size():
    scene = make_scene(5, size=128, difficulty="medium")
    x, y = deepest_point(scene.instances == 1)
    low = seglib.segment(scene.image, "random-walker", points=[(x, y, 1)], threshold=0.1).labels.sum()
    high = seglib.segment(scene.image, "random-walker", points=[(x, y, 1)], threshold=0.9).labels.sum()
    assert low >= high


def test_glass_box_stages():
    scene = make_scene(1, size=96, difficulty="easy")
    obj = scene.instances == 1
    x, y = deepest_point(obj)
    gc = seglib.segment(scene.image, "grabcut", box=box_around(obj), points=[(x, y, 1)])
    assert {"prompts", "trimap", "object posterior (colour models)", "colour models", "mask"} <= set(gc.stages)
    trimap = gc.stages["trimap"]
    assert trimap[0, 0] == 0 and trimap[y, x] == 2
    assert gc.stages["colour models"].centres.shape == (10, 3)
    rw = seglib.segment(scene.image, "random-walker", points=[(x, y, 1)])
    assert rw.stages["object probability"][y, x] == pytest.approx(1.0)
    assert rw.stages["seeds (1 object, 2 background)"][0, 0] == 2
    ws = seglib.segment(scene.image, "marker-watershed", points=[(x, y, 1)])
    assert ws.stages["gradient"].max() > 0


def test_more_prompt_points_than_the_cap_are_refused_with_the_cap_named():
    image, _ = quadrants(16)
    points = [(1 + i % 14, 1 + i // 14, i % 2) for i in range(MAX_POINTS + 1)]
    with pytest.raises(ValueError, match=rf"points has {MAX_POINTS + 1} entries: at most {MAX_POINTS} prompt points"):
        seglib.segment(image, "flood-fill", points=points)
    assert seglib.segment(image, "flood-fill", points=points[:MAX_POINTS]).labels.shape == (16, 16)
