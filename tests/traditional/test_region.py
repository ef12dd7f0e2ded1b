import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import filters

import seglib
import seglib.cache
import seglib.imaging
import seglib.palette
from seglib.traditional import region
from seglib.imaging import colour_distance
from seglib.labels import adjacent_pairs, boundaries
from seglib.samples import load_sample
from seglib.traditional.region import merge_regions, quadtree_split

from helpers import quadrants


def same_partition(a, b):
    """True when label maps ``a`` and ``b`` split the pixels identically (ids may differ)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


def square_on_background(size=24, rgb=False):
    truth = np.zeros((size, size), dtype=bool)
    truth[6:16, 8:18] = True
    image = np.where(truth, 0.8, 0.2)
    if rgb:
        image = np.stack([image, 1 - image, np.full_like(image, 0.5)], axis=-1)
    return image, truth


def two_touching_disks(radius=14, gap=20):
    rows, cols = np.mgrid[:48, :80]
    first = (rows - 24) ** 2 + (cols - 25) ** 2 < radius ** 2
    second = (rows - 24) ** 2 + (cols - 25 - gap) ** 2 < radius ** 2
    return np.where(first | second, 0.9, 0.1), first, second


# ---------------------------------------------------------------- split-merge

@pytest.mark.parametrize("rgb", [False, True])
def test_split_merge_finds_four_quadrants(rgb):
    image, truth = quadrants(16, rgb=rgb)
    result = seglib.segment(image, "split-merge")
    assert result.labels.min() == 1
    assert same_partition(result.labels, truth)


def test_split_merge_on_8x8_quadrants_and_odd_sizes():
    image, truth = quadrants(8)
    assert same_partition(seglib.segment(image, "split-merge").labels, truth)
    halves = np.zeros((10, 14))
    halves[:, 7:] = 1.0
    result = seglib.segment(halves, "split-merge", min_block=1)
    assert same_partition(result.labels, halves.astype(int))


def test_merge_joins_adjacent_equal_quadrants():
    image = np.zeros((16, 16))
    image[:8, :] = 0.3  # top-left and top-right quadrants share one value
    image[8:, :8] = 0.6
    image[8:, 8:] = 0.9
    merged = seglib.segment(image, "split-merge").labels
    assert merged.max() == 3
    assert np.unique(merged[:8]).size == 1
    unmerged = seglib.segment(image, "split-merge", merge_threshold=0.0).labels
    assert unmerged.max() == 4  # the quadtree itself keeps the quadrants apart


def test_blocks_and_quadtree_stages_show_the_leaves():
    image, truth = quadrants(16, rgb=False)
    gray = image / 255.0
    stages = seglib.segment(image, "split-merge", merge_threshold=0.0).stages
    np.testing.assert_allclose(stages["blocks"], gray)
    np.testing.assert_allclose(stages["merged"], gray)
    outline = np.all(stages["quadtree"] == region._MARK_COLOUR, axis=-1)
    np.testing.assert_array_equal(outline, boundaries(truth))


def naive_quadtree(image, threshold, min_block):
    """Recursive reference: leaf id of every pixel (image cropped blocks, padded square root)."""
    pixels = image[..., None] if image.ndim == 2 else image
    h, w = pixels.shape[:2]
    side = min_block
    while side < max(h, w):
        side *= 2
    leaves = np.full((h, w), -1)

    def visit(row, col, size):
        block = pixels[row:row + size, col:col + size].reshape(-1, pixels.shape[-1])
        if block.size == 0:
            return
        if size <= min_block or np.sqrt(block.var(axis=0).mean()) <= threshold:
            leaves[row:row + size, col:col + size] = leaves.max() + 1
            return
        half = size // 2
        for dr in (0, half):
            for dc in (0, half):
                visit(row + dr, col + dc, half)

    visit(0, 0, side)
    return leaves


@pytest.mark.parametrize("shape, min_block, rgb", [((32, 32), 2, False), ((12, 20), 2, True), ((13, 30), 3, False)])
def test_vectorised_split_matches_recursive_reference(shape, min_block, rgb):
    rng = np.random.default_rng(sum(shape))
    coarse = rng.random((4, 4, 3) if rgb else (4, 4))
    image = np.kron(coarse, np.ones((8, 8, 1) if rgb else (8, 8)))[:shape[0], :shape[1]]
    spots = rng.normal(0, 0.05, shape) * (rng.random(shape) < 0.1)  # sparse noise: splits at several levels
    image = np.clip(image + (spots[..., None] if rgb else spots), 0, 1)
    seglib.cache.clear()
    tree = quadtree_split(image, 0.05, min_block)
    expected = naive_quadtree(image, 0.05, min_block)
    assert same_partition(tree.leaves, expected)
    assert len(tree.counts) == expected.max() + 1
    assert tree.counts.sum() == image.shape[0] * image.shape[1]
    leaf_means = ndi.mean(image[..., 0] if rgb else image, tree.leaves, np.arange(len(tree.counts)))
    np.testing.assert_allclose(tree.means[:, 0], leaf_means)


def test_merge_takes_the_most_similar_pair_first():
    # A - B - C on a line: B and C (0.02 apart) merge first, after which A is
    # 0.09 from their mean and stays apart. Merging A and B first would chain all three.
    means = np.array([[0.0], [0.08], [0.10]])
    regions = merge_regions(means, np.ones(3), np.array([[0, 1], [1, 2]]), threshold=0.09)
    assert regions[1] == regions[2] != regions[0]


@pytest.mark.parametrize("seed", range(3))
def test_merged_neighbours_stay_distinct(seed):
    rng = np.random.default_rng(seed)
    grid = np.arange(64).reshape(8, 8)
    pairs = adjacent_pairs(grid)
    means, counts = rng.random((64, 3)), rng.integers(1, 20, 64).astype(float)
    regions = merge_regions(means, counts, pairs, threshold=0.25)
    k = regions.max() + 1
    assert 1 < k < 64
    final = np.zeros((k, 3))
    np.add.at(final, regions, means * counts[:, None])
    final /= np.bincount(regions, weights=counts)[:, None]
    a, b = regions[pairs[:, 0]], regions[pairs[:, 1]]
    apart = a != b
    assert np.all(colour_distance(final[a[apart]], final[b[apart]]) >= 0.25)


def test_split_is_cached_when_only_merge_threshold_changes(monkeypatch):
    calls = []
    original = region._block_pyramid
    monkeypatch.setattr(region, "_block_pyramid", lambda *a: calls.append(1) or original(*a))
    seglib.cache.clear()
    image = quadrants(16)[0]
    for merge_threshold in (0.1, 0.3, 0.6):
        seglib.segment(image, "split-merge", merge_threshold=merge_threshold)
    assert len(calls) == 1
    seglib.segment(image, "split-merge", split_threshold=0.2)
    assert len(calls) == 2


def test_huge_split_threshold_keeps_one_block():
    tree = quadtree_split(np.random.default_rng(0).random((20, 20)), 0.5, 4)
    assert len(tree.counts) == 1 and tree.pairs.shape == (0, 2)


# ---------------------------------------------------------------- region growing

@pytest.mark.parametrize("rgb", [False, True])
@pytest.mark.parametrize("reference", ["region mean", "seed"])
def test_region_growing_selects_the_seeded_square(rgb, reference):
    image, truth = square_on_background(rgb=rgb)
    result = seglib.segment(image, "region-growing", seed="at position", seed_x=0.5, seed_y=0.45, reference=reference)
    np.testing.assert_array_equal(result.labels, truth.astype(np.int32))
    outside = seglib.segment(image, "region-growing", seed="at position", seed_x=0.0, seed_y=1.0, reference=reference)
    np.testing.assert_array_equal(outside.labels, (~truth).astype(np.int32))


def test_auto_seed_starts_inside_the_object_not_on_the_background():
    image, truth = square_on_background(rgb=True)
    result = seglib.segment(image, "region-growing")  # seed="auto" by default
    np.testing.assert_array_equal(result.labels, truth.astype(np.int32))
    off_centre = np.zeros((40, 60))
    off_centre[5:15, 40:55] = 0.8
    row, col = region.auto_seed(off_centre)
    assert off_centre[row, col] == 0.8 and 7 <= row <= 12 and 44 <= col <= 51


def _deepest_on_whole_picture(image):
    """auto_seed's choice with the distance transform on the whole picture (the windowed one must agree)."""
    smooth = ndi.gaussian_filter(np.atleast_3d(image).astype(np.float64), sigma=(1, 1, 0))
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    distance = colour_distance(smooth, np.median(border, axis=0))
    blobs, n = ndi.label(distance > filters.threshold_otsu(distance))
    sizes = np.bincount(blobs.ravel(), minlength=n + 1)
    sizes[0] = 0
    inner = sizes.copy()
    inner[np.unique(np.concatenate([blobs[0], blobs[-1], blobs[:, 0], blobs[:, -1]]))] = 0
    chosen = int(np.argmax(inner if inner.any() else sizes))
    depth = ndi.distance_transform_edt(blobs == chosen)
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(depth)), depth.shape))


