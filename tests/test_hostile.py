"""Hostile inputs (issue 10): each class of problem, several crafted variants, a clear ValueError.

Time and memory are measured in benchmarks/bench_hostile.py; here a few
cases also bound the memory with tracemalloc, because an O(objects x image)
or O(label value) allocation is a wrong answer, not a slow one.
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import seglib
from hostile_inputs import (bsds_cells, coco_bytes, coco_polygons, full_rle, mat_declaring, mat_file,
                            mat_with_decoy, nested_json, png_bomb, png_text_bomb, progressive_jpeg, quadratic_rle)
from seglib import metrics
from seglib.comparison import confusion, error_map
from seglib.datasets import open_dataset
from seglib.imaging import as_float
from seglib.io import load_ground_truth, load_image
from seglib.io import ground_truth as gt_module
from seglib.io.images import MAX_JPEG_SCANS
from seglib.io.ground_truth import GroundTruth
from seglib.result import Segmentation
from seglib.scoring import score


def peak_mb(func) -> tuple[object, float]:
    """``func()`` and the peak of Python-traced memory (numpy included) while it ran, in MB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = func()
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def png(array, mode=None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(array, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", **options)
    return buffer.getvalue()


# --------------------------------------------------------------------------- 2. compressed containers


@pytest.mark.parametrize("repeats", [MAX_JPEG_SCANS, 3000])
def test_a_jpeg_with_too_many_scans_is_refused_before_decoding(repeats):
    with pytest.raises(ValueError, match=r"JPEG has \d+ scans; at most 100 .*baseline JPEG or PNG"):
        load_image(progressive_jpeg(repeats=repeats))


def test_the_scan_budget_shrinks_with_the_picture_size():
    data = progressive_jpeg(shape=(2000, 3000), repeats=80)  # 90 scans: fine at 64 px, not at 6 MP
    with pytest.raises(ValueError, match=r"at most 83 are decoded for a 3000 x 2000 picture"):
        load_image(data)


def test_ordinary_progressive_and_baseline_jpegs_still_load():
    picture = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for data in (jpeg(picture, progressive=True), jpeg(picture), progressive_jpeg(repeats=5)):
        assert load_image(data).shape == (120, 160, 3) or load_image(data).shape == (64, 64, 3)


def test_a_mat_variable_before_groundtruth_is_skipped_uninflated():
    data = mat_with_decoy(64 << 20)
    assert len(data) < 1 << 20
    gt, peak = peak_mb(lambda: load_ground_truth(data))
    assert gt.regions.shape == (20, 30) and gt.source_format == "bsds"
    assert peak < 20, f"the 64 MB decoy was inflated ({peak:.0f} MB)"


@pytest.mark.parametrize("build, message", [
    (lambda: mat_declaring(3 << 30), r"declares 3072\.0 MiB; the limit is 64 MiB"),
    (lambda: mat_declaring(4096, dims=(1, 100_000)), r"cell array of 100000 elements; at most 64"),
    (lambda: mat_declaring(4096, array_class=6), r"numeric array; expected a cell array"),
    (lambda: mat_declaring(4096, name=b"other"), r"no `groundTruth` variable \(variables: other\)"),
    (lambda: mat_file({"groundTruth": np.zeros((3, 3))}), r"numeric array; expected a cell array"),
    (lambda: mat_declaring(4096)[:-40], r"truncated|could not be read|corrupt"),
])
def test_mat_files_are_checked_from_their_headers(build, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(build())


@pytest.mark.parametrize("counts, message", [
    (quadratic_rle(1_300_000), r"run 0 has 1300001 characters; at most 7"),
    (quadratic_rle(8), r"at most 7 \(35 bits\)"),
    ("0" * 17_000_000, r"17,000,000 characters; at most 16,000,000"),
    ("0a\u00e9", r"invalid character 'é' at position 2"),
    ("012N", r"negative run length"),
    ("P", r"truncated"),
])
def test_compressed_rle_strings_are_parsed_in_bounded_linear_time(counts, message):
    annotation = {"image_id": 1, "category_id": 1, "segmentation": {"size": [20, 30], "counts": counts}}
    with pytest.raises(ValueError, match=message):
        load_ground_truth(coco_bytes([annotation], 20, 30))


# --------------------------------------------------------------------------- 3. label values are not sizes


def sparse_truth(shape=(256, 256), labels=(3, 12345, 40000)) -> np.ndarray:
    truth = np.zeros(shape, dtype=np.int32)
    for k, label in enumerate(labels):
        truth[k * 60:(k + 1) * 60] = label
    return truth


@pytest.mark.parametrize("labels", [(3, 12345, 40000), (7, 2**31 - 1), (65535, 65536, 10**6)])
def test_scoring_against_large_label_values_costs_what_the_classes_cost(labels):
    truth = GroundTruth(semantic=sparse_truth(labels=labels), source_format="mask")
    result = Segmentation(np.arange(256 * 256).reshape(256, 256) // 20000, kind="regions")
    scores, peak = peak_mb(lambda: score(result, truth))
    assert any(name.startswith("mean IoU") for name in scores)
    assert all(np.isfinite(value) for value in scores.values())
    assert peak < 60, f"scoring allocated {peak:.0f} MB"
    names = confusion(result, truth)[1]
    assert names[:len(labels) + 1] == ["class 0"] + [f"class {v}" for v in labels]
    assert sum(error_map(result, truth).counts.values()) > 0


def test_compacting_labels_keeps_the_scores():
    rng = np.random.default_rng(1)
    truth = rng.choice([0, 3, 40000, 255], (40, 50))
    pred = rng.choice([0, 3, 40000], (40, 50))
    compact = metrics.compact_labels(pred, truth)
    assert compact.ids.tolist() == [0, 3, 40000]
    dense = metrics.mean_iou(np.searchsorted([0, 3, 40000], pred), np.where(truth == 255, 255,
                             np.searchsorted([0, 3, 40000], truth)), num_classes=3)
    scores = metrics.mean_iou(compact.pred, compact.gt, num_classes=3, ignore_index=compact.ignore_index)
    np.testing.assert_allclose(scores.per_class, dense.per_class)


@pytest.mark.parametrize("call, message", [
    (lambda a: metrics.mean_iou(a, a, num_classes=10**9), r"num_classes=1000000000 is too many classes"),
    (lambda a: metrics.iou(a * 70000, a, num_classes=None), None),  # binary mode: no table at all
    (lambda a: metrics.dice(a, a, num_classes=2**40), r"too many classes"),
    (lambda a: metrics.confusion_matrix(a * 5000, a), r"labels go up to 5000: too many classes \(at most 4096"),
    (lambda a: metrics.mean_iou(a * (2**40), a), r"labels go up to 1099511627776: too many classes"),
    (lambda a: metrics.panoptic_quality(a * 2**40, a), r"class index .*at most 65536 classes"),
    (lambda a: metrics.panoptic_quality(a, a, num_classes=10**7), r"too many classes"),
])
def test_metrics_refuse_class_counts_they_cannot_afford(call, message):
    labels = np.ones((32, 32), dtype=np.int64)
    labels[:5] = 0
    if message is None:
        assert 0 <= call(labels) <= 1
        return
    with pytest.raises(ValueError, match=message):
        call(labels)


def test_match_labels_with_many_ids_and_classes_stays_small():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 200, (400, 400))
    pred = np.arange(400 * 400).reshape(400, 400)  # every pixel its own region
    mapped, peak = peak_mb(lambda: metrics.match_labels(pred, gt))
    np.testing.assert_array_equal(mapped, gt)  # each single-pixel region takes its own pixel's class
    assert peak < 200, f"match_labels allocated {peak:.0f} MB"
    with pytest.raises(ValueError, match=r"classes and `pred` 160000 region ids: too many"):
        metrics.match_labels(pred, rng.integers(0, 1000, (400, 400)))


def test_the_reduced_assignment_is_as_good_as_the_full_one(monkeypatch):
    rng = np.random.default_rng(3)
    for _ in range(20):
        gt = rng.integers(0, 6, (30, 30))
        pred = rng.integers(0, 40, (30, 30))
        full = metrics.match_labels(pred, gt)
        monkeypatch.setattr(metrics, "MAX_MATCH_PAIRS", 216)  # 6**3: forces the top-k reduction
        reduced = metrics.match_labels(pred, gt)
        monkeypatch.undo()
        assert np.count_nonzero(reduced == gt) >= np.count_nonzero(full == gt) - 0  # same total overlap or better
        # the one-to-one part is optimal in both: the total agreement is the same
        assert np.count_nonzero(reduced == gt) == np.count_nonzero(full == gt)


@pytest.mark.parametrize("tolerance", [1e9, 400.0])
def test_one_to_one_boundary_matching_has_a_pair_budget(tolerance):
    labels = np.zeros((300, 300), dtype=np.int32)
    labels[::3] = 1  # a boundary on every row
    with pytest.raises(ValueError, match=r"one-to-one boundary matching would test .* use matching='distance'"):
        metrics.boundary_f1(labels, labels, tolerance=tolerance, matching="one-to-one")
    assert metrics.boundary_f1(labels, labels, tolerance=tolerance).f1 == 1.0


# --------------------------------------------------------------------------- 4. one label map, not one per object


def test_many_small_polygons_on_a_large_image_cost_the_image_not_the_objects():
    data = coco_polygons(600, 2000)
    assert len(data) < 120_000
    gt, peak = peak_mb(lambda: load_ground_truth(data))
    assert gt.instances.max() == 600 or len(gt.segments) == 600
    # the maps themselves: 3 x int32 + bool at 4 MP = 52 MB, plus one order map; 600 full masks would be 2.4 GB
    assert peak < 150, f"{peak:.0f} MB for 600 polygons"


def test_polygons_drawn_in_their_box_match_full_image_rasterisation():
    from pycocotools import mask as coco_mask

    rng = np.random.default_rng(4)
    for _ in range(100):
        h, w = (int(v) for v in rng.integers(8, 50, 2))
        xs, ys = rng.uniform(-1, w + 1, 5), rng.uniform(-1, h + 1, 5)
        polygon = np.ravel(np.column_stack([xs, ys])).tolist()
        ann = {"image_id": 1, "category_id": 1, "segmentation": [polygon]}
        drawn = load_ground_truth(coco_bytes([ann], h, w)).semantic == 1
        expected = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([polygon], h, w))).astype(bool)
        np.testing.assert_array_equal(drawn, expected)


@pytest.mark.parametrize("build, message", [
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": full_rle(4000, 5000)}] * 30, 4000, 5000),
     r"cover 420,000,000 pixels .*at most 400,000,000"),
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 2, 0, 1, 1]]}] * 5_001, 8, 8),
     r"5,001 annotations; at most 5,000"),
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 2, 0, 1, 1]]}] * 1000, 8, 8),
     r"more than 999 instances"),
])
def test_drawing_work_is_budgeted_before_it_is_done(build, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(build())


def test_panoptic_segments_are_decoded_through_one_table(tmp_path):
    ids = np.arange(1000 * 1000, dtype=np.int64).reshape(1000, 1000) // 250 + 1  # 4000 segments of 250 px
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    infos = [{"id": int(i), "category_id": 1, "iscrowd": 0} for i in range(1, 4001)]
    doc = {"images": [{"id": 1, "height": 1000, "width": 1000, "file_name": "a.jpg"}],
           "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": infos}],
           "categories": [{"id": 1, "name": "thing", "isthing": 0}]}
    gt, peak = peak_mb(lambda: load_ground_truth(json.dumps(doc).encode(), panoptic_png=png(rgb)))
    assert len(gt.segments) == 4000 and gt.segments[0]["area"] == 250
    assert peak < 200, f"{peak:.0f} MB for 4000 panoptic segments (4000 full masks would be 4 GB)"


