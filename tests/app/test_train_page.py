"""The Train page (AppTest) and its glue: a tiny run, curves, stop and resume, use in Explore, weights upload."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import seglib
from seglib.deep import bundled, checkpoints
from ui import image_picker as picker
from ui import training, weights
from ui.params import widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
TINY = {"arch": "unet", "width": 4, "depth": 1, "steps": 3, "batch_size": 2, "lr": 5e-3, "image_size": 64,
        "crop_size": 0, "n_scenes": 20, "difficulties": ["easy", "medium", "hard"], "seed": 0, "val_every": 2}


def train_page(values=TINY):
    at = AppTest.from_file(str(ROOT / "app_pages" / "train.py"), default_timeout=TIMEOUT)
    for name, value in values.items():
        at.session_state[training.setting_key(name)] = value
    return at.run()


@pytest.fixture(scope="module", autouse=True)
def few_scenes():
    """Validation and model-card scoring on fewer scenes: the tests check the plumbing, not the scores."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "VAL_SCENES", 2)
        patch.setattr(training, "EVAL_SCENES", 1)
        yield


@pytest.fixture(scope="module")
def trained(few_scenes):
    """The Train page after a tiny run and a click on "use this model"."""
    at = train_page()
    assert not at.exception
    at.button(key="train.start").click().run()
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    at.button(key="train.use").click().run()
    assert not at.exception
    return at, charts


def test_a_tiny_run_draws_the_curves_and_keeps_the_model(trained):
    at, charts = trained
    assert not at.error
    assert len(charts) >= 2, "loss and validation mIoU curves"
    kept = at.session_state[training.MODEL_KEY]
    assert kept["status"] == "done" and kept["step"] == TINY["steps"]
    assert [h["step"] for h in kept["history"]] == list(range(1, TINY["steps"] + 1))
    assert any(h["val_miou"] is not None for h in kept["history"])
    assert kept["card"]["training"]["steps"] == TINY["steps"] and kept["card"]["config"]["width"] == TINY["width"]
    assert "scenes of random difficulty drawn" in kept["card"]["training_data"]  # TINY trains on all three
    assert "finished at step 3" in at.success[0].value
    state, meta = checkpoints.read_weights(kept["weights"])
    assert meta["arch"] == "unet" and meta["input_size"] == "64" and state
    assert {b.label for b in at.get("download_button")} >= {"Weights (safetensors)", "Model card (JSON)"}


def test_use_this_model_makes_explore_run_unet_with_the_fresh_weights(trained):
    at, _ = trained
    chosen = at.session_state[weights.custom_key("unet")]
    assert Path(chosen["path"]).is_file() and "trained here" in chosen["label"]
    assert at.session_state[widget_key("unet", "input_size")] == TINY["image_size"]
    explore = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    explore.session_state[weights.custom_key("unet")] = chosen
    explore.session_state[widget_key("unet", "input_size")] = TINY["image_size"]
    explore.session_state["explore.family"] = "deep"
    explore.session_state["explore.method.deep"] = "unet"
    explore.run()
    assert not explore.exception and not explore.error, [e.value for e in explore.error]
    assert any("Using custom weights: trained here" in c.value for c in explore.caption)
    card = explore.expander[0]
    assert card.label == "Model card of the custom weights"
    assert f"**Parameters**: {chosen['card']['parameters']}" in card.markdown[0].value  # not the bundled U-Net's
    assert chosen["card"]["parameters"] != seglib.method("unet").card["parameters"]
    direct = seglib.segment(explore.session_state[picker.IMAGE_KEY].image, "unet", weights=chosen["path"],
                            input_size=TINY["image_size"])
    shown = {m.label: m.value for m in explore.metric}
    assert shown["Segments"] == str(direct.n_segments)


