"""The still picture of a 3-D point cloud."""

import numpy as np
import pytest

from seglib.cloud_picture import CAMERA_EYE, EDGE_COLOUR, cloud_picture

RED, BLUE = (230, 25, 75), (67, 99, 216)


def _colours(picture):
    return {tuple(c) for c in picture.reshape(-1, 3)}


def test_points_edges_and_centres_are_drawn_on_white():
    rng = np.random.default_rng(0)
    points = rng.random((200, 3))
    colours = np.where((points[:, :1] > 0.5), RED, BLUE).astype(np.uint8)
    picture, places = cloud_picture(points, colours, centres=np.array([[0.25, 0.5, 0.5], [0.75, 0.5, 0.5]]), side=200)
    assert picture.shape == (200, 200, 3) and picture.dtype == np.uint8
    seen = _colours(picture)
    assert {(255, 255, 255), EDGE_COLOUR, RED, BLUE, (0, 0, 0)} <= seen
    assert (picture == 255).all(axis=2).mean() > 0.5, "mostly background"
    assert len(places) == 3 and all(0 <= x < 200 and 0 <= y < 200 for x, y in places)


def test_a_nearer_point_covers_a_farther_one_on_the_same_line_of_sight():
    eye = np.asarray(CAMERA_EYE)
    # The cube runs from the smallest to the largest value on each axis: the corners fix it to [0, 1].
    corners = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    centre = np.array([0.5, 0.5, 0.5])
    near, far = centre + 0.3 * eye / np.linalg.norm(eye), centre - 0.3 * eye / np.linalg.norm(eye)
    for order in ([near, far], [far, near]):  # whichever comes first in the input
        points = np.vstack([corners, order])
        colours = np.array([(0, 200, 0), (0, 200, 0)] + [RED if p is near else BLUE for p in order], np.uint8)
        picture, _ = cloud_picture(points, colours, side=120)
        assert RED in _colours(picture) and BLUE not in _colours(picture)


def test_centres_are_drawn_over_the_points():
    points = np.full((50, 3), 0.5)
    picture, _ = cloud_picture(np.vstack([points, [[0, 0, 0], [1, 1, 1]]]), np.full((52, 3), RED, np.uint8),
                               centres=np.array([[0.5, 0.5, 0.5]]), side=120)
    middle = picture[50:70, 50:70].reshape(-1, 3)
    assert (middle == 255).all(axis=1).any() and (middle == 0).all(axis=1).any(), "a white diamond outlined in black"


def test_flat_clouds_and_no_points_still_draw_the_cube():
    flat = np.column_stack([np.linspace(0, 1, 30), np.zeros(30), np.full(30, 0.5)])  # one value on two axes
    picture, _ = cloud_picture(flat, np.full((30, 3), BLUE, np.uint8), side=100)
    assert BLUE in _colours(picture) and EDGE_COLOUR in _colours(picture)
    empty, _ = cloud_picture(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), side=100)
    assert _colours(empty) == {(255, 255, 255), EDGE_COLOUR}


@pytest.mark.parametrize("points, colours, centres, message", [
    (np.zeros((5, 2)), np.zeros((5, 3)), None, "`points` has shape (5, 2)"),
    (np.zeros((5, 3)), np.zeros((4, 3)), None, "`colours` has shape (4, 3)"),
    (np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((2, 2)), "`centres` has shape (2, 2)"),
])
def test_wrong_shapes_are_named(points, colours, centres, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cloud_picture(points, colours, centres)


def test_points_with_a_missing_coordinate_are_left_out():
    points = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [np.nan, 0.5, 0.5], [0.5, np.inf, 0.5], [0.5, 0.5, 0.5]])
    colours = np.array([RED, RED, BLUE, BLUE, RED], np.uint8)
    picture, _ = cloud_picture(points, colours, centres=np.array([[np.nan, 0, 0]]), side=100)
    assert RED in _colours(picture) and BLUE not in _colours(picture) and (0, 0, 0) not in _colours(picture)
