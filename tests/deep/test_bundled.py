"""The bundled models as registered methods: weights, cards, caching, weights= and safety."""

import io
import os

import numpy as np
import pytest
import torch

import seglib
from seglib.datasets.shapes import CLASS_NAMES
from seglib.deep import bundled
from seglib.deep.checkpoints import model_metadata, save_weights
from seglib.deep.data import evaluate_model
from seglib.deep.models import build_model

NAMES = list(bundled.MODELS)
TINY_CONFIG = {"width": 4, "depth": 2}


def have_weights(name):
    return bundled.weights_path(name).is_file() and bundled.load_card(name) is not None


def needs_weights(name):
    return pytest.mark.skipif(not have_weights(name), reason=f"bundled weights of {name} not trained yet "
                              f"(python -m seglib.deep.train --arch {name} ... --export seglib/deep/weights)")


@pytest.fixture
def fresh_weights(tmp_path):
    """A freshly initialised tiny network saved as self-describing safetensors, per architecture."""
    def make(name, seed=0):
        torch.manual_seed(seed)
        net = build_model(name, n_classes=len(CLASS_NAMES), **TINY_CONFIG).eval()
        path = save_weights(net, tmp_path / f"{name}-{seed}.safetensors",
                            metadata=model_metadata(net, class_names=CLASS_NAMES, input_size=64))
        return net, path
    return make


@pytest.mark.parametrize("name", NAMES)
def test_registered_as_deep_semantic_methods_taking_weights(name):
    m = seglib.method(name)
    assert m.family == "deep" and m.kind == "semantic"
    assert "weights" in m.inputs
    assert callable(m.build)
    assert m.param("input_size").default == (m.model_card() or {}).get("input_size", bundled.DEFAULT_INPUT_SIZE)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3), (40, 60, 3)])
def test_any_image_gives_labels_scores_and_stages_at_its_size(name, shape, fresh_weights):
    _, path = fresh_weights(name)
    image = (np.random.default_rng(0).random(shape) * 255).astype(np.uint8)
    result = seglib.segment(image, name, weights=str(path))
    assert result.labels.shape == shape[:2] and result.kind == "semantic"
    assert result.class_names == CLASS_NAMES
    assert result.scores.shape == shape[:2] and np.all((result.scores > 0) & (result.scores <= 1))
    assert "class probabilities" in result.stages
    for stage_name, stage in result.stages.items():
        assert stage.shape[:2] == shape[:2] and np.all(np.isfinite(stage)), stage_name
    assert any("synthetic shapes" in note for note in result.notes)


def test_glass_box_stages_of_each_architecture(fresh_weights):
    image = np.full((32, 32, 3), 100, np.uint8)
    segnet = seglib.segment(image, "segnet", weights=fresh_weights("segnet")[1]).stages
    assert "pooling indices 1" in segnet and "features: encoder 1" in segnet
    deeplab = seglib.segment(image, "deeplabv3", weights=fresh_weights("deeplabv3")[1]).stages
    assert {"ASPP: 1x1", "ASPP: projection"} <= set(deeplab)
    assert any(k.startswith("ASPP: rate ") for k in deeplab)
    unet = seglib.segment(image, "unet", weights=fresh_weights("unet")[1]).stages
    assert {"features: encoder 1", "features: bottleneck", "features: decoder 1"} <= set(unet)
    class_maps = [k.removeprefix("probability: ") for k in unet if k.startswith("probability: ")]
    assert len(class_maps) == 5 and set(class_maps) <= set(CLASS_NAMES)  # the five most probable classes


@pytest.mark.parametrize("name", NAMES)
def test_weights_argument_really_replaces_the_model(name, fresh_weights):
    image = (np.random.default_rng(1).random((48, 48, 3)) * 255).astype(np.uint8)
    net, path = fresh_weights(name)
    result = seglib.segment(image, name, weights=path, input_size=64)
    from seglib.deep.inference import predict

    expected, _ = predict(net, image / 255.0, input_size=64)
    np.testing.assert_array_equal(result.labels, expected.argmax(axis=0))
    assert bundled.load_model(name, path) is bundled.load_model(name, str(path))  # built once


@needs_weights("unet")
@pytest.mark.parametrize("fmt", ["safetensors", "torch.save"])
def test_plain_state_dict_of_the_bundled_size_loads_through_weights(fmt, tmp_path):
    """A state dict without metadata (e.g. torch.save) takes the architecture from the bundled card."""
    card = bundled.load_card("unet")
    torch.manual_seed(1)
    net = build_model("unet", **card["config"]).eval()
    path = tmp_path / "plain.bin"
    if fmt == "torch.save":
        torch.save(net.state_dict(), path)
    else:
        save_weights(net, path)
    loaded = bundled.load_model("unet", path)
    assert loaded is not bundled.load_model("unet")
    for key, value in net.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


