"""Shared fixtures: tiny images with known answers."""

import pytest
from helpers import quadrants


@pytest.fixture
def quadrant_rgb():
    return quadrants(16, rgb=True)


@pytest.fixture
def quadrant_gray():
    return quadrants(16, rgb=False)
