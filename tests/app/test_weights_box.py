"""The Weights box and method lists: download sizes, the offline text, the weight uploads' own limit.

No network: the torch cache is an empty temporary folder and every download
fails the way an offline machine does.
"""

import urllib.error
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import seglib
from seglib.deep import sources, zoo
from ui import weights

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.delenv("SEGDASH_SAM_WEIGHTS", raising=False)
    calls = []

    def no_network(url, destination, progress, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(sources, "fetch_url", no_network)
    sources.forget_failures()
    yield calls
    sources.forget_failures()


def explore(slug):
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state["explore.family"] = "deep"
    at.session_state["explore.method.deep"] = slug
    return at.run()


def test_method_lists_mark_downloads_with_their_size(offline, tmp_path):
    assert weights.method_title("mask-rcnn", {}) == "Mask R-CNN (ResNet-50 FPN, torchvision) · 170 MB download"
    assert weights.method_title("sam", {}).endswith("· 375 MB download")
    assert weights.method_title("unet", {}) == seglib.method("unet").title
    assert weights.method_title("otsu", {}) == seglib.method("otsu").title
    cached = zoo.cache_path("tv-lraspp")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert weights.method_title("tv-lraspp", {}) == seglib.method("tv-lraspp").title


def test_offline_weights_box_names_the_size_the_upload_limit_and_the_folder(offline):
    at = explore("mask-rcnn")
    assert len(offline) == 1, "one download attempt"
    captions = " ".join(c.value for c in at.caption)
    assert "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth` (170 MB) could not be downloaded" in captions
    assert f"up to {weights.UPLOAD_LIMIT_MB} MB" in captions
    admin = [e for e in at.expander if e.label == "For the server's administrator"]
    assert admin and str(zoo.cache_path("mask-rcnn").parent) in admin[0].markdown[0].value
    uploader = [u for u in at.get("file_uploader") if u.proto.label == "Custom weights file"][0]
    assert uploader.proto.max_upload_size_mb == weights.UPLOAD_LIMIT_MB >= 170
    labels = at.selectbox(key="explore.method.deep").options
    assert any(label.endswith("· 170 MB download") for label in labels)
    at.run()
    assert len(offline) == 1, "a failed download is not retried on every rerun"
