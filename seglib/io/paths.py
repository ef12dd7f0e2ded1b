"""Paths named by datasets and annotations stay inside their folder.

A dataset lists its files by name (a COCO ``file_name``, a Pascal VOC id, a
panoptic PNG's name) or holds them as links. :func:`inside_root` resolves
such a path, following every symbolic link, and refuses it when the result
lies outside the folder it belongs to, so ``../``, absolute names and links
out of the folder never make the app read another file. :func:`plain_name`
checks a name that must not contain a folder at all (a split, a VOC id).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["inside_root", "plain_name"]

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def inside_root(root, path, what: str) -> Path:
    """``path`` with symbolic links resolved; ValueError when that lies outside ``root``.

    Parameters
    ----------
    root : str or os.PathLike
        The folder the file must lie in (resolved too).
    path : str or os.PathLike
        The file, absolute or relative to the working directory.
    what : str
        What the path is, for the message (``"the image of sample 'x'"``).

    Raises
    ------
    ValueError
        Naming ``what`` and ``root``; the file itself is never opened.
    """
    base = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    if resolved != base and not resolved.is_relative_to(base):
        raise ValueError(f"{what} resolves outside the folder {base} (through '..', an absolute path or a "
                         "symbolic link); only files inside the dataset's folder are read")
    return resolved


def plain_name(name, what: str) -> str:
    """``name`` when it is a plain file name (letters, digits, ``._-``; no folder); ValueError otherwise."""
    if not isinstance(name, str) or not _PLAIN.fullmatch(name) or name in (".", ".."):
        shown = repr(name)[:80]
        raise ValueError(f"{what} is {shown}; expected a plain name of letters, digits, '.', '_' or '-' "
                         "(no folders, at most 200 characters)")
    return name
