"""The torchvision zoo: weights files, offline errors, safe loading, model cache, semantic and Mask R-CNN outputs.

No network: every model is freshly built with random weights and saved by
the test, then loaded through ``weights=`` (or placed in a temporary torch cache).
"""

import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from safetensors.torch import save_file
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large, fcn_resnet50, lraspp_mobilenet_v3_large

import seglib
from seglib.deep import sources, zoo
from seglib.imaging import as_float

ROOT = Path(__file__).resolve().parents[2]
SMALL = 128  # input size that keeps the tests quick
SEMANTIC = ["tv-deeplabv3-mobilenet", "tv-deeplabv3-resnet50", "tv-fcn-resnet50", "tv-lraspp"]


def photo(shape=(40, 56, 3), seed=0):
    return (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def lraspp_file(tmp_path_factory):
    torch.manual_seed(0)
    net = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    path = tmp_path_factory.mktemp("lraspp") / "lraspp.pth"
    torch.save(net.state_dict(), path)
    return net, path


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch cache in tmp_path, a downloader that fails like an offline machine, no remembered failures."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    calls = []

    def offline(url, timeout=None):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(sources, "_recent_failures", {})
    return tmp_path / "hub" / "checkpoints", calls


@pytest.fixture(scope="module")
def mask_rcnn_file(tmp_path_factory):
    torch.manual_seed(0)
    net = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None).eval()
    path = tmp_path_factory.mktemp("mask-rcnn") / "maskrcnn.pth"
    torch.save(net.state_dict(), path)
    return net, path


# ---------------------------------------------------------------- registration and cards

def test_registers_four_semantic_models_and_mask_rcnn():
    for name in SEMANTIC:
        m = seglib.method(name)
        assert (m.family, m.kind, m.inputs) == ("deep", "semantic", ("weights",))
        assert m.param("input_size").default == zoo.SEMANTIC_INPUT_SIZE
    m = seglib.method("mask-rcnn")
    assert (m.family, m.kind) == ("deep", "instance")
    assert {"score_threshold", "mask_threshold", "detection_size"} <= set(m.defaults())


def test_importing_seglib_imports_neither_torch_nor_torchvision():
    code = "import sys, seglib; seglib.methods(); print('torch' in sys.modules, 'torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", [*SEMANTIC, "mask-rcnn"])
def test_card_shows_the_published_metadata_of_the_weights(name):
    weights = tvm.get_weight(zoo.MODELS[name].weights)
    card = seglib.method(name).model_card()
    assert isinstance(card, dict) and len(card) > 0
    assert json.loads(json.dumps(card)) == card == seglib.method(name).model_card(), "a plain dict, read once"
    assert card["parameters"] == weights.meta["num_params"]
    assert card["class_names"] == weights.meta["categories"]
    assert card["file"] == weights.url.rsplit("/", 1)[-1] and card["download_url"] == weights.url
    published = {f"{k} ({d})": v for d, m in weights.meta["_metrics"].items() for k, v in m.items()}
    assert card["published_metrics"] == published
    wanted = ("box_map", "mask_map") if name == "mask-rcnn" else ("miou", "pixel_acc")
    assert all(any(key.startswith(w) for key in published) for w in wanted)


def test_semantic_default_input_size_is_the_one_of_the_weights_transforms():
    for name in SEMANTIC:
        assert zoo.weights_enum(name).transforms().resize_size == [zoo.SEMANTIC_INPUT_SIZE]


def test_shorter_side_keeps_panoramas_affordable():
    assert zoo.shorter_side((300, 400), 520) == 520
    assert zoo.shorter_side((40, 1024), 520) == round(40 * 520 * zoo.MAX_ASPECT / 1024)
    assert zoo.shorter_side((2, 5000), 64) >= 1


# ---------------------------------------------------------------- semantic models

@pytest.mark.parametrize("shape", [(40, 56, 3), (40, 56), (12, 700, 3)])
def test_semantic_output_matches_the_torchvision_model_and_names_classes_from_meta(lraspp_file, shape):
    net, path = lraspp_file
    image = photo(shape)
    result = seglib.segment(image, "tv-lraspp", weights=str(path), input_size=SMALL)
    assert result.kind == "semantic" and result.labels.shape == shape[:2]
    assert result.class_names == zoo.weights_enum("tv-lraspp").meta["categories"]
    assert result.scores.shape == shape[:2] and np.all((result.scores > 0) & (result.scores <= 1))
    assert "class probabilities" in result.stages and "input (as the network sees it)" in result.stages
    assert any(k.startswith("probability: ") for k in result.stages)
    for value in result.stages.values():
        assert value.shape[:2] == shape[:2] and np.all(np.isfinite(value))
    # Independent reference: torchvision's own forward on the same transformed input.
    rgb = np.stack([image] * 3, -1) if image.ndim == 2 else image
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255)[None]
    size = zoo.shorter_side(shape[:2], SMALL)
    with torch.inference_mode():
        logits = net(zoo.weights_enum("tv-lraspp").transforms(resize_size=size)(x))["out"]
        expected = F.interpolate(logits, size=shape[:2], mode="bilinear", align_corners=False).argmax(1)[0]
    assert np.mean(result.labels == expected.numpy()) > 0.99


