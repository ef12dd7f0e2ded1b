"""SAM 2.1 (``sam2``, ``sam2-auto``) with a small network built from the ``sam2`` package's own tiny config.

The network has random weights and is saved by the tests, so nothing is
downloaded: every test runs offline, and a downloader that fails the test
when called guards the network. Where it matters, results are compared
with the package's own predictor and mask generator run directly.
"""

import dataclasses
import hashlib
import json
import time
import urllib.error

import numpy as np
import pytest
import torch
from pycocotools import mask as coco_mask
from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
from sam2.sam2_image_predictor import SAM2ImagePredictor

import seglib
from seglib.datasets.shapes import make_scene
from seglib.deep import sam as S
from seglib.deep import sources
from seglib.deep.sam import sam2_methods as SM
from seglib.deep.sam import sam2_model as M
from helpers import count_calls

CONFIG = M.TEST_CONFIG
CLICKS = [(40, 30, 1), (5, 5, 0)]



@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small network and its weights: safetensors carrying its config, and an official-style .pt."""
    torch.manual_seed(0)
    model = M.build_sam2_network(CONFIG)
    folder = tmp_path_factory.mktemp("sam2")
    safetensors = M.save_sam2_weights(model, CONFIG, folder / "small.safetensors")
    pt = folder / "small.pt"
    torch.save({"model": model.state_dict()}, pt)  # the layout of Meta's sam2.1_hiera_*.pt files
    return {"model": model, "safetensors": str(safetensors), "pt": str(pt)}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No weights anywhere, an empty hub cache, and a network that must not be touched."""
    S.clear_caches()
    sources.forget_failures()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(M.WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(S.EMBEDDING_DIR_ENV, raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("the tests must never download")

    monkeypatch.setattr(sources, "fetch_url", no_network)
    yield
    S.clear_caches()
    sources.forget_failures()


@pytest.fixture(scope="module")
def scene():
    return make_scene(0, size=96, difficulty="easy")


def package_predictor(model, image):
    """The sam2 package's own predictor on ``image``, as a user of the package would run it."""
    predictor = SAM2ImagePredictor(model)
    predictor._bb_feat_sizes = [(s, s) for s in (model.image_size // 4, model.image_size // 8,
                                                 model.image_size // 16)]
    with torch.inference_mode():
        predictor.set_image(image)
    return predictor


# ----------------------------------------------------------------------------- prompts


def test_a_click_gives_three_candidates_exactly_as_the_package_predicts(small, scene):
    result = seglib.segment(scene.image, "sam2", points=CLICKS, weights=small["safetensors"])
    assert isinstance(result, S.SamSegmentation) and result.kind == "binary"
    assert result.labels.shape == (96, 96) and set(np.unique(result.labels)) <= {0, 1}
    assert len(result.candidates) == 3 and sum(c["chosen"] for c in result.candidates) == 1
    assert result.low_res_logits.shape == (64, 64)  # the small network works at 256 px: logits at a quarter

    expected, iou, _ = package_predictor(small["model"], scene.image).predict(
        point_coords=np.array([(40, 30), (5, 5)], float), point_labels=np.array([1, 0]), return_logits=True)
    best = int(np.argmax(iou))
    np.testing.assert_allclose([c["predicted_iou"] for c in result.candidates], iou, atol=1e-5)
    assert result.candidates[best]["chosen"]
    np.testing.assert_array_equal(result.labels, expected[best] > 0)
    assert any(note.startswith("SAM 2.1: image encoder") for note in result.notes)
    assert any("candidate" in note and "a custom SAM 2.1" in note for note in result.notes)


def test_a_box_alone_and_the_callers_pixels(small, scene):
    """Prompts are in the caller's pixels; a working copy at half size gets them scaled."""
    box = (10, 20, 60, 70)
    full = seglib.segment(scene.image, "sam2", box=box, weights=small["safetensors"])
    expected, iou, _ = package_predictor(small["model"], scene.image).predict(box=np.array(box, float),
                                                                             return_logits=True)
    np.testing.assert_array_equal(full.labels, expected[int(np.argmax(iou))] > 0)
    half = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"], working_size=48)
    assert half.labels.shape == (96, 96)  # back at the caller's size
    assert "sam2" in [m.name for m in seglib.methods() if m.prompt_need == "point or box"]


def test_choosing_a_candidate_and_single_mask_output(small, scene):
    kwargs = dict(points=[(40, 30, 1)], weights=small["safetensors"])
    three = seglib.segment(scene.image, "sam2", **kwargs)
    second = seglib.segment(scene.image, "sam2", candidate="2", **kwargs)
    name = [n for n in three.stages if n.startswith("candidate 2")][0]
    np.testing.assert_array_equal(second.labels > 0, three.stages[name])
    single = seglib.segment(scene.image, "sam2", multimask=False, candidate="3", **kwargs)
    assert len(single.candidates) == 1 and any("Only one mask" in note for note in single.notes)


def test_refinement_feeds_the_previous_low_res_logits_back(small, scene, monkeypatch):
    first = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    loaded = M.load_sam2(weights=small["safetensors"])
    calls = count_calls(monkeypatch, loaded.model.sam_prompt_encoder)
    points = [(40, 30, 1), (70, 70, 0)]
    plain = seglib.segment(scene.image, "sam2", points=points, weights=small["safetensors"])
    refined = seglib.segment(scene.image, "sam2", points=points, weights=small["safetensors"],
                             mask_input=first.low_res_logits)
    assert calls[0]["masks"] is None
    np.testing.assert_allclose(calls[1]["masks"][0, 0].numpy(), first.low_res_logits)
    assert not np.allclose(plain.scores, refined.scores)
    assert any("refined with mask_input" in note for note in refined.notes)
    with pytest.raises(ValueError, match=r"mask_input has shape \(256, 256\); expected .* \(64, 64\)"):
        seglib.segment(scene.image, "sam2", points=points, weights=small["safetensors"],
                       mask_input=np.zeros((256, 256)))


@pytest.mark.parametrize("kwargs, match", [
    ({"points": [(96, 10, 1)]}, r"points\[0\]=\(96, 10, 1\) lies outside the image \(96 x 96 pixels\)"),
    ({"points": [(3, 3, 0)]}, r"sam2 needs at least one object point \(label 1\) in `points` or a box"),
    ({"box": (10, 10, 10, 50)}, r"box=\(10, 10, 10, 50\) has zero area"),
])
def test_bad_prompts_say_what_was_wrong(small, scene, kwargs, match):
    with pytest.raises(ValueError, match=match):
        seglib.segment(scene.image, "sam2", weights=small["safetensors"], **kwargs)


def test_without_a_prompt_a_click_at_the_centre_stands_in(small, scene):
    result = seglib.segment(scene.image, "sam2", weights=small["safetensors"])
    assert any("a click at the image centre stood in" in note for note in result.notes)


# ----------------------------------------------------------------------------- embedding cache


def test_the_image_is_encoded_once_and_reused_by_every_prompt(small, scene, monkeypatch):
    loaded = M.load_sam2(weights=small["safetensors"])
    encoder_calls = count_calls(monkeypatch, loaded.model, "forward_image")
    first = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    second = seglib.segment(scene.image, "sam2", points=[(10, 80, 1)], weights=small["safetensors"])
    third = seglib.segment(scene.image, "sam2", box=(5, 5, 50, 50), weights=small["safetensors"])
    assert len(encoder_calls) == 1
    assert not first.timings["cache_hit"] and second.timings["cache_hit"] and third.timings["cache_hit"]
    assert second.timings["encoder_s"] == 0.0


def test_embeddings_on_disk_hold_every_feature_map_and_outlive_the_memory_cache(small, scene, monkeypatch,
                                                                                 tmp_path):
    folder = tmp_path / "embeddings"
    monkeypatch.setenv(S.EMBEDDING_DIR_ENV, str(folder))
    first = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    assert len(list(folder.glob("*.safetensors"))) == 1
    S.clear_caches()  # as a new process would start
    loaded = M.load_sam2(weights=small["safetensors"])
    encoder_calls = count_calls(monkeypatch, loaded.model, "forward_image")
    again = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    assert again.timings["cache_hit"] and encoder_calls == []
    np.testing.assert_array_equal(again.labels, first.labels)
    np.testing.assert_allclose(again.scores, first.scores, atol=1e-6)
    (stored,) = folder.glob("*.safetensors")
    features = S.embedding._read_embedding(stored, torch.device("cpu")).features
    assert all(t.is_contiguous(memory_format=torch.channels_last) for t in features.values())  # as encoded


def test_sam_and_sam2_keep_separate_embeddings_of_one_image(small, scene, tmp_path):
    sam1 = S.save_sam_weights(S.build_sam(S.TINY_CONFIG), S.TINY_CONFIG, tmp_path / "sam1.safetensors")
    seglib.segment(scene.image, "sam", points=[(40, 30, 1)], weights=str(sam1))
    result = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    assert not result.timings["cache_hit"]
    assert seglib.segment(scene.image, "sam", points=[(9, 9, 1)], weights=str(sam1)).timings["cache_hit"]


# ----------------------------------------------------------------------------- weights


def test_the_official_pt_layout_with_an_explicit_config(small, scene):
    a = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["safetensors"])
    b = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], weights=small["pt"],
                       config=dataclasses.asdict(CONFIG))
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def declared(width: int, blocks: int, d_model: int = 256) -> dict:
    """Only the tensors that say which network a file holds (a real tiny file would be 156 MB)."""
    state = {"image_encoder.trunk.patch_embed.proj.weight": torch.zeros(width, 3, 7, 7),
             "sam_prompt_encoder.point_embeddings.0.weight": torch.zeros(1, d_model)}
    state.update({f"image_encoder.trunk.blocks.{i}.norm1.weight": torch.zeros(1) for i in range(blocks)})
    return state


def test_weights_of_another_size_are_named_before_anything_is_built(tmp_path, scene, monkeypatch):
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": declared(96, 12)}, path)

    def never(*args, **kwargs):
        raise AssertionError("nothing may be built before the weights are checked")

    monkeypatch.setattr(M, "build_sam2_network", never)
    with pytest.raises(ValueError, match=r"holds SAM 2.1 tiny weights, not SAM 2.1 large .*model_size='tiny'"):
        seglib.segment(scene.image, "sam2", points=[(4, 4, 1)], model_size="large", weights=str(path))
    torch.save({"model": declared(200, 3)}, path)
    with pytest.raises(ValueError, match=r"Hiera width 200, 3 blocks .* pass the matching config="):
        seglib.segment(scene.image, "sam2", points=[(4, 4, 1)], weights=str(path))


def test_a_files_declared_config_is_checked_before_building(tmp_path, scene, monkeypatch, small):
    from safetensors.torch import save_file

    monkeypatch.setattr(M, "build_sam2_network", lambda *a, **k: pytest.fail("built before checking"))
    for config, match in [({"embed_dim": 8, "stages": [1, 1, 2, 1], "global_att_blocks": [3], "d_model": 32,
                            "python": "os.system('x')"}, "unknown fields"),
                          ({"stages": [1, 1, 2, 1], "global_att_blocks": [2]}, "start a stage and pool"),
                          ({"embed_dim": "8; rm -rf /"}, "embed_dim"),
                          ({"embed_dim": 64, "stages": [1, 1, 2, 1], "global_att_blocks": [3], "d_model": 32},
                           "not a custom SAM 2.1.*Hiera width 64")]:
        path = tmp_path / "declared.safetensors"
        save_file(declared(8, 5, 32), str(path), metadata={"sam2_config": json.dumps(config)})
        with pytest.raises(ValueError, match=match):
            seglib.segment(scene.image, "sam2", points=[(4, 4, 1)], weights=str(path))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path, scene):
    import pickle

    class Boom:
        def __reduce__(self):
            return (print, ("this must never print",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"model": Boom()}))
    with pytest.raises(ValueError, match="refusing to load|not a readable"):
        seglib.segment(scene.image, "sam2", points=[(4, 4, 1)], weights=str(path))


