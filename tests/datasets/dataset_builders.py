"""Tiny datasets written to a temporary folder in each layout open_dataset reads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from seglib.io.ground_truth import voc_colormap

H, W = 24, 32


def picture(seed: int, shape=(H, W)) -> np.ndarray:
    """A picture with a bright square on a dark background (varies with ``seed``)."""
    image = np.full(shape + (3,), 30 + seed, dtype=np.uint8)
    image[4:16, 6 + seed:20 + seed] = 220
    return image


def square(seed: int, shape=(H, W)) -> np.ndarray:
    """The truth of :func:`picture`: 1 on the square."""
    labels = np.zeros(shape, dtype=np.uint8)
    labels[4:16, 6 + seed:20 + seed] = 1
    return labels


def save(path: Path, array: np.ndarray, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def save_palette(path: Path, indices: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.frombytes("P", indices.shape[::-1], indices.astype(np.uint8).tobytes())
    image.putpalette(voc_colormap().ravel().tolist())
    image.save(path)
    return path


def make_voc(root: Path, ids=("2007_000001", "2007_000002", "2007_000003"), split="val", objects=False) -> Path:
    """``root/VOCdevkit/VOC2012`` with JPEGs, palette PNGs (class 15 = person, 255 border) and the split list.

    With ``objects``, ``SegmentationObject/`` masks too: the square's left and right halves are objects 1 and 2.
    """
    folder = root / "VOCdevkit" / "VOC2012"
    for seed, image_id in enumerate(ids):
        save(folder / "JPEGImages" / f"{image_id}.jpg", picture(seed), quality=95)
        truth = square(seed) * 15
        truth[3, :] = 255
        save_palette(folder / "SegmentationClass" / f"{image_id}.png", truth)
        if objects:
            ids_map = square(seed).copy()
            ids_map[:, 13 + seed:] *= 2
            ids_map[3, :] = 255
            save_palette(folder / "SegmentationObject" / f"{image_id}.png", ids_map)
    (folder / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    (folder / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return folder


def bsds_mat(segmentations) -> bytes:
    """A BSDS500 ``.mat``: a 1 x K cell of 1 x 1 structs with Segmentation and Boundaries."""
    from skimage.segmentation import find_boundaries

    cells = np.empty((1, len(segmentations)), dtype=object)
    for k, seg in enumerate(segmentations):
        record = np.empty((1, 1), dtype=[("Segmentation", "O"), ("Boundaries", "O")])
        record[0, 0]["Segmentation"] = seg.astype(np.uint16)
        record[0, 0]["Boundaries"] = find_boundaries(seg, mode="inner").astype(np.uint8)
        cells[0, k] = record
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"groundTruth": cells})
    return buffer.getvalue()


def make_bsds(root: Path, names=("100007", "100039"), split="test") -> Path:
    """``root/BSR/BSDS500/data`` with two annotators per picture: one finds the square, one a coarser box."""
    folder = root / "BSR" / "BSDS500" / "data"
    for seed, name in enumerate(names):
        save(folder / "images" / split / f"{name}.jpg", picture(seed), quality=95)
        coarse = np.ones((H, W), dtype=np.uint16)
        coarse[2:18, 4:24 + seed] = 2
        mat = folder / "groundTruth" / split / f"{name}.mat"
        mat.parent.mkdir(parents=True, exist_ok=True)
        mat.write_bytes(bsds_mat([square(seed).astype(np.uint16) + 1, coarse]))
    return folder


def coco_polygon(seed: int) -> list[float]:
    left, right = 6 + seed, 20 + seed
    return [left, 4, right, 4, right, 16, left, 16]


def make_coco(root: Path, files=("000000000009.jpg", "000000000025.jpg"), tag="val2017") -> Path:
    """``root/annotations/instances_<tag>.json`` and ``root/<tag>/`` with one 'cat' (id 17) per picture."""
    images, annotations = [], []
    for seed, file_name in enumerate(files):
        save(root / tag / file_name, picture(seed), quality=95)
        images.append({"id": 100 + seed, "file_name": file_name, "height": H, "width": W})
        annotations.append({"id": 500 + seed, "image_id": 100 + seed, "category_id": 17, "iscrowd": 0,
                            "segmentation": [coco_polygon(seed)], "area": 168, "bbox": [0, 0, 1, 1]})
    doc = {"images": images, "annotations": annotations,
           "categories": [{"id": 1, "name": "person"}, {"id": 17, "name": "cat"}]}
    path = root / "annotations" / f"instances_{tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return root


def make_folder(root: Path, names=("cell01", "cell02", "cell03"), masks="masks", suffix="") -> Path:
    """``root/images/*.png`` with binary masks (0/255) in ``root/<masks>/<name><suffix>.png``."""
    for seed, name in enumerate(names):
        save(root / "images" / f"{name}.png", picture(seed))
        save(root / masks / f"{name}{suffix}.png", square(seed) * 255)
    return root
