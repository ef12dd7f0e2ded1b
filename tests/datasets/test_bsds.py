"""BSDS500 layout: BSR/BSDS500/data with images/<split> and groundTruth/<split>/*.mat."""

import pytest
from dataset_builders import make_bsds

from seglib.datasets import open_dataset


def test_bsds_found_three_levels_below_with_every_annotator(tmp_path):
    make_bsds(tmp_path)
    data = open_dataset(tmp_path)
    assert data.kind == "bsds" and data.names() == ["100007", "100039"]
    gt = data[0].ground_truth
    assert gt.source_format == "bsds" and len(gt.annotators) == 2
    assert gt.annotators[0].shape == data[0].image.shape[:2]


def test_bsds_split(tmp_path):
    make_bsds(tmp_path, names=("a",), split="train")
    make_bsds(tmp_path, names=("b", "c"), split="test")
    assert open_dataset(tmp_path, split="train").names() == ["a"]
    assert len(open_dataset(tmp_path)) == 2  # test is the default


def test_bsds_without_ground_truth_for_the_split(tmp_path):
    make_bsds(tmp_path, split="train")
    expected = r"looks like a BSDS500 folder but lacks images/test/, groundTruth/test/ \(splits here: train; choose"
    with pytest.raises(ValueError, match=expected):
        open_dataset(tmp_path)


def test_bsds_pictures_without_mat_files(tmp_path):
    folder = make_bsds(tmp_path, names=("a", "b"))
    (folder / "groundTruth" / "test" / "a.mat").unlink()
    data = open_dataset(tmp_path)
    assert data.names() == ["b"] and "1 image(s) without" in data.notes[0]
    (folder / "groundTruth" / "test" / "b.mat").unlink()
    with pytest.raises(ValueError, match=r"none of the 2 pictures in images/test/ has a matching groundTruth/test/"):
        open_dataset(tmp_path)