def test_offline_and_uncached_fails_fast_naming_the_file_its_size_and_where_to_put_it(monkeypatch, scene,
                                                                                     tmp_path):
    def offline(url, destination, progress, timeout=sources.DOWNLOAD_TIMEOUT_S):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(sources, "fetch_url", offline)
    assert M.find_weights("tiny") is None
    start = time.perf_counter()
    with pytest.raises(sources.WeightsUnavailable) as caught:
        seglib.segment(scene.image, "sam2", points=[(4, 4, 1)])
    assert time.perf_counter() - start < 10
    message = str(caught.value)
    target = tmp_path / "torch-home" / "hub" / "checkpoints" / "sam2.1_hiera_tiny.pt"
    assert "sam2.1_hiera_tiny.pt (156 MB)" in message and str(target.parent) in message
    assert "Temporary failure in name resolution" in message and M.WEIGHTS_ENV in message
    assert isinstance(caught.value, FileNotFoundError)
    assert not list(target.parent.glob("*.partial")), "no partial download is left behind"


def test_first_use_downloads_with_progress_and_checks_size_and_hash(monkeypatch, tmp_path, small, scene):
    content = open(small["pt"], "rb").read()
    spec = dataclasses.replace(M.SIZES["tiny"].weights, size=len(content),
                               digest=hashlib.sha256(content).hexdigest())
    monkeypatch.setitem(M.SIZES, "tiny", dataclasses.replace(M.SIZES["tiny"], weights=spec))

    def fake_fetch(url, destination, report, timeout=None):
        assert url == M.BASE_URL + "sam2.1_hiera_tiny.pt"
        destination.write_bytes(content)
        if report is not None:
            report(len(content), len(content))

    monkeypatch.setattr(sources, "fetch_url", fake_fetch)
    result = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], config=CONFIG)
    assert M.find_weights("tiny") == spec.path and spec.path.read_bytes() == content
    assert result.labels.shape == (96, 96)

    spec.path.unlink()
    S.clear_caches()
    monkeypatch.setattr(sources, "fetch_url", lambda url, destination, report, timeout=None:
                        destination.write_bytes(content[::-1]))
    with pytest.raises(ValueError, match="SHA256 .* corrupt"):
        seglib.segment(scene.image, "sam2", points=[(40, 30, 1)], config=CONFIG)
    assert not spec.path.exists()


