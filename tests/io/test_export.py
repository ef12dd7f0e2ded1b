"""seglib.io.export: lossless PNGs and COCO JSON that read back exactly."""

import io
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from seglib.io import coco_json, image_png_bytes, label_png_bytes, overlay_png_bytes
from seglib.io.export import segment_rles


def read_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture)


def decode(annotation: dict) -> np.ndarray:
    rle = dict(annotation["segmentation"], counts=annotation["segmentation"]["counts"].encode("ascii"))
    return coco_mask.decode(rle).astype(bool)


def random_labels(seed: int, shape=(23, 31), high=6) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, shape)


# --------------------------------------------------------------------------- PNG


def test_label_png_round_trip_8bit():
    labels = random_labels(0, high=256)
    data = label_png_bytes(labels)
    back = read_png(data)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, labels)


def test_label_png_round_trip_16bit():
    labels = random_labels(1, high=65536)
    labels[0, 0] = 65535
    back = read_png(label_png_bytes(labels.astype(np.int32)))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, labels)


def test_label_png_bool_and_panoptic_ids():
    np.testing.assert_array_equal(read_png(label_png_bytes(np.eye(3, dtype=bool))), np.eye(3))
    panoptic = np.array([[0, 1001], [2001, 2002]])
    np.testing.assert_array_equal(read_png(label_png_bytes(panoptic)), panoptic)


@pytest.mark.parametrize("labels, message", [
    (np.array([[0, -1]]), "from -1 to 0.*0..65535"),
    (np.array([[0, 65536]]), "from 0 to 65536.*0..65535"),
    (np.zeros((2, 2, 3), int), r"shape \(2, 2, 3\).*2-D"),
    (np.zeros((0, 4), int), "non-empty"),
    (np.zeros((2, 2)), "dtype float64.*integer"),
])
def test_label_png_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        label_png_bytes(labels)


def test_overlay_png_round_trip():
    rgb = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(overlay_png_bytes(rgb)), rgb)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3)), np.zeros((4, 4, 4), np.uint8)])
def test_overlay_png_requires_rgb_uint8(bad):
    with pytest.raises(ValueError, match=r"`rgb_uint8` has shape .*\(H, W, 3\) uint8"):
        overlay_png_bytes(bad)


def test_image_png_bytes_accepts_common_arrays():
    rgba = np.random.default_rng(3).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(image_png_bytes(rgba)), rgba)
    floats = np.linspace(0, 1, 30).reshape(5, 6)
    np.testing.assert_array_equal(read_png(image_png_bytes(floats)), np.round(floats * 255))
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    np.testing.assert_array_equal(read_png(image_png_bytes(mask)), mask * 255)
    deep = np.array([[0, 40000]], dtype=np.uint16)
    np.testing.assert_array_equal(read_png(image_png_bytes(deep)), deep)


@pytest.mark.parametrize("bad, message", [
    (np.full((3, 3), 1.5), r"outside \[0, 1\]"),
    (np.full((3, 3), np.nan), "NaN"),
    (np.zeros((3, 3), np.int64), "dtype int64"),
    (np.zeros((3, 3, 2), np.uint8), r"shape \(3, 3, 2\)"),
])
def test_image_png_bytes_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        image_png_bytes(bad)


# --------------------------------------------------------------------------- COCO: RLE


@pytest.mark.parametrize("seed", range(6))
def test_segment_rles_match_pycocotools_encode(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, tuple(rng.integers(1, 25, 2)))
    values = [int(v) for v in np.unique(labels)] + [9]  # 9 is absent: an empty mask
    for value, rle in zip(values, segment_rles(labels, values)):
        expected = coco_mask.encode(np.asfortranarray(labels == value, dtype=np.uint8))
        assert rle["counts"] == expected["counts"]
        assert rle["size"] == expected["size"]


# --------------------------------------------------------------------------- COCO: kinds


