"""COCO layout: an instances JSON and the folder of pictures it names."""

import json
import pickle

import numpy as np
import pytest
from dataset_builders import make_coco, square

import seglib.datasets.coco as coco
from seglib.datasets import open_dataset


def test_coco_samples_carry_their_own_annotations(tmp_path):
    make_coco(tmp_path)
    data = open_dataset(tmp_path)
    assert data.kind == "coco" and data.names() == ["000000000009", "000000000025"]
    for index in range(2):
        gt = data[index].ground_truth
        assert gt.class_names == ["background", "person", "cat"]
        assert gt.instances.max() == 1 and len(gt.segments) == 1
        # the polygon covers the square (pycocotools rasterises its outline inclusively)
        assert np.all(gt.semantic[square(index) == 1] == 2)


def test_coco_split_picks_the_json_and_its_picture_folder(tmp_path):
    make_coco(tmp_path, files=("t.jpg",), tag="train2017")
    make_coco(tmp_path, files=("v1.jpg", "v2.jpg"), tag="val2017")
    assert open_dataset(tmp_path, split="train").names() == ["t"]
    assert open_dataset(tmp_path).names() == ["v1", "v2"]  # several JSONs: validation by default
    assert open_dataset(tmp_path, n=1).names() == ["v1"]


def test_coco_json_is_parsed_once_per_file_version(tmp_path):
    make_coco(tmp_path)
    coco._index.cache_clear()
    data = open_dataset(tmp_path)
    for sample in data:
        assert sample.ground_truth.semantic is not None
    assert coco._index.cache_info().misses == 1
    path = tmp_path / "annotations" / "instances_val2017.json"
    path.write_text(path.read_text().replace('"cat"', '"kitten"'))
    assert data[0].ground_truth.class_names[2] == "kitten"  # an edited file is read again
    assert len(pickle.dumps(data)) < 2000  # workers receive paths, not annotations


def test_coco_json_without_pictures(tmp_path):
    make_coco(tmp_path)
    for path in (tmp_path / "val2017").iterdir():
        path.unlink()
    (tmp_path / "val2017").rmdir()
    with pytest.raises(ValueError, match=r"looks like a COCO folder but lacks val2017/ \(or images/\) holding"):
        open_dataset(tmp_path, split="val")


def test_coco_pictures_not_where_the_json_says(tmp_path):
    make_coco(tmp_path)
    for picture in (tmp_path / "val2017").glob("*.jpg"):
        picture.rename(picture.with_name(f"renamed-{picture.name}"))
    expected = r"the pictures of instances_val2017.json \(e.g. 000000000009.jpg\) are in none of"
    with pytest.raises(ValueError, match=expected):
        open_dataset(tmp_path)


def test_coco_malformed_json(tmp_path):
    make_coco(tmp_path)
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps({"annotations": []}))
    with pytest.raises(ValueError, match="expected an object with an `images` list"):
        open_dataset(tmp_path)


def test_files_of_a_sample_for_opening_it_elsewhere(tmp_path):
    make_coco(tmp_path)
    data = open_dataset(tmp_path)
    assert data.image_file(1) == tmp_path / "val2017" / "000000000025.jpg"
    name, content, image_id = data.truth_file(1)
    subset = json.loads(content)
    assert name == "000000000025.json" and image_id == 101
    assert [i["id"] for i in subset["images"]] == [101] and len(subset["annotations"]) == 1
