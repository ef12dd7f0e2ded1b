"""Tests for seglib.io.ground_truth: masks, VOC, COCO, COCO panoptic, BSDS500."""

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as coco_mask

from seglib.io import GroundTruth, load_ground_truth, resize_ground_truth
from seglib.io.coco_masks import compressed_runs
from seglib.io.ground_truth import VOC_CLASSES, voc_colormap

# shared/ lies beside the repository (the checkout and CI both lay it there).
COCO_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco-sample"
H, W = 20, 30


# --------------------------------------------------------------------------- helpers


def png_bytes(array_or_image, mode=None, **save):
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image, mode)
    buffer = io.BytesIO()
    image.save(buffer, save.pop("format", "PNG"), **save)
    return buffer.getvalue()


def voc_png(indices):
    image = Image.frombytes("P", indices.shape[::-1], indices.astype(np.uint8).tobytes())
    image.putpalette(voc_colormap().ravel().tolist())
    return png_bytes(image)


def uncompressed_rle(mask):
    """COCO uncompressed RLE of a boolean mask (column-major runs, starting with zeros)."""
    flat = mask.ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(edges).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"size": list(mask.shape), "counts": counts}


def compressed_rle(mask):
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def box(top, left, bottom, right, shape=(H, W)):
    mask = np.zeros(shape, dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def coco_doc(annotations, images=None, categories=None):
    return {
        "images": images if images is not None else [{"id": 7, "height": H, "width": W, "file_name": "a.jpg"}],
        "annotations": annotations,
        "categories": categories if categories is not None else [
            {"id": 3, "name": "car"}, {"id": 1, "name": "person"}],
    }


def ann(segmentation, category_id=1, iscrowd=0, ann_id=None, image_id=7):
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": iscrowd,
            "segmentation": segmentation}


def load_json(doc, **kwargs):
    return load_ground_truth(json.dumps(doc).encode(), **kwargs)


def bsds_mat(segmentations, boundaries=None):
    """A .mat in BSDS500's layout: a 1 x K cell of 1 x 1 structs (Segmentation, Boundaries)."""
    cells = np.empty((1, len(segmentations)), dtype=object)
    for k, seg in enumerate(segmentations):
        fields = [("Segmentation", "O"), ("Boundaries", "O")] if boundaries is not None else [("Segmentation", "O")]
        record = np.empty((1, 1), dtype=fields)
        record[0, 0]["Segmentation"] = seg.astype(np.uint16)
        if boundaries is not None:
            record[0, 0]["Boundaries"] = boundaries[k].astype(np.uint8)
        cells[0, k] = record
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"groundTruth": cells})
    return buffer.getvalue()


def png_header_only(width, height):
    """A PNG with a valid IHDR claiming width x height and no pixel data."""
    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- masks and VOC


@pytest.mark.parametrize("as_source", ["bytes", "path", "file"])
def test_voc_palette_png_indices_are_classes(tmp_path, as_source):
    indices = np.zeros((12, 16), dtype=np.uint8)
    indices[2:8, 3:9] = 15  # person
    indices[1, :] = 255     # void border
    indices[9:, 10:] = 20   # tvmonitor
    data = voc_png(indices)
    source = {"bytes": data, "file": io.BytesIO(data)}.get(as_source)
    if as_source == "path":
        source = tmp_path / "mask.dat"  # extension is irrelevant: content decides
        source.write_bytes(data)
    gt = load_ground_truth(source)
    assert gt.source_format == "voc"
    assert gt.class_names == list(VOC_CLASSES) and len(gt.class_names) == 21
    assert gt.class_names[15] == "person" and gt.class_names[20] == "tvmonitor"
    assert gt.ignore_index == 255
    np.testing.assert_array_equal(gt.semantic, indices)
    assert gt.semantic.dtype == np.int32 and gt.instances is None


def test_voc_colormap_known_entries():
    colours = voc_colormap()
    assert colours.shape == (256, 3)
    assert colours[1].tolist() == [128, 0, 0]
    assert colours[15].tolist() == [192, 128, 128]
    assert colours[255].tolist() == [224, 224, 192]
    assert len({tuple(c) for c in colours.tolist()}) == 256


