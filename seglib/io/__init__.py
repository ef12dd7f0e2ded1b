"""Safe loading and export of images, masks and annotations.

``load_image`` is the one door for pictures (:mod:`seglib.io.images`);
``load_ground_truth`` reads masks and annotation files
(:mod:`seglib.io.ground_truth`); :mod:`seglib.io.export` writes results.
"""

from .ground_truth import GroundTruth, load_ground_truth, resize_ground_truth
from .export import coco_json, image_png_bytes, label_png_bytes, overlay_png_bytes
from .images import LoadedImage, load_image, load_image_with_info

__all__ = ["GroundTruth", "load_ground_truth", "resize_ground_truth", "load_image"]
__all__ += ["LoadedImage", "load_image_with_info", "coco_json", "image_png_bytes", "label_png_bytes", "overlay_png_bytes"]