# --------------------------------------------------------------------------- 5. nothing outside the dataset


def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    outside = tmp_path / "outside.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(outside)
    return path, outside


def make_coco(root, file_names):
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    Image.new("RGB", (8, 8)).save(root / "val2017" / "a.jpg")
    images = [{"id": k + 1, "height": 8, "width": 8, "file_name": name} for k, name in enumerate(file_names)]
    doc = {"images": images, "annotations": [], "categories": [{"id": 1, "name": "x"}]}
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("escape", ["../../outside.png", "ABSOLUTE", "link.png", "../val2017/../../outside.png"])
def test_coco_file_names_must_stay_in_the_dataset(tmp_path, escape):
    _, outside = secret(tmp_path)
    root = tmp_path / "coco"
    name = str(outside) if escape == "ABSOLUTE" else escape
    make_coco(root, ["a.jpg", name])
    if escape == "link.png":
        os.symlink(outside, root / "val2017" / "link.png")
    dataset = open_dataset(root)
    index = next(i for i in range(len(dataset)) if dataset._entries[i][0] == name)
    with pytest.raises(ValueError, match=r"resolves outside the folder .*only files inside"):
        dataset[index]
    assert dataset[1 - index].image.shape == (8, 8, 3)


def test_coco_records_of_the_wrong_type_are_left_out_with_a_note(tmp_path):
    root = tmp_path / "coco"
    make_coco(root, ["a.jpg"])
    path = root / "annotations" / "instances_val2017.json"
    doc = json.loads(path.read_text())
    doc["images"] += [{"id": 7, "file_name": 5}, {"id": [1], "file_name": "b.jpg"}, {"id": 8}, "x"]
    doc["annotations"] = [{"image_id": [1]}, 3, {"image_id": 1, "category_id": 1, "segmentation": []}]
    path.write_text(json.dumps(doc))
    dataset = open_dataset(root)
    assert len(dataset) == 1 and "4 image record(s)" in dataset.notes[0]
    assert dataset[0].ground_truth.shape == (8, 8)


