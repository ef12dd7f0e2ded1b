"""Safe weight loading: malicious, truncated, foreign and ill-fitting files give clear errors."""

import io
import os

import pytest
import torch

from seglib.deep.checkpoints import (check_state_dict, load_state_dict, load_weights, read_weights, save_weights,
                                     state_dict_bytes)
from seglib.deep.models import build_model


@pytest.fixture
def net():
    torch.manual_seed(0)
    return build_model("unet", n_classes=3, width=4, depth=1)


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


class RunsCode:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def assert_same_weights(a, b):
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key])


def as_source(data: bytes, as_path: bool, tmp_path):
    """``data`` itself, or a file holding it (named .bin: the format is recognised from content)."""
    if not as_path:
        return data
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    return path


def encode(net, fmt: str) -> bytes:
    if fmt == "safetensors":
        return state_dict_bytes(net)
    if fmt == "torch-legacy":  # the pre-1.6 pickle format, which torch.load cannot memory-map
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer, _use_new_zipfile_serialization=False)
        return buffer.getvalue()
    return torch_bytes(net.state_dict())


@pytest.mark.parametrize("fmt", ["safetensors", "torch", "torch-legacy"])
@pytest.mark.parametrize("as_path", [True, False])
def test_round_trip_from_path_or_bytes(net, tmp_path, fmt, as_path):
    other = build_model("unet", n_classes=3, width=4, depth=1)
    load_weights(other, as_source(encode(net, fmt), as_path, tmp_path))
    assert_same_weights(net, other)


@pytest.mark.parametrize("fmt", ["safetensors", "torch", "torch-legacy"])
def test_a_path_is_read_in_place_not_copied_into_memory(net, tmp_path, fmt, monkeypatch):
    path = as_source(encode(net, fmt), True, tmp_path)
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("the whole file was read into memory"))
    assert set(read_weights(path)[0]) == set(net.state_dict())


def test_a_training_checkpoint_with_a_nested_state_dict_loads(net):
    data = torch_bytes({"model": net.state_dict(), "step": 10, "optimizer": {}})
    assert set(load_state_dict(data, expected=net)) == set(net.state_dict())


def test_half_precision_weights_load_as_float32_with_metadata(net, tmp_path):
    path = save_weights(net, tmp_path / "w.safetensors", half=True, metadata={"arch": "unet"})
    state, metadata = read_weights(path)
    assert state["head.weight"].dtype == torch.float16 and metadata == {"arch": "unet"}
    loaded = load_state_dict(path, expected=net)
    assert loaded["head.weight"].dtype == torch.float32
    torch.testing.assert_close(loaded["head.weight"], net.state_dict()["head.weight"], atol=1e-3, rtol=1e-3)


def test_pickle_with_code_is_refused_and_never_run(net, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(torch_bytes({"head.weight": RunsCode(marker)}))
    with pytest.raises(ValueError, match="refusing to load.*other than tensors"):
        load_state_dict(path, expected=net)
    with pytest.raises(ValueError, match="refusing"):
        load_state_dict(torch_bytes(RunsCode(marker)), expected=net)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", ["safetensors", "torch", "torch-legacy"])
@pytest.mark.parametrize("as_path", [True, False])
def test_truncated_file_is_reported(net, fmt, as_path, tmp_path):
    data = encode(net, fmt)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_state_dict(as_source(data[: len(data) // 2], as_path, tmp_path), expected=net)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"just some text, not weights", "not a readable torch checkpoint"),
    ("png", "not a readable torch checkpoint"),
    ("list", "does not contain a state dict"),
    ("strings", "not tensors"),
])
@pytest.mark.parametrize("as_path", [True, False])
def test_non_checkpoint_files_are_reported(net, content, message, as_path, tmp_path):
    if content == "png":
        content = b"\x89PNG\r\n\x1a\n" + bytes(100)
    elif content == "list":
        content = torch_bytes([1, 2, 3])
    elif content == "strings":
        content = torch_bytes({"head.weight": "not a tensor"})
    with pytest.raises(ValueError, match=message):
        load_state_dict(as_source(content, as_path, tmp_path), expected=net)


def test_missing_and_unexpected_keys_are_named(net):
    state = dict(net.state_dict())
    del state["head.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys: 'head.bias'.*unexpected keys: 'extra.weight'"):
        check_state_dict(state, net)


def test_shape_mismatch_names_the_key_and_both_shapes(net):
    wider = build_model("unet", n_classes=5, width=4, depth=1)
    expected = r"shape mismatch for key 'head.weight': expected \(3, 4, 1, 1\), got \(5, 4, 1, 1\)"
    with pytest.raises(ValueError, match=expected):
        load_state_dict(state_dict_bytes(wider), expected=net)


def test_weights_of_another_architecture_do_not_fit(net):
    segnet = build_model("segnet", n_classes=3, width=4, depth=1)
    with pytest.raises(ValueError, match="do not fit UNet"):
        load_state_dict(state_dict_bytes(segnet), expected=net)


def test_failed_load_leaves_the_model_untouched(net):
    before = {k: v.clone() for k, v in net.state_dict().items()}
    bad = dict(build_model("unet", n_classes=3, width=4, depth=1).state_dict())
    bad["head.weight"] = torch.zeros(9, 9)
    with pytest.raises(ValueError):
        load_weights(net, torch_bytes(bad))
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_missing_file_and_wrong_source_type(net, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_state_dict(tmp_path / "nope.safetensors", expected=net)
    with pytest.raises(TypeError, match="path, bytes or a binary file object"):
        load_state_dict(12, expected=net)
