"""Training: the loss goes down, runs are reproducible from a seed, checkpoints resume exactly."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seglib.deep import train as training
from seglib.deep.models import build_model

TINY = dict(width=4, depth=1, batch_size=4, image_size=32, crop_size=16, n_scenes=16, val_scenes=0, lr=1e-2)


@pytest.fixture(scope="module")
def dataset():
    """16 tiny scenes: a bright square (class 1) or a bright disk (class 2) on a dark background."""
    rng = np.random.default_rng(0)
    images = np.zeros((16, 32, 32, 3), np.uint8)
    labels = np.zeros((16, 32, 32), np.uint8)
    yy, xx = np.mgrid[:32, :32]
    for i in range(16):
        cy, cx, r = rng.integers(10, 22), rng.integers(10, 22), rng.integers(5, 9)
        mask = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r) if i % 2 else (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        labels[i][mask] = 1 if i % 2 else 2
        images[i] = rng.integers(0, 60, 3)
        images[i][mask] = rng.integers(150, 256, 3)
    return {"images": images, "labels": labels, "class_names": np.array(["background", "square", "disk"])}


def fixed_batch_loss(model, dataset):
    x = torch.from_numpy(dataset["images"]).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(dataset["labels"].astype(np.int64))
    model.train()  # batch statistics: two steps barely move the running averages
    with torch.no_grad():
        return float(F.cross_entropy(model(x), y))


def test_two_steps_lower_the_loss(dataset):
    torch.manual_seed(3)
    before = fixed_batch_loss(build_model("unet", n_classes=3, width=4, depth=1), dataset)
    model, history = training.train("unet", steps=2, seed=3, dataset=dataset, **TINY)
    assert len(history) == 2
    assert fixed_batch_loss(model, dataset) < before


def test_progress_is_reported_every_step_and_the_model_is_returned_in_eval_mode(dataset):
    calls = []
    model, history = training.train("segnet", steps=3, dataset=dataset, progress=lambda *a: calls.append(a), **TINY)
    assert [c[0] for c in calls] == [1, 2, 3]
    assert all(np.isfinite(c[1]) and c[2] is None for c in calls)
    assert not model.training
    assert model.class_names == ["background", "square", "disk"]
    assert [h["step"] for h in history] == [1, 2, 3]


@pytest.mark.parametrize("arch", ["unet", "deeplabv3"])
def test_same_seed_same_model_other_seed_other_model(dataset, arch):
    a, history_a = training.train(arch, steps=2, seed=1, dataset=dataset, **TINY)
    b, history_b = training.train(arch, steps=2, seed=1, dataset=dataset, **TINY)
    c, _ = training.train(arch, steps=2, seed=2, dataset=dataset, **TINY)
    assert [h["loss"] for h in history_a] == [h["loss"] for h in history_b]
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(a.state_dict()["head.weight"] if arch == "unet" else a.state_dict()["head.1.weight"],
                           c.state_dict()["head.weight"] if arch == "unet" else c.state_dict()["head.1.weight"])


def test_interrupted_run_resumes_from_its_checkpoint_to_the_same_result(dataset, tmp_path):
    straight, _ = training.train("unet", steps=4, seed=5, dataset=dataset, **TINY)
    steps_done = []
    stop_after_two = lambda: len(steps_done) >= 2  # noqa: E731
    partial, history = training.train("unet", steps=4, seed=5, dataset=dataset, checkpoint_dir=tmp_path,
                                      checkpoint_every=100, should_stop=stop_after_two,
                                      progress=lambda step, *_: steps_done.append(step), **TINY)
    assert len(history) == 2 and (tmp_path / training.CHECKPOINT_NAME).is_file()
    resumed, history = training.train("unet", steps=4, seed=5, dataset=dataset, checkpoint_dir=tmp_path, **TINY)
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(value, resumed.state_dict()[key])


def test_checkpoint_of_other_settings_is_not_resumed(dataset, tmp_path):
    training.train("unet", steps=2, dataset=dataset, checkpoint_dir=tmp_path, **TINY)
    with pytest.raises(ValueError, match="other settings"):
        training.train("unet", steps=2, dataset=dataset, checkpoint_dir=tmp_path, **{**TINY, "width": 8})


def test_checkpoint_loads_with_weights_only(dataset, tmp_path):
    training.train("unet", steps=2, dataset=dataset, checkpoint_dir=tmp_path, **TINY)
    checkpoint = torch.load(tmp_path / training.CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["step"] == 2 and "model" in checkpoint and "optimizer" in checkpoint


@pytest.mark.parametrize("bad, match", [
    ({"steps": 0}, "steps=0"),
    ({"batch_size": 1.5}, "batch_size=1.5"),
    ({"image_size": 40}, "image_size=40.*multiple of 16"),
    ({"lr": 0.0}, "lr=0.0"),
])
def test_bad_settings_are_rejected(dataset, bad, match):
    with pytest.raises(ValueError, match=match):
        training.train("unet", dataset=dataset, **{**TINY, "steps": 2, **bad})


def test_the_card_names_the_difficulty_mix_it_was_trained_on(dataset):
    mixed = dict(dataset, difficulties=np.array(["easy", "medium", "hard", "easy"] * 4))
    easy = {k: (v[mixed["difficulties"] == "easy"] if k != "class_names" else v) for k, v in mixed.items()}
    for data_set, words in ((mixed, "scenes of random difficulty drawn"),
                            (easy, "scenes of easy difficulty drawn")):
        settings = {**TINY, "n_scenes": len(data_set["images"])}
        model, history = training.train("unet", steps=1, dataset=data_set, **settings)
        card = training.model_card(model, history, metrics={}, eval_scenes=1)
        assert words in card["training_data"], card["training_data"]


def test_unknown_architecture(dataset):
    with pytest.raises(KeyError, match="valid architectures"):
        training.train("fcn", dataset=dataset, **TINY)


def test_cli_trains_checkpoints_and_exports_a_usable_model_with_its_card(tmp_path, capsys):
    import json

    import seglib
    from seglib.datasets.shapes import CLASS_NAMES

    out, export = tmp_path / "run", tmp_path / "weights"
    training.main(["--arch", "segnet", "--width", "4", "--depth", "2", "--steps", "3", "--batch-size", "2",
                   "--scenes", "6", "--image-size", "64", "--crop-size", "32", "--val-every", "2",
                   "--val-scenes", "1", "--log-every", "1", "--out", str(out), "--export", str(export),
                   "--eval-scenes", "1", "--threads", "1"])
    log = capsys.readouterr().out
    assert "step 3/3" in log and "val_mIoU=" in log
    assert (out / training.CHECKPOINT_NAME).is_file()
    card = json.loads((export / "segnet.json").read_text())
    assert card["class_names"] == CLASS_NAMES and card["input_size"] == 64
    assert card["training"]["steps"] == 3 and card["config"]["width"] == 4
    assert set(card["metrics"]) == {"easy", "medium", "hard"}
    assert all(0 <= m["miou"] <= 1 and 0 <= m["pixel_accuracy"] <= 1 for m in card["metrics"].values())
    assert card["warning"] == training.WARNING
    result = seglib.segment(np.zeros((20, 30, 3), np.uint8), "segnet", weights=export / "segnet.safetensors")
    assert result.labels.shape == (20, 30) and result.class_names == CLASS_NAMES


def test_dice_loss_is_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    target = torch.randint(0, 3, (2, 8, 8))
    perfect = F.one_hot(target, 3).permute(0, 3, 1, 2).float() * 100
    wrong = F.one_hot((target + 1) % 3, 3).permute(0, 3, 1, 2).float() * 100
    assert training.dice_loss(perfect, target) < 1e-3
    assert training.dice_loss(wrong, target) > 0.9


def test_training_starts_from_the_class_prior(dataset):
    model, _ = training.train("unet", steps=1, dataset=dataset, **{**TINY, "lr": 1e-9})
    frequencies = np.bincount(dataset["labels"].ravel(), minlength=3) / dataset["labels"].size
    bias = model.classifier().bias.detach().numpy()
    np.testing.assert_allclose(np.exp(bias) / np.exp(bias).sum(), frequencies, atol=0.01)