@pytest.mark.parametrize("where", ["middle", "top edge", "corner", "left and right", "two objects", "noise"])
def test_auto_seed_is_the_deepest_pixel_of_the_whole_picture(where):
    image = np.zeros((48, 64, 3))
    if where == "middle":
        image[10:30, 20:50] = (0.9, 0.2, 0.1)
    elif where == "top edge":
        image[:12, 30:64] = 0.8
    elif where == "corner":
        image[:20, :20] = 0.7
    elif where == "left and right":
        image[:, :10] = 0.9
        image[:, 55:] = 0.9
    elif where == "two objects":
        image[5:15, 5:15] = 0.8
        image[20:44, 30:60] = 0.6
    else:
        image = np.random.default_rng(3).random((48, 64, 3))
    assert region.auto_seed(image) == _deepest_on_whole_picture(image)


def test_region_growing_connectivity():
    image = np.zeros((10, 10))
    image[2:5, 2:5] = 1.0
    image[5:8, 5:8] = 1.0  # touches the first square only at a corner
    seed = dict(seed="at position", seed_x=3 / 9, seed_y=3 / 9)
    four = seglib.segment(image, "region-growing", connectivity=4, **seed).labels
    eight = seglib.segment(image, "region-growing", connectivity=8, **seed).labels
    assert four.sum() == 9 and eight.sum() == 18


