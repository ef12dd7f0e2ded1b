"""Ground-truth files the app tests hand to ui.ground_truth (AppTest cannot upload files)."""

import io

import numpy as np
from PIL import Image


def mask_png(shape, box) -> bytes:
    """A 0/255 mask PNG of ``shape`` (H, W) with the rectangle ``box`` = (top, bottom, left, right) set."""
    labels = np.zeros(shape, np.uint8)
    top, bottom, left, right = box
    labels[top:bottom, left:right] = 255
    buffer = io.BytesIO()
    Image.fromarray(labels).save(buffer, "PNG")
    return buffer.getvalue()
