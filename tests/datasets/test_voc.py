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


def test_object_masks_give_instances_and_panoptic_truth(tmp_path):
    from seglib import scoring
    from seglib.result import Segmentation

    make_voc(tmp_path, ids=("with_objects",), objects=True)
    data = open_dataset(tmp_path)
    assert any("SegmentationObject" in note for note in data.notes)
    gt = data[0].ground_truth
    person = square(0).astype(bool)
    assert set(np.unique(gt.instances[person])) == {1, 2} and not gt.instances[~person].any()
    assert set(np.unique(gt.panoptic)) == {0, 15001, 15002}  # class 15 (person), objects 1 and 2
    assert gt.instances[3].max() == 0, "the void border is no object"
    perfect = scoring.score(Segmentation(gt.instances.copy(), kind="instance"), gt)
    merged = scoring.score(Segmentation(person.astype(np.int32), kind="instance"), gt)
    assert perfect["PQ"] == pytest.approx(1.0) and merged["PQ"] < 0.7  # two people called one are not both found


def test_object_masks_change_the_sample_key_and_are_optional(tmp_path):
    make_voc(tmp_path / "a", ids=("x",))
    make_voc(tmp_path / "b", ids=("x",), objects=True)
    plain, with_objects = open_dataset(tmp_path / "a"), open_dataset(tmp_path / "b")
    assert plain[0].ground_truth.instances is None
    assert "SegmentationObject/x.png" in with_objects.key(0) and "SegmentationObject" not in plain.key(0)