def test_running_mean_follows_a_gentle_ramp_that_the_seed_value_does_not():
    image = np.tile(np.linspace(0.3, 0.7, 100), (20, 1))
    params = dict(seed="at position", seed_x=0.0, seed_y=0.5, tolerance=0.05)
    fixed = seglib.segment(image, "region-growing", reference="seed", **params)
    adaptive = seglib.segment(image, "region-growing", reference="region mean", **params)
    assert np.all(adaptive.labels >= fixed.labels)
    assert adaptive.labels.sum() > fixed.labels.sum()
    np.testing.assert_array_equal(fixed.labels, (image <= 0.35 + 1e-12).astype(np.int32))
    growth = adaptive.stages["growth"].series["pixels in region"]
    assert np.all(np.diff(growth) >= 0) and growth[-1] == adaptive.labels.sum()


def test_region_growing_stages():
    image, truth = square_on_background(rgb=True)
    stages = seglib.segment(image, "region-growing", seed="at position", seed_x=0.5, seed_y=0.45, reference="seed").stages
    assert list(stages) == ["seed", "distance to seed", "growth", "region"]
    seed = (round(0.45 * 23), round(0.5 * 23))
    np.testing.assert_array_equal(stages["seed"][seed], region._MARK_COLOUR)
    assert stages["distance to seed"][seed] == 0
    np.testing.assert_allclose(stages["distance to seed"][0, 0], colour_distance(image[0, 0], image[seed]))