def test_environment_variable_names_the_weights(monkeypatch, small, scene):
    monkeypatch.setenv(M.WEIGHTS_ENV, small["safetensors"])
    assert str(M.find_weights("large")) == small["safetensors"]
    result = seglib.segment(scene.image, "sam2", points=[(40, 30, 1)])
    assert any("config from the file" in note for note in result.notes)
    monkeypatch.setenv(M.WEIGHTS_ENV, "/nowhere/sam2.pt")
    with pytest.raises(FileNotFoundError, match="SEGDASH_SAM2_WEIGHTS='/nowhere/sam2.pt': no such file"):
        seglib.segment(scene.image, "sam2", points=[(40, 30, 1)])


def test_published_checkpoints_are_declared_and_tiny_is_the_default():
    assert list(M.SIZES) == ["tiny", "small", "base+", "large"]
    assert seglib.method("sam2").param("model_size").default == "tiny"
    assert seglib.method("sam2-auto").param("model_size").default == "tiny"
    sizes = [s.weights.size for s in M.SIZES.values()]
    assert sizes == sorted(sizes) and sizes[0] == 156_008_466
    for size in M.SIZES.values():
        spec = size.weights
        assert spec.url == M.BASE_URL + spec.file_name and spec.exact_size and spec.algorithm == "sha256"
        assert len(spec.digest) == 64 and int(spec.digest, 16) >= 0
        assert spec.file_name.startswith("sam2.1_hiera_") and spec.env == M.WEIGHTS_ENV


