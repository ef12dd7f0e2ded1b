import warnings

import numpy as np
import pytest

from seglib.palette import distinct_rows, palette


def test_palette_indexes_every_pixel_exactly():
    rng = np.random.default_rng(5)
    colours = rng.integers(0, 256, (40, 3))
    image = colours[rng.integers(0, 40, (60, 50))] / 255.0  # an 8-bit picture of 40 colours
    table = palette(image)
    assert len(table.colours) == len(np.unique(colours, axis=0))
    np.testing.assert_array_equal(table.colours[table.index], image.reshape(-1, 3))  # the same bits
    np.testing.assert_array_equal(np.bincount(table.index), table.counts)
    assert table.index.dtype == np.int32 and table.counts.sum() == 60 * 50
    gray = rng.integers(0, 256, (100, 100)) / 255.0
    assert len(palette(gray).colours) <= 256 and palette(gray).colours.shape[1] == 1


def test_palette_gives_way_to_pixels_of_their_own():
    rng = np.random.default_rng(6)
    assert palette(rng.random((40, 40, 3))) is None  # every pixel its own colour
    two = np.full((20, 20, 3), 0.5)
    two[:10] += 0.0001  # two colours that round to the same 8-bit levels: not told apart, so no table
    assert palette(two) is None
    assert palette(np.full((4, 4, 3), 0.5)).colours.shape == (1, 3)
    assert palette(np.full((4, 4, 4), 0.5)) is None  # four channels do not pack into 24 bits


def test_distinct_rows_keep_to_their_share():
    rows = np.repeat(np.arange(10)[:, None] / 255.0, 10, axis=0)  # 10 colours in 100 rows
    first, index, counts = distinct_rows(rows, 0.1)
    np.testing.assert_array_equal(rows[first][index], rows)
    assert counts.tolist() == [10] * 10
    assert distinct_rows(rows, 0.09) is None
    assert distinct_rows(rows + 1.0, 1.0) is None  # levels above 255: not 8-bit colours
    rows[3] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any cast of NaN to an integer could warn
        assert distinct_rows(rows, 1.0) is None


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_distinct_rows_are_numpys_unique_rows(channels):
    rng = np.random.default_rng(channels)
    levels = rng.integers(0, 256, (300, channels))  # 300 colours over every channel's whole range
    levels[:, 0] = np.arange(300) % 256
    rows = levels[rng.integers(0, 300, 5000)] / 255.0
    first, index, counts = distinct_rows(rows, 1.0)
    codes = np.rint(rows * 255).astype(np.int64) @ (256 ** np.arange(channels)[::-1])
    _, unique_first, unique_index, unique_counts = np.unique(codes, return_index=True, return_inverse=True,
                                                             return_counts=True)
    np.testing.assert_array_equal(first, unique_first)  # the same colour order and the same first rows
    np.testing.assert_array_equal(index, unique_index)
    np.testing.assert_array_equal(counts, unique_counts)