def test_a_tolerance_move_reuses_the_automatic_seed_and_the_first_round(monkeypatch):
    calls = []
    otsu = region.filters.threshold_otsu  # auto_seed's threshold: one call per search for a seed
    monkeypatch.setattr(region.filters, "threshold_otsu", lambda *a, **k: calls.append(1) or otsu(*a, **k))
    seglib.cache.clear()
    image = load_sample("coins")
    first, second = (seglib.segment(image, "region-growing", tolerance=t, reference="seed") for t in (0.1, 0.2))
    assert len(calls) == 1
    assert second.stages["seed"] is first.stages["seed"]  # the same object: its figure is drawn once
    assert second.stages["distance to seed"] is first.stages["distance to seed"]
    assert np.count_nonzero(second.labels) > np.count_nonzero(first.labels)
    adaptive = seglib.segment(image, "region-growing", tolerance=0.2)  # the region's mean: a new last round
    assert len(calls) == 1 and adaptive.stages["seed"] is first.stages["seed"]


def textbook_growing(image, seed, tolerance, connectivity=4):
    """Adaptive region growing as the textbook states it: each round floods from the seed over pixels
    within ``tolerance`` of the mean colour of the whole region so far."""
    pixels = image if image.ndim == 3 else image[..., None]
    reference, region, sizes = pixels[seed], np.zeros(image.shape[:2], dtype=bool), []
    structure = ndi.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    while not sizes or len(sizes) < 50:
        near = (colour_distance(pixels, reference) <= tolerance) | region
        near[seed] = True
        blobs, _ = ndi.label(near, structure)
        grown = blobs == blobs[seed]
        if sizes and grown.sum() == sizes[-1]:
            break
        region, reference = grown, pixels[grown].mean(axis=0)
        sizes.append(int(grown.sum()))
    return region


@pytest.mark.parametrize("name, tolerance", [("coins", 0.12), ("astronaut", 0.1), ("ihc", 0.08), ("camera", 0.06)])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_adaptive_growing_matches_the_textbook_rule(name, tolerance, connectivity):
    # coins, ihc and camera go through the picture's palette, astronaut (a photo) pixel by pixel; the
    # region's mean is kept up from the pixels each round adds
    image = seglib.imaging.as_float(load_sample(name))[::2, ::2]
    seed = region.auto_seed(image)
    grown, _, sizes = region.grow_region(image, seed, tolerance, connectivity=connectivity)
    np.testing.assert_array_equal(grown, textbook_growing(image, seed, tolerance, connectivity))
    assert len(sizes) > 2  # the mean moved: more than one round added pixels


@pytest.mark.parametrize("reference", ["region mean", "seed"])
def test_growing_through_the_palette_gives_the_per_pixel_result(monkeypatch, reference):
    image = load_sample("ihc")
    by_colour = seglib.segment(image, "region-growing", tolerance=0.08, reference=reference)
    assert seglib.palette.palette(seglib.imaging.as_float(image)) is not None
    seglib.cache.clear()
    monkeypatch.setattr(seglib.palette, "DISTINCT_SHARE", 0.0)  # no palette: every pixel computed
    by_pixel = seglib.segment(image, "region-growing", tolerance=0.08, reference=reference)
    np.testing.assert_array_equal(by_colour.labels, by_pixel.labels)
    np.testing.assert_array_equal(by_colour.stages["distance to seed"], by_pixel.stages["distance to seed"])


# ---------------------------------------------------------------- watershed

@pytest.mark.parametrize("markers", ["peaks of distance", "local-minima"])
def test_distance_watershed_splits_touching_disks(markers):
    image, first, second = two_touching_disks()
    assert ndi.label(first | second)[1] == 1  # they do touch
    labels = seglib.segment(image, "watershed", landscape="distance", markers=markers).labels
    assert labels.max() == 2
    np.testing.assert_array_equal(labels > 0, first | second)  # background stays 0
    centres = labels[24, 25], labels[24, 45]
    assert set(centres) == {1, 2}


def test_gradient_watershed_with_distance_peaks_adds_a_background_region():
    image, first, second = two_touching_disks()
    labels = seglib.segment(image, "watershed", landscape="gradient", markers="peaks of distance").labels
    assert labels.min() == 1 and labels.max() == 3
    assert np.unique(labels[~(first | second)]).size == 1


def test_regular_grid_markers():
    image = np.random.default_rng(1).random((40, 40))
    result = seglib.segment(image, "watershed", markers="regular-grid", n_markers=16)
    assert result.labels.min() >= 1 and 8 <= result.labels.max() <= 16
    assert result.stages["markers"].max() == result.labels.max()