def make_voc(root, ids):
    folder = root / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (folder / sub).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "JPEGImages" / "a.jpg")
    Image.new("P", (8, 8)).save(folder / "SegmentationClass" / "a.png")
    (folder / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids))
    return folder


def test_voc_ids_and_splits_cannot_name_other_files(tmp_path):
    secret(tmp_path)
    folder = make_voc(tmp_path / "voc", ["a", "../../../outside", "/etc/passwd", "..", "a/../a"])
    dataset = open_dataset(tmp_path / "voc")
    assert len(dataset) == 1 and "4 listed id(s) are not plain file names" in " ".join(dataset.notes)
    for split in ("../../secret", "/etc/passwd", "val/../val", ""):
        with pytest.raises(ValueError, match=r"`split` is .*expected a plain name"):
            open_dataset(tmp_path / "voc", split=split)
    (folder / "SegmentationClass" / "a.png").unlink()
    os.symlink(tmp_path / "outside.png", folder / "SegmentationClass" / "a.png")
    with pytest.raises(ValueError, match=r"ground truth of sample 'a' resolves outside"):
        dataset[0]
    with pytest.raises(ValueError, match=r"resolves outside"):
        dataset.truth_file(0)


def test_a_split_list_that_is_a_device_is_not_read(tmp_path):
    folder = make_voc(tmp_path / "voc", ["a"])
    listing = folder / "ImageSets" / "Segmentation" / "val.txt"
    listing.unlink()
    os.symlink("/dev/zero", listing)
    with pytest.raises(ValueError):
        open_dataset(tmp_path / "voc")


