import numpy as np
import pytest

from seglib import cache, labels


def test_boundaries_mark_the_upper_left_side_of_each_change_once():
    label_map = np.array([[1, 1, 2],
                          [1, 1, 2],
                          [3, 3, 3]])
    expected = np.array([[0, 1, 0],
                         [1, 1, 1],
                         [0, 0, 0]], bool)
    np.testing.assert_array_equal(labels.boundaries(label_map), expected)
    assert not labels.boundaries(np.full((4, 5), 7)).any()
    with pytest.raises(ValueError, match=r"`labels` has shape \(2, 2, 3\); expected a 2-D"):
        labels.boundaries(np.zeros((2, 2, 3), int))


@pytest.mark.parametrize("values", [
    np.array([[3, 0], [3, 7]], np.int32),            # small ids: counted
    np.array([5, 5, 2], np.uint8),
    np.array([-4, 2, -4, 0], np.int16),              # negative: sorted
    np.array([0, 10**9, 3], np.int64),               # an id far beyond the size: sorted, no huge count array
    np.array([2**63 + 5, 1], np.uint64),             # does not fit an intp
    np.array([True, False, True]),
    np.array([2.5, -1.0, 2.5]),
    np.zeros((0, 4), np.int32),
    np.random.default_rng(0).integers(0, 300, (40, 50, 3)),
])
def test_distinct_is_what_np_unique_returns(values):
    found = labels.distinct(values)
    expected = np.unique(values)
    assert found.dtype == expected.dtype
    np.testing.assert_array_equal(found, expected)


def test_unique_pairs_sorts_each_pair_and_drops_equal_and_repeated_ones():
    pairs = labels.unique_pairs(np.array([5, 2, 2, 3, 7]), np.array([2, 5, 2, 9, 3]))
    np.testing.assert_array_equal(pairs, [[2, 5], [3, 7], [3, 9]])
    assert labels.unique_pairs(np.array([1, 1]), np.array([1, 1])).shape == (0, 2)


def test_adjacent_pairs_by_sides_or_also_corners():
    label_map = np.array([[1, 1, 2],
                          [3, 4, 2],
                          [3, 3, 5]])
    sides = {(1, 2), (1, 3), (1, 4), (2, 4), (2, 5), (3, 4), (4, 3), (3, 5)}
    sides = {tuple(sorted(p)) for p in sides}
    assert {tuple(p) for p in labels.adjacent_pairs(label_map).tolist()} == sides
    # 2 and 3 touch only diagonally, at (1, 2)-(2, 1); 4 and 5 likewise; 1 and 5 do not touch.
    corners = {tuple(p) for p in labels.adjacent_pairs(label_map, connectivity=2).tolist()}
    assert corners == sides | {(2, 3), (4, 5)}
    assert len(labels.adjacent_pairs(label_map, connectivity=2)) == len(corners)
    with pytest.raises(ValueError, match="connectivity=3 is not allowed"):
        labels.adjacent_pairs(label_map, connectivity=3)


def test_group_sums_and_means_with_weights_and_empty_groups():
    groups = np.array([0, 0, 2, 2, 2])
    values = np.array([[1.0], [3.0], [2.0], [4.0], [6.0]])
    np.testing.assert_allclose(labels.group_sums(groups, values)[:, 0], [4.0, 0.0, 12.0])
    means, totals = labels.group_means(groups, values, 3)
    np.testing.assert_allclose(means[:, 0], [2.0, 0.0, 4.0])
    np.testing.assert_allclose(totals, [2, 0, 3])
    means, totals = labels.group_means(groups, values, 3, weights=np.array([1.0, 3.0, 1.0, 1.0, 2.0]))
    np.testing.assert_allclose(means[[0, 2], 0], [2.5, 4.5])
    np.testing.assert_allclose(totals, [4, 0, 4])


def test_segment_means_and_mean_colour_of_gray_and_rgb():
    label_map = np.array([[1, 1, 3], [1, 3, 3]])
    gray = np.array([[0.0, 0.3, 1.0], [0.6, 0.5, 0.0]])
    np.testing.assert_allclose(labels.segment_means(gray, label_map)[:, 0], [0.0, 0.3, 0.0, 0.5])  # 0 and 2 absent
    np.testing.assert_allclose(labels.mean_colour(gray, label_map), [[0.3, 0.3, 0.5], [0.3, 0.5, 0.5]])
    rgb = np.stack([gray, 1 - gray, gray], axis=-1)
    painted = labels.mean_colour(rgb, label_map)
    assert painted.shape == rgb.shape
    np.testing.assert_allclose(painted[0, 0], [0.3, 0.7, 0.3])


def test_draw_boundaries_paints_the_one_yellow_on_a_copy():
    gray = np.zeros((4, 4))
    label_map = np.zeros((4, 4), int)
    label_map[:, 2:] = 1
    drawn = labels.draw_boundaries(gray, label_map)
    assert drawn.shape == (4, 4, 3) and not gray.any()
    np.testing.assert_allclose(drawn[:, 1], np.tile(np.array(labels.BOUNDARY_COLOUR) / 255, (4, 1)))
    assert not drawn[:, [0, 2, 3]].any()


def test_superpixels_are_a_cached_stage_numbered_from_one():
    image = np.zeros((40, 60, 3))
    image[:20, :30], image[20:, 30:], image[:20, 30:] = (1, 0, 0), (0, 1, 0), (0, 0, 1)
    cache.clear()
    first = labels.superpixels(image, 12, 10.0, 0.0)
    assert first.dtype == np.int32 and first.min() == 1 and 4 <= first.max() <= 30
    assert labels.superpixels(image, 12, 10.0, 0.0) is first  # the same cached object
    assert not first.flags.writeable


def test_superpixel_nodes_are_consecutive_with_means_sizes_and_pairs():
    image = np.zeros((32, 32, 3))
    image[:, 16:] = (1.0, 0.0, 0.0)
    nodes = labels.superpixel_nodes(image, 4)
    n = len(nodes.colours)
    assert set(np.unique(nodes.nodes)) == set(range(n))
    assert nodes.sizes.sum() == 32 * 32
    np.testing.assert_allclose(nodes.colours, labels.segment_means(image, nodes.nodes))
    np.testing.assert_array_equal(nodes.pairs, labels.adjacent_pairs(nodes.nodes))
