import numpy as np
import pytest
from skimage import data, segmentation
from skimage import graph as skgraph
from skimage.metrics import adapted_rand_error

import seglib
from seglib import cache
from seglib.labels import BOUNDARY_COLOUR
from seglib.traditional import graph

from helpers import quadrants


def three_regions(seed=1, noise=0.03):
    """A 60 x 80 RGB scene: red and green blocks above a blue band, with noise."""
    truth = np.zeros((60, 80), dtype=np.int32)
    truth[:30, 40:] = 1
    truth[30:, :] = 2
    colours = np.array([(0.9, 0.1, 0.1), (0.1, 0.8, 0.2), (0.2, 0.3, 0.9)])
    image = colours[truth] + np.random.default_rng(seed).normal(0, noise, (60, 80, 3))
    return np.clip(image, 0, 1), truth


def same_partition(a, b):
    return adapted_rand_error(a, b)[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("params", [{}, {"scale": 300.0, "sigma": 0.5, "min_size": 50}, {"scale": 10.0, "sigma": 0.0}])
def test_felzenszwalb_equals_scikit_image_on_rgb(params):
    image = data.astronaut()[:160, 160:320]
    result = seglib.segment(image, "felzenszwalb", **params)
    full = {"scale": 100.0, "sigma": 0.8, "min_size": 20, **params}
    expected = segmentation.felzenszwalb(image / 255.0, channel_axis=-1, **full) + 1
    np.testing.assert_array_equal(result.labels, expected)
    assert result.kind == "regions" and result.labels.min() == 1


def test_felzenszwalb_equals_scikit_image_on_gray():
    image = data.camera()[200:360, 100:260]
    result = seglib.segment(image, "felzenszwalb", scale=50.0, min_size=30)
    expected = segmentation.felzenszwalb(image / 255.0, scale=50.0, sigma=0.8, min_size=30, channel_axis=None) + 1
    np.testing.assert_array_equal(result.labels, expected)


def test_felzenszwalb_stages_paint_mean_colour_and_boundaries():
    image, truth = quadrants(32, rgb=True)
    result = seglib.segment(image, "felzenszwalb", sigma=0.0)  # smoothing would add thin seams
    assert same_partition(result.labels, truth)
    painted = result.stages["mean colour"]
    np.testing.assert_allclose(painted, image / 255.0, atol=1e-6)  # quadrants are flat
    boundaries = result.stages["boundaries"]
    assert boundaries.shape == (32, 32, 3)
    assert painted.dtype == boundaries.dtype == np.float32  # pictures to look at: half the memory of float64
    marked = np.all(boundaries == (np.array(BOUNDARY_COLOUR) / 255).astype(np.float32), axis=-1)
    assert marked[:, 15:17].any() and not marked[:5, :5].any()


def test_larger_scale_gives_fewer_segments():
    image = data.coffee()[100:220, 200:360]
    fine = seglib.segment(image, "felzenszwalb", scale=20.0).n_segments
    coarse = seglib.segment(image, "felzenszwalb", scale=1000.0).n_segments
    assert coarse < fine


def test_similarity_graph_equals_rag_mean_color():
    image, _ = three_regions()
    superpixels = segmentation.slic(image, n_segments=60, compactness=10, start_label=1)
    colours, pairs, weights = graph.similarity_graph(image, superpixels)
    rag = skgraph.rag_mean_color(image, superpixels, connectivity=2, mode="similarity", sigma=graph.SIMILARITY_SCALE)
    expected = {(min(a, b) - 1, max(a, b) - 1): d["weight"] for a, b, d in rag.edges(data=True)}
    mine = dict(zip(map(tuple, pairs.tolist()), weights))
    assert set(mine) == set(expected)
    np.testing.assert_allclose([mine[k] for k in expected], list(expected.values()), rtol=1e-9, atol=1e-300)
    for node, attributes in rag.nodes(data=True):
        np.testing.assert_allclose(colours[node - 1], attributes["mean color"], rtol=1e-12)


def test_normalized_cut_of_two_weakly_joined_cliques():
    # Nodes 0-2 and 3-5 fully joined with weight 1; one bridge of weight w between them.
    inside = [(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5)]
    bridge_weight = 0.01
    pairs = np.array(inside + [(2, 3)])
    weights = np.array([1.0] * 6 + [bridge_weight])
    # Each side: 3 self loops + 2 * 3 internal weights + the bridge.
    ncut = 2 * bridge_weight / (3 + 6 + bridge_weight)
    split, _ = graph.normalized_cut(6, pairs, weights, thresh=ncut * 1.01, num_cuts=10)
    np.testing.assert_array_equal(split[:3] == split[0], True)
    assert split[0] != split[3] and split.max() == 2
    kept, _ = graph.normalized_cut(6, pairs, weights, thresh=ncut * 0.99, num_cuts=10)
    np.testing.assert_array_equal(kept, 1)


def test_normalized_cut_finds_the_three_regions_like_scikit_image():
    image, truth = three_regions()
    result = seglib.segment(image, "normalized-cut", n_segments=60)
    assert result.kind == "regions"
    assert same_partition(result.labels, truth) or adapted_rand_error(truth, result.labels)[0] < 0.02
    superpixels = segmentation.slic(image, n_segments=60, compactness=10.0, start_label=1)
    rag = skgraph.rag_mean_color(image, superpixels, mode="similarity", sigma=graph.SIMILARITY_SCALE)
    reference = skgraph.cut_normalized(superpixels, rag, thresh=0.001, num_cuts=10, rng=0)
    assert same_partition(result.labels, reference)


def test_normalized_cut_is_deterministic_and_labels_are_consecutive():
    image = data.coffee()[::4, ::4]
    first = seglib.segment(image, "normalized-cut", n_segments=120)
    cache.clear()
    second = seglib.segment(image, "normalized-cut", n_segments=120)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(np.unique(first.labels), np.arange(1, first.labels.max() + 1))


def test_normalized_cut_threshold_change_reuses_superpixels(monkeypatch):
    calls = []
    slic = segmentation.slic

    def counted(*args, **kwargs):
        calls.append(1)
        return slic(*args, **kwargs)

    monkeypatch.setattr(graph.segmentation, "slic", counted)
    cache.clear()
    image, _ = three_regions(seed=2, noise=0.08)
    strict = seglib.segment(image, "normalized-cut", thresh=1e-5)
    loose = seglib.segment(image, "normalized-cut", thresh=0.3, num_cuts=20)
    assert len(calls) == 1
    assert loose.n_segments > strict.n_segments
    seglib.segment(image, "normalized-cut", compactness=20.0)
    assert len(calls) == 2


def test_normalized_cut_stages():
    image, _ = three_regions()
    result = seglib.segment(image, "normalized-cut", n_segments=60)
    stages = result.stages
    assert list(stages) == ["superpixels", "region adjacency graph", "first eigenvector", "boundaries", "mean colour"]
    for name, stage in stages.items():
        assert stage.shape[:2] == (60, 80), name
        assert np.all(np.isfinite(stage)) and stage.min() >= 0 and stage.max() <= 1, name
    picture = stages["region adjacency graph"]
    assert np.any(np.all(picture == 1.0, axis=-1)), "nodes are drawn white"
    assert np.any((picture[..., 0] == 1.0) & (picture[..., 1] < 0.5)), "dissimilar neighbours give red lines"


def test_normalized_cut_on_gray_image():
    image, truth = quadrants(32, rgb=False)
    result = seglib.segment(image, "normalized-cut", n_segments=40)
    assert same_partition(result.labels, truth)


@pytest.mark.parametrize("slug", ["felzenszwalb", "normalized-cut"])
@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3), (2, 3), (12, 12, 3)])
def test_tiny_and_constant_images(slug, shape):
    noise = np.random.default_rng(0).random(shape)
    result = seglib.segment(noise, slug)
    assert result.labels.shape == shape[:2] and result.labels.min() == 1
    flat = seglib.segment(np.full(shape, 0.4), slug)
    np.testing.assert_array_equal(flat.labels, 1)
    for name, stage in flat.stages.items():
        assert np.all(np.isfinite(stage)), name


@pytest.mark.parametrize("slug, params, name", [
    ("felzenszwalb", {"scale": 0.0}, "scale"),
    ("felzenszwalb", {"min_size": 2.5}, "min_size"),
    ("normalized-cut", {"n_segments": 5}, "n_segments"),
    ("normalized-cut", {"thresh": 0.0}, "thresh"),
    ("normalized-cut", {"num_cuts": 1}, "num_cuts"),
])
def test_parameters_outside_their_spec_are_rejected(slug, params, name):
    with pytest.raises(ValueError, match=name):
        seglib.segment(np.zeros((8, 8)), slug, **params)