@pytest.mark.parametrize("name", NAMES)
def test_bad_weights_give_a_clear_error_and_do_not_replace_the_cached_model(name, fresh_weights, tmp_path):
    _, good = fresh_weights(name)
    image = np.random.default_rng(2).random((24, 24, 3))
    before = seglib.segment(image, name, weights=good).labels
    cached = bundled.load_model(name, good)

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    evil = io.BytesIO()
    torch.save({"x": RunsCode()}, evil)
    tiny = build_model(name, n_classes=len(CLASS_NAMES), **TINY_CONFIG)
    wider = build_model(name, n_classes=len(CLASS_NAMES), width=8, depth=2)
    inconsistent = tmp_path / "inconsistent.safetensors"  # metadata describes width 4, tensors are width 8
    save_weights(wider, inconsistent, metadata=model_metadata(tiny, class_names=CLASS_NAMES, input_size=64))
    cases = {
        "evil.pt": (evil.getvalue(), "refusing to load"),
        "truncated.safetensors": (good.read_bytes()[:500], "truncated or corrupt"),
        "inconsistent.safetensors": (inconsistent.read_bytes(), "shape mismatch for key"),
        "notes.txt": (b"not a weights file", "not a readable torch checkpoint"),
    }
    for filename, (content, message) in cases.items():
        path = tmp_path / filename
        path.write_bytes(content)
        with pytest.raises(ValueError, match=message):
            seglib.segment(image, name, weights=path)
    assert not (tmp_path / "pwned").exists()
    assert bundled.load_model(name, good) is cached
    np.testing.assert_array_equal(seglib.segment(image, name, weights=good).labels, before)


def test_weights_for_another_architecture_are_refused(fresh_weights):
    _, path = fresh_weights("segnet")
    with pytest.raises(ValueError, match="for 'segnet', not 'unet'"):
        seglib.segment(np.zeros((16, 16)), "unet", weights=path)


def test_missing_weights_file_and_bad_weights_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        seglib.segment(np.zeros((16, 16)), "unet", weights=str(tmp_path / "nope.safetensors"))
    with pytest.raises(ValueError, match="weights of type int is not allowed: expected None"):
        seglib.segment(np.zeros((16, 16)), "unet", weights=3)  # the registry's check of the input
    with pytest.raises(TypeError, match="weights of type int is not allowed: expected None"):
        bundled.load_model("unet", 3)


def test_missing_bundled_weights_say_how_to_train_them(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=r"bundled weights of 'segnet' are missing.*python -m seglib\.deep\.train "
                                           r"--arch segnet"):
        seglib.segment(np.zeros((16, 16)), "segnet")


def test_a_changed_weights_file_is_reloaded(fresh_weights, tmp_path):
    net, path = fresh_weights("unet")
    first = bundled.load_model("unet", path)
    other, other_path = fresh_weights("unet", seed=1)
    os.replace(other_path, path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = bundled.load_model("unet", path)
    assert second is not first
    torch.testing.assert_close(second.state_dict()["head.weight"], other.state_dict()["head.weight"])


@pytest.mark.parametrize("as_file", [False, True])
def test_weights_may_be_bytes_or_an_open_file(fresh_weights, as_file):
    net, path = fresh_weights("deeplabv3")
    source = io.BytesIO(path.read_bytes()) if as_file else path.read_bytes()
    model = bundled.load_model("deeplabv3", source)
    torch.testing.assert_close(model.state_dict()["aspp.project.0.weight"], net.state_dict()["aspp.project.0.weight"])


# ------------------------------------------------------------------ the bundled weights themselves

@pytest.mark.parametrize("name", [pytest.param(n, marks=needs_weights(n)) for n in NAMES])
def test_bundled_card_describes_the_weights(name):
    card = bundled.load_card(name)
    assert bundled.weights_path(name).stat().st_size <= 10 * 2**20
    model = seglib.method(name).build()
    assert not model.training
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert card["class_names"] == CLASS_NAMES == seglib.method(name).model_card()["class_names"]
    assert card["warning"] == "Trained on synthetic shapes: expect nonsense on photos"
    assert set(card["metrics"]) == {"easy", "medium", "hard"}
    for key in ("architecture", "config", "training", "wall_time_s", "input_size", "training_data", "evaluation"):
        assert key in card, key
    assert seglib.method(name).build() is model  # built once per process


@pytest.mark.parametrize("name", [pytest.param(n, marks=needs_weights(n)) for n in NAMES])
def test_bundled_model_reaches_its_card_score_on_held_out_scenes(name):
    card = bundled.load_card(name)
    model = bundled.load_model(name)
    scores = evaluate_model(model, input_size=card["input_size"], difficulties=("medium",), n_scenes=8)
    assert scores["medium"]["miou"] >= card["metrics"]["medium"]["miou"] - 0.1
