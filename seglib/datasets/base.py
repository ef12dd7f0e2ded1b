"""Datasets of images with ground truth: the common interface and layout detection.

A :class:`Dataset` is a sized, indexable collection of :class:`Sample`
(image, ground truth, name). It holds only what it takes to find each
sample (seeds, file paths), never the pictures: ``dataset[i]`` loads sample
``i`` when asked, so a whole dataset streams through in constant memory, and
a dataset pickles small enough to ship to Dask workers, which load their
images themselves.

Folder layouts (:class:`Layout`) describe how a dataset lies on disk.
:func:`find_layout` recognises one in the folder given or a few levels below
it (archives unpack as ``BSR/BSDS500/data/`` or ``VOCdevkit/VOC2012/``), and
says which files were expected when nothing fits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..checks import check_int, is_int
from ..io.ground_truth import MAX_BYTES, GroundTruth, load_ground_truth, resize_ground_truth
from ..io.images import load_image, read_bytes
from ..io.paths import inside_root

__all__ = ["Dataset", "FileDataset", "Layout", "Sample", "SEARCH_DEPTH", "find_layout", "file_stamp",
           "IMAGE_SUFFIXES", "list_files", "subfolder_names", "inside_root"]

SEARCH_DEPTH = 3
"""How many folder levels below the given one :func:`find_layout` looks."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif")
"""File suffixes taken as pictures when listing a folder (case-insensitive)."""

_MAX_FOLDERS = 400  # folders visited by the layout search before it gives up


@dataclass
class Sample:
    """One image of a dataset with its ground truth.

    Attributes
    ----------
    image : ndarray of uint8, (H, W, 3)
        The RGB picture.
    ground_truth : GroundTruth
        Its labels, the same height and width.
    name : str
        Unique within the dataset (a file stem, or ``seed-100003``).
    index : int
        Position in the dataset.
    meta : dict
        Where the sample came from: file paths, or the ShapeScenes seed and options.
    """

    image: np.ndarray
    ground_truth: GroundTruth
    name: str
    index: int
    meta: dict[str, Any] = field(default_factory=dict)


class Dataset(Sequence):
    """A sized, indexable collection of :class:`Sample`, loaded one at a time.

    Subclasses implement :meth:`__len__`, :meth:`name`, :meth:`key` and
    :meth:`_load`. Names and keys are cheap (no pixels are read).

    Attributes
    ----------
    kind : str
        ``"shapes"``, ``"voc"``, ``"coco"``, ``"bsds"`` or ``"folder"``.
    title : str
        What it is, for people (``"Pascal VOC (val), 1449 images"``).
    notes : list of str
        What was skipped or assumed while opening it.
    """

    kind: str = ""
    notes: list[str]

    def __len__(self) -> int:
        raise NotImplementedError

    def name(self, index: int) -> str:
        """Name of sample ``index`` (unique within the dataset)."""
        raise NotImplementedError

    def key(self, index: int) -> str:
        """Identity of sample ``index`` for caches: changes when its files (or options) change."""
        raise NotImplementedError

    def _load(self, index: int) -> Sample:
        raise NotImplementedError

    def image_file(self, index: int) -> Path | None:
        """The picture file of sample ``index``; None when samples are generated (ShapeScenes)."""
        return None

    def truth_file(self, index: int) -> tuple[str, bytes, int | None] | None:
        """``(file name, content, COCO image id or None)`` of sample ``index``'s ground truth, for
        :func:`seglib.io.load_ground_truth` elsewhere; None when samples are generated."""
        return None

    @property
    def title(self) -> str:
        return f"{self.kind} ({len(self)} images)"

    def _index(self, index) -> int:
        if not is_int(index):
            raise TypeError(f"dataset index must be an integer, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} images")
        return int(index) % n

    def __getitem__(self, index) -> Sample:
        return self._load(self._index(index))

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self)):
            yield self._load(index)

    def names(self) -> list[str]:
        """Every sample's name, in order (no pixels are read)."""
        return [self.name(i) for i in range(len(self))]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title}>"