@pytest.mark.parametrize("foreground", [1, 255])
def test_binary_masks_become_zero_one(foreground):
    mask = box(3, 4, 10, 12)
    gt = load_ground_truth(png_bytes((mask * foreground).astype(np.uint8), "L"))
    assert gt.source_format == "mask"
    assert gt.class_names == ["background", "foreground"]
    np.testing.assert_array_equal(gt.semantic, mask.astype(np.int32))
    assert gt.ignore_index is None


def test_one_bit_mask():
    mask = box(0, 0, 5, 5)
    gt = load_ground_truth(png_bytes(Image.fromarray(mask)))
    np.testing.assert_array_equal(gt.semantic, mask)
    assert gt.class_names == ["background", "foreground"]


def test_gray_label_image_keeps_values():
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[:4, 4:], labels[4:, :4], labels[4:, 4:] = 1, 2, 7
    gt = load_ground_truth(png_bytes(labels, "L"))
    np.testing.assert_array_equal(gt.semantic, labels)
    assert gt.class_names is None
    assert any("class indices" in note for note in gt.notes)


def test_sixteen_bit_label_png():
    labels = np.zeros((6, 9), dtype=np.uint16)
    labels[:, 3:6], labels[:, 6:] = 300, 40000
    image = Image.frombytes("I;16", (9, 6), labels.tobytes())
    gt = load_ground_truth(png_bytes(image))
    np.testing.assert_array_equal(gt.semantic, labels.astype(np.int32))


def test_rgb_mask_in_voc_colours_maps_to_voc_indices():
    voc = voc_colormap()
    indices = np.zeros((10, 10), dtype=np.int32)
    indices[2:6, 2:6], indices[7:, 7:], indices[0, :] = 12, 1, 255
    gt = load_ground_truth(png_bytes(voc[indices]))
    assert gt.source_format == "voc" and gt.ignore_index == 255
    np.testing.assert_array_equal(gt.semantic, indices)


def test_rgb_colour_mask_maps_each_colour_to_a_class():
    colours = np.array([[0, 0, 0], [10, 200, 30], [250, 5, 90]], dtype=np.uint8)
    truth = np.zeros((9, 12), dtype=np.int32)
    truth[:, 4:8], truth[:, 8:] = 1, 2
    gt = load_ground_truth(png_bytes(colours[truth]))
    assert gt.source_format == "mask"
    assert gt.class_names[0] == "background" and len(gt.class_names) == 3
    np.testing.assert_array_equal(gt.semantic == 0, truth == 0)
    # every pixel's class colour is its original colour, and distinct colours stay distinct
    np.testing.assert_array_equal(gt.palette[gt.semantic], colours[truth])
    assert len(np.unique(gt.semantic)) == 3


def test_black_and_white_rgb_is_binary():
    mask = box(2, 2, 6, 9)
    rgb = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
    gt = load_ground_truth(png_bytes(rgb))
    np.testing.assert_array_equal(gt.semantic, mask)
    assert gt.class_names == ["background", "foreground"]


def test_photograph_is_not_a_colour_mask():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="distinct colours"):
        load_ground_truth(png_bytes(photo))


def test_jpeg_mask_is_refused_as_lossy():
    data = png_bytes(np.zeros((8, 8), np.uint8), "L", format="JPEG")
    with pytest.raises(ValueError, match="lossy"):
        load_ground_truth(data)


def test_garbage_bytes_are_refused():
    with pytest.raises(ValueError, match="mask image"):
        load_ground_truth(b"this is neither an image nor json")


def test_image_over_40_megapixels_is_refused_before_decoding():
    with pytest.raises(ValueError, match="megapixels"):
        load_ground_truth(png_header_only(8000, 6000))


def test_file_over_max_bytes_is_refused(tmp_path):
    data = png_bytes(np.zeros((32, 32), np.uint8), "L")
    with pytest.raises(ValueError, match="limit"):
        load_ground_truth(data, max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="limit"):
        load_ground_truth(path, max_bytes=10)
    with pytest.raises(ValueError, match="max_bytes"):
        load_ground_truth(data, max_bytes=0)


def test_missing_path_and_wrong_type():
    with pytest.raises(ValueError, match="not an existing file"):
        load_ground_truth("/nonexistent/mask.png")
    with pytest.raises(ValueError, match="source"):
        load_ground_truth(12345)


