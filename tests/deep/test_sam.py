"""Segment Anything (seglib.deep.sam) with a tiny SAM built from the package's own modules.

The network has random weights and is saved by the tests, so nothing is
downloaded: every test runs offline, and a downloader that fails the test
when called guards the network.
"""

import dataclasses
import hashlib
import json
import os
import time
import urllib.error

import numpy as np
import pytest
import torch
from segment_anything.utils.transforms import ResizeLongestSide

import seglib
from seglib import progress
from seglib.datasets.shapes import make_scene
from seglib.deep import sam as S
from seglib.deep import sources
from seglib.deep.checkpoints import save_weights
from helpers import count_calls

TINY = S.TINY_CONFIG
PERMISSIVE = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0)



@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny network and its weights saved two ways: safetensors with its config, a torch state dict."""
    torch.manual_seed(0)
    model = S.build_sam(TINY)
    folder = tmp_path_factory.mktemp("sam")
    safetensors = S.save_sam_weights(model, TINY, folder / "tiny.safetensors")
    pth = folder / "tiny.pth"
    torch.save(model.state_dict(), pth)
    return {"model": model, "safetensors": str(safetensors), "pth": str(pth)}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No weights anywhere, an empty hub cache, and a network that must not be touched."""
    S.clear_caches()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(S.WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(S.EMBEDDING_DIR_ENV, raising=False)  # embeddings in memory only, unless a test says

    def no_network(*args, **kwargs):
        raise AssertionError("the tests must never download")

    monkeypatch.setattr(sources, "fetch_url", no_network)
    sources.forget_failures()
    yield
    S.clear_caches()


@pytest.fixture(scope="module")
def scene():
    return make_scene(0, size=96, difficulty="easy")


# ----------------------------------------------------------------------------- the whole path


def test_prompt_gives_three_candidates_and_a_binary_mask(tiny, scene):
    result = seglib.segment(scene.image, "sam", points=[(40, 30, 1), (5, 5, 0)], weights=tiny["safetensors"])
    assert isinstance(result, S.SamSegmentation)
    assert result.kind == "binary" and result.labels.shape == (96, 96)
    assert set(np.unique(result.labels)) <= {0, 1}
    assert len(result.candidates) == 3 and sum(c["chosen"] for c in result.candidates) == 1
    best = int(np.argmax([c["predicted_iou"] for c in result.candidates]))
    assert result.candidates[best]["chosen"]
    candidate_stages = [name for name in result.stages if name.startswith("candidate")]
    assert len(candidate_stages) == 3
    np.testing.assert_array_equal(result.stages[candidate_stages[best]], result.labels > 0)
    assert result.low_res_logits.shape == (TINY.low_res_size, TINY.low_res_size)
    assert 0 <= result.scores.min() and result.scores.max() <= 1
    assert {"encoder_s", "decoder_s", "cache_hit"} <= set(result.timings)
    assert any("image encoder" in note for note in result.notes)


def test_choosing_a_candidate_and_single_mask_output(tiny, scene):
    kwargs = dict(points=[(40, 30, 1)], weights=tiny["safetensors"])
    three = seglib.segment(scene.image, "sam", **kwargs)
    second = seglib.segment(scene.image, "sam", candidate="2", **kwargs)
    assert second.candidates[1]["chosen"]
    name = [n for n in three.stages if n.startswith("candidate 2")][0]
    np.testing.assert_array_equal(second.labels > 0, three.stages[name])
    single = seglib.segment(scene.image, "sam", multimask=False, candidate="3", **kwargs)
    assert len(single.candidates) == 1
    assert any("Only one mask" in note for note in single.notes)


def test_refinement_feeds_the_previous_low_res_logits_back(tiny, scene, monkeypatch):
    first = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    loaded = S.load_sam(weights=tiny["safetensors"])
    calls = count_calls(monkeypatch, loaded.model.prompt_encoder)
    points = [(40, 30, 1), (70, 70, 0)]
    plain = seglib.segment(scene.image, "sam", points=points, weights=tiny["safetensors"])
    refined = seglib.segment(scene.image, "sam", points=points, weights=tiny["safetensors"],
                             mask_input=first.low_res_logits)
    assert calls[0]["masks"] is None
    np.testing.assert_allclose(calls[1]["masks"][0, 0].numpy(), first.low_res_logits)
    assert not np.allclose(plain.scores, refined.scores)
    assert any("refined with mask_input" in note for note in refined.notes)


def test_bad_mask_input_is_named(tiny, scene):
    with pytest.raises(ValueError, match=r"mask_input has shape \(256, 256\); expected .* \(16, 16\)"):
        seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"],
                       mask_input=np.zeros((256, 256)))


