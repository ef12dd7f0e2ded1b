import numpy as np
import pytest

from seglib import imaging


def test_as_float_scales_integer_types_without_mutating():
    image = np.array([[0, 128], [255, 64]], np.uint8)
    out = imaging.as_float(image)
    assert out.dtype == np.float64 and out.max() == 1.0
    out[0, 0] = 0.5
    assert image[0, 0] == 0
    sixteen = np.array([[0, 65535]], np.uint16).repeat(2, 0)
    np.testing.assert_allclose(imaging.as_float(sixteen)[0], [0, 1])


def test_as_uint8_round_trips_uint8():
    image = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(imaging.as_uint8(imaging.as_float(image)), image)


@pytest.mark.parametrize("shape, size, expected", [((768, 1024), 512, (384, 512)), ((100, 50), 1024, (100, 50)),
                                                   ((3000, 4000, 3), 1024, (768, 1024)), ((10, 10), None, (10, 10))])
def test_working_shape(shape, size, expected):
    assert imaging.working_shape(shape, size) == expected


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_resize_image_keeps_dtype_family_and_range(dtype):
    image = np.zeros((40, 60, 3), dtype)
    image[:, 30:] = 255 if dtype == np.uint8 else 1.0
    out = imaging.resize_image(image, (20, 30))
    assert out.shape == (20, 30, 3)
    assert out.dtype == (np.uint8 if dtype == np.uint8 else np.float64)
    assert out[:, :14].max() == 0 and out[:, 16:].min() == image.max()


def test_resize_gray_float():
    image = np.linspace(0, 1, 100).reshape(10, 10)
    out = imaging.resize_image(image, (5, 5))
    assert out.shape == (5, 5) and 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("shape", [(31, 17, 3), (31, 17, 1), (200, 3), (5, 4), (2, 6, 2)])
def test_colour_distance_has_the_bits_of_the_mean_formula(shape):
    rng = np.random.default_rng(0)
    a, b = rng.random(shape), rng.random(shape[-1])
    for x, y in ((a, b), (a, a[::-1]), (b, a)):
        expected = np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2, axis=-1))
        np.testing.assert_array_equal(imaging.colour_distance(x, y), expected)


def test_colour_distance_is_rms_over_channels_and_broadcasts():
    image = np.zeros((2, 3, 3))
    image[0, 0] = (1.0, 1.0, 0.0)
    distance = imaging.colour_distance(image, np.array([0.0, 0.0, 0.0]))
    assert distance.shape == (2, 3)
    assert distance[0, 0] == pytest.approx(np.sqrt(2 / 3)) and distance[1, 2] == 0
    gray = imaging.with_channels(np.array([[0.2, 0.7]]))
    assert gray.shape == (1, 2, 1)
    np.testing.assert_allclose(imaging.colour_distance(gray, [0.5]), [[0.3, 0.2]])
