import numpy as np
import pytest

import seglib
from seglib import cache
from seglib.imaging import resize_labels


def test_segment_fills_timing_params_and_kind(quadrant_gray):
    image, truth = quadrant_gray
    result = seglib.segment(image, "global-threshold", threshold=0.4)
    assert result.kind == "binary"
    assert result.params == {"threshold": 0.4, "polarity": "bright"}
    assert result.elapsed_s > 0
    np.testing.assert_array_equal(result.labels, (truth >= 2).astype(np.int32))


def test_large_image_runs_at_working_size_and_maps_back():
    rng = np.random.default_rng(0)
    image = np.zeros((300, 200), np.uint8)
    image[:, 100:] = 200
    image += rng.integers(0, 20, image.shape, dtype=np.uint8)
    result = seglib.segment(image, "otsu", working_size=100, polarity="bright")  # auto could pick either half
    assert result.working_shape == (100, 67)
    assert result.stages["gray"].shape == (100, 67)
    assert result.labels.shape == (300, 200)
    # The boundary moves by at most one working pixel (3 full pixels).
    assert result.labels[:, :97].max() == 0 and result.labels[:, 103:].min() == 1


def test_working_size_none_runs_full_size(quadrant_gray):
    image, _ = quadrant_gray
    assert seglib.segment(image, "otsu", working_size=None).working_shape == (16, 16)
    with pytest.raises(ValueError, match="working_size=8"):
        seglib.segment(image, "otsu", working_size=8)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 4, 2)), r"shape \(4, 4, 2\)"),
        (np.zeros((1, 9)), "at least 2 x 2"),
        (np.full((4, 4), 2.0), "must lie in"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.array([["a", "b"], ["c", "d"]]), "dtype"),
    ],
)
def test_segment_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        seglib.segment(bad, "otsu")


def test_float_and_uint8_inputs_agree(quadrant_rgb):
    image, _ = quadrant_rgb
    a = seglib.segment(image, "otsu").labels
    b = seglib.segment(image / 255.0, "otsu").labels
    np.testing.assert_array_equal(a, b)


def test_pre_and_post_processing_are_recorded(quadrant_rgb):
    image, _ = quadrant_rgb
    result = seglib.segment(image, "otsu", preprocess_options={"colour_space": "gray"},
                            postprocess_options={"min_size": 3})
    assert result.params["preprocess_options"]["colour_space"] == "gray"
    assert result.params["postprocess_options"]["min_size"] == 3
    with pytest.raises(ValueError, match="unknown preprocess option 'hue'"):
        seglib.segment(image, "otsu", preprocess_options={"hue": 1})


def test_snippet_reproduces_result(quadrant_gray):
    image, _ = quadrant_gray
    result = seglib.segment(image, "global-threshold", threshold=0.3)
    code = seglib.snippet("global-threshold", result.params)
    assert "threshold=0.3" in code and "polarity" not in code
    namespace = {}
    exec(code.replace("load_image('your_image.png')", "source"), {"source": image}, namespace)
    np.testing.assert_array_equal(namespace["labels"], result.labels)


def test_snippet_loads_the_sample_or_scene_it_was_made_on():
    from seglib.datasets.shapes import make_scene
    from seglib.samples import load_sample

    for code_args, image in [
        ({"sample": "camera"}, load_sample("camera")),
        ({"scene": (3, "medium", 128)}, make_scene(3, size=128, difficulty="medium").image),
    ]:
        result = seglib.segment(image, "otsu")
        code = seglib.snippet("otsu", result.params, **code_args)
        assert "your_image" not in code and "load_image" not in code
        namespace = {}
        exec(code, {}, namespace)
        np.testing.assert_array_equal(namespace["labels"], result.labels)
    uploaded = seglib.snippet("otsu", {}, file_name='holiday "beach".jpg')
    assert "load_image('holiday \"beach\".jpg')" in uploaded


def test_snippet_leaves_out_parameters_of_another_mode():
    code = seglib.snippet("watershed", {"markers": "regular-grid", "h": 0.3, "n_markers": 50})
    assert "markers='regular-grid'" in code and "n_markers=50" in code
    assert "h=" not in code  # h only matters for local minima


def test_resize_labels_is_nearest():
    labels = np.array([[1, 2], [3, 4]])
    out = resize_labels(labels, (4, 6))
    assert set(np.unique(out)) == {1, 2, 3, 4}
    np.testing.assert_array_equal(out[:2, :3], 1)
    np.testing.assert_array_equal(out[2:, 3:], 4)


def test_cached_stage_reuses_work_on_same_content():
    calls = []

    @cache.cached_stage
    def expensive(array, sigma):
        calls.append(sigma)
        return array * sigma

    data = np.arange(12.0).reshape(3, 4)
    first = expensive(data, 2)
    again = expensive(data.copy(), 2)  # same content, different object
    assert calls == [2]
    np.testing.assert_array_equal(first, again)
    assert not again.flags.writeable
    expensive(data, 3)
    data2 = data.copy()
    data2[0, 0] = 99
    expensive(data2, 2)
    assert calls == [2, 3, 2]


