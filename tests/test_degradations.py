import numpy as np
import pytest

from seglib.degradations import DEGRADATIONS, DESCRIPTIONS, degrade


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    base = np.zeros((40, 60, 3), np.uint8)
    base[10:30, 15:45] = [200, 60, 40]
    return np.clip(base.astype(int) + rng.integers(0, 30, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_strength_zero_is_identity_and_damage_grows(name, image):
    np.testing.assert_array_equal(degrade(image, name, 0.0), image)
    errors = [np.abs(degrade(image, name, s).astype(float) - image).mean() for s in (0.2, 0.6, 1.0)]
    assert errors[0] > 0
    assert errors[0] <= errors[1] <= errors[2]
    out = degrade(image, name, 0.5)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert name in DESCRIPTIONS


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_gray_images_stay_gray(name, image):
    gray = image[..., 0]
    assert degrade(gray, name, 0.5).shape == gray.shape


def test_input_not_mutated(image):
    before = image.copy()
    for name in DEGRADATIONS:
        degrade(image, name, 1.0)
    np.testing.assert_array_equal(image, before)


def test_bad_arguments_name_value_and_allowed(image):
    with pytest.raises(ValueError, match="degradation='rain'.*noise, blur"):
        degrade(image, "rain", 0.5)
    with pytest.raises(ValueError, match=r"strength=1.5 is not allowed.*\[0, 1\]"):
        degrade(image, "noise", 1.5)