def test_masks_linked_out_of_the_folder_fail_their_sample_only(tmp_path):
    _, outside = secret(tmp_path)
    for sub in ("images", "masks"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    for name in ("a", "b"):
        Image.new("RGB", (8, 8)).save(tmp_path / "data" / "images" / f"{name}.png")
    Image.new("L", (8, 8)).save(tmp_path / "data" / "masks" / "a.png")
    os.symlink(outside, tmp_path / "data" / "masks" / "b.png")
    dataset = open_dataset(tmp_path / "data")
    assert dataset[0].ground_truth.shape == (8, 8)
    with pytest.raises(ValueError, match=r"ground truth of sample 'b' resolves outside"):
        dataset[1]


def test_panoptic_file_names_stay_beside_the_json(tmp_path):
    _, outside = secret(tmp_path)
    (tmp_path / "ann").mkdir()
    for file_name in ("../outside.png", str(outside)):
        doc = {"images": [{"id": 1, "height": 8, "width": 8}], "categories": [{"id": 1, "name": "x"}],
               "annotations": [{"image_id": 1, "file_name": file_name, "segments_info": []}]}
        path = tmp_path / "ann" / "panoptic.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match=r"resolves outside"):
            load_ground_truth(path)


def test_data_root_limits_the_folders_a_server_opens(tmp_path, monkeypatch):
    make_voc(tmp_path / "voc", ["a"])
    monkeypatch.setenv("SEGDASH_DATA_ROOT", str(tmp_path / "elsewhere"))
    with pytest.raises(ValueError, match=r"resolves outside"):
        open_dataset(tmp_path / "voc")
    monkeypatch.setenv("SEGDASH_DATA_ROOT", str(tmp_path))
    assert len(open_dataset(tmp_path / "voc")) == 1


@pytest.mark.parametrize("content", [b"root:x:0:0:root:/root:/bin/bash\n", b"\x00\x01secret-key-material" * 4,
                                     b"PRIVATE KEY-----\nMIIEv"])
def test_messages_never_quote_what_a_file_holds(content):
    for call in (load_image, load_ground_truth):
        with pytest.raises(ValueError) as error:
            call(content)
        assert "root" not in str(error.value) and "secret" not in str(error.value)
        assert "PRIVATE" not in str(error.value)


# --------------------------------------------------------------------------- 6. ValueError everywhere


@pytest.mark.parametrize("build, message", [
    (lambda: nested_json(), r"nested too deeply"),
    (lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000, r"nested too deeply"),
    (lambda: coco_bytes([], 4, 4, [{"id": 1, "name": "x", "color": [300, -1, 5]}]), r'"color" .*0 to 255'),
    (lambda: coco_bytes([], 4, 4, [{"id": 1, "name": "x", "color": "red"}]), r'"color" .*\[r, g, b\]'),
    (lambda: coco_bytes([], 4, 4, [{"id": 1, "name": ["x"] * 10**5}]), r'"name" .*must be a string'),
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [[1e400, 0, 1, 1, 2, 2]]}], 4, 4),
     r"non-finite|JSON"),
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [[10**400, 0, 1, 1, 2, 2]]}], 4, 4),
     r"non-finite or huge"),
    (lambda: coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": {"size": [4, 4], "counts": [10**30]}}],
                        4, 4), r"non-negative integers, at most"),
])
def test_bad_annotation_data_gives_a_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(build())


