"""COCO: an instances JSON (``annotations/instances_val2017.json``) and its image folder.

The JSON is parsed once per process (and again only when the file changes)
into a per-image index; each sample's ground truth is read by
:func:`seglib.io.load_ground_truth` from that image's annotations alone, so
loading sample ``i`` costs one picture and a few polygons, not the whole file.

Reference: T.-Y. Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from ..checks import is_int, parse_json
from ..io.ground_truth import load_ground_truth
from ..io.images import load_image, read_bytes
from ..io.paths import inside_root
from .base import IMAGE_SUFFIXES, Dataset, Layout, Sample, file_stamp, fit_truth

__all__ = ["CocoDataset", "CocoLayout"]


def _json_files(folder: Path, split: str | None) -> list[Path]:
    pattern = f"instances_{split}*.json" if split else "instances*.json"
    return sorted(folder.glob(pattern)) + sorted((folder / "annotations").glob(pattern))


def _has_pictures(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())
    except OSError:
        return False


def _image_folders(folder: Path, annotations: Path) -> list[Path]:
    """Where the pictures of ``annotations`` may be: ``val2017/``, ``images/val2017/``, ``images/`` or here."""
    tag = annotations.stem.removeprefix("instances_")
    return [folder / tag, folder / "images" / tag, folder / "images", folder]


MAX_JSON_BYTES = 1 << 30
"""Largest COCO instances JSON read (1 GiB; ``instances_train2017.json`` is 448 MB)."""


@functools.lru_cache(maxsize=2)
def _index(path: str, stamp: str) -> tuple[list, dict, int]:
    """Categories, ``{image_id: (image record, annotations)}`` and the number of image records left out."""
    try:
        raw = read_bytes(path, max_bytes=MAX_JSON_BYTES)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} could not be read ({type(error).__name__}: {error})") from None
    data = parse_json(raw, str(path))
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(f"{path} is not a COCO instances file: expected an object with an `images` list")
    images, skipped = {}, 0
    for record in data["images"]:
        if _valid_record(record) and record["id"] not in images:
            images[record["id"]] = (record, [])
        else:
            skipped += 1
    annotations = data.get("annotations")
    for annotation in annotations if isinstance(annotations, list) else []:
        image_id = annotation.get("image_id") if isinstance(annotation, dict) else None
        entry = images.get(image_id) if isinstance(image_id, int) else None
        if entry is not None:
            entry[1].append(annotation)
    categories = data.get("categories")
    return (categories if isinstance(categories, list) else []), images, skipped


def _valid_record(record) -> bool:
    """An image record with an integer id and a non-empty string file_name."""
    return (isinstance(record, dict) and is_int(record.get("id"))
            and isinstance(record.get("file_name"), str) and record["file_name"].strip() != "")


class CocoDataset(Dataset):
    """The images of a COCO instances JSON, sorted by file name.

    Every ``file_name`` must lie inside ``root`` (by default the image
    folder) once ``..`` and symbolic links are resolved; a sample naming
    another file fails with a ValueError.
    """

    kind = "coco"

    def __init__(self, annotations: Path, image_folder: Path, n: int | None = None, root: Path | None = None):
        self.annotations = annotations
        self.image_folder = image_folder
        self.root = root if root is not None else image_folder
        _, images, skipped = _index(str(annotations), file_stamp(annotations))
        records = sorted((record["file_name"], image_id) for image_id, (record, _) in images.items())
        self._entries = records[:n] if n is not None else records
        self.notes = [f"{skipped} image record(s) without an integer id and a file_name (or repeating an id) "
                      "were left out"] if skipped else []

    @property
    def title(self) -> str:
        return f"COCO ({self.annotations.name}) at {self.image_folder}, {len(self)} images"

    def __len__(self) -> int:
        return len(self._entries)

    def name(self, index: int) -> str:
        return Path(self._entries[self._index(index)][0]).stem

    def key(self, index: int) -> str:
        file_name, image_id = self._entries[self._index(index)]
        return f"coco|{file_stamp(self.image_folder / file_name)}|{file_stamp(self.annotations)}|{image_id}"

    def image_file(self, index: int) -> Path:
        file_name, _ = self._entries[self._index(index)]
        return inside_root(self.root, self.image_folder / file_name, f"the image {file_name[:200]!r}")

    def truth_file(self, index: int) -> tuple[str, bytes, int]:
        """This image's annotations alone, as a small COCO JSON."""
        file_name, image_id = self._entries[self._index(index)]
        categories, images, _ = _index(str(self.annotations), file_stamp(self.annotations))
        record, annotations = images[image_id]
        subset = {"images": [record], "annotations": annotations, "categories": categories}
        return f"{Path(file_name).stem}.json", json.dumps(subset).encode(), image_id

    def _load(self, index: int) -> Sample:
        file_name, image_id = self._entries[index]
        path = self.image_file(index)
        image = load_image(path)
        name = Path(file_name).stem
        _, truth, _ = self.truth_file(index)
        gt = fit_truth(load_ground_truth(truth, image_id=image_id), image.shape, name)
        return Sample(image, gt, name, index, {"image_path": str(path), "truth_path": str(self.annotations),
                                               "image_id": image_id})


def _found(root: Path, path: Path) -> bool:
    try:
        return inside_root(root, path, "a picture").is_file()
    except ValueError:
        return False


class CocoLayout(Layout):
    """A COCO folder: ``annotations/instances_<split>*.json`` and the pictures it names."""

    kind = "coco"
    title = "COCO"
    default_split = None  # the only instances JSON, else the validation one

    def expected(self, split):
        tag = split or "<split>"
        return [f"annotations/instances_{tag}*.json (or an instances*.json here)",
                f"{tag}2017/ (or images/) holding the pictures"]

    def splits(self, folder: Path):
        return [p.stem.removeprefix("instances_") for p in _json_files(folder, None)]

    def _annotations(self, folder: Path, split) -> Path | None:
        found = _json_files(folder, split)
        if split is None and len(found) > 1:
            found = [p for p in found if "val" in p.stem] or found
        return found[0] if found else None

    def missing(self, folder: Path, split):
        json_expected, images_expected = self.expected(split)
        annotations = self._annotations(folder, split)
        if annotations is None:
            return [json_expected, images_expected]
        return [] if any(_has_pictures(f) for f in _image_folders(folder, annotations)) else [images_expected]

    def looks_like(self, folder: Path, split) -> bool:
        return self._annotations(folder, split) is not None

    def open(self, folder: Path, split, n):
        annotations = self._annotations(folder, split)
        _, images, _ = _index(str(annotations), file_stamp(annotations))
        if not images:
            raise ValueError(f"{annotations} lists no images (with an integer id and a file_name)")
        names = sorted(record["file_name"] for record, _ in images.values())
        plain = [name for name in names if Path(name).name == name and name not in (".", "..")][:20] or names[:1]
        first = plain[0]
        candidates = _image_folders(folder, annotations)
        for candidate in candidates:
            if any(_found(folder, candidate / name) for name in plain):
                return CocoDataset(annotations, candidate, n, root=folder)
        raise ValueError(f"the pictures of {annotations.name} (e.g. {first[:200]}) are in none of "
                         + ", ".join(str(c) for c in candidates))
