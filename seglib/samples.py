"""Bundled sample images, with where they come from and their licences.

The pictures ship inside scikit-image (no download). They cover the
applications the guide discusses: everyday photos, documents, medicine and
biology, astronomy, and silhouettes with an obvious answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import skimage.data as skdata

from .imaging import as_uint8, to_rgb


@dataclass(frozen=True)
class Sample:
    """A bundled image.

    Attributes
    ----------
    name : str
        Slug used in URLs and tests.
    title : str
        What the picture shows.
    application : str
        ``photo``, ``document``, ``medical``, ``biology``, ``astronomy`` or ``shapes``.
    source : str
        Where it was made or found.
    licence : str
        Its licence or copyright status, as scikit-image documents it.
    hint : str
        What this image is good for demonstrating.
    """

    name: str
    title: str
    application: str
    source: str
    licence: str
    hint: str
    loader: Callable[[], np.ndarray]

    def load(self) -> np.ndarray:
        """The image as (H, W, 3) uint8 RGB."""
        image = np.asarray(self.loader())
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255  # horse: True is the white background
        if image.ndim == 3 and image.shape[2] == 4:
            image = image[..., :3]
        return np.ascontiguousarray(to_rgb(as_uint8(image)))


_SK = "scikit-image sample data (skimage.data)"

SAMPLES: tuple[Sample, ...] = (
    Sample("coins", "Greek coins from Pompeii", "photo", f"{_SK}; Brooklyn Museum Collection",
           "No known copyright restrictions", "Objects on a background that shares their gray levels: "
           "a global threshold is not enough; try adaptive thresholds or watershed.", skdata.coins),
    Sample("camera", "Cameraman", "photo", f"{_SK}; photographer Lav Varshney", "CC0",
           "Classic test image: a dark figure on a bright sky.", skdata.camera),
    Sample("astronaut", "Astronaut Eileen Collins", "photo", f"{_SK}; NASA", "Public domain",
           "A colour portrait with flags and fabric: clustering and superpixels.", skdata.astronaut),
    Sample("coffee", "Coffee cup", "photo", f"{_SK}; photographer Rachel Michetti", "CC0",
           "Round objects and reflections: colour clustering and edges.", skdata.coffee),
    Sample("chelsea", "Chelsea the cat", "photo", f"{_SK}; photographer Stefan van der Walt", "CC0",
           "Fur texture defeats pixel-wise methods; graph-based methods cope better.", skdata.chelsea),
    Sample("rocket", "Falcon 9 launch", "photo", f"{_SK}; SpaceX", "Public domain",
           "Bright plume against the sky.", skdata.rocket),
    Sample("horse", "Horse silhouette", "shapes", f"{_SK}; openclipart", "Public domain",
           "A binary silhouette: every method should get it right.", skdata.horse),
    Sample("page", "Scanned page", "document", _SK, "Distributed with scikit-image (BSD-3-Clause)",
           "Uneven illumination across a page of text: compare Otsu with Sauvola.", skdata.page),
    Sample("text", "Printed text", "document", f"{_SK}; Wikipedia", "Public domain",
           "Text with a shading gradient: local thresholds.", skdata.text),
    Sample("retina", "Human retina (fundus photograph)", "medical", f"{_SK}; Wikimedia Commons, Mikael Häggström",
           "CC0", "Vessels on a circular field of view: edges and local thresholds.", skdata.retina),
    Sample("microaneurysms", "Retinal microaneurysms", "medical",
           f"{_SK}; High-Resolution Fundus (HRF) Image Database", "CC0 (Andreas Maier)",
           "Small dark lesions: thresholds with polarity 'dark'.", skdata.microaneurysms),
    Sample("cell", "Cell floating in saline", "biology", f"{_SK}; Müller et al., Optics Express 2018", "CC0",
           "Banding in the background is a good test of thresholding.", skdata.cell),
    Sample("ihc", "Immunohistochemistry stain", "biology",
           f"{_SK}; Center for Microscopy And Molecular Imaging (CMMI)", "No known copyright restrictions",
           "Brown DAB and blue hematoxylin stains: colour clustering.", skdata.immunohistochemistry),
    Sample("hubble", "Hubble eXtreme Deep Field", "astronomy", f"{_SK}; NASA", "Public domain",
           "Many small bright galaxies: blob-like objects for thresholds and watershed.", skdata.hubble_deep_field),
    Sample("moon", "Surface of the moon", "astronomy", _SK, "Public domain",
           "Low contrast craters: edges and region growing.", skdata.moon),
)

DEFAULT_SAMPLE = "coins"


def sample(name: str) -> Sample:
    """The :class:`Sample` called ``name``; ``KeyError`` listing the valid names."""
    for s in SAMPLES:
        if s.name == name:
            return s
    raise KeyError(f"unknown sample {name!r}; valid samples are: {', '.join(s.name for s in SAMPLES)}")


def load_sample(name: str = DEFAULT_SAMPLE) -> np.ndarray:
    """Load a bundled sample as (H, W, 3) uint8 RGB."""
    return sample(name).load()
