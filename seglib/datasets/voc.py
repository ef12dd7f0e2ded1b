"""Pascal VOC 2012 segmentation: ``JPEGImages/``, ``SegmentationClass/`` and the split lists.

The split file ``ImageSets/Segmentation/{split}.txt`` lists the image ids
(``train``: 1464, ``val``: 1449 in VOC 2012); each id has a photo
``JPEGImages/{id}.jpg`` and a palette PNG ``SegmentationClass/{id}.png``
whose indices are the 21 classes, 255 marking the void border that metrics
ignore.

Reference: M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn & A.
Zisserman, The PASCAL Visual Object Classes (VOC) Challenge, IJCV 88(2), 2010.
"""

from __future__ import annotations

from pathlib import Path

from .base import FileDataset, Layout

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
        ids = [line.strip() for line in (folder / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split()]
        ids = [i for i in ids if i]
        entries, absent = [], []
        for image_id in ids:
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
        if absent:
            notes.append(f"{len(absent)} listed id(s) lack their JPEG or PNG and were left out (first: {absent[0]})")
        return FileDataset(self.kind, f"Pascal VOC ({split}) at {folder}", entries, notes)
