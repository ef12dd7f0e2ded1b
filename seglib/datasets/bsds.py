"""BSDS500: natural photos, each segmented by five or so people (``.mat`` ground truth).

The unpacked archive holds ``BSR/BSDS500/data/`` with ``images/{split}/*.jpg``
and ``groundTruth/{split}/*.mat`` for the splits ``train`` (200), ``val``
(100) and ``test`` (200). Scores take the best annotator, as the benchmark's
"best" column does; :func:`seglib.evaluate.evaluate` also reports the mean
over annotators.

Reference: P. Arbelaez, M. Maire, C. Fowlkes & J. Malik, Contour Detection
and Hierarchical Image Segmentation, IEEE TPAMI 33(5), 2011.
"""

from __future__ import annotations

from pathlib import Path

from .base import IMAGE_SUFFIXES, FileDataset, Layout, list_files, pair_files, subfolder_names

__all__ = ["BsdsLayout"]


class BsdsLayout(Layout):
    """A BSDS500 ``data`` folder."""

    kind = "bsds"
    title = "BSDS500"
    default_split = "test"

    markers = ("groundTruth",)

    def splits(self, folder: Path):
        return subfolder_names(folder / "groundTruth")

    def expected(self, split):
        return [f"images/{split}/", f"groundTruth/{split}/"]

    def open(self, folder: Path, split, n):
        notes: list[str] = []
        images = list_files(folder / "images" / split, IMAGE_SUFFIXES)
        truths = list_files(folder / "groundTruth" / split, (".mat",))
        entries = pair_files(images, truths, n, f"groundTruth/{split}/<name>.mat", notes)
        if not entries:
            raise ValueError(f"{folder}: none of the {len(images)} pictures in images/{split}/ has a matching "
                             f"groundTruth/{split}/<name>.mat ({len(truths)} .mat files found)")
        return FileDataset(self.kind, f"BSDS500 ({split}) at {folder}", entries, notes, roots=(folder,))