def test_coco_regions_round_trip_and_json():
    labels = random_labels(4)
    coco = coco_json(labels, kind="regions", image_id=7, file_name="cells.png")
    json.dumps(coco)  # plain Python types only
    assert coco["images"] == [{"id": 7, "width": 31, "height": 23, "file_name": "cells.png"}]
    assert coco["categories"] == [{"id": 1, "name": "segment", "supercategory": ""}]
    present = [v for v in np.unique(labels) if v > 0]
    assert [a["label"] for a in coco["annotations"]] == present
    for number, annotation in enumerate(coco["annotations"], start=1):
        mask = labels == annotation["label"]
        assert annotation["id"] == number and annotation["image_id"] == 7
        np.testing.assert_array_equal(decode(annotation), mask)
        assert annotation["area"] == mask.sum()
        rows, cols = np.nonzero(mask)
        assert annotation["bbox"] == [cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1]


def test_coco_binary_is_one_foreground_annotation():
    labels = np.zeros((6, 8), int)
    labels[1:3, 2:7] = 1
    labels[5, 0] = 3  # any non-zero value is foreground
    coco = coco_json(labels, kind="binary")
    assert coco["categories"][0]["name"] == "foreground"
    (annotation,) = coco["annotations"]
    assert annotation["area"] == 11 and annotation["bbox"] == [0.0, 1.0, 7.0, 5.0]
    np.testing.assert_array_equal(decode(annotation), labels != 0)
    assert coco_json(np.zeros((4, 4), int), kind="binary")["annotations"] == []


def test_coco_instance_and_edges_categories():
    labels = np.array([[0, 1], [2, 2]])
    assert coco_json(labels, kind="instance")["categories"][0]["name"] == "object"
    assert len(coco_json(labels, kind="instance")["annotations"]) == 2
    edges = coco_json(labels > 0, kind="edges")
    assert edges["categories"][0]["name"] == "edge" and len(edges["annotations"]) == 1


def test_coco_semantic_one_annotation_per_class_present():
    labels = np.array([[0, 0, 2], [2, 255, 0]])
    names = ["background", "cat", "dog"]
    coco = coco_json(labels, kind="semantic", class_names=names)
    assert [c["name"] for c in coco["categories"]] == names
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3]
    by_category = {a["category_id"]: a for a in coco["annotations"]}
    assert sorted(by_category) == [1, 3]  # class 1 absent, 255 (void) skipped
    np.testing.assert_array_equal(decode(by_category[3]), labels == 2)


def test_coco_semantic_without_names():
    coco = coco_json(np.array([[0, 3], [3, 3]]), kind="semantic")
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "class 0"), (4, "class 3")]
    assert [a["area"] for a in coco["annotations"]] == [1, 3]


def test_coco_panoptic_class_from_label():
    labels = np.array([[0, 1001, 1001], [2001, 2002, 0]])
    coco = coco_json(labels, kind="panoptic", class_names=["void", "person", "car"])
    assert [(a["label"], a["category_id"]) for a in coco["annotations"]] == [(1001, 2), (2001, 3), (2002, 3)]
    np.testing.assert_array_equal(decode(coco["annotations"][0]), labels == 1001)


def test_coco_scores_are_segment_means():
    labels = np.array([[1, 1], [2, 0]])
    scores = np.array([[0.2, 0.4], [0.9, 0.0]])
    coco = coco_json(labels, kind="regions", scores=scores)
    assert [a["score"] for a in coco["annotations"]] == pytest.approx([0.3, 0.9])
    assert coco_json(labels, kind="binary", scores=scores)["annotations"][0]["score"] == pytest.approx(0.5)
    assert "score" not in coco_json(labels, kind="regions")["annotations"][0]


def test_coco_loads_in_pycocotools():
    labels = random_labels(5)
    api = COCO()
    api.dataset = coco_json(labels, kind="regions")
    api.createIndex()
    annotation = api.loadAnns(api.getAnnIds(imgIds=[1]))[2]
    np.testing.assert_array_equal(api.annToMask(annotation), labels == annotation["label"])


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "blobs"}, "`kind`='blobs' is not allowed"),
    ({"kind": "semantic", "class_names": ["a"]}, r"class indices \[1, 2\] have no name"),
    ({"kind": "regions", "scores": np.zeros((2, 2))}, r"`scores` has shape \(2, 2\)"),
])
def test_coco_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        coco_json(np.array([[0, 1, 2]]), **kwargs)


def test_coco_negative_labels():
    with pytest.raises(ValueError, match="negative values"):
        coco_json(np.array([[0, -1]]), kind="regions")