def file_stamp(path: Path) -> str:
    """``path|size|mtime_ns``: changes when the file is replaced or edited."""
    try:
        info = path.stat()
    except OSError:
        return f"{path}|missing"
    return f"{path}|{info.st_size}|{info.st_mtime_ns}"


@dataclass(frozen=True)
class _Entry:
    name: str
    image: Path
    truth: Path


class FileDataset(Dataset):
    """Images and ground-truth files paired by name (Pascal VOC, BSDS500, image + mask folders).

    Parameters
    ----------
    kind, title : str
        Layout name and a description for people.
    entries : sequence of (name, image path, ground-truth path)
    notes : list of str, optional
    roots : sequence of path, optional
        The folders the files must lie in once symbolic links are resolved
        (by default the folders that hold them); a sample whose file lies
        elsewhere fails with a ValueError and is not read.
    """

    def __init__(self, kind: str, title: str, entries, notes=None, roots=None):
        self.kind = kind
        self._title = title
        self._entries = [_Entry(str(n), Path(i), Path(t)) for n, i, t in entries]
        self.notes = list(notes or [])
        self._roots = tuple(Path(r) for r in roots) if roots is not None else None

    @property
    def title(self) -> str:
        return f"{self._title}, {len(self)} images"

    def __len__(self) -> int:
        return len(self._entries)

    def name(self, index: int) -> str:
        return self._entries[self._index(index)].name

    def key(self, index: int) -> str:
        entry = self._entries[self._index(index)]
        return f"{self.kind}|{file_stamp(entry.image)}|{file_stamp(entry.truth)}"

    def image_file(self, index: int) -> Path:
        entry = self._entries[self._index(index)]
        return self._checked(entry.image, f"the image of sample {entry.name!r}")

    def truth_file(self, index: int) -> tuple[str, bytes, None]:
        entry = self._entries[self._index(index)]
        truth = self._checked(entry.truth, f"the ground truth of sample {entry.name!r}")
        return entry.truth.name, read_bytes(truth, max_bytes=MAX_BYTES), None

    def _checked(self, path: Path, what: str) -> Path:
        """``path`` resolved, after checking it lies inside one of the dataset's folders."""
        roots = self._roots if self._roots is not None else (path.parent,)
        error = None
        for root in roots:
            try:
                return inside_root(root, path, what)
            except ValueError as refused:
                error = refused
        raise error

    def _truth(self, entry: _Entry) -> GroundTruth:
        """The ground truth of ``entry`` as its file gives it (a layout may add to it)."""
        return load_ground_truth(self._checked(entry.truth, f"the ground truth of sample {entry.name!r}"))

    def _load(self, index: int) -> Sample:
        entry = self._entries[index]
        image = load_image(self._checked(entry.image, f"the image of sample {entry.name!r}"))
        gt = fit_truth(self._truth(entry), image.shape, entry.name)
        return Sample(image, gt, entry.name, index, {"image_path": str(entry.image), "truth_path": str(entry.truth)})


def fit_truth(gt: GroundTruth, shape, name: str) -> GroundTruth:
    """The truth at the image's size: resized (nearest) when only the scale differs, else ValueError."""
    if gt.shape == tuple(shape[:2]):
        return gt
    try:
        return resize_ground_truth(gt, shape)
    except ValueError as error:
        raise ValueError(f"sample {name!r}: the image is {shape[1]} x {shape[0]} but its ground truth is "
                         f"{gt.shape[1]} x {gt.shape[0]} ({error})") from None


