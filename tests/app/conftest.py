"""Fixtures shared by the page tests: small random SAM models named by their environment variables."""

import pytest
import torch

from seglib.deep import sam
from seglib.deep.sam import sam2_model


@pytest.fixture
def tiny_sam(tmp_path, monkeypatch):
    """A tiny random SAM named by $SEGDASH_SAM_WEIGHTS; caches cleared around the test."""
    torch.manual_seed(0)
    path = sam.save_sam_weights(sam.build_sam(sam.TINY_CONFIG), sam.TINY_CONFIG, tmp_path / "tiny.safetensors")
    monkeypatch.setenv(sam.WEIGHTS_ENV, str(path))
    sam.clear_caches()
    yield path
    sam.clear_caches()


@pytest.fixture
def small_sam2(tmp_path, monkeypatch):
    """A small random SAM 2.1 named by $SEGDASH_SAM2_WEIGHTS; caches cleared around the test."""
    torch.manual_seed(0)
    path = sam2_model.save_sam2_weights(sam2_model.build_sam2_network(sam2_model.TEST_CONFIG),
                                        sam2_model.TEST_CONFIG, tmp_path / "small.safetensors")
    monkeypatch.setenv(sam2_model.WEIGHTS_ENV, str(path))
    sam.clear_caches()
    yield path
    sam.clear_caches()