def test_a_box_alone_is_a_prompt(tiny, scene, monkeypatch):
    loaded = S.load_sam(weights=tiny["safetensors"])
    calls = count_calls(monkeypatch, loaded.model.prompt_encoder)
    result = seglib.segment(scene.image, "sam", box=(10, 20, 60, 70), weights=tiny["safetensors"])
    assert calls[0]["points"] is None and calls[0]["boxes"].shape == (1, 4)
    assert result.labels.shape == (96, 96)


def test_torch_state_dict_with_an_explicit_config(tiny, scene):
    a = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    b = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["pth"], config=TINY)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


# ----------------------------------------------------------------------------- embedding cache


def test_the_image_is_encoded_once_and_reused_by_every_prompt(tiny, scene, monkeypatch):
    loaded = S.load_sam(weights=tiny["safetensors"])
    encoder_calls = count_calls(monkeypatch, loaded.model.image_encoder)
    first = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    second = seglib.segment(scene.image, "sam", points=[(10, 80, 1)], weights=tiny["safetensors"])
    third = seglib.segment(scene.image, "sam", box=(5, 5, 50, 50), weights=tiny["safetensors"])
    assert len(encoder_calls) == 1
    assert not first.timings["cache_hit"] and second.timings["cache_hit"] and third.timings["cache_hit"]
    assert second.timings["encoder_s"] == 0.0
    assert any("from the cache" in note for note in second.notes)
    other = make_scene(1, size=96).image
    seglib.segment(other, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    assert len(encoder_calls) == 2
    assert S.embedding_stats["hits"] == 2


def test_embeddings_kept_on_disk_outlive_the_memory_cache(tiny, scene, monkeypatch, tmp_path):
    folder = tmp_path / "embeddings"
    monkeypatch.setenv(S.EMBEDDING_DIR_ENV, str(folder))
    first = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    assert not first.timings["cache_hit"] and len(list(folder.glob("*.safetensors"))) == 1
    S.clear_caches()  # as a new process would start
    loaded = S.load_sam(weights=tiny["safetensors"])
    encoder_calls = count_calls(monkeypatch, loaded.model.image_encoder)
    again = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    assert again.timings["cache_hit"] and encoder_calls == []
    np.testing.assert_array_equal(again.labels, first.labels)
    np.testing.assert_allclose(again.scores, first.scores)


def test_a_corrupt_stored_embedding_is_recomputed_and_the_folder_stays_bounded(tiny, scene, monkeypatch, tmp_path):
    folder = tmp_path / "embeddings"
    monkeypatch.setenv(S.EMBEDDING_DIR_ENV, str(folder))
    monkeypatch.setattr(S.embedding, "_MAX_DISK_EMBEDDINGS", 2)
    seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    (stored,) = folder.glob("*.safetensors")
    stored.write_bytes(stored.read_bytes()[:100])  # truncated
    S.clear_caches()
    redo = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    assert not redo.timings["cache_hit"] and stored.stat().st_size > 100, "recomputed and rewritten"
    for seed in (1, 2, 3):
        seglib.segment(make_scene(seed, size=64).image, "sam", points=[(20, 20, 1)], weights=tiny["safetensors"])
    assert len(list(folder.glob("*.safetensors"))) == 2


@pytest.mark.parametrize("input_size, original_size",
                         [((48, 64), (48, 64)), ((48, 64), (96, 128)), ((64, 40), (80, 50))])
def test_mask_upscaling_equals_sams_own(tiny, input_size, original_size):
    model = tiny["model"]
    low_res = torch.randn(1, 3, 16, 16)
    embedding = S.Embedding(None, input_size, original_size, 0.0)
    ours = S.upscale_masks(model, low_res, embedding)
    torch.testing.assert_close(ours, model.postprocess_masks(low_res, input_size, original_size))
    assert ours.shape[-2:] == original_size


def test_each_model_has_its_own_embeddings(tiny, scene, tmp_path):
    torch.manual_seed(1)
    other = S.save_sam_weights(S.build_sam(TINY), TINY, tmp_path / "other.safetensors")
    a = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    b = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=str(other))
    assert not a.timings["cache_hit"] and not b.timings["cache_hit"]
    assert not np.allclose(a.scores, b.scores)


# ----------------------------------------------------------------------------- coordinates and sizes