def test_the_package_configs_match_the_declared_sizes():
    """Each official config in the sam2 package has the Hiera width and depth declared for its checkpoint."""
    import inspect

    from hydra import compose
    from sam2.modeling.backbones.hieradet import Hiera

    default_stages = inspect.signature(Hiera).parameters["stages"].default
    for size in M.SIZES.values():
        model = compose(config_name=size.config_file).model
        trunk = model.image_encoder.trunk
        assert (trunk.embed_dim, sum(trunk.get("stages", default_stages))) == (size.width, size.blocks)
        assert model.image_encoder.neck.d_model == size.d_model
    tiny = M.build_sam2_network("tiny")
    assert M._declared_shape(tiny.state_dict()) == (96, 12, 256)
    assert round(sum(p.numel() for p in tiny.parameters()) / 1e6) == M.SIZES["tiny"].parameters_m


# ----------------------------------------------------------------------------- automatic masks


def test_automatic_masks_are_the_packages_raw_masks_refiltered_without_the_decoder(small, scene, monkeypatch):
    permissive = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)
    first = seglib.segment(scene.image, "sam2-auto", weights=small["safetensors"], points_per_side=6, **permissive)
    assert first.kind == "instance" and not first.timings["raw_cached"]
    loaded = M.load_sam2(weights=small["safetensors"])
    raw = SM.generate_raw_masks(loaded, S.image_embedding(loaded, scene.image)[0], 10)  # over 255 masks
    reference = SAM2AutomaticMaskGenerator(small["model"], points_per_side=10, pred_iou_thresh=0.0,
                                           stability_score_thresh=0.0, box_nms_thresh=1.0)
    reference.predictor = package_predictor(small["model"], scene.image)
    reference.predictor.set_image = lambda image: None  # embedded above, as a user would before generating
    expected = [r for r in reference.generate(scene.image) if r["area"] > 0]
    assert len(raw.area) == len(expected) > 255  # the same masks in the same order as the package's generate()
    np.testing.assert_allclose(raw.predicted_iou, [r["predicted_iou"] for r in expected], atol=1e-5)
    np.testing.assert_allclose(raw.stability, [r["stability_score"] for r in expected], atol=1e-5)
    assert list(raw.area) == [r["area"] for r in expected]
    np.testing.assert_array_equal(raw.boxes[:, 2:] - raw.boxes[:, :2], [r["bbox"][2:] for r in expected])
    np.testing.assert_allclose(raw.points, [r["point_coords"][0] for r in expected])
    masks = [coco_mask.encode(np.asfortranarray(r["segmentation"].astype(np.uint8))) for r in expected]
    assert [rle["counts"] for rle in raw.rles] == [mask["counts"] for mask in masks]

    decoder_calls = count_calls(monkeypatch, loaded.model.sam_mask_decoder)
    strict = seglib.segment(scene.image, "sam2-auto", weights=small["safetensors"], points_per_side=6,
                            pred_iou_thresh=0.5, stability_score_thresh=0.0)
    assert decoder_calls == [] and strict.timings["raw_cached"]
    assert len(strict.candidates) <= len(first.candidates)
    assert all(c["predicted_iou"] >= 0.5 for c in strict.candidates)
    assert any(note.startswith("SAM 2.1: image embedding from the cache") for note in strict.notes)


