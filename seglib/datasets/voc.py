"""Pascal VOC 2012 segmentation: ``JPEGImages/``, ``SegmentationClass/`` and the split lists.

The split file ``ImageSets/Segmentation/{split}.txt`` lists the image ids
(``train``: 1464, ``val``: 1449 in VOC 2012); each id has a photo
``JPEGImages/{id}.jpg`` and a palette PNG ``SegmentationClass/{id}.png``
whose indices are the 21 classes, 255 marking the void border that metrics
ignore. Where ``SegmentationObject/{id}.png`` exists too (same palette, its
indices numbering the objects), the sample also gets instance and panoptic
truth, so instance methods are scored with PQ.

Reference: M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn & A.
Zisserman, The PASCAL Visual Object Classes (VOC) Challenge, IJCV 88(2), 2010.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..io.ground_truth import VOC_IGNORE, GroundTruth, load_ground_truth
from ..io.images import read_bytes
from ..io.paths import inside_root, plain_name
from .base import FileDataset, Layout, file_stamp

MAX_LIST_BYTES = 16 * 2**20
"""Largest split list (``ImageSets/Segmentation/<split>.txt``) read: 16 MiB, a million ids."""


def _is_plain(image_id: str) -> bool:
    try:
        plain_name(image_id, "id")
    except ValueError:
        return False
    return True

__all__ = ["VocLayout"]


class VocLayout(Layout):
    """A ``VOC2012`` folder (found inside ``VOCdevkit/`` as the archive unpacks)."""

    kind = "voc"
    title = "Pascal VOC"
    default_split = "val"

    markers = ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation")

    def splits(self, folder: Path):
        return sorted(p.stem for p in (folder / "ImageSets" / "Segmentation").glob("*.txt"))

    def expected(self, split):
        return ["JPEGImages/", "SegmentationClass/", f"ImageSets/Segmentation/{split}.txt"]

    def open(self, folder: Path, split, n):
        listing = inside_root(folder, folder / "ImageSets" / "Segmentation" / f"{split}.txt", f"the {split} list")
        try:
            text = read_bytes(listing, max_bytes=MAX_LIST_BYTES).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"ImageSets/Segmentation/{split}.txt of {folder} is not UTF-8 text; expected one "
                             "image id per line") from None
        ids = [i for i in text.split() if i]
        plain = [i for i in ids if _is_plain(i)]
        entries, absent = [], []
        for image_id in plain:
            image = folder / "JPEGImages" / f"{image_id}.jpg"
            truth = folder / "SegmentationClass" / f"{image_id}.png"
            if image.is_file() and truth.is_file():
                entries.append((image_id, image, truth))
            else:
                absent.append(image_id)
            if n is not None and len(entries) == n:
                break
        if not entries:
            raise ValueError(f"none of the {len(ids)} ids in ImageSets/Segmentation/{split}.txt of {folder} has both "
                             f"JPEGImages/<id>.jpg and SegmentationClass/<id>.png"
                             + (f" (first id: {ids[0]!r})" if ids else ""))
        notes = []
        if len(plain) < len(ids):
            notes.append(f"{len(ids) - len(plain)} listed id(s) are not plain file names (they hold a folder, "
                         "'..' or odd characters) and were left out")
        if absent:
            notes.append(f"{len(absent)} listed id(s) lack their JPEG or PNG and were left out (first: {absent[0]})")
        objects = {image_id: folder / "SegmentationObject" / f"{image_id}.png" for image_id, _, _ in entries}
        objects = {image_id: path for image_id, path in objects.items() if path.is_file()}
        if objects:
            notes.append(f"{len(objects)} of {len(entries)} images have SegmentationObject/ masks: "
                         "instance and panoptic truth for them")
        return VocDataset(self.kind, f"Pascal VOC ({split}) at {folder}", entries, notes, objects=objects,
                          roots=(folder,))


class VocDataset(FileDataset):
    """Pascal VOC samples: class masks, plus object masks where ``SegmentationObject/`` has them."""

    def __init__(self, kind: str, title: str, entries, notes=None, *, objects: dict[str, Path] | None = None,
                 roots=None):
        super().__init__(kind, title, entries, notes, roots)
        self._objects = dict(objects or {})

    def key(self, index: int) -> str:
        objects = self._objects.get(self.name(index))
        return super().key(index) + (f"|{file_stamp(objects)}" if objects is not None else "")

    def _truth(self, entry) -> GroundTruth:
        gt = super()._truth(entry)
        objects = self._objects.get(entry.name)
        if objects is None:
            return gt
        objects = self._checked(objects, f"the object mask of sample {entry.name!r}")
        return with_objects(gt, load_ground_truth(objects).semantic, entry.name)


def with_objects(gt: GroundTruth, objects: np.ndarray, name: str) -> GroundTruth:
    """``gt`` with instances and panoptic labels from a VOC object mask (indices = object ids, 255 = void).

    Object pixels on background or void in the class mask stay background; each object's panoptic
    label is ``class * 1000 + object id``.
    """
    semantic = gt.semantic
    if objects.shape != semantic.shape:
        raise ValueError(f"sample {name!r}: SegmentationObject mask is {objects.shape[1]} x {objects.shape[0]} but "
                         f"SegmentationClass is {semantic.shape[1]} x {semantic.shape[0]}")
    on_object = (objects != VOC_IGNORE) & (semantic != VOC_IGNORE) & (semantic != 0)
    instances = np.where(on_object, objects, 0).astype(np.int32)
    panoptic = np.where(instances > 0, semantic.astype(np.int32) * 1000 + instances, 0).astype(np.int32)
    return replace(gt, instances=instances, panoptic=panoptic,
                   notes=gt.notes + ["SegmentationObject: each object's pixels are an instance"])