@pytest.mark.parametrize("shape, working_size", [((96, 96), None), ((120, 200), None), ((120, 200), 100),
                                                 ((300, 150), 60), ((64, 64), 32)])
def test_prompts_reach_the_model_in_encoder_coordinates(tiny, monkeypatch, shape, working_size):
    image = np.random.default_rng(0).integers(0, 255, shape + (3,), dtype=np.uint8)
    loaded = S.load_sam(weights=tiny["safetensors"])
    calls = count_calls(monkeypatch, loaded.model.prompt_encoder)
    h, w = shape
    points = [(w * 0.25, h * 0.5, 1), (w * 0.75, h * 0.125, 0)]
    box = (w * 0.1, h * 0.2, w * 0.6, h * 0.9)
    result = seglib.segment(image, "sam", points=points, box=box, weights=tiny["safetensors"],
                            working_size=working_size)
    assert result.labels.shape == shape, "masks come back at the caller's resolution"
    transform = ResizeLongestSide(TINY.image_size)
    expected_points = transform.apply_coords(np.array(points)[:, :2], shape)
    expected_box = transform.apply_boxes(np.array([box]), shape)
    sent_points, sent_box = calls[0]["points"], calls[0]["boxes"]
    np.testing.assert_allclose(sent_points[0][0].numpy(), expected_points, atol=1e-3)
    np.testing.assert_array_equal(sent_points[1][0].numpy(), [1, 0])
    np.testing.assert_allclose(sent_box.numpy(), expected_box, atol=1e-3)


def test_large_images_are_resized_for_the_encoder_and_masks_come_back_full_size(tiny, monkeypatch):
    image = make_scene(2, size=(300, 500)).image
    loaded = S.load_sam(weights=tiny["safetensors"])
    calls = count_calls(monkeypatch, loaded.model.image_encoder)
    result = seglib.segment(image, "sam", points=[(250, 150, 1)], weights=tiny["safetensors"], working_size=None)
    assert calls[0][0].shape[-2:] == (64, 64)  # the encoder sees the padded 64 px input
    assert result.labels.shape == (300, 500) and result.working_shape == (300, 500)


# ----------------------------------------------------------------------------- bad prompts


@pytest.mark.parametrize("kwargs, match", [
    ({"points": [(96, 10, 1)]}, r"points\[0\]=\(96, 10, 1\) lies outside the image \(96 x 96 pixels\)"),
    ({"points": []}, r"sam needs at least one object point \(label 1\) in `points` or a box"),
    ({"points": [(3, 3, 0)]}, r"sam needs at least one object point"),
    ({"box": (10, 10, 10, 50)}, r"box=\(10, 10, 10, 50\) has zero area"),
    ({"box": (-1, 10, 20, 50)}, r"box=.* lies outside the image"),
    ({"points": [(1, 2, 5)]}, r"label 5: expected 1 \(object\) or 0"),
])
def test_bad_prompts_say_what_was_wrong(tiny, scene, kwargs, match):
    with pytest.raises(ValueError, match=match):
        seglib.segment(scene.image, "sam", weights=tiny["safetensors"], **kwargs)


# ----------------------------------------------------------------------------- bad checkpoints


class RunsCode:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path, scene):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": RunsCode(marker)}, path)
    with pytest.raises(ValueError, match="refusing to load"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights=str(path))
    assert not marker.exists()


def test_weights_of_another_model_type_are_named(tmp_path, tiny, scene):
    # A stand-in for the vit_l checkpoint: its encoder's first weight and 24 blocks (tiny tensors elsewhere).
    fake = {"image_encoder.patch_embed.proj.weight": torch.zeros(1024, 3, 16, 16)}
    fake.update({f"image_encoder.blocks.{i}.norm1.weight": torch.zeros(1) for i in range(24)})
    path = tmp_path / "vit_l_like.pth"
    torch.save(fake, path)
    with pytest.raises(ValueError, match=r"holds SAM vit_l weights, not SAM vit_b .*choose model_type='vit_l'"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights=str(path), model_type="vit_b")
    with pytest.raises(ValueError, match=r"image encoder of width 32 and depth 1 weights, not SAM vit_h"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights=tiny["pth"], model_type="vit_h")


def test_truncated_and_foreign_checkpoints(tmp_path, tiny, scene):
    data = open(tiny["pth"], "rb").read()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights=str(truncated), config=TINY)
    foreign = tmp_path / "linear.safetensors"
    save_weights(torch.nn.Linear(2, 2), foreign)
    with pytest.raises(ValueError, match="not a Segment Anything checkpoint"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights=str(foreign))


