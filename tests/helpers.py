"""Test helpers: tiny images with known answers."""

import numpy as np

QUADRANT_COLOURS = np.array([[20, 30, 200], [220, 40, 40], [40, 200, 60], [235, 230, 90]], dtype=np.uint8)


def quadrants(size=16, rgb=True):
    """A (size, size) image split into four quadrants of distinct colour and brightness."""
    half = size // 2
    truth = np.zeros((size, size), dtype=np.int32)
    truth[:half, half:] = 1
    truth[half:, :half] = 2
    truth[half:, half:] = 3
    image = QUADRANT_COLOURS[truth]
    if not rgb:
        image = np.array([30, 90, 160, 230], dtype=np.uint8)[truth]
    return image, truth


def count_calls(monkeypatch, module, name="forward"):
    """Wrap ``module.<name>``; return a list that grows by the call's keyword (else positional) arguments."""
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(kwargs or args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls
