"""Prompt parsing and coordinate mapping (seglib.prompts)."""

import numpy as np
import pytest

from seglib.imaging import resize_labels
from seglib.prompts import (SEED_BACKGROUND, SEED_OBJECT, box_slices, default_prompts, display_to_image,
                            draw_prompts, parse_prompts, point_pixels, scale_box, scale_points)


def test_parse_keeps_points_labels_and_orders_the_box():
    p = parse_prompts([(3, 4, 1), (5.5, 1, 0)], box=(9, 8, 2, 1), shape=(10, 12))
    np.testing.assert_array_equal(p.points, [[3, 4], [5.5, 1]])
    np.testing.assert_array_equal(p.labels, [1, 0])
    np.testing.assert_array_equal(p.box, [2, 1, 9, 8])
    np.testing.assert_array_equal(p.positive, [[3, 4]])
    np.testing.assert_array_equal(p.negative, [[5.5, 1]])
    assert p.describe() == ["object point at (3, 4)", "background point at (5.5, 1)", "box from (2, 1) to (9, 8)"]


def test_an_array_of_points_is_accepted():
    p = parse_prompts(np.array([[1, 2, 1], [3, 4, 0]]), shape=(5, 5))
    assert p.labels.tolist() == [1, 0]


@pytest.mark.parametrize("points, match", [
    ([(12, 4, 1)], r"points\[0\].*outside the image \(12 x 10 pixels\): x must be in \[0, 12\)"),
    ([(1, 1, 1), (3, -0.5, 0)], r"points\[1\].*outside the image"),
    ([(1, 1, 2)], r"points\[0\].*label 2: expected 1 \(object\) or 0"),
    ([(1, 1)], r"points\[0\].*expected \(x, y, label\)"),
    ([(1, float("nan"), 1)], r"points\[0\].*finite"),
    ("1,2,1", r"points='1,2,1' is not allowed"),
    (7, r"points=7 is not allowed"),
])
def test_bad_points_are_named(points, match):
    with pytest.raises(ValueError, match=match):
        parse_prompts(points, shape=(10, 12))


@pytest.mark.parametrize("box, match", [
    ((2, 2, 2, 8), r"zero area \(0 x 6 pixels\)"),
    ((1, 5, 9, 5), r"zero area"),
    ((0, 0, 13, 5), r"box=.*outside the image"),
    ((0, 0, 5), r"box=.*expected \(x0, y0, x1, y1\)"),
    ("abcd", r"box='abcd' is not allowed"),
])
def test_bad_boxes_are_named(box, match):
    with pytest.raises(ValueError, match=match):
        parse_prompts(None, box, shape=(10, 12))


def test_a_box_may_reach_the_far_edges():
    p = parse_prompts(None, (0, 0, 12, 10), shape=(10, 12))
    assert p.box_mask().all()


@pytest.mark.parametrize("source, target", [((100, 80), (50, 40)), ((64, 48), (256, 192)), ((37, 91), (10, 25)),
                                            ((768, 1024), (1024, 1365))])
def test_scaling_lands_in_the_pixel_that_covers_the_point(source, target):
    rng = np.random.default_rng(0)
    xy = rng.random((50, 2)) * [source[1], source[0]]
    scaled = scale_points(xy, source, target)
    rows, cols = point_pixels(scaled, target)
    # The target pixel spans these source coordinates; the source point must lie inside.
    assert np.all(cols * source[1] / target[1] <= xy[:, 0] + 1e-9)
    assert np.all(xy[:, 0] < (cols + 1) * source[1] / target[1] + 1e-9)
    assert np.all(rows * source[0] / target[0] <= xy[:, 1] + 1e-9)
    assert np.all(xy[:, 1] < (rows + 1) * source[0] / target[0] + 1e-9)
    np.testing.assert_allclose(scale_points(scaled, target, source), xy)


@pytest.mark.parametrize("target", [(32, 24), (16, 12), (64, 48), (30, 20)])
def test_pixel_centres_map_onto_pixels_that_nearest_resizing_copies_from_them(target):
    source = (16, 12)
    ids = np.arange(16 * 12).reshape(source)
    rows, cols = np.divmod(np.arange(ids.size), 12)
    centres = np.stack([cols + 0.5, rows + 0.5], axis=1)
    big = resize_labels(ids, target)
    r, c = point_pixels(scale_points(centres, source, target), target)
    np.testing.assert_array_equal(big[r, c], ids.ravel())