def test_a_stopped_run_keeps_its_last_checkpoint_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "RUNS_DIR", tmp_path)
    state = {}
    values = dict(TINY, steps=6, val_every=3)
    folder = training.run_dir(values, state)
    assert training.start(values, folder, state) is False

    def interrupt(step, loss, val):
        if step == 5:  # a Streamlit rerun raises inside the progress callback, before step 5's checkpoint
            raise KeyboardInterrupt("Stop pressed")

    threads = torch.get_num_threads()
    with pytest.raises(KeyboardInterrupt):
        training.train(values, folder, interrupt, checkpoint_every=2, state=state)
    assert torch.get_num_threads() == threads  # training's single thread is given back, even on a stop
    kept = training.recover(state)
    assert kept["status"] == "stopped" and kept["step"] == 4 and state[training.RUN_KEY]["status"] == "stopped"
    assert "random difficulty drawn" in kept["card"]["training_data"]
    assert training.recover(state) is None  # only once
    assert training.start(values, folder, state) is True
    seen = []
    done = training.train(values, folder, lambda step, loss, val: seen.append(step), checkpoint_every=2, state=state)
    assert seen == [5, 6] and done["status"] == "done" and len(done["history"]) == 6
    assert training.start(dict(values, seed=1), training.run_dir(dict(values, seed=1), state), state) is False


def test_training_set_keeps_only_the_chosen_difficulties():
    data = training.training_set(12, 64, ("easy",), 0)
    assert len(data["images"]) == 12 and set(data["difficulties"]) == {"easy"}
    assert data["images"].shape[1:] == (64, 64, 3) and not data["images"].flags.writeable


def test_curves_have_loss_and_validation_lines():
    history = [{"step": i, "loss": 2.0 / i, "val_miou": 0.1 * i if i % 2 == 0 else None} for i in range(1, 7)]
    loss, miou = training.curves(history, 10)
    assert list(loss.data[0].y) == pytest.approx([2.0 / i for i in range(1, 7)])
    assert list(miou.data[0].x) == [2, 4, 6]


def test_weights_store_and_session_choice(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    path = weights.store_weights(b"abc", ".pt")
    assert path.read_bytes() == b"abc" and weights.store_weights(b"abc", ".pt") == path
    state = {}
    weights.set_custom_weights("unet", path, "mine", state)
    assert weights.custom_weights("unet", state) == {"path": str(path), "label": "mine", "card": None}
    path.unlink()
    assert weights.custom_weights("unet", state) is None  # a vanished file is not offered
    weights.clear_custom_weights("unet", state)
    assert weights.custom_key("unet") not in state


def uploader_labels(at):
    return [e.proto.label for e in at.get("file_uploader")]


def test_explore_offers_a_weights_box_for_deep_methods_only():
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state["explore.family"] = "threshold"
    at.run()
    assert "Custom weights file" not in uploader_labels(at)
    at.session_state["explore.family"] = "deep"
    at.session_state["explore.method.deep"] = "panoptic"
    at.run()
    assert not at.exception
    assert "Custom weights file" in uploader_labels(at) and any(m.value == "**Weights**" for m in at.markdown)


def test_uploaded_weights_without_a_card_are_not_described_by_the_bundled_card():
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state["explore.family"] = "deep"
    at.session_state["explore.method.deep"] = "unet"
    at.run()
    assert [e.label for e in at.expander][:1] == ["Model card"]
    weights.set_custom_weights("unet", bundled.weights_path("unet"), "uploaded file mine.safetensors", at.session_state)
    at.run()
    assert not at.exception
    assert "Model card" not in [e.label for e in at.expander]
    assert any("Custom weights in use (uploaded file mine.safetensors)" in c.value for c in at.caption)


def test_train_controls_are_drawn_from_the_param_specs():
    at = train_page({})
    assert not at.exception
    for spec in training.SETTINGS:
        assert widget_key(training.SCOPE, spec) in at.session_state, spec.name
    labels = {w.label for kind in ("slider", "select_slider", "button_group", "checkbox") for w in at.get(kind)}
    assert {"Width", "Depth", "Steps", "Batch size", "Learning rate", "Scene size", "Training scenes",
            "Validate every"} <= labels
    settings = training.run_settings({p.name: p.default for p in training.SETTINGS}, ["easy"])
    assert settings["arch"] == "unet" and settings["lr"] == 5e-3 and settings["image_size"] == 96
    assert settings["crop_size"] == 0 and settings["n_scenes"] == 300 and settings["val_every"] == 100
    assert set(training.train_kwargs(settings)) >= set(training.TRAIN_ARGS)
    too_big = training.run_settings(dict({p.name: p.default for p in training.SETTINGS}, crop=128), ["easy"])
    assert too_big["crop_size"] == 0, "a crop larger than the 96 px scene trains on whole scenes"