# --------------------------------------------------------------------------- image_shape and resizing


def test_image_shape_mismatch_names_both_shapes():
    data = png_bytes(np.zeros((10, 20), np.uint8), "L")
    assert load_ground_truth(data, image_shape=(10, 20, 3)).shape == (10, 20)
    with pytest.raises(ValueError, match=r"\(10, 20\).*\(20, 40\).*resize_ground_truth"):
        load_ground_truth(data, image_shape=(20, 40))
    with pytest.raises(ValueError, match="image_shape"):
        load_ground_truth(data, image_shape=(10,))


def test_resize_is_nearest_and_keeps_labels():
    labels = np.arange(12, dtype=np.int32).reshape(3, 4)
    gt = GroundTruth(semantic=labels, class_names=[str(i) for i in range(12)])
    bigger = resize_ground_truth(gt, (6, 8, 3))
    np.testing.assert_array_equal(bigger.semantic, np.repeat(np.repeat(labels, 2, axis=0), 2, axis=1))
    back = resize_ground_truth(bigger, (3, 4))
    np.testing.assert_array_equal(back.semantic, labels)
    assert gt.semantic.shape == (3, 4)  # input not modified
    assert set(np.unique(resize_ground_truth(gt, (28, 37)).semantic)) <= set(labels.ravel())


def test_resize_keeps_thin_boundaries_when_shrinking():
    regions = np.ones((40, 60), dtype=np.int32)
    regions[:, 31:] = 2
    boundaries = np.zeros((40, 60), dtype=bool)
    boundaries[:, 31] = True  # one pixel wide, at an odd column
    gt = GroundTruth(regions=regions, boundaries=boundaries, annotators=[regions],
                     annotator_boundaries=[boundaries], source_format="bsds")
    small = resize_ground_truth(gt, (20, 30))
    assert small.boundaries.shape == (20, 30)
    assert small.boundaries[:, 15].all() and small.boundaries.sum() == 20
    assert small.annotator_boundaries[0].sum() == 20
    assert small.annotators[0].shape == (20, 30)


def test_resize_refuses_other_aspect_ratio():
    gt = GroundTruth(semantic=np.zeros((10, 20), np.int32))
    resize_ground_truth(gt, (20, 40))  # same ratio: fine
    resize_ground_truth(gt, (100, 201))  # 0.5 % off: fine
    with pytest.raises(ValueError, match=r"\(10, 20\).*\(20, 20\)"):
        resize_ground_truth(gt, (20, 20))


# --------------------------------------------------------------------------- COCO instances