def test_scale_box_and_extra_columns():
    np.testing.assert_allclose(scale_box((10, 20, 30, 40), (100, 50), (50, 100)), [20, 10, 60, 20])
    np.testing.assert_allclose(scale_points([(10, 20, 1)], (100, 50), (50, 100)), [[20, 10, 1]])


@pytest.mark.parametrize("display, expected", [((100, 50), (37, 12)), ((50, 25), (75, 25)), ((200, 100), (18, 6))])
def test_display_clicks_map_to_image_pixels(display, expected):
    # A 100 x 50 image (W x H) shown at three sizes; the click is at display pixel (37, 12) of the
    # same-size view, (37, 12) of the half-size view (-> the 2x2 block it stands for), and (37, 12) of
    # the double-size view.
    assert display_to_image(37, 12, display, (50, 100)) == expected


def test_display_clicks_are_clipped_and_sizes_checked():
    assert display_to_image(500, -3, (100, 50), (50, 100)) == (99, 0)
    with pytest.raises(ValueError, match="display_size"):
        display_to_image(1, 1, (0, 10), (5, 5))


def test_seed_map_backgrounds():
    p = parse_prompts([(5, 5, 1)], shape=(11, 11))
    border = p.seed_map(0, background="auto")
    assert border[5, 5] == SEED_OBJECT
    assert (border[0] == SEED_BACKGROUND).all() and (border[:, -1] == SEED_BACKGROUND).all()
    assert border[1:-1, 1:-1].sum() == SEED_OBJECT
    assert p.seed_map(0).sum() == SEED_OBJECT  # "negatives": no automatic background

    with_negative = parse_prompts([(5, 5, 1), (1, 1, 0)], shape=(11, 11)).seed_map(1, background="auto")
    assert with_negative[0, -1] == 0, "a negative click replaces the border"
    assert (with_negative[0:3, 0:3] == SEED_BACKGROUND).all() and (with_negative[:, 3] == 0).all()  # radius 1

    boxed = parse_prompts([(5, 5, 1)], (3, 3, 8, 8), shape=(11, 11)).seed_map(0, background="auto")
    assert (boxed[:3] == SEED_BACKGROUND).all() and (boxed[3:8, 3:8] != SEED_BACKGROUND).all()


def test_crop_shifts_and_drops():
    p = parse_prompts([(5, 5, 1), (1, 1, 0)], (2, 2, 9, 9), shape=(12, 12))
    c = p.crop(slice(3, 10), slice(4, 11))
    np.testing.assert_array_equal(c.points, [[1, 2]])
    np.testing.assert_array_equal(c.box, [0, 0, 5, 6])
    assert c.shape == (7, 7)


def test_box_slices_cover_at_least_one_pixel():
    assert box_slices((2.2, 3.5, 2.4, 3.6), (10, 10)) == (slice(3, 4), slice(2, 3))
    assert box_slices((0, 0, 10, 10), (10, 10)) == (slice(0, 10), slice(0, 10))


def test_default_prompts_and_drawing():
    centre = default_prompts((40, 60))
    np.testing.assert_array_equal(centre.positive, [[30, 20]])
    box = default_prompts((40, 60), box=True)
    np.testing.assert_allclose(box.box, [7.5, 5, 52.5, 35])
    image = np.zeros((40, 60))
    drawn = draw_prompts(image, parse_prompts([(30, 20, 1), (5, 5, 0)], (10, 10, 50, 30), shape=(40, 60)))
    assert drawn.shape == (40, 60, 3) and image.max() == 0
    assert drawn[20, 30, 1] > 0.8 and drawn[20, 30, 0] < 0.2      # green object click
    assert drawn[5, 5, 0] > 0.9 and drawn[5, 5, 1] < 0.2          # red background click
    assert drawn[10, 25, 0] == 1.0 and drawn[10, 25, 2] == 0.0    # yellow box edge
    scaled = draw_prompts(np.zeros((80, 120, 3)), centre)          # prompts of another size are rescaled
    assert scaled[40, 60, 1] > 0.8