def test_automatic_masks_report_progress(small, scene):
    from seglib import progress

    reports = []
    with progress.listen(lambda fraction, text: reports.append((fraction, text))):
        seglib.segment(scene.image, "sam2-auto", weights=small["safetensors"], points_per_side=8)
    assert reports and reports[-1][0] == 1.0 and "64 of 64 grid points" in reports[-1][1]


# ----------------------------------------------------------------------------- config


def test_config_round_trip_and_errors():
    assert M.Sam2Config.from_dict(json.loads(CONFIG.to_json())) == CONFIG
    with pytest.raises(ValueError, match="unknown fields"):
        M.Sam2Config.from_dict({"width": 3})
    with pytest.raises(ValueError, match="d_model=12 is not allowed: expected a multiple of 8"):
        M.Sam2Config(d_model=12)
    with pytest.raises(ValueError, match=r"stages=\[1, 2\] is not allowed: expected a list of 4 integers"):
        M.Sam2Config(stages=[1, 2])
    with pytest.raises(ValueError, match="image_size=100 is not allowed"):
        M.Sam2Config(image_size=100)
    with pytest.raises(ValueError, match="model_size='huge' is not allowed: expected one of tiny, small, base"):
        M.load_sam2("huge")
    assert all(o.split("=", 1)[1].replace(",", "").strip("[]").isdigit() for o in CONFIG.overrides()), \
        "only numbers reach hydra"


def test_importing_seglib_imports_neither_torch_nor_the_sam2_package():
    import os
    import subprocess
    import sys

    code = "import seglib, sys; seglib.methods(); print('sam2' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "False False"
    assert SM.MODEL_SIZE.choices == tuple(M.SIZES)