def test_coco_polygon_and_rles_with_overlap_and_crowd():
    # box(2, 3, 12, 13): the polygon below, drawn first, class "car" (id 3)
    rle_mask = box(8, 8, 18, 20)               # overlaps the polygon, drawn over it
    compressed_mask = box(0, 22, 5, 30)
    crowd_mask = box(15, 0, 20, 6)
    polygon = [3, 2, 13, 2, 13, 12, 3, 12]     # x, y pairs of the same box
    doc = coco_doc([
        ann([polygon], category_id=3, ann_id=10),
        ann(uncompressed_rle(rle_mask), category_id=1, ann_id=11),
        ann(compressed_rle(compressed_mask), category_id=1, ann_id=12),
        ann(uncompressed_rle(crowd_mask), category_id=3, iscrowd=1, ann_id=13),
    ])
    gt = load_json(doc)
    assert gt.source_format == "coco" and gt.image_id == 7
    assert gt.class_names == ["background", "person", "car"]  # sorted by category id
    assert gt.category_ids == [0, 1, 3]
    person, car = 1, 2
    # polygon rasterisation matches pycocotools' on the interior; draw order decides overlaps
    assert (gt.semantic[3:8, 4:12] == car).all()
    assert (gt.semantic[rle_mask] == person).all()
    assert (gt.semantic[compressed_mask] == person).all()
    assert (gt.semantic[crowd_mask] == car).all()
    assert (gt.instances[3:8, 4:12] == 1).all()
    np.testing.assert_array_equal(gt.instances == 2, rle_mask)
    np.testing.assert_array_equal(gt.instances == 3, compressed_mask)
    assert gt.instances.max() == 3 and not gt.instances[crowd_mask].any()
    np.testing.assert_array_equal(gt.crowd, crowd_mask)
    labelled = gt.panoptic > 0
    np.testing.assert_array_equal(gt.panoptic[labelled] // 1000, gt.semantic[labelled])
    np.testing.assert_array_equal(gt.panoptic % 1000, gt.instances)
    np.testing.assert_array_equal(labelled, gt.semantic > 0)
    assert [s["instance"] for s in gt.segments] == [1, 2, 3, 0]
    assert [s["id"] for s in gt.segments] == [10, 11, 12, 13]
    assert gt.segments[1]["area"] == rle_mask.sum()
    assert gt.segments[0]["area"] == (gt.instances == 1).sum() < 100  # partly covered by the RLE
    assert any("overlap" in note for note in gt.notes) and any("crowd" in note for note in gt.notes)


def test_coco_polygon_tolerance_of_one_pixel():
    inside = [0, 0, W + 0.5, 0, W + 0.5, H, 0, H]
    gt = load_json(coco_doc([ann([inside])]))
    assert (gt.semantic == 1).all()
    outside = [0, 0, W + 5, 0, W + 5, H, 0, H]
    with pytest.raises(ValueError, match=r"annotations\[0\] polygon 0.*outside"):
        load_json(coco_doc([ann([outside])]))


def test_coco_multiple_images_need_image_id():
    images = [{"id": i, "height": H, "width": W} for i in (5, 7, 9)]
    doc = coco_doc([ann([[1, 1, 5, 1, 5, 5]], image_id=5), ann([[1, 1, 9, 1, 9, 9]], image_id=9)], images=images)
    with pytest.raises(ValueError, match=r"3 images.*image_id.*5, 7, 9"):
        load_json(doc)
    gt = load_json(doc, image_id=9)
    assert gt.image_id == 9 and len(gt.segments) == 1 and gt.semantic[2, 6] == 1
    assert not load_json(doc, image_id=7).semantic.any()
    with pytest.raises(ValueError, match=r"`image_id` 4 is not in the COCO JSON.*5, 7, 9"):
        load_json(doc, image_id=4)
    with pytest.raises(ValueError, match="integer"):
        load_json(doc, image_id="9")


def test_coco_image_shape_checked():
    doc = coco_doc([])
    assert load_json(doc, image_shape=(H, W, 3)).shape == (H, W)
    with pytest.raises(ValueError, match="image_shape"):
        load_json(doc, image_shape=(W, H))


@pytest.mark.parametrize("text, message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "must be a JSON object"),
    (json.dumps({"annotations": [], "categories": []}).encode(), '"images"'),
    (json.dumps({"images": [], "annotations": {}, "categories": []}).encode(), '"annotations".*list'),
    (json.dumps(coco_doc([], images=[{"id": 1, "height": "10", "width": 5}])).encode(), '"height"'),
    (json.dumps(coco_doc([], images=[{"id": 1, "height": 0, "width": 5}])).encode(), "positive"),
    (json.dumps(coco_doc([], images=[])).encode(), "no images"),
    (json.dumps(coco_doc([], categories=[{"id": 1}])).encode(), '"name"'),
    (json.dumps(coco_doc([], categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])).encode(), "twice"),
])
def test_coco_structure_errors(text, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(text)


@pytest.mark.parametrize("annotation, message", [
    (ann([[1, 1, 5, 1, 5, 5]], category_id=99), "unknown category_id 99"),
    ({"image_id": 7, "category_id": 1}, '"segmentation"'),
    (ann([[1, 1, 5, 1]]), "4 numbers.*at least 6"),
    (ann([[1, 1, 5, 1, 5]]), "even count"),
    (ann([[1, 1, 5, float("nan"), 5, 5]]), "non-finite"),
    (ann([[1, 1, 5, float("inf"), 5, 5]]), "non-finite"),
    (ann([[1, 1, -3, 1, 5, 5]]), "outside"),
    (ann([1, 1, 5, 1, 5, 5]), "list of numbers"),
    (ann([["a", 1, 5, 1, 5, 5]]), "list of numbers"),
    (ann({"size": [H + 1, W], "counts": [H * W + W]}), "size.*differs"),
    (ann({"size": [H, W], "counts": [10, 20]}), "sum to 30"),
    (ann({"size": [H, W], "counts": [H * W + 1, -1]}), "non-negative"),
    (ann({"size": [H, W]}), '"counts"'),
    (ann({"size": [H], "counts": [H * W]}), "height, width"),
    (ann({"size": [H, W], "counts": compressed_rle(box(0, 0, 2, 2, (4, 5)))["counts"]}), "compressed RLE.*sum"),
    (ann({"size": [H, W], "counts": "0" + "~" * 3}), "invalid character"),
    (ann({"size": [H, W], "counts": "P"}), "truncated"),
])
def test_coco_annotation_errors(annotation, message):
    with pytest.raises(ValueError, match=message):
        load_json(coco_doc([annotation]))


def test_compressed_rle_total_matches_pycocotools():
    mask = box(3, 4, 17, 25) | box(0, 0, 1, W)
    counts = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
    assert compressed_runs(counts, "x").sum() == H * W


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_compressed_rle_total_property(height, width, seed):
    mask = np.random.default_rng(seed).random((height, width)) < 0.5
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert compressed_runs(rle["counts"].decode(), "x").sum() == height * width
    gt = load_json(coco_doc([ann({"size": [height, width], "counts": rle["counts"].decode()})],
                            images=[{"id": 7, "height": height, "width": width}]))
    np.testing.assert_array_equal(gt.instances == 1, mask)


# --------------------------------------------------------------------------- COCO panoptic


def panoptic_pair(segment_ids, infos, image_id=3):
    ids = np.asarray(segment_ids, dtype=np.int64)
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    doc = {
        "images": [{"id": image_id, "height": ids.shape[0], "width": ids.shape[1], "file_name": "x.jpg"}],
        "annotations": [{"image_id": image_id, "file_name": "x.png", "segments_info": infos}],
        "categories": [{"id": 1, "name": "person", "isthing": 1}, {"id": 5, "name": "sky", "isthing": 0}],
    }
    return json.dumps(doc).encode(), png_bytes(rgb)


def test_coco_panoptic_pair(tmp_path):
    ids = np.zeros((6, 8), dtype=np.int64)
    ids[:3, :] = 70000      # sky (stuff), id above 65535 uses the blue channel
    ids[3:, :4] = 300       # person instance
    ids[3:, 4:7] = 12       # person, crowd
    infos = [{"id": 300, "category_id": 1, "iscrowd": 0}, {"id": 70000, "category_id": 5},
             {"id": 12, "category_id": 1, "iscrowd": 1}]
    text, png = panoptic_pair(ids, infos)
    gt = load_ground_truth(text, panoptic_png=png)
    assert gt.source_format == "coco-panoptic" and gt.class_names == ["background", "person", "sky"]
    assert (gt.semantic[:3] == 2).all() and (gt.semantic[3:, :7] == 1).all()
    assert gt.ignore_index == 255 and (gt.semantic[3:, 7] == 255).all()  # void column
    np.testing.assert_array_equal(gt.instances == 1, ids == 300)
    assert gt.instances.max() == 1
    assert (gt.panoptic[:3] == 2000).all() and (gt.panoptic[3:, :4] == 1001).all()
    assert (gt.panoptic[3:, 4:7] == 1000).all() and (gt.panoptic[3:, 7] == 0).all()
    np.testing.assert_array_equal(gt.crowd, ids == 12)
    # found by path: the PNG lives in the folder named after the JSON file
    (tmp_path / "pan").mkdir()
    (tmp_path / "pan" / "x.png").write_bytes(png)
    (tmp_path / "pan.json").write_bytes(text)
    np.testing.assert_array_equal(load_ground_truth(tmp_path / "pan.json").panoptic, gt.panoptic)


def test_coco_panoptic_errors():
    ids = np.full((4, 4), 9)
    text, png = panoptic_pair(ids, [{"id": 8, "category_id": 1}])
    with pytest.raises(ValueError, match=r"segment ids \[9\]"):
        load_ground_truth(text, panoptic_png=png)
    with pytest.raises(ValueError, match="panoptic_png"):
        load_ground_truth(text)
    _, small = panoptic_pair(np.full((3, 4), 9), [])
    with pytest.raises(ValueError, match="shape"):
        load_ground_truth(text, panoptic_png=small)


# --------------------------------------------------------------------------- real COCO sample


@pytest.fixture
def coco_sample():
    if not (COCO_SAMPLE / "instances.json").is_file():
        pytest.skip("shared COCO sample not available")
    return COCO_SAMPLE


def test_real_coco_needs_image_id(coco_sample):
    with pytest.raises(ValueError, match="142238"):
        load_ground_truth(coco_sample / "instances.json")


@pytest.mark.parametrize("image_id", [142238, 439180])
def test_real_coco_instances_agree_with_panoptic(coco_sample, image_id):
    doc = json.loads((coco_sample / "instances.json").read_text())
    inst = load_ground_truth(coco_sample / "instances.json", image_id=image_id)
    pan = load_ground_truth(coco_sample / "panoptic.json", image_id=image_id)
    with Image.open(coco_sample / "images" / f"{image_id:012d}.jpg") as photo:
        assert inst.shape == pan.shape == (photo.height, photo.width)
    # areas of the compressed-RLE masks equal the areas recorded in the file (no overlaps here)
    recorded = {a["id"]: a["area"] for a in doc["annotations"] if a["image_id"] == image_id}
    assert {s["id"]: s["area"] for s in inst.segments} == recorded
    labelled = pan.semantic != pan.ignore_index
    np.testing.assert_array_equal(inst.semantic[labelled], pan.semantic[labelled])
    assert not inst.semantic[~labelled].any()
    np.testing.assert_array_equal(inst.crowd, pan.crowd)
    # every panoptic thing instance is exactly one instance of the detection-format file
    things = pan.instances > 0
    pairs = set(zip(inst.instances[things].tolist(), pan.instances[things].tolist()))
    assert len(pairs) == pan.instances.max() == len({a for a, _ in pairs})


# --------------------------------------------------------------------------- BSDS500


def bsds_annotators():
    first = np.ones((12, 18), dtype=np.int32)
    first[:, 9:] = 2
    second = first.copy()
    second[6:, :] = 3
    bounds = [np.zeros((12, 18), bool) for _ in range(2)]
    bounds[0][:, 9] = True
    bounds[1][:, 9] = True
    bounds[1][6, :] = True
    return [first, second], bounds


def test_bsds_mat_in_the_real_layout():
    segs, bounds = bsds_annotators()
    data = bsds_mat(segs, bounds)
    raw = scipy.io.loadmat(io.BytesIO(data))["groundTruth"]
    assert raw.shape == (1, 2) and raw[0, 0].dtype.names == ("Segmentation", "Boundaries")
    gt = load_ground_truth(data)
    assert gt.source_format == "bsds" and gt.semantic is None and gt.instances is None
    assert len(gt.annotators) == 2
    np.testing.assert_array_equal(gt.annotators[1], segs[1])
    np.testing.assert_array_equal(gt.regions, segs[0])
    np.testing.assert_array_equal(gt.boundaries, bounds[0] | bounds[1])
    np.testing.assert_array_equal(gt.annotator_boundaries[0], bounds[0])
    assert gt.regions.min() == 1


def test_bsds_without_boundaries_computes_them():
    segs, _ = bsds_annotators()
    gt = load_ground_truth(bsds_mat(segs[:1]))
    assert gt.boundaries.any() and not gt.boundaries[:, :8].any()
    assert any("computed" in note for note in gt.notes)


def test_bsds_errors():
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"something": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="groundTruth.*something"):
        load_ground_truth(buffer.getvalue())
    with pytest.raises(ValueError, match=r"\.mat file could not be read"):
        load_ground_truth(b"MATLAB 5.0 MAT-file, corrupted" + b"\x00" * 10)
    with pytest.raises(ValueError, match="v7.3"):
        load_ground_truth(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    segs, bounds = bsds_annotators()
    with pytest.raises(ValueError, match="groundTruth\\{2\\}"):
        load_ground_truth(bsds_mat([segs[0], segs[1][:6]], [bounds[0], bounds[1][:6]]))
