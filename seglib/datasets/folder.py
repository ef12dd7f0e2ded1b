"""A plain folder of pictures with a parallel folder of masks, paired by file name.

``images/`` next to ``masks/`` (or ``labels/``, ``annotations/``,
``ground_truth/``, ``gt/``), optionally with one subfolder per split
(``images/val/`` and ``masks/val/``). A mask matches a picture with the same
stem, also when its stem carries a suffix such as ``_mask`` or ``_gt``
(``cell01.jpg`` and ``cell01_mask.png``). Masks are read by
:func:`seglib.io.load_ground_truth`: binary, label, palette or colour images.
"""

from __future__ import annotations

from pathlib import Path

from .base import IMAGE_SUFFIXES, FileDataset, Layout, list_files, pair_files

__all__ = ["FolderLayout", "MASK_FOLDERS", "open_folder"]

MASK_FOLDERS = ("masks", "labels", "annotations", "ground_truth", "gt")
"""Names of the mask folder beside ``images/``, tried in this order."""

MASK_SUFFIXES = ("_mask", "_masks", "_gt", "_label", "_labels", "_segmentation")
"""Stem endings dropped from a mask's name before pairing it with a picture."""

_MASK_FILES = IMAGE_SUFFIXES + (".mat",)


def _mask_stems(masks: dict[str, Path]) -> dict[str, Path]:
    paired = {}
    for stem, path in masks.items():
        for suffix in MASK_SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        paired.setdefault(stem, path)
    return paired


def open_folder(images: Path, masks: Path, n: int | None = None, title: str | None = None) -> FileDataset:
    """Pair the pictures in ``images`` with the masks in ``masks`` by name.

    Raises
    ------
    ValueError
        When a folder is missing or no picture has a mask.
    """
    for what, folder in (("images", images), ("masks", masks)):
        if not folder.is_dir():
            raise ValueError(f"`{what}` folder {folder} does not exist or is not a folder")
    notes: list[str] = []
    pictures = list_files(images, IMAGE_SUFFIXES)
    truths = _mask_stems(list_files(masks, _MASK_FILES))
    entries = pair_files(pictures, truths, n, f"a mask in {masks.name}/", notes)
    if not entries:
        raise ValueError(f"none of the {len(pictures)} pictures in {images} has a mask of the same name in {masks} "
                         f"({len(truths)} mask files found; a mask may end in {', '.join(MASK_SUFFIXES)})")
    return FileDataset("folder", title or f"Images and masks at {images.parent}", entries, notes,
                       roots=(images, masks))


class FolderLayout(Layout):
    """``images/`` beside a mask folder (:data:`MASK_FOLDERS`)."""

    kind = "folder"
    title = "plain images + masks"
    markers = ("images",)
    default_split = None

    def expected(self, split):
        sub = f"{split}/" if split else ""
        return [f"images/{sub}", f"masks/{sub} (or {', '.join(m + '/' for m in MASK_FOLDERS[1:])})"]

    def _folders(self, folder: Path, split) -> tuple[Path, Path | None]:
        images = folder / "images"
        masks = next((folder / m for m in MASK_FOLDERS if (folder / m).is_dir()), None)
        if split:
            images = images / split
            masks = masks / split if masks is not None else None
        return images, masks

    def missing(self, folder: Path, split):
        images, masks = self._folders(folder, split)
        expected = self.expected(split)
        return [e for e, ok in zip(expected, (images.is_dir(), masks is not None and masks.is_dir())) if not ok]

    def open(self, folder: Path, split, n):
        images, masks = self._folders(folder, split)
        return open_folder(images, masks, n, f"Images and masks{f' ({split})' if split else ''} at {folder}")
