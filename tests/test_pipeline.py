import numpy as np
import pytest

from seglib import pipeline


def test_identity_options_leave_image_untouched():
    image = np.random.default_rng(0).random((8, 8, 3))
    assert pipeline.preprocess(image, {}) is image


@pytest.mark.parametrize("space, channels", [("gray", None), ("hsv", 3), ("lab", 3), ("rgb", 3)])
def test_colour_spaces_stay_in_unit_range(space, channels):
    image = np.random.default_rng(0).random((8, 8, 3))
    out = pipeline.preprocess(image, {"colour_space": space, "blur_sigma": 1.0})
    assert out.shape == ((8, 8) if channels is None else (8, 8, 3))
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("denoise", ["median", "bilateral", "tv"])
def test_denoisers_reduce_noise(denoise):
    rng = np.random.default_rng(0)
    clean = np.full((32, 32), 0.3)
    clean[:, 16:] = 0.7
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)
    out = pipeline.preprocess(noisy, {"denoise": denoise})
    assert np.abs(out - clean).mean() < np.abs(noisy - clean).mean()


def test_postprocess_binary_fill_holes_and_min_size():
    mask = np.zeros((20, 20), int)
    mask[2:12, 2:12] = 1
    mask[6, 6] = 0          # a hole
    mask[16, 16] = 1        # a speck
    out = pipeline.postprocess(mask, "binary", {"fill_holes": True, "min_size": 5})
    assert out[6, 6] == 1 and out[16, 16] == 0 and out.sum() == 100


def test_postprocess_opening_removes_thin_bridge():
    mask = np.zeros((20, 30), int)
    mask[5:15, 2:12] = 1
    mask[5:15, 18:28] = 1
    mask[9, 12:18] = 1  # one-pixel bridge
    out = pipeline.postprocess(mask, "binary", {"opening": 1})
    assert out[9, 14] == 0 and out[10, 6] == 1


def test_postprocess_labels_keeps_ids_and_drops_small_pieces():
    labels = np.zeros((10, 10), int)
    labels[:, :5] = 3
    labels[:, 5:] = 7
    labels[0, 0] = 9  # single-pixel segment
    out = pipeline.postprocess(labels, "regions", {"min_size": 2})
    assert out[0, 0] == 0
    assert set(np.unique(out)) == {0, 3, 7}


def test_bad_option_names_value_and_range():
    with pytest.raises(ValueError, match=r"blur_sigma=-1 is not allowed"):
        pipeline.preprocess(np.zeros((4, 4)), {"blur_sigma": -1})
    with pytest.raises(ValueError, match="unknown postprocess option 'erode'"):
        pipeline.postprocess(np.zeros((4, 4), int), "binary", {"erode": 1})


def two_halves(seed=0):
    """A picture with a dark left and a bright right half (slightly noisy), and its true halves."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((60, 80), np.int32)
    truth[:, 40:] = 1
    image = np.where(truth[..., None] == 1, 0.8, 0.2) + rng.normal(0, 0.02, (60, 80, 3))
    return np.clip(image, 0, 1), truth


def test_superpixel_vote_straightens_a_ragged_border():
    image, truth = two_halves()
    rng = np.random.default_rng(1)
    ragged = truth.copy()
    near = np.abs(np.arange(80) - 40) < 6
    flip = (rng.random(truth.shape) < 0.3) & near[None, :]
    ragged[flip] = 1 - ragged[flip]  # a noisy band along the true border
    assert (ragged == truth).mean() < 0.97
    voted = pipeline.superpixel_vote(ragged, image, 60)
    assert (voted == truth).mean() > 0.995 and voted.dtype == ragged.dtype


def test_superpixel_vote_through_segment_and_not_on_edges():
    import seglib

    image, truth = two_halves()
    result = seglib.segment(image, "kmeans", n_clusters=2, postprocess_options={"superpixels": 50})
    assert result.params["postprocess_options"]["superpixels"] == 50
    assert len(np.unique(result.labels)) == 2
    edges = np.zeros((60, 80), np.int32)
    edges[:, 40] = 1
    kept = pipeline.postprocess(edges, "edges", {"superpixels": 50}, image=image)
    np.testing.assert_array_equal(kept, edges)  # lines are not regions: no vote
    with pytest.raises(ValueError, match="superpixels needs the image"):
        pipeline.postprocess(truth, "binary", {"superpixels": 50})


def test_superpixel_vote_keeps_negative_and_large_labels():
    image, truth = two_halves()
    labels = np.where(truth == 1, 70000, -1).astype(np.int64)
    voted = pipeline.superpixel_vote(labels, image, 40)
    assert set(np.unique(voted)) == {-1, 70000}


@pytest.mark.parametrize("options", [{"opening": 2}, {"closing": 3, "fill_holes": True},
                                     {"opening": 1, "closing": 2, "fill_holes": True}])
def test_segments_cleaned_in_their_boxes_equal_cleaning_on_the_whole_picture(options):
    rng = np.random.default_rng(3)
    labels = np.kron(rng.integers(0, 40, (6, 8)), np.ones((5, 5), int)) * 1000  # large ids, blocks in small boxes
    labels[rng.random(labels.shape) < 0.05] = 0  # speckle and holes
    opts = pipeline.resolve_postprocess(options)
    expected = np.zeros_like(labels)
    for value in np.unique(labels[labels != 0]):  # the plain definition: each mask over the whole picture
        mask = pipeline._clean_mask(labels == value, opts)
        expected[mask & ((expected == 0) | (labels == value))] = value
    np.testing.assert_array_equal(pipeline.postprocess(labels, "regions", options), expected)
