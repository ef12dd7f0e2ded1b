import numpy as np
import pytest
from skimage import segmentation
from sklearn.cluster import KMeans, MeanShift

import seglib
import seglib.labels
import seglib.palette
from seglib import cache
from seglib.result import Curve, Points
from seglib.traditional import clustering
from seglib.traditional.clustering import fuzzy_memberships, nearest_centre, pixel_features

from helpers import quadrants

CENTRE_METHODS = ["kmeans", "fuzzy-cmeans", "mean-shift"]
ALL_METHODS = CENTRE_METHODS + ["hierarchical", "slic"]


def same_partition(a, b):
    """True when label maps ``a`` and ``b`` are equal up to renaming the labels."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1).shape[1]
    return pairs == len(np.unique(a)) == len(np.unique(b))


def agreement(labels, truth):
    """Fraction of pixels whose label's most common true class is their own."""
    joint = np.zeros((labels.max() + 1, truth.max() + 1), dtype=int)
    np.add.at(joint, (labels.ravel(), truth.ravel()), 1)
    return joint.max(axis=1).sum() / labels.size


def noisy_quadrants(size=32, noise=0.04, seed=0, rgb=True):
    image, truth = quadrants(size, rgb=rgb)
    noisy = image / 255.0 + np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(noisy, 0, 1), truth


@pytest.mark.parametrize("rgb", [True, False], ids=["rgb", "gray"])
@pytest.mark.parametrize("slug, params", [("kmeans", {}), ("fuzzy-cmeans", {}), ("mean-shift", {}),
                                          ("hierarchical", {"n_clusters": 4})])
def test_finds_the_four_quadrants(slug, params, rgb):
    image, truth = quadrants(16, rgb=rgb)
    labels = seglib.segment(image, slug, **params).labels
    assert same_partition(labels, truth)
    assert set(np.unique(labels)) == {1, 2, 3, 4}


@pytest.mark.parametrize("slug", ["kmeans", "fuzzy-cmeans", "hierarchical"])
def test_noisy_quadrants_are_recovered(slug):
    image, truth = noisy_quadrants()
    labels = seglib.segment(image, slug, n_clusters=4).labels
    assert same_partition(labels, truth)


def test_clusters_are_numbered_from_dark_to_bright(quadrant_gray):
    image, truth = quadrant_gray  # quadrant gray levels increase with the truth label
    for slug in CENTRE_METHODS:
        np.testing.assert_array_equal(seglib.segment(image, slug).labels, truth + 1, err_msg=slug)


@pytest.mark.parametrize("slug", ["kmeans", "fuzzy-cmeans"])
def test_seed_makes_results_reproducible(slug):
    image = np.random.default_rng(1).random((40, 40, 3))
    first = seglib.segment(image, slug, n_clusters=5, seed=7)
    again = seglib.segment(image, slug, n_clusters=5, seed=7)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.stages["pixel cloud"].centres, again.stages["pixel cloud"].centres)


def test_kmeans_inertia_matches_a_full_fit():
    # 80 x 80 = 6400 pixels of a smooth photo-like image; fitting on a sample must lose almost nothing.
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:80, 0:80] / 80.0
    image = np.clip(np.stack([x, y, (x + y) / 2], axis=-1) + rng.normal(0, 0.05, (80, 80, 3)), 0, 1)
    features = pixel_features(image).astype(np.float64)
    centres = clustering.fit_kmeans(features, 6, seed=0, sample_size=2000)
    ours = ((features - centres[nearest_centre(features, centres)]) ** 2).sum(axis=1).mean()
    full = KMeans(n_clusters=6, n_init=1, random_state=0).fit(features).inertia_ / len(features)
    assert ours <= 1.03 * full


