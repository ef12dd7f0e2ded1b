import numpy as np
import pytest

from seglib import samples


@pytest.mark.parametrize("sample", samples.SAMPLES, ids=lambda s: s.name)
def test_every_sample_loads_as_rgb_uint8_with_provenance(sample):
    image = sample.load()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    assert image.flags.c_contiguous
    assert sample.source and sample.licence and sample.hint and sample.title


def test_sample_names_are_unique_and_cover_applications():
    names = [s.name for s in samples.SAMPLES]
    assert len(names) == len(set(names))
    assert {"photo", "document", "medical", "biology", "astronomy"} <= {s.application for s in samples.SAMPLES}
    assert samples.DEFAULT_SAMPLE in names


def test_horse_silhouette_is_dark_on_white():
    horse = samples.load_sample("horse")
    assert horse[0, 0].tolist() == [255, 255, 255]
    assert (horse[..., 0] == 0).mean() > 0.2


def test_unknown_sample_lists_valid_names():
    with pytest.raises(KeyError, match="unknown sample 'nope'.*coins"):
        samples.load_sample("nope")