@pytest.mark.parametrize("kwargs, message", [
    ({"preprocess_options": "blur"}, r"preprocess_options='blur' is not allowed: expected a dict"),
    ({"postprocess_options": [1, 2]}, r"postprocess_options=.* expected a dict"),
    ({"image_shape": [float("inf"), 3]}, None),
])
def test_options_of_the_wrong_type_give_a_value_error(kwargs, message):
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    if "image_shape" in kwargs:
        with pytest.raises(ValueError, match=r"`image_shape` is"):
            load_ground_truth(png(np.zeros((4, 4), np.uint8)), **kwargs)
        return
    with pytest.raises(ValueError, match=message):
        seglib.segment(image, "otsu", **kwargs)


@pytest.mark.parametrize("shape", [(5,), "ab", (0, 0), (-3, 4), ("a", 3), 5, (3.5, 2), [float("nan"), 3], None])
def test_bad_original_shapes_give_a_value_error(shape):
    from seglib.interactive import working_prompts

    image = np.zeros((16, 16, 3))
    if shape is None:
        assert working_prompts(image, [[3, 3, 1]], None, shape, method="flood-fill")[0].positive.shape == (1, 2)
        return
    with pytest.raises(ValueError, match=r"original_shape=.* is not allowed"):
        working_prompts(image, [[3, 3, 1]], None, shape, method="flood-fill")


# --------------------------------------------------------------------------- 7. same values, same picture


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.uint32, np.int16])
def test_integer_copies_of_a_photo_are_the_same_photo(dtype):
    rng = np.random.default_rng(5)
    photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    photo[:24] //= 4
    copy = photo.astype(dtype)
    np.testing.assert_allclose(as_float(copy), as_float(photo))
    first = seglib.segment(photo, "kmeans", n_clusters=3).labels
    np.testing.assert_array_equal(seglib.segment(copy, "kmeans", n_clusters=3).labels, first)


def test_integer_scaling_rule_by_value():
    assert as_float(np.array([[0, 4095], [2048, 1]], dtype=np.int64)).max() == 1.0  # 12-bit data
    assert as_float(np.array([[0, 65535], [1, 2]], dtype=np.uint16)).max() == 1.0
    stretched = as_float(np.array([[-5, 5], [0, 0]], dtype=np.int64))
    np.testing.assert_allclose(stretched, [[0, 1], [0.5, 0.5]])
    assert as_float(np.full((4, 4), 2**40, dtype=np.int64)).max() == 0.0  # constant: black, never NaN