def list_files(folder: Path, suffixes: Sequence[str]) -> dict[str, Path]:
    """``{stem: path}`` of the files in ``folder`` with one of ``suffixes`` (case-insensitive), sorted."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith("."):
            found.setdefault(path.stem, path)
    return found


def pair_files(images: dict[str, Path], truths: dict[str, Path], n: int | None, what: str,
               notes: list[str]) -> list[tuple[str, Path, Path]]:
    """Entries for the names present in both mappings (first ``n``); a note counts the images left out."""
    names = [name for name in images if name in truths]
    unmatched = len(images) - len(names)
    if unmatched:
        notes.append(f"{unmatched} image(s) without {what} were left out")
    if n is not None:
        names = names[:n]
    return [(name, images[name], truths[name]) for name in names]


class Layout:
    """How one kind of dataset lies in a folder.

    Subclasses set :attr:`kind`, :attr:`title` and :attr:`default_split` and
    implement :meth:`expected` (for messages), :meth:`missing` and :meth:`open`.
    """

    kind = ""
    title = ""
    default_split: str | None = None

    def split(self, split: str | None) -> str | None:
        return self.default_split if split is None else split

    def expected(self, split: str | None) -> list[str]:
        """What a folder of this layout holds, as short relative paths (folders end in ``/``)."""
        raise NotImplementedError

    def missing(self, folder: Path, split: str | None) -> list[str]:
        """The expected entries absent from ``folder`` (empty: it fits).

        By default each entry of :meth:`expected` is a relative path, a
        folder when it ends in ``/``.
        """
        return [entry for entry in self.expected(split)
                if not ((folder / entry).is_dir() if entry.endswith("/") else (folder / entry).is_file())]

    markers: tuple[str, ...] = ()

    def looks_like(self, folder: Path, split: str | None) -> bool:
        """True when ``folder`` holds one of :attr:`markers` (folders typical of the layout, any split)."""
        return any((folder / marker).is_dir() for marker in self.markers)

    def splits(self, folder: Path) -> list[str]:
        """The splits ``folder`` holds, for messages (empty when the layout has none)."""
        return []

    def open(self, folder: Path, split: str | None, n: int | None) -> Dataset:
        raise NotImplementedError

    def describe(self, split: str | None) -> str:
        return f"{self.title}: {', '.join(self.expected(self.split(split)))}"


def subfolder_names(folder: Path) -> list[str]:
    """Names of the visible folders in ``folder``, sorted."""
    return [p.name for p in _subfolders(folder)]


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    except OSError:
        return []


def find_layout(root: Path, layouts: Sequence[Layout], split: str | None = None,
                depth: int = SEARCH_DEPTH) -> tuple[Layout, Path]:
    """The first layout that fits ``root`` or a folder up to ``depth`` levels below it (breadth first).

    Raises
    ------
    ValueError
        Naming the folder that looked closest to a layout and what it lacks,
        or every layout's expected files when nothing looked like one.
    """
    queue = deque([(root, 0)])
    partial: list[tuple[int, int, Layout, Path, list[str]]] = []
    visited = 0
    while queue and visited < _MAX_FOLDERS:
        folder, level = queue.popleft()
        visited += 1
        for order, layout in enumerate(layouts):
            lacking = layout.missing(folder, layout.split(split))
            if not lacking:
                return layout, folder
            if layout.looks_like(folder, layout.split(split)):
                partial.append((level, order, layout, folder, lacking))
        if level < depth:
            queue.extend((sub, level + 1) for sub in _subfolders(folder))
    if partial:
        _, _, layout, folder, lacking = min(partial, key=lambda p: (p[0], p[1]))
        found = layout.splits(folder)
        hint = f" (splits here: {', '.join(found)}; choose one with `split`)" if found else ""
        raise ValueError(f"{folder} looks like a {layout.title} folder but lacks {', '.join(lacking)}{hint}; "
                         f"expected {layout.describe(split)}")
    expected = "\n".join(f"- {layout.describe(split)}" for layout in layouts)
    raise ValueError(f"no dataset found in {root} or up to {depth} folder levels below it; expected one of:\n"
                     f"{expected}")


def check_n(n) -> int | None:
    """``n`` as a positive int or None (all images); ValueError otherwise."""
    return check_int(n, "n", low=1, none=True)
