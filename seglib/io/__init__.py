"""Safe loading and export of images, masks and annotations.

``load_image`` is the one door for pictures (:mod:`seglib.io.images`);
``load_ground_truth`` reads masks and annotation files
(:mod:`seglib.io.ground_truth`); :mod:`seglib.io.export` writes results.
"""

from .images import load_image

__all__ = ["load_image"]
