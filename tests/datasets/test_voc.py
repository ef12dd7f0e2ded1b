"""Pascal VOC layout: VOCdevkit/VOC2012 with JPEGImages, SegmentationClass and the split lists."""

import numpy as np
import pytest
from dataset_builders import make_voc, square

from seglib.datasets import open_dataset


def test_voc_found_two_levels_below_and_read_in_split_order(tmp_path):
    make_voc(tmp_path, ids=("2008_b", "2007_a"))
    data = open_dataset(tmp_path)
    assert data.kind == "voc" and len(data) == 2
    assert data.names() == ["2008_b", "2007_a"]  # the split file's order
    sample = data[1]
    assert sample.name == "2007_a" and sample.index == 1
    assert sample.image.shape == (24, 32, 3) and sample.image.dtype == np.uint8
    gt = sample.ground_truth
    assert gt.class_names[15] == "person" and gt.ignore_index == 255
    expected = square(1) * 15
    expected[3, :] = 255
    np.testing.assert_array_equal(gt.semantic, expected)


def test_voc_split_and_n(tmp_path):
    make_voc(tmp_path, ids=("x1", "x2", "x3"), split="train")
    make_voc(tmp_path, ids=("y1",), split="val")
    assert open_dataset(tmp_path, split="train", n=2).names() == ["x1", "x2"]
    assert open_dataset(tmp_path).names() == ["y1"]  # val is the default


def test_voc_without_the_split_list_names_it(tmp_path):
    folder = make_voc(tmp_path, split="train")
    expected = r"looks like a Pascal VOC folder but lacks ImageSets/Segmentation/val.txt"
    with pytest.raises(ValueError, match=expected) as info:
        open_dataset(tmp_path)
    assert str(folder) in str(info.value)


def test_voc_without_masks_names_the_missing_folder(tmp_path):
    folder = make_voc(tmp_path)
    for png in (folder / "SegmentationClass").iterdir():
        png.unlink()
    (folder / "SegmentationClass").rmdir()
    with pytest.raises(ValueError, match="lacks SegmentationClass/"):
        open_dataset(tmp_path)


def test_voc_ids_without_files_are_left_out_with_a_note(tmp_path):
    folder = make_voc(tmp_path, ids=("a", "b"))
    (folder / "JPEGImages" / "a.jpg").unlink()
    data = open_dataset(folder)
    assert data.names() == ["b"]
    assert "1 listed id(s)" in data.notes[0]
    (folder / "JPEGImages" / "b.jpg").unlink()
    with pytest.raises(ValueError, match=r"JPEGImages/<id>.jpg and SegmentationClass/<id>.png"):
        open_dataset(folder)