def test_bsds_ids_beyond_int32_are_renumbered_not_wrapped():
    seg = np.full((10, 12), 2**31, dtype=np.uint64)
    seg[:5] = 2**33 + 7
    seg[:, :3] = 5
    gt = load_ground_truth(mat_file({"groundTruth": bsds_cells([seg])}))
    assert gt.regions.min() >= 1 and sorted(np.unique(gt.regions).tolist()) == [1, 2, 3]
    assert (gt.regions[:5, 3:] == 3).all() and (gt.regions[:, :3] == 1).all()
    assert any("renumbered" in note for note in gt.notes)


# --------------------------------------------------------------------------- 10. messages that say what is wrong


def test_a_mask_decompression_bomb_is_called_what_it_is():
    data = png_bomb(15000)
    assert len(data) < 200_000
    for call in (load_ground_truth, load_image):
        with pytest.raises(ValueError, match=r"too large to decode safely") as error:
            call(data)
        assert "damaged" not in str(error.value)


def test_a_png_text_chunk_bomb_is_called_what_it_is():
    with pytest.raises(ValueError, match=r"decompression bomb") as error:
        load_ground_truth(png_text_bomb())
    assert "damaged" not in str(error.value)


def test_devices_and_endless_streams_are_named_as_such(tmp_path):
    with pytest.raises(ValueError, match=r"not a regular file \(it is a folder, device or pipe\)"):
        load_image("/dev/zero")
    with open("/dev/zero", "rb") as handle, pytest.raises(ValueError, match=r"reading from a device"):
        load_image(handle)
    with pytest.raises(ValueError, match=r"not a regular file"):
        load_ground_truth(tmp_path)

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"\x00" * len(buffer)
            return len(buffer)

    with pytest.raises(ValueError, match=r"larger than the limit of 1000 bytes \(reading stopped there"):
        load_image(Endless(), max_bytes=1000)


def test_a_file_just_over_the_limit_gets_distinct_numbers():
    with pytest.raises(ValueError, match=r"the file is 200,000,001 bytes; the limit is 200,000,000 bytes"):
        gt_module.read_bytes  # the same rule serves both readers
        from seglib.io.images import _check_size
        _check_size(200_000_001, 200_000_000)


def test_bad_json_says_where():
    with pytest.raises(ValueError, match=r"not valid JSON: .* at line 1, column \d+"):
        load_ground_truth(b'{"images": [1, 2,, 3]}')


# --------------------------------------------------------------------------- cousins: work hidden in counts


def test_a_zig_zag_polygon_has_an_outline_budget():
    polygon = []
    for k in range(20_000):
        polygon += [float(k % 2) * 3999, k / 5]
    data = coco_bytes([{"image_id": 1, "category_id": 1, "segmentation": [polygon]}], 4000, 4000)
    assert len(data) < 500_000
    with pytest.raises(ValueError, match=r"pixels of outline; at most 4,000,000 .*zig-zagging"):
        load_ground_truth(data)


def test_a_png_of_half_a_million_empty_chunks_is_refused_before_pillow_reads_it():
    from hostile_inputs import png_with_empty_chunks

    data = png_with_empty_chunks(500_000)
    for call in (load_image, load_ground_truth):
        with pytest.raises(ValueError, match=r"more than 50,000 chunks"):
            call(data)
    assert load_image(png_with_empty_chunks(100)).shape == (4, 4, 3)


def test_gif_frames_are_not_counted_one_by_one():
    from hostile_inputs import gif_with_frames

    many = gif_with_frames(50_000)  # 1.2 MB
    loaded = seglib.io.load_image_with_info(many)
    assert loaded.image.shape == (2, 2, 3) and "more than 100 frames" in " ".join(loaded.notices)
    assert any("several frames" in note for note in load_ground_truth(many).notes)


def test_coco_json_larger_than_its_cap_is_refused_before_parsing():
    data = b'{"images": [], "pad": "' + b"x" * (33 << 20) + b'"}'
    with pytest.raises(ValueError, match=r"33\.0 MiB; at most 32 MiB"):
        load_ground_truth(data)