def test_missing_weights_file_is_named(scene):
    with pytest.raises(FileNotFoundError, match=r"weights='nowhere.pth': no such file.*sam_vit_b_01ec64.pth"):
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)], weights="nowhere.pth")


# ----------------------------------------------------------------------------- downloads


def test_offline_and_uncached_fails_fast_naming_the_file_and_where_to_put_it(monkeypatch, scene, tmp_path):
    def offline(url, destination, progress, timeout=sources.DOWNLOAD_TIMEOUT_S):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(sources, "fetch_url", offline)
    assert S.find_weights("vit_b") is None
    start = time.perf_counter()
    with pytest.raises(S.SamWeightsMissing) as caught:
        seglib.segment(scene.image, "sam", points=[(4, 4, 1)])
    assert time.perf_counter() - start < 10
    message = str(caught.value)
    target = tmp_path / "torch-home" / "hub" / "checkpoints" / "sam_vit_b_01ec64.pth"
    assert "sam_vit_b_01ec64.pth" in message and str(target) in message
    assert "Temporary failure in name resolution" in message and S.WEIGHTS_ENV in message
    assert isinstance(caught.value, FileNotFoundError)
    assert not list(target.parent.glob("*.part*")), "no partial download is left behind"


def test_download_with_progress_and_checksum(monkeypatch, tmp_path):
    content = b"pretend checkpoint" * 1000
    spec = dataclasses.replace(S.CHECKPOINTS["vit_b"], size=len(content), digest=hashlib.md5(content).hexdigest())
    monkeypatch.setitem(S.CHECKPOINTS, "vit_b", spec)
    progress = []

    def fake_fetch(url, destination, report):
        assert url == S.BASE_URL + "sam_vit_b_01ec64.pth"
        destination.write_bytes(content)
        report(len(content), len(content))

    path = S.download_checkpoint("vit_b", progress=lambda done, total: progress.append((done, total)),
                                 fetch=fake_fetch)
    assert path == S.checkpoint_path("vit_b") and path.read_bytes() == content
    assert progress == [(len(content), len(content))]
    assert S.find_weights("vit_b") == path

    path.unlink()
    with pytest.raises(ValueError, match="MD5 .* the file is corrupt"):
        S.download_checkpoint("vit_b", fetch=lambda url, destination, report: destination.write_bytes(
            content[::-1]))
    assert not path.exists() and not list(path.parent.glob("*.part*"))


def test_published_checkpoints_are_listed():
    assert set(S.CHECKPOINTS) == set(S.MODEL_TYPES) == set(S.SAM_CONFIGS)
    for spec in S.CHECKPOINTS.values():
        assert spec.url.startswith("https://dl.fbaipublicfiles.com/segment_anything/sam_")
        # The hex in the official file name is the start of its MD5.
        assert spec.algorithm == "md5" and spec.exact_size
        assert spec.digest.startswith(spec.file_name.rsplit("_", 1)[1].split(".")[0])


def test_environment_variable_names_the_weights(monkeypatch, tiny, scene):
    monkeypatch.setenv(S.WEIGHTS_ENV, tiny["safetensors"])
    assert str(S.find_weights("vit_h")) == tiny["safetensors"]
    result = seglib.segment(scene.image, "sam", points=[(40, 30, 1)])
    assert any("config from the file" in note for note in result.notes)


# ----------------------------------------------------------------------------- automatic masks


def test_automatic_masks_are_generated_once_and_refiltered_without_the_decoder(tiny, scene, monkeypatch):
    loaded = S.load_sam(weights=tiny["safetensors"])
    decoder_calls = count_calls(monkeypatch, loaded.model.mask_decoder)
    kwargs = dict(weights=tiny["safetensors"], points_per_side=6, box_nms_thresh=1.0)
    reported = []
    with progress.listen(lambda fraction, text: reported.append((fraction, text))):
        first = seglib.segment(scene.image, "sam-auto", **kwargs, **PERMISSIVE)
    assert [f for f, _ in reported] == [16 / 36, 32 / 36, 1.0]  # one report per batch of 16 grid points
    assert reported[-1][1] == "SAM automatic masks: 36 of 36 grid points decoded"
    n_calls = len(decoder_calls)
    assert n_calls == int(np.ceil(36 / 16))  # the grid in batches
    assert first.kind == "instance" and not first.timings["raw_cached"]
    assert first.labels.max() == len(first.candidates) > 0
    assert set(np.unique(first.labels)) - {0} == set(range(1, first.labels.max() + 1)), "every kept mask shows"
    kept = []
    for threshold in (0.0, 0.05, 0.1, 0.2, 1.0):
        result = seglib.segment(scene.image, "sam-auto", **kwargs, pred_iou_thresh=threshold,
                                stability_score_thresh=0.0)
        assert result.timings["raw_cached"] and result.timings["cache_hit"]
        kept.append(len(result.candidates))
        assert all(c["predicted_iou"] >= threshold for c in result.candidates)
    assert len(decoder_calls) == n_calls, "re-filtering never runs the decoder"
    assert kept == sorted(kept, reverse=True) and kept[-1] == 0
    assert {"point grid", "predicted IoU of the raw masks", "raw masks (1 = kept)"} <= set(first.stages)