def test_cached_stages_stay_within_the_memory_budget(monkeypatch):
    monkeypatch.setattr(cache, "_MAX_BYTES", 10_000)
    cache.clear()
    calls = []

    @cache.cached_stage
    def grow(n):
        calls.append(n)
        return {"pair": (np.zeros(n, np.uint8), np.zeros(n, np.uint8))}

    assert cache.nbytes(grow(3000)) == 6000
    grow(1000)
    assert cache.total_bytes() == 8000
    grow(2000)  # 12000 in all: the least recently used (n=3000) goes
    assert cache.total_bytes() == 6000
    grow(1000)
    assert calls == [3000, 1000, 2000], "the recent one is still cached"
    grow(6000)  # 12000 bytes alone: computed, returned, not kept
    assert cache.total_bytes() == 6000
    grow(6000)
    assert calls == [3000, 1000, 2000, 6000, 6000]


def test_fingerprint_of_read_only_array_is_remembered():
    data = np.random.default_rng(1).random((50, 50))
    data.setflags(write=False)
    assert cache.fingerprint(data) == cache.fingerprint(data)
    assert cache.fingerprint(data) == cache.fingerprint(data.copy())
    assert cache.fingerprint(data) != cache.fingerprint(data.T)


def test_a_parameter_may_be_called_method(quadrant_gray):
    image, _ = quadrant_gray
    result = seglib.segment(image, "adaptive-threshold", method="mean")
    assert result.params["method"] == "mean"
    assert seglib.segment(image, seglib.method("adaptive-threshold"), method="median").params["method"] == "median"


def test_working_image_fingerprint_comes_from_the_input_and_its_options(quadrant_rgb, monkeypatch):
    image, _ = quadrant_rgb
    seen = []
    original = cache.remember
    monkeypatch.setattr(cache, "remember", lambda array, key: (seen.append(key), original(array, key)))
    seglib.segment(image, "otsu")
    seglib.segment(image, "otsu", preprocess_options={"blur_sigma": 1.0})
    seglib.segment(image.copy(), "otsu")
    assert len(seen) == 3 and seen[0] != seen[1] and seen[0] == seen[2]
    seglib.segment(image / 255.0, "otsu")  # float input: hashed as it is
    assert len(seen) == 3


def test_remember_refuses_writeable_arrays():
    with pytest.raises(ValueError, match="read-only"):
        cache.remember(np.zeros(3), "key")


def test_identity_names_a_read_only_object_not_its_content():
    data = np.random.default_rng(2).random((20, 20))
    data.setflags(write=False)
    twin = data.copy()
    twin.setflags(write=False)
    assert cache.identity(data) == cache.identity(data)
    assert cache.identity(data) != cache.identity(twin)  # equal content, another object
    seen = {cache.identity(data), cache.identity(twin)}
    del data, twin
    for _ in range(20):  # new objects, perhaps at the old addresses: never an old key
        fresh = np.zeros((20, 20))
        fresh.setflags(write=False)
        assert cache.identity(fresh) not in seen
        seen.add(cache.identity(fresh))
    writeable = np.ones(4)
    assert cache.identity(writeable) == cache.fingerprint(writeable)  # it could change: its content names it


def test_a_uint8_picture_s_working_image_is_kept_between_calls(quadrant_rgb):
    image, _ = quadrant_rgb
    image = (image * 255).astype(np.uint8) if image.dtype != np.uint8 else image
    cache.clear()
    first = seglib.segment(image, "global-threshold", threshold=0.3)
    misses = cache.stats["misses"]  # the working image, then gray and histogram
    second = seglib.segment(image, "global-threshold", threshold=0.6)
    assert cache.stats["misses"] == misses and cache.stats["hits"] >= 2
    assert second.stages["gray"] is first.stages["gray"]
    blurred = seglib.segment(image, "global-threshold", threshold=0.3, preprocess_options={"blur_sigma": 1.0})
    assert cache.stats["misses"] > misses  # other options: another working image
    assert not np.array_equal(blurred.stages["gray"], first.stages["gray"])


def test_keep_scores_false_leaves_the_confidence_map_out():
    image = np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    kept = seglib.segment(image, "fuzzy-cmeans", working_size=32, n_clusters=3)
    dropped = seglib.segment(image, "fuzzy-cmeans", working_size=32, n_clusters=3, keep_scores=False)
    assert kept.scores.shape == (60, 90) and dropped.scores is None
    np.testing.assert_array_equal(kept.labels, dropped.labels)
    assert "keep_scores" not in dropped.params