@pytest.mark.parametrize("k", [1, 3, 16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_centre_agrees_with_brute_force(k, dtype):
    rng = np.random.default_rng(k)
    features = rng.random((500, 5)).astype(dtype)
    centres = rng.random((k, 5))
    brute = ((features[:, None, :].astype(np.float64) - centres[None]) ** 2).sum(axis=-1)
    found = nearest_centre(features, centres)
    # Float32 rounding may flip near-ties only: the chosen centre must be (almost) as close as the best.
    chosen = brute[np.arange(len(features)), found]
    np.testing.assert_allclose(chosen, brute.min(axis=1), atol=1e-5)


def test_pixel_features_append_weighted_positions():
    image = np.random.default_rng(0).random((4, 6, 3))
    plain = pixel_features(image)
    spatial = pixel_features(image, 0.5)
    assert plain.shape == (24, 3) and spatial.shape == (24, 5)
    np.testing.assert_array_equal(spatial[:, :3], plain)
    # Pixel (row 3, column 5) is the last row; positions are divided by the longest side (6).
    np.testing.assert_allclose(spatial[-1, 3:], [0.5 * 5 / 6, 0.5 * 3 / 6], rtol=1e-6)
    assert pixel_features(image[..., 0]).shape == (24, 1)
    with pytest.raises(ValueError, match="spatial_weight=-1"):
        pixel_features(image, -1)


@pytest.mark.parametrize("slug", CENTRE_METHODS)
def test_spatial_weight_splits_a_uniform_image_by_position(slug):
    image = np.full((16, 32), 0.5)
    params = {"spatial_weight": 1.0}
    params.update({"bandwidth": 0.3} if slug == "mean-shift" else {"n_clusters": 2})
    labels = seglib.segment(image, slug, **params).labels
    assert len(np.unique(labels)) >= 2
    # Without position a uniform image is one cluster.
    assert len(np.unique(seglib.segment(image, slug).labels)) == 1


def test_fuzzy_memberships_are_a_distribution():
    rng = np.random.default_rng(0)
    features = rng.random((300, 3))
    centres = rng.random((5, 3))
    for m in (1.1, 2.0, 5.0):
        u = fuzzy_memberships(features, centres, m)
        assert u.shape == (300, 5)
        assert np.all((u >= 0) & (u <= 1))
        np.testing.assert_allclose(u.sum(axis=1), 1.0)
    # A point on a centre belongs to it fully; m = 2 gives u_ik proportional to 1 / d_ik^2.
    u = fuzzy_memberships(np.vstack([centres[2], features[0]]), centres, 2.0)
    assert u[0, 2] == pytest.approx(1.0)
    inverse = 1 / ((features[0] - centres) ** 2).sum(axis=1)
    np.testing.assert_allclose(u[1], inverse / inverse.sum())


@pytest.mark.parametrize("m", [1.3, 2.0, 2.7])
def test_fuzzy_fit_follows_the_textbook_updates(m):
    # Bezdek's updates written out: u_ik = 1 / sum_j (d_ik / d_jk)^(2 / (m - 1)), v_k = sum_i u_ik^m x_i /
    # sum_i u_ik^m, J = sum_ik u_ik^m d_ik^2 per point, from the same k-means++ start.
    rng = np.random.default_rng(3)
    features = np.concatenate([rng.normal(c, 0.05, (200, 3)) for c in (0.2, 0.5, 0.8)])
    centres, objective = clustering.fit_fuzzy_cmeans(features, 3, m, max_iter=7, tol=1e-12, seed=1)
    expected = clustering._kmeans_plusplus(features, 3, np.random.default_rng(1))
    expected_objective = []
    for _ in range(len(objective)):  # 7, or fewer where the centres stopped moving
        d2 = ((features[None, :, :] - expected[:, None, :]) ** 2).sum(axis=-1)
        d2 = np.maximum(d2, np.finfo(float).tiny ** 0.5)  # k-means++ starts on points: d = 0 there
        with np.errstate(over="ignore"):  # a far centre's ratio overflows to inf: its membership is 0
            u = 1 / ((d2[:, None, :] / d2[None, :, :]) ** (1 / (m - 1))).sum(axis=1)
        expected_objective.append((u ** m * d2).sum() / len(features))
        expected = (u ** m @ features) / (u ** m).sum(axis=1)[:, None]
    np.testing.assert_allclose(objective, expected_objective, rtol=1e-10)
    np.testing.assert_allclose(centres, expected, rtol=1e-10)


def test_fuzzifier_close_to_one_gives_hard_memberships():
    image, _ = noisy_quadrants(noise=0.08)
    hard = seglib.segment(image, "fuzzy-cmeans", m=1.1)
    soft = seglib.segment(image, "fuzzy-cmeans", m=3.0)
    assert hard.stages["membership"].min() > 0.95
    assert soft.stages["membership"].mean() < hard.stages["membership"].mean() - 0.1
    np.testing.assert_array_equal(hard.scores, hard.stages["membership"])


def test_fuzzy_stages_are_consistent_with_labels():
    image, _ = noisy_quadrants()
    result = seglib.segment(image, "fuzzy-cmeans", n_clusters=3)
    maps = np.stack([result.stages[f"membership of cluster {k}"] for k in (1, 2, 3)], axis=-1)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.argmax(maps, axis=-1) + 1, result.labels)
    np.testing.assert_allclose(result.stages["membership"], maps.max(axis=-1))
    objective = result.stages["objective"]
    assert isinstance(objective, Curve)
    assert objective.series["objective J_m"][-1] <= objective.series["objective J_m"][0]


@pytest.mark.parametrize("picture", ["rgb", "gray", "gray as rgb"])
def test_pixel_cloud_is_a_labelled_colour_sample(picture):
    rng = np.random.default_rng(0)
    image = {"rgb": lambda: rng.random((80, 60, 3)), "gray": lambda: rng.random((80, 60)),
             "gray as rgb": lambda: np.repeat(rng.random((80, 60, 1)), 3, axis=2)}[picture]()
    rgb = picture == "rgb"
    result = seglib.segment(image, "kmeans", n_clusters=3)
    cloud = result.stages["pixel cloud"]
    assert isinstance(cloud, Points)
    # Gray pictures (also three equal channels) give one intensity per pixel, not a line in RGB.
    size, dims = (clustering.CLOUD_SIZE, 3) if rgb else (clustering.GRAY_CLOUD_SIZE, 1)
    assert len(cloud.points) == min(80 * 60, size) and cloud.points.shape[1] == dims
    assert cloud.centres.shape == (3, dims)
    assert set(np.unique(cloud.labels)) <= set(np.unique(result.labels))
    assert cloud.axis_names == (("R", "G", "B") if rgb else ("intensity",))
    painted = result.stages["cluster colours"]
    assert painted.shape == image.shape
    # Every pixel is painted with the colour of its cluster's centre.
    np.testing.assert_allclose(painted[result.labels == 2].reshape(-1, 1 if picture == "gray" else 3)[0, :dims],
                               cloud.centres[1])


@pytest.mark.parametrize("slug", ALL_METHODS)
def test_more_clusters_than_colours_does_not_crash(slug):
    image = np.zeros((12, 12, 3))
    image[:, 6:] = 1.0
    params = {"n_clusters": 8} if slug in ("kmeans", "fuzzy-cmeans", "hierarchical") else {}
    result = seglib.segment(image, slug, **params)
    assert result.labels.min() >= 1
    for name, stage in result.stages.items():
        values = stage.points if isinstance(stage, Points) else getattr(stage, "x", stage)
        assert np.all(np.isfinite(values)), name
    if slug != "slic":
        assert len(np.unique(result.labels)) == 2
        assert slug == "mean-shift" or any("only 2" in note for note in result.notes)


def test_mean_shift_bandwidth_controls_the_number_of_modes():
    ramp = np.tile(np.linspace(0, 1, 64), (8, 1))
    fine = seglib.segment(ramp, "mean-shift", bandwidth=0.05).labels
    coarse = seglib.segment(ramp, "mean-shift", bandwidth=0.3).labels
    assert len(np.unique(fine)) > len(np.unique(coarse)) >= 1
    auto = seglib.segment(ramp, "mean-shift", bandwidth=None)
    assert any(note.startswith("Estimated bandwidth") for note in auto.notes)


def test_mean_shift_caps_its_seeds_for_tiny_bandwidths():
    image = np.random.default_rng(0).random((60, 60, 3))
    result = seglib.segment(image, "mean-shift", bandwidth=0.01)
    assert any("most populated" in note for note in result.notes)
    assert result.n_segments <= clustering.MAX_MEAN_SHIFT_SEEDS


@pytest.mark.parametrize("params", [{"n_segments": 50, "compactness": 10.0, "sigma": 0.0},
                                    {"n_segments": 120, "compactness": 0.5, "sigma": 1.0}])
def test_slic_agrees_with_scikit_image(params):
    image = np.random.default_rng(0).random((48, 64, 3))
    image[:, 32:] *= 0.3
    result = seglib.segment(image, "slic", **params)
    np.testing.assert_array_equal(result.labels, segmentation.slic(image, start_label=1, **params))
    assert result.labels.min() == 1
    assert result.stages["mean colour"].shape == image.shape
    assert result.stages["boundaries"].shape == image.shape


def test_slic_on_gray_uses_lab_like_compactness():
    gray = np.random.default_rng(0).random((40, 40))
    gray[20:] *= 0.5
    labels = seglib.segment(gray, "slic", n_segments=30, compactness=10.0).labels
    expected = segmentation.slic(gray, n_segments=30, compactness=0.1, start_label=1, channel_axis=None)
    np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize("slug", ["slic", "hierarchical", "normalized-cut"])
@pytest.mark.parametrize("space", ["lab", "hsv"])
def test_superpixels_of_a_converted_image_are_not_converted_again(monkeypatch, slug, space):
    seen = []
    real = segmentation.slic
    monkeypatch.setattr(segmentation, "slic", lambda *a, **k: seen.append(k) or real(*a, **k))
    cache.clear()
    image = np.random.default_rng(1).random((64, 64, 3))
    seglib.segment(image, slug, preprocess_options={"colour_space": space})
    seglib.segment(image, slug)
    assert [k["convert2lab"] for k in seen] == [False, True]  # RGB alone goes to CIELAB inside SLIC
    assert seen[0]["compactness"] == pytest.approx(seen[1]["compactness"] / 100)  # values span 0-1, not 0-100


def test_colour_space_is_set_by_pre_processing_not_as_a_parameter():
    with pytest.raises(ValueError, match=r"colour_space='lab' is not a parameter of 'slic'.*preprocess_options"):
        seglib.segment(np.zeros((8, 8, 3)), "slic", colour_space="lab")
    with pytest.raises(ValueError, match=r"valid parameters: n_segments, compactness, sigma$"):
        seglib.segment(np.zeros((8, 8, 3)), "slic", bogus=1)


def test_hierarchical_reuses_the_superpixel_graph(monkeypatch):
    image, _ = noisy_quadrants(48)
    calls = []
    real = seglib.labels.segmentation.slic
    monkeypatch.setattr(seglib.labels.segmentation, "slic", lambda *a, **k: calls.append(1) or real(*a, **k))
    cache.clear()
    seglib.segment(image, "hierarchical", n_clusters=4, n_nodes=100)
    for n_clusters, linkage in [(3, "ward"), (2, "average"), (4, "single"), (4, "complete")]:
        labels = seglib.segment(image, "hierarchical", n_clusters=n_clusters, linkage=linkage, n_nodes=100).labels
        assert len(np.unique(labels)) == n_clusters
    assert len(calls) == 1
    seglib.segment(image, "hierarchical", n_nodes=150)
    assert len(calls) == 2


def test_hierarchical_stages():
    image, truth = noisy_quadrants(48)
    result = seglib.segment(image, "hierarchical", n_clusters=4, n_nodes=100)
    # SLIC on so small an image lets a few superpixels straddle the quadrant edges.
    assert agreement(result.labels, truth) > 0.97 and result.n_segments == 4
    n_nodes = int(result.notes[0].split()[1])  # "Merged N nodes into ..."
    assert 50 <= n_nodes <= 150
    curve = result.stages["merge distances"]
    assert curve.markers == {"n_clusters": 4.0}
    assert np.all(np.diff(curve.x) > 0) and curve.x[0] == 1
    # Merging the last four quadrants costs far more than any merge inside a quadrant.
    distances = dict(zip(curve.x, curve.series["merge distance"]))
    assert distances[3] > 5 * distances[5]
    assert result.stages["nodes"].shape == image.shape


@pytest.mark.parametrize("slug, params, message", [
    ("kmeans", {"n_clusters": 1}, "n_clusters=1"),
    ("kmeans", {"spatial_weight": -0.5}, "spatial_weight=-0.5"),
    ("fuzzy-cmeans", {"m": 1.0}, "m=1.0"),
    ("fuzzy-cmeans", {"tol": 0.0}, "tol=0.0"),
    ("mean-shift", {"bandwidth": -0.1}, "bandwidth=-0.1"),
    ("hierarchical", {"linkage": "median"}, "linkage='median'"),
    ("slic", {"compactness": 0.0}, "compactness=0.0"),
])
def test_parameter_errors_name_the_parameter(slug, params, message, quadrant_rgb):
    with pytest.raises(ValueError, match=message):
        seglib.segment(quadrant_rgb[0], slug, **params)


def test_agglomerate_rejects_an_unknown_linkage():
    with pytest.raises(ValueError, match="linkage='centroid' is not allowed"):
        clustering.agglomerate(np.eye(3), np.array([[0, 1], [1, 2]]), 2, "centroid")


@pytest.mark.parametrize("bandwidth", [0.08, 0.2])
def test_mean_shift_modes_match_scikit_learn(bandwidth):
    rng = np.random.default_rng(5)
    centres = rng.random((5, 3))
    points = np.clip(centres[rng.integers(5, size=600)] + rng.normal(0, 0.05, (600, 3)), 0, 1)
    seeds, _ = clustering._bin_seeds(points, bandwidth, 1000)
    ours = clustering.mean_shift_modes(points, seeds, bandwidth)
    theirs = MeanShift(bandwidth=bandwidth, seeds=seeds).fit(points).cluster_centers_
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_fuzzy_memberships_in_chunks_match_one_pass(monkeypatch):
    rng = np.random.default_rng(4)
    features = rng.random((1000, 3)).astype(np.float32)
    centres = rng.random((5, 3))
    whole = fuzzy_memberships(features, centres, 2.0)
    monkeypatch.setattr(clustering, "CHUNK_ENTRIES", 5 * 64 + 3)  # chunks of 64 rows and a shorter last one
    np.testing.assert_array_equal(fuzzy_memberships(features, centres, 2.0), whole)
    _, powers, _ = clustering._ratio_powers(clustering._scores(features, centres, full=True), 2.0)
    np.testing.assert_array_equal(whole, (powers / powers.sum(axis=0)).T)


def test_nearest_centre_in_chunks_matches_one_pass(monkeypatch):
    rng = np.random.default_rng(2)
    features = rng.random((1000, 3)).astype(np.float32)
    centres = rng.random((7, 3))
    whole = nearest_centre(features, centres)
    monkeypatch.setattr(clustering, "CHUNK_ENTRIES", 7 * 64)
    np.testing.assert_array_equal(nearest_centre(features, centres), whole)




@pytest.mark.parametrize("slug, params", [("kmeans", {"n_clusters": 5}), ("fuzzy-cmeans", {"m": 1.7}),
                                          ("mean-shift", {"bandwidth": 0.15})])
@pytest.mark.parametrize("rgb", [True, False], ids=["rgb", "gray"])
def test_work_per_distinct_colour_gives_the_per_pixel_result(monkeypatch, slug, params, rgb):
    image, _ = quadrants(48, rgb=rgb)
    shade = np.random.default_rng(7).integers(-6, 7, image.shape[:2])  # 13 shades of each quadrant's colour
    noisy = np.clip(image + (shade[..., None] if image.ndim == 3 else shade), 0, 255).astype(np.uint8)
    by_colour = seglib.segment(noisy, slug, **params)
    assert clustering.distinct_colours(seglib.imaging.as_float(noisy)) is not None
    cache.clear()
    monkeypatch.setattr(seglib.palette, "DISTINCT_SHARE", 0.0)  # no table: every pixel computed
    by_pixel = seglib.segment(noisy, slug, **params)
    np.testing.assert_array_equal(by_colour.labels, by_pixel.labels)
    for name, stage in by_pixel.stages.items():
        if isinstance(stage, np.ndarray):
            np.testing.assert_allclose(by_colour.stages[name], stage, rtol=1e-6, atol=1e-7, err_msg=name)


def test_fuzzy_fit_weighs_repeated_points_by_their_count(monkeypatch):
    rng = np.random.default_rng(8)
    levels = rng.integers(0, 256, 30) / 255.0
    points = np.repeat(levels[rng.integers(0, 30, 2000)][:, None], 3, axis=1)  # a gray sample: 30 values
    values, counts = clustering._repeated_rows(points)
    assert len(values) <= 30 and counts.sum() == len(points)
    weighted = clustering._fuzzy_iterations(points, 4, 2.3, 20, 1e-9, np.random.default_rng(1))
    monkeypatch.setattr(clustering, "_repeated_rows", lambda rows: (rows, None))  # every point on its own
    plain = clustering._fuzzy_iterations(points, 4, 2.3, 20, 1e-9, np.random.default_rng(1))
    np.testing.assert_allclose(weighted[0], plain[0], rtol=1e-10)
    np.testing.assert_allclose(weighted[1], plain[1], rtol=1e-10)


def test_kmeans_fit_weighs_repeated_points_by_their_count(monkeypatch):
    rng = np.random.default_rng(9)
    palette = rng.integers(0, 256, (12, 3)) / 255.0
    points = palette[rng.integers(0, 12, 3000)]  # a drawing's sample: 12 colours
    weighted = clustering._best_restart(points, 5, np.random.default_rng(2), 3)
    monkeypatch.setattr(clustering, "_repeated_rows", lambda rows: (rows, None))  # every point on its own
    plain = clustering._best_restart(points, 5, np.random.default_rng(2), 3)
    np.testing.assert_allclose(weighted, plain, rtol=1e-12)