def test_compactness_makes_regular_grid_regions_more_compact():
    image = np.random.default_rng(2).random((48, 48))
    loose = seglib.segment(image, "watershed", markers="regular-grid", n_markers=16).labels
    compact = seglib.segment(image, "watershed", markers="regular-grid", n_markers=16, compactness=10.0).labels
    # Compact basins approach the grid's Voronoi cells, all of about 48 * 48 / 16 = 144 pixels.
    assert np.bincount(compact.ravel())[1:].std() < 0.5 * np.bincount(loose.ravel())[1:].std()
    assert np.abs(np.bincount(compact.ravel())[1:] - 144).max() < 30


def test_watershed_stages(quadrant_rgb):
    image, truth = quadrant_rgb
    result = seglib.segment(image, "watershed")
    assert list(result.stages) == ["landscape", "markers", "watershed lines", "regions"]
    assert same_partition(result.labels, truth)
    np.testing.assert_array_equal(result.stages["watershed lines"], boundaries(result.labels))
    assert 0 <= result.stages["landscape"].min() and result.stages["landscape"].max() == 1


def test_landscape_and_markers_are_cached(monkeypatch):
    calls = {"sobel": 0, "minima": 0}
    sobel, minima = region._sobel_magnitude, region._minima_markers

    def count(name, func):
        def wrapper(*args):
            calls[name] += 1
            return func(*args)
        return wrapper

    monkeypatch.setattr(region, "_sobel_magnitude", count("sobel", sobel))
    monkeypatch.setattr(region, "_minima_markers", count("minima", minima))
    seglib.cache.clear()
    image = quadrants(16)[0]
    for markers in ("local-minima", "regular-grid", "peaks of distance"):
        seglib.segment(image, "watershed", markers=markers)
    assert calls == {"sobel": 1, "minima": 1}
    seglib.segment(image, "watershed", compactness=0.5)  # only the flooding reruns
    assert calls == {"sobel": 1, "minima": 1}


# ---------------------------------------------------------------- all three

@pytest.mark.parametrize("slug, params", [
    ("split-merge", {"min_block": 0}),
    ("split-merge", {"merge_threshold": 1.5}),
    ("region-growing", {"seed_x": 1.2}),
    ("region-growing", {"seed": "corner"}),
    ("region-growing", {"connectivity": 6}),
    ("region-growing", {"reference": "median"}),
    ("watershed", {"landscape": "height"}),
    ("watershed", {"markers": "random"}),
    ("watershed", {"n_markers": 1}),
])
def test_parameter_errors_name_the_parameter(slug, params):
    name, value = next(iter(params.items()))
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        seglib.segment(np.zeros((8, 8)), slug, **params)


CONSTANT_CASES = [
    ("split-merge", {}), ("split-merge", {"min_block": 1, "split_threshold": 0.0}),
    ("region-growing", {}), ("region-growing", {"tolerance": 0.0}),
    ("watershed", {}), ("watershed", {"h": 0.0}), ("watershed", {"landscape": "distance"}),
    ("watershed", {"markers": "peaks of distance"}),
    ("watershed", {"landscape": "distance", "markers": "regular-grid", "n_markers": 4}),
]


@pytest.mark.parametrize("slug, params", CONSTANT_CASES)
@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 3), (2, 2)])
def test_constant_images(slug, params, shape):
    result = seglib.segment(np.full(shape, 0.4), slug, **params)
    labels = result.labels
    assert labels.shape == shape[:2]
    if slug == "region-growing":
        assert labels.all()
    elif params.get("markers") != "regular-grid":
        assert np.unique(labels).tolist() == [1]
    for name, value in result.stages.items():
        if isinstance(value, np.ndarray):
            assert np.all(np.isfinite(value)), name


@pytest.mark.parametrize("slug", ["split-merge", "region-growing", "watershed"])
def test_tiny_images(slug):
    for image in (np.array([[0.0, 1.0], [1.0, 0.0]]), quadrants(8)[0], np.random.default_rng(0).random((3, 5, 3))):
        labels = seglib.segment(image, slug).labels
        assert labels.shape == image.shape[:2] and labels.max() >= 1