def test_models_are_built_once_per_file_and_rebuilt_when_it_changes(lraspp_file, tmp_path):
    path = tmp_path / "copy.pth"
    path.write_bytes(lraspp_file[1].read_bytes())
    zoo.clear_models()
    first = zoo.load_model("tv-lraspp", str(path))
    assert zoo.load_model("tv-lraspp", str(path)) is first
    assert zoo._models.stats["hits"] >= 1
    assert not first.training and not any(p.requires_grad for p in first.parameters())
    assert torch.get_num_threads() <= 2
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert zoo.load_model("tv-lraspp", str(path)) is not first


def test_safetensors_and_bytes_sources_work_too(lraspp_file, tmp_path):
    net, path = lraspp_file
    st_path = tmp_path / "lraspp.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, st_path)
    image = photo()
    a = seglib.segment(image, "tv-lraspp", weights=str(st_path), input_size=SMALL)
    b = seglib.segment(image, "tv-lraspp", weights=path.read_bytes(), input_size=SMALL)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_torchvision_style_files_with_the_auxiliary_head_load(tmp_path):
    # torchvision's published files carry the training-only aux_classifier; it is left out at load.
    torch.manual_seed(0)
    net = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    path = tmp_path / "deeplab.pth"
    torch.save(net.state_dict(), path)
    assert any(k.startswith("aux_classifier.") for k in net.state_dict())
    result = seglib.segment(photo(), "tv-deeplabv3-mobilenet", weights=str(path), input_size=SMALL)
    assert result.labels.shape == (40, 56) and len(result.class_names) == 21
    assert zoo.load_model("tv-deeplabv3-mobilenet", str(path)).aux_classifier is None


def test_a_resnet50_model_loads_and_runs(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "fcn.pth"
    torch.save(fcn_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True).state_dict(), path)
    result = seglib.segment(photo((24, 32, 3)), "tv-fcn-resnet50", weights=str(path), input_size=SMALL)
    assert result.labels.shape == (24, 32) and result.labels.max() < 21


# ---------------------------------------------------------------- malformed and unsafe weights

class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_malformed_weights_give_clear_errors_and_never_replace_a_good_model(lraspp_file, tmp_path):
    net, path = lraspp_file
    good = zoo.load_model("tv-lraspp", str(path))
    wrong_keys = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, wrong_keys)
    with pytest.raises(ValueError, match="do not fit LRASPP: missing keys"):
        seglib.segment(photo(), "tv-lraspp", weights=str(wrong_keys))
    wrong_shape = {k: v for k, v in net.state_dict().items()}
    wrong_shape["classifier.low_classifier.weight"] = torch.zeros(5, 40, 1, 1)
    buffer = io.BytesIO()
    torch.save(wrong_shape, buffer)
    with pytest.raises(ValueError, match="shape mismatch for key 'classifier.low_classifier.weight'"):
        seglib.segment(photo(), "tv-lraspp", weights=buffer.getvalue())
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload()}, evil)
    with pytest.raises(ValueError, match="refusing to load"):
        seglib.segment(photo(), "tv-lraspp", weights=str(evil))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        seglib.segment(photo(), "tv-lraspp", weights=path.read_bytes()[:5000])
    assert zoo.load_model("tv-lraspp", str(path)) is good


# ---------------------------------------------------------------- downloads and the offline path

def test_offline_and_uncached_fails_fast_naming_the_file_and_where_to_put_it(hub):
    folder, calls = hub
    file = zoo.weights_enum("tv-lraspp").url.rsplit("/", 1)[-1]
    start = time.perf_counter()
    with pytest.raises(zoo.WeightsUnavailable) as error:
        seglib.segment(photo(), "tv-lraspp")
    assert time.perf_counter() - start < 5
    message = str(error.value)
    assert file in message and str(folder / file) in message and "weights=" in message
    assert len(calls) == 1 and calls[0][1] == zoo.DOWNLOAD_TIMEOUT_S
    assert zoo.cache_path("tv-lraspp") == folder / file and not zoo.is_cached("tv-lraspp")
    with pytest.raises(zoo.WeightsUnavailable):  # remembered: no second network attempt right away
        seglib.segment(photo(), "tv-lraspp")
    assert len(calls) == 1


def test_a_timeout_is_an_offline_failure_too(hub, monkeypatch):
    def slow(url, timeout=None):
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", slow)
    with pytest.raises(zoo.WeightsUnavailable, match="timed out"):
        zoo.download_weights("mask-rcnn")