def _rle(mask):
    from pycocotools import mask as coco_mask

    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))


def test_filter_masks_thresholds_nms_painting_order_and_islands():
    shape = (20, 20)
    big = np.zeros(shape, bool)
    big[2:18, 2:18] = True
    small = np.zeros(shape, bool)
    small[5:9, 5:9] = True
    duplicate = big.copy()
    duplicate[2, 2] = False
    speck = np.zeros(shape, bool)
    speck[15:17, 15:17] = True
    speck[0, 0] = True
    masks = [big, small, duplicate, speck]
    raw = S.RawMasks(
        rles=[_rle(m) for m in masks], predicted_iou=np.array([0.9, 0.95, 0.8, 0.99]),
        stability=np.array([0.97, 0.96, 0.99, 0.5]), area=np.array([m.sum() for m in masks]),
        boxes=np.array([[2, 2, 17, 17], [5, 5, 8, 8], [2, 2, 17, 17], [0, 0, 16, 16]]), points=np.zeros((4, 2)),
        grid=np.zeros((1, 2)), shape=shape, seconds=0.0)
    labels, kept = S.filter_masks(raw, pred_iou_thresh=0.85, stability_score_thresh=0.9, box_nms_thresh=0.7)
    assert kept.tolist() == [0, 1]  # duplicate below the IoU threshold, speck unstable; big first
    assert labels[3, 3] == 1 and labels[6, 6] == 2 and labels[0, 0] == 0
    labels, kept = S.filter_masks(raw, pred_iou_thresh=0.0, stability_score_thresh=0.9, box_nms_thresh=0.7)
    assert 2 not in kept, "the duplicate's box overlaps the big mask's: NMS keeps the higher predicted IoU"
    labels, kept = S.filter_masks(raw, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=0.2,
                                  min_mask_region_area=3)
    speck_label = list(kept).index(3) + 1
    assert labels[15, 15] == speck_label and labels[0, 0] == 0, "the one-pixel island is erased"
    labels, kept = S.filter_masks(raw, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0,
                                  min_mask_region_area=100)
    # The duplicate is painted over the big mask but for one pixel; that island is erased, so only it is left.
    assert kept.tolist() == [2] and labels[3, 3] == 1 and labels[2, 2] == 0 and labels.max() == 1


def test_point_grid_matches_sam():
    from segment_anything.utils.amg import build_all_layer_point_grids

    grid = S.point_grid(5, (40, 80))
    np.testing.assert_allclose(grid, build_all_layer_point_grids(5, 0, 1)[0] * [80, 40])


def test_importing_seglib_does_not_import_torch_for_sam():
    import subprocess
    import sys

    code = "import seglib, sys; seglib.methods(); print('segment_anything' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "False"


def test_sam_config_round_trip_and_errors():
    assert S.SamConfig.from_dict(json.loads(TINY.to_json())) == TINY
    with pytest.raises(ValueError, match="unknown fields"):
        S.SamConfig.from_dict({"encoder_width": 3})
    with pytest.raises(ValueError, match="incomplete"):
        S.SamConfig.from_dict({"encoder_depth": 3})
    assert S.SAM_CONFIGS["vit_b"].low_res_size == 256


def test_clear_caches_by_name_and_decoder_threads_restore_the_setting(tiny, scene):
    seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    S.clear_caches("embeddings")
    again = seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=tiny["safetensors"])
    assert not again.timings["cache_hit"]
    with pytest.raises(ValueError, match="which='everything' is not allowed"):
        S.clear_caches("everything")
    before = torch.get_num_threads()
    with S.decoder_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
