"""Pre- and post-processing steps any method can use.

Pre-processing (colour space, blur, denoise) prepares the image before a
method sees it; post-processing (a superpixel vote, opening, closing, hole
filling, small-object removal) cleans its label map: the guide's
"traditional refinement", which applied to a deep output makes a hybrid.
Both are described by :class:`Param` specs so the dashboard builds their
widgets like any method's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage as ndi
from skimage import color, filters, morphology, restoration

from .imaging import to_gray
from .labels import superpixels
from .registry import Param

PREPROCESS_PARAMS = (
    Param("colour_space", "rgb", choices=("rgb", "gray", "hsv", "lab"),
          help="Colour space the method sees. Gray suits thresholds and edges; Lab separates "
               "lightness from colour, which helps clustering on photos."),
    Param("blur_sigma", 0.0, low=0.0, high=10.0, step=0.25,
          help="Gaussian blur (pixels) before segmenting. 1-2 smooths noise and texture; "
               "larger values merge fine detail."),
    Param("denoise", "none", choices=("none", "median", "bilateral", "tv"),
          help="Edge-preserving denoising: median for salt-and-pepper noise, bilateral and "
               "total variation (tv) for Gaussian noise while keeping edges sharp."),
)

POSTPROCESS_PARAMS = (
    Param("superpixels", None, low=50, high=2000, step=50, none="off", start=300,
          help="Snap the result to about this many SLIC superpixels of the picture: each takes the label "
               "most of its pixels have (None: off). Straightens ragged borders along colour edges: the classic "
               "refinement of a deep result by a traditional method. Not applied to edge maps."),
    Param("opening", 0, low=0, high=15,
          help="Radius (pixels) of a morphological opening: removes specks and thin bridges."),
    Param("closing", 0, low=0, high=15,
          help="Radius (pixels) of a morphological closing: fills small gaps and cracks."),
    Param("fill_holes", False,
          help="Fill holes fully enclosed by a segment."),
    Param("min_size", 0, low=0, high=20000, step=10,
          help="Remove connected pieces smaller than this many pixels (set to 0, unlabelled)."),
)

# A label map with more segments than this is post-processed only by the
# global steps (min_size); per-segment morphology would be too slow.
_MAX_MORPH_LABELS = 256


def _spec_defaults(specs):
    return {p.name: p.default for p in specs}


def _resolve(specs, options, what):
    resolved = _spec_defaults(specs)
    known = {p.name: p for p in specs}
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"{what}_options={str(options)[:80]!r} is not allowed: expected a dict such as "
                         f"{{{next(iter(known))!r}: ...}} (options: {', '.join(known)})")
    for name, value in (options or {}).items():
        if name not in known:
            raise ValueError(f"unknown {what} option {name!r}; valid options: {', '.join(known)}")
        resolved[name] = known[name].validate(value)
    return resolved


def resolve_preprocess(options: dict | None) -> dict:
    """Validated pre-processing options with defaults filled."""
    return _resolve(PREPROCESS_PARAMS, options, "preprocess")


def resolve_postprocess(options: dict | None) -> dict:
    """Validated post-processing options with defaults filled."""
    return _resolve(POSTPROCESS_PARAMS, options, "postprocess")


def is_identity(options: dict, specs) -> bool:
    """True when ``options`` leave the input unchanged (all defaults)."""
    return options == _spec_defaults(specs)


def preprocess(image: np.ndarray, options: dict | None = None) -> np.ndarray:
    """Apply the pre-processing steps to a float image in [0, 1].

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3) float in [0, 1]
    options : dict, optional
        Keys of :data:`PREPROCESS_PARAMS`.

    Returns
    -------
    ndarray
        Float image in [0, 1]; gray when ``colour_space="gray"``. Hue,
        saturation, value and L*a*b* channels are each rescaled to [0, 1].
    """
    opts = resolve_preprocess(options)
    out = image
    space = opts["colour_space"]
    if space == "gray":
        out = to_gray(out)
    elif space == "hsv" and out.ndim == 3:
        out = color.rgb2hsv(out)
    elif space == "lab" and out.ndim == 3:
        lab = color.rgb2lab(out)
        out = np.stack([lab[..., 0] / 100.0, (lab[..., 1] + 128) / 255.0, (lab[..., 2] + 128) / 255.0], axis=-1)
    channel_axis = -1 if out.ndim == 3 else None
    if opts["denoise"] == "median":
        footprint = morphology.disk(1) if out.ndim == 2 else morphology.disk(1)[..., None]
        out = ndi.median_filter(out, footprint=footprint)
    elif opts["denoise"] == "bilateral":
        out = restoration.denoise_bilateral(out, sigma_spatial=2, channel_axis=channel_axis)
    elif opts["denoise"] == "tv":
        out = restoration.denoise_tv_chambolle(out, weight=0.08, channel_axis=channel_axis)
    if opts["blur_sigma"] > 0:
        out = filters.gaussian(out, sigma=opts["blur_sigma"], channel_axis=channel_axis, preserve_range=True)
    return np.clip(out, 0.0, 1.0) if out is not image else image


def _clean_mask(mask: np.ndarray, opts: dict) -> np.ndarray:
    if opts["opening"]:
        mask = morphology.opening(mask, morphology.disk(opts["opening"]))
    if opts["closing"]:
        mask = morphology.closing(mask, morphology.disk(opts["closing"]))
    if opts["fill_holes"]:
        mask = ndi.binary_fill_holes(mask)
    return mask


def _clean_each(labels: np.ndarray, opts: dict) -> np.ndarray:
    """Each non-zero segment cleaned by :func:`_clean_mask` on its own, in ascending label order.

    A pixel claimed by two grown segments keeps its original label. Each segment is worked on inside
    its bounding box grown by what opening and closing can reach, which gives the same result as the
    whole picture (outside it the mask is empty either way) at a cost that follows the segment's size:
    250 superpixels with opening and closing of 15 took about 25 s when each step ran on the whole image.
    """
    margin = 2 * (opts["opening"] + opts["closing"]) + 1
    values, inverse = np.unique(labels, return_inverse=True)
    boxes = ndi.find_objects(inverse.reshape(labels.shape) + 1)  # by rank, so large label values cost nothing
    out = np.zeros_like(labels)
    h, w = labels.shape
    for value, (rows, cols) in zip(values, boxes):
        if value == 0:
            continue
        window = (slice(max(rows.start - margin, 0), min(rows.stop + margin, h)),
                  slice(max(cols.start - margin, 0), min(cols.stop + margin, w)))
        local, target = labels[window], out[window]
        mask = _clean_mask(local == value, opts)
        target[mask & ((target == 0) | (local == value))] = value
    return out


def postprocess(labels: np.ndarray, kind: str, options: dict | None = None, *, image: np.ndarray | None = None,
                colour_space: str = "rgb") -> np.ndarray:
    """Clean a label map: a superpixel vote, then morphology.

    Binary and edge maps are treated as one mask. Other label maps are
    cleaned segment by segment (up to 256 segments; beyond that only
    ``min_size`` applies), a pixel claimed by two grown segments keeping its
    original label. Removed pixels become 0.

    Parameters
    ----------
    labels : ndarray of int, (H, W)
    kind : str
        The :class:`~seglib.result.Segmentation` kind.
    options : dict, optional
        Keys of :data:`POSTPROCESS_PARAMS`.
    image : ndarray, optional
        The (pre-processed) picture the labels belong to: the superpixel vote needs it.
    colour_space : str
        What pre-processing made of the picture (see :func:`seglib.imaging.slic_colour_options`).
    """
    opts = resolve_postprocess(options)
    labels = np.asarray(labels)
    if is_identity(opts, POSTPROCESS_PARAMS):
        return labels
    if opts["superpixels"] and kind != "edges":
        if image is None:
            raise ValueError("postprocess option superpixels needs the image: pass image=")
        labels = superpixel_vote(labels, image, opts["superpixels"], colour_space)
    if kind in ("binary", "edges"):
        mask = _clean_mask(labels > 0, opts)
        if opts["min_size"]:
            mask = morphology.remove_small_objects(mask, max_size=opts["min_size"] - 1)
        return mask.astype(np.int32)
    out = labels.copy()
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if len(ids) <= _MAX_MORPH_LABELS and (opts["opening"] or opts["closing"] or opts["fill_holes"]):
        out = _clean_each(labels, opts)
    if opts["min_size"]:
        pieces, n = ndi.label(out > 0)
        # Pieces of different labels touching each other are split by label.
        pieces = pieces.astype(np.int64) * (int(out.max()) + 1) + out
        _, inverse, counts = np.unique(pieces, return_inverse=True, return_counts=True)
        small = counts[inverse.reshape(out.shape)] < opts["min_size"]
        out = np.where(small, 0, out)
    return out.astype(np.int32)


def superpixel_vote(labels: np.ndarray, image: np.ndarray, n_segments: int, colour_space: str = "rgb") -> np.ndarray:
    """Each SLIC superpixel of ``image`` takes the label most of its pixels have in ``labels``.

    On a tie the smaller label wins. The superpixels are a cached stage, so moving another
    post-processing slider does not recompute them.
    """
    segments = superpixels(image, int(n_segments), 10.0, 0.0, colour_space)
    flat = np.asarray(labels).astype(np.int64).ravel()
    low = int(flat.min())
    width = int(flat.max()) - low + 1
    pairs = segments.ravel().astype(np.int64) * width + (flat - low)
    pair, counts = np.unique(pairs, return_counts=True)
    segment, label = np.divmod(pair, width)
    order = np.lexsort((label, -counts, segment))  # per segment: most pixels first, then the smaller label
    segment, label = segment[order], label[order]
    first = np.r_[True, segment[1:] != segment[:-1]]
    winner = np.zeros(int(segments.max()) + 1, dtype=np.int64)
    winner[segment[first]] = label[first] + low
    return winner[segments].astype(np.asarray(labels).dtype)