@pytest.mark.parametrize("segment", [b"\xff\xfe\x00\x02", b"\xff\xe1\x00\x02", b"\xff\xd0"])
def test_a_jpeg_of_millions_of_empty_header_segments_is_refused_before_pillow_reads_them(segment):
    from hostile_inputs import jpeg_with_segments

    for call in (load_image, load_ground_truth):
        with pytest.raises(ValueError, match=r"more than 2,000 header segments"):
            call(jpeg_with_segments(segment, 1_000_000))
    if segment != b"\xff\xd0":  # a few comment or EXIF segments are ordinary
        assert load_image(jpeg_with_segments(segment, 50)).shape == (8, 8, 3)


@pytest.mark.parametrize("data, named", [
    (b"%!PS-Adobe-3.0 EPSF-3.0\n" + b"%%Comment\n" * 2_000_000, "PostScript"),
    (b"icns" + (20_000_008).to_bytes(4, "big") + b"ic07\x00\x00\x00\x08" * 2_500_000, "ICNS"),
    (b"8BPS\x00\x01" + b"\x00" * 5_000_000, "PSD"),
])
def test_other_formats_are_named_without_letting_their_parsers_walk_the_file(data, named):
    for call in (load_image, load_ground_truth):  # time: benchmarks/bench_hostile.py
        with pytest.raises(ValueError, match=named):
            call(data)


def test_a_tiff_of_millions_of_strips_is_refused_before_pillow_lists_them():
    from hostile_inputs import tiff_strips

    for call in (load_image, load_ground_truth):
        with pytest.raises(ValueError, match=r"declares 5,000,000 strips or tiles; at most 100,000"):
            call(tiff_strips())
    assert load_image(tiff_strips(500)).shape == (500, 1, 3)


# --------------------------------------------------------------------------- 9. user text is never Markdown


PAYLOADS = ["[re-login](https://evil.example/login)", "![x](https://evil.example/t.png)", "<https://evil.example>",
            "www.evil.example", "admin@evil.example", ":red[ALERT] :material/lock:", "$\\frac{1}{0}$",
            "# Heading", "`code` and ``more``", "line\n\n- list"]


def outside_code(text: str) -> str:
    """``text`` with its inline code spans removed (what Streamlit would render as Markdown)."""
    import re

    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_text_keeps_no_markdown_construct(payload):
    from ui.markdown import code, escape_markdown

    escaped = escape_markdown(payload)
    for construct in ("[", "](", "![", "<http", "\n"):
        assert construct not in escaped.replace("\\[", "").replace("\\<", "").replace("\\!", "")
    assert "://" not in escaped and "www." not in escaped and "@e" not in escaped and ":r" not in escaped
    assert escaped.replace("\\", "").replace("\u200b", "") == " ".join(payload.splitlines()).replace("\\", "")
    spanned = code(payload)
    assert outside_code(spanned) == "" and "\n" not in spanned


@pytest.mark.parametrize("payload", PAYLOADS)
def test_share_link_text_reaches_warnings_only_as_code(payload):
    from ui.share import parse_query

    view = parse_query({payload: payload, "method": payload, "sample": payload, "p." + payload: "1"})
    assert len(view.warnings) == 4
    for warning in view.warnings:
        rest = outside_code(warning)
        assert "](" not in rest and "https" not in rest and "evil" not in rest, warning


def test_share_links_with_thousands_of_keys_list_ten():
    from ui.share import MAX_WARNINGS, parse_query

    view = parse_query({f"k{i}": "1" for i in range(5000)})
    assert len(view.warnings) == MAX_WARNINGS + 1 and "4990 more" in view.warnings[-1]


def test_chart_labels_from_files_are_not_html():
    import pandas as pd

    from seglib.charts import class_iou_bars, confusion_heatmap

    name = '<a href="https://evil.example">re-login</a>'
    bars = class_iou_bars(pd.DataFrame({"method": ["m"], "class": [name], "IoU": [0.5]}))
    heat = confusion_heatmap(np.eye(2, dtype=int), ["background", name])
    for labels in (bars.data[0].x, heat.data[0].x):
        assert not any("<a" in str(label) for label in labels)