class FakeResponse(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_streams_into_the_cache_with_progress(hub, lraspp_file, monkeypatch):
    folder, _ = hub
    data = lraspp_file[1].read_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(data))
    # Our bytes are not torchvision's file: declare their hash instead of the published one.
    ours = dataclasses.replace(zoo.MODELS["tv-lraspp"].download, digest=hashlib.sha256(data).hexdigest()[:8])
    monkeypatch.setitem(zoo.MODELS, "tv-lraspp", dataclasses.replace(zoo.MODELS["tv-lraspp"], download=ours))
    seen = []
    path = zoo.download_weights("tv-lraspp", progress=lambda done, total: seen.append((done, total)))
    assert path == zoo.cache_path("tv-lraspp") and path.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
    assert [p.name for p in folder.iterdir()] == [path.name]  # no partial file left
    result = seglib.segment(photo(), "tv-lraspp", input_size=SMALL)  # now from the cache, no weights= needed
    assert result.labels.shape == (40, 56)


def test_a_corrupt_download_is_refused_and_leaves_nothing_behind(hub, monkeypatch):
    folder, _ = hub
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(b"not the file"))
    with pytest.raises(ValueError, match="SHA256 .* not the published d234d4ea: the file is corrupt"):
        zoo.download_weights("tv-lraspp")
    assert not any(folder.iterdir())


@pytest.mark.parametrize("name", [*SEMANTIC, "mask-rcnn"])
def test_declared_downloads_agree_with_torchvisions_metadata(name):
    published = tvm.get_weight(zoo.MODELS[name].weights)
    declared = zoo.MODELS[name].download
    assert declared.url == published.url and declared.file_name == published.url.rsplit("/", 1)[-1]
    assert declared.size_mb == pytest.approx(published.meta["_file_size"], abs=1e-3)
    assert declared.file_name.startswith(declared.file_name.split("-")[0]) and len(declared.digest) >= 8
    assert zoo.download_size_mb(name) == declared.size_mb


# ---------------------------------------------------------------- Mask R-CNN

def test_mask_rcnn_instances_boxes_scores_and_cached_network(mask_rcnn_file, monkeypatch):
    _, path = mask_rcnn_file
    image = photo((48, 64, 3), seed=1)
    loose = seglib.segment(image, "mask-rcnn", weights=str(path), score_threshold=0.05, detection_size=320)
    assert loose.kind == "instance" and loose.labels.shape == (48, 64) and loose.labels.min() >= 0
    assert any("detected boxes" in k for k in loose.stages) and any("proposals" in k for k in loose.stages)
    for value in loose.stages.values():
        assert value.shape[:2] == (48, 64) and np.all(np.isfinite(value))
    assert loose.notes[0].split()[0].isdigit()
    # Moving the score threshold reuses the network's output (no second forward pass).
    model = zoo.load_model("mask-rcnn", str(path))
    calls = []
    original = model.backbone.forward
    monkeypatch.setattr(model.backbone, "forward", lambda x: calls.append(1) or original(x))
    seglib.segment(image, "mask-rcnn", weights=str(path), score_threshold=0.6, detection_size=320)
    assert calls == []
    working = as_float(image)
    found_loose = zoo.detect(working, score_threshold=0.05, detection_size=320, weights=str(path))
    runs = len(calls)
    found_strict = zoo.detect(working, score_threshold=0.6, detection_size=320, weights=str(path))
    assert len(calls) == runs
    assert len(found_strict["scores"]) <= len(found_loose["scores"])
    assert np.all(found_strict["scores"] >= 0.6) and np.all(np.diff(found_loose["scores"]) <= 0)
    assert found_loose["instances"].max() <= len(found_loose["scores"])
    names = found_loose["class_names"]
    assert names == zoo.weights_enum("mask-rcnn").meta["categories"] and len(names) == 91


def test_mask_rcnn_loads_files_without_batchnorm_counters(mask_rcnn_file, tmp_path):
    # torchvision's pretrained detector uses frozen batch norm: its file has no num_batches_tracked.
    net, _ = mask_rcnn_file
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    model = zoo._build("mask-rcnn", _bytes(state))
    assert not model.training


def _bytes(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_instance_labels_give_overlaps_to_the_best_detection():
    soft = np.zeros((2, 4, 4), np.float32)
    soft[0, :2] = 0.9
    soft[1, 1:3] = 0.8
    labels = zoo.instance_labels(soft, 0.5)
    assert labels[0].tolist() == [1] * 4 and labels[1].tolist() == [1] * 4 and labels[2].tolist() == [2] * 4
    assert labels[3].tolist() == [0] * 4
    assert zoo.instance_labels(np.zeros((0, 3, 5)), 0.5).shape == (3, 5)


def test_draw_boxes_outlines_without_changing_the_image():
    image = np.zeros((10, 12, 3))
    out = zoo.draw_boxes(image, np.array([[2.0, 3.0, 8.0, 7.0]]), np.array([[255, 0, 0]]), width=1)
    assert np.all(image == 0)
    assert out[3, 2:9, 0].min() == 1.0 and out[5, 5].max() == 0.0
