"""Hostile weights: a file's description of its network is checked before anything is built.

The crafted files (tiny files declaring huge networks, mismatched shapes, odd
SAM configs, compressed zips, endless file objects) are shared with
``benchmarks/hostile_weights.py``, which measures their time and memory.
"""

import pytest
import torch

from benchmarks.hostile_weights import cases
from seglib.deep import bundled, sam, sources
from seglib.deep.checkpoints import build_checked, parameter_count
from seglib.deep.models import build_model

CASES = cases()


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(sam.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(sources, "fetch_url", lambda *a, **k: pytest.fail("the tests must never download"))
    yield
    bundled._models.clear()
    sam.clear_caches()


@pytest.mark.parametrize("name, expected, make", CASES, ids=[c[0] for c in CASES])
def test_each_hostile_file_gets_a_clear_value_error(name, expected, make, monkeypatch):
    call = make()
    built = []
    original = torch.nn.Module.__init__

    def counting(self, *args, **kwargs):
        built.append(torch.get_default_device())
        original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__init__", counting)
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        call()
    assert all(device.type == "meta" for device in built), "nothing was built for real before the checks"


def test_the_budget_is_counted_on_the_meta_device_before_anything_is_allocated():
    net = build_model("unet", n_classes=4, width=4, depth=1)
    assert parameter_count(net) > 0
    with pytest.raises(ValueError, match="describe a network of 7,962,[0-9,]+ parameters; at most 1,000 are allowed"):
        build_checked(lambda: build_model("unet", n_classes=1000, width=256, depth=6), {}, name="the file's weights",
                      max_parameters=1000)
    fitted = build_checked(lambda: build_model("unet", n_classes=4, width=4, depth=1), net.state_dict(),
                           name="w", max_parameters=10**6)
    assert not fitted.training and not any(p.requires_grad for p in fitted.parameters())
    assert all(torch.equal(a, b) for a, b in zip(fitted.state_dict().values(), net.state_dict().values()))


def test_sam_configs_are_validated_when_made():
    config = sam.SamConfig.from_dict({**sam.TINY_CONFIG.__dict__})
    assert config == sam.TINY_CONFIG and all(c.low_res_size == 256 for c in sam.SAM_CONFIGS.values())
    for changes, message in [({"patch_size": 0}, "patch_size=0"), ({"window_size": 5}, "window_size \\(5\\)"),
                             ({"mask_in_chans": 6}, "mask_in_chans \\(6\\) must be a multiple of 4"),
                             ({"decoder_num_heads": 3}, "twice decoder_num_heads"),
                             ({"encoder_global_attn_indexes": (0, 0)}, "distinct block numbers")]:
        with pytest.raises(ValueError, match=message):
            sam.SamConfig.from_dict({**sam.TINY_CONFIG.__dict__, **changes})
