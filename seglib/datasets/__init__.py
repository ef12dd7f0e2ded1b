"""Datasets of images with ground truth, opened by :func:`open_dataset`.

>>> from seglib.datasets import open_dataset
>>> data = open_dataset("shapes", n=3, size=64)
>>> len(data), data.name(0), data[0].image.shape
(3, 'scene-100000', (64, 64, 3))

``shapes.py`` draws the synthetic ShapeScenes; the other modules read the
folders of public datasets (:mod:`.voc`, :mod:`.coco`, :mod:`.bsds`) and of
your own pictures with masks (:mod:`.folder`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io.paths import inside_root, plain_name
from .base import Dataset, Sample, check_n, find_layout
from .bsds import BsdsLayout
from .coco import CocoLayout
from .folder import FolderLayout, open_folder
from .shapes_dataset import DEFAULT_N, ShapesDataset
from .voc import VocLayout

__all__ = ["DATA_ROOT_ENV", "Dataset", "LAYOUTS", "Sample", "open_dataset"]

DATA_ROOT_ENV = "SEGDASH_DATA_ROOT"
"""Environment variable: when set, :func:`open_dataset` opens only folders inside this one (a server's data)."""

LAYOUTS = (VocLayout(), CocoLayout(), BsdsLayout(), FolderLayout())
"""The folder layouts :func:`open_dataset` recognises, in the order it tries them."""


def open_dataset(source="shapes", *, split: str | None = None, n: int | None = None, masks=None,
                 **options) -> Dataset:
    """Open a dataset of images with ground truth.

    Parameters
    ----------
    source : "shapes", str or os.PathLike
        ``"shapes"`` for synthetic ShapeScenes (no files needed), or a folder
        holding a Pascal VOC, COCO, BSDS500 or image + mask dataset, either
        directly or up to three levels below (``BSR/BSDS500/data/``,
        ``VOCdevkit/VOC2012/`` as the archives unpack).
    split : str, optional
        ``"train"``, ``"val"``, ``"test"``...; each layout has a default
        (VOC: val, BSDS500: test, COCO: the only instances JSON or the
        validation one, ShapeScenes: test).
    n : int, optional
        Use only the first ``n`` images (ShapeScenes: 100 when not given).
    masks : str or os.PathLike, optional
        A folder of masks for the pictures in ``source`` (paired by name): a
        plain image + mask dataset without the ``images/`` + ``masks/`` layout.
    **options
        ShapeScenes only: ``difficulty`` ("easy", "medium", "hard"), ``size``
        (pixels a side, 256) and ``first_seed``.

    Returns
    -------
    Dataset
        ``len(dataset)`` samples; ``dataset[i]`` loads one :class:`Sample`.

    Raises
    ------
    ValueError
        For a folder that does not exist or holds no recognised layout (the
        message lists the files each layout expects), an incomplete layout
        (the message names what is missing), options that do not apply, a
        split that is not a plain name, or a folder outside
        ``$SEGDASH_DATA_ROOT`` when that is set.

    Notes
    -----
    Every file a dataset names (a COCO ``file_name``, a VOC id, a link in an
    image or mask folder) must resolve inside the dataset's folder; a sample
    naming another file fails with a ValueError when it is loaded.
    """
    n = check_n(n)
    if split is not None:
        plain_name(split, "`split`")
    if isinstance(source, str) and source == "shapes":
        return ShapesDataset(DEFAULT_N if n is None else n, split=split or "test", **options)
    if options:
        raise ValueError(f"options {', '.join(sorted(options))} only apply to source='shapes'")
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"`source` is {type(source).__name__}; expected 'shapes' or a dataset folder path")
    root = Path(source).expanduser()
    if not root.is_dir():
        raise ValueError(f"`source` {str(source)!r} is not a folder; expected 'shapes' or the path of a "
                         "Pascal VOC, COCO, BSDS500 or images + masks folder")
    _check_data_root(root)
    if masks is not None:
        if not isinstance(masks, (str, os.PathLike)):
            raise ValueError(f"`masks` is {type(masks).__name__}; expected a folder path")
        _check_data_root(Path(masks).expanduser())
        return open_folder(root, Path(masks).expanduser(), n)
    layout, folder = find_layout(root.resolve(), LAYOUTS, split)
    return layout.open(folder, layout.split(split), n)


def _check_data_root(folder: Path) -> None:
    """ValueError when ``$SEGDASH_DATA_ROOT`` is set and ``folder`` lies outside it."""
    allowed = os.environ.get(DATA_ROOT_ENV, "").strip()
    if allowed:
        inside_root(allowed, folder, f"the folder {str(folder)[:200]!r}")
