"""Region-based segmentation: quadtree split-and-merge, seeded region growing, watershed.

These methods reason about *regions* rather than single pixels: a region is
homogeneous (split-and-merge), similar to a seed (region growing) or a
catchment basin of a landscape (watershed). Colour differences are measured
as the root-mean-square over channels, so gray and RGB images share one
intensity scale in [0, 1].
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, morphology, segmentation
from skimage.feature import peak_local_max
from skimage.util import regular_seeds

from ..cache import cached_stage
from ..imaging import colour_distance, to_rgb, with_channels
from ..labels import adjacent_pairs, boundaries, group_means, group_sums, paint_means, unique_pairs
from ..palette import Palette, palette
from ..registry import Param, register
from ..result import Curve, Segmentation
from .threshold import POLARITY, foreground_side, luminance

_MARK_COLOUR = np.array([0.0, 1.0, 1.0])  # outlines and seed marks on stage images: cyan stands out on most photos
_HOMOGENEITY_SLACK = 1e-7  # float round-off in block variances must not split a flat block
_MAX_MERGE_PASSES = 200
_MAX_GROWTH_ROUNDS = 50


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def _draw(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB copy of ``image`` with the pixels of ``mask`` painted in the mark colour."""
    out = np.array(to_rgb(image), dtype=np.float64)
    out[mask] = _MARK_COLOUR
    return out


# ---------------------------------------------------------------------------
# Split and merge
# ---------------------------------------------------------------------------

class Quadtree(NamedTuple):
    """Leaves of a quadtree split.

    Attributes
    ----------
    leaves : ndarray of int32, (H, W)
        Leaf index of every pixel, from 0.
    means : ndarray, (n, C)
        Mean colour of each leaf.
    counts : ndarray, (n,)
        Pixels in each leaf.
    pairs : ndarray of int, (m, 2)
        Each pair of 4-adjacent leaves once, smaller index first.
    """

    leaves: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    pairs: np.ndarray


def _block_pyramid(pixels: np.ndarray, min_block: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sums, sums of squares and pixel counts of quadtree blocks at every level.

    Level 0 holds ``min_block`` x ``min_block`` cells; level ``l`` blocks are
    ``2**l`` cells wide. The cell grid is padded with empty (count 0) cells
    to a power-of-two square so the root block covers the whole image.
    """
    h, w, c = pixels.shape
    rows, cols = -(-h // min_block), -(-w // min_block)
    side = 1 << int(np.ceil(np.log2(max(rows, cols, 1))))
    padded = np.zeros((rows * min_block, cols * min_block, c))
    padded[:h, :w] = pixels

    def cells(values: np.ndarray) -> np.ndarray:
        out = np.zeros((side, side, c))
        out[:rows, :cols] = values.reshape(rows, min_block, cols, min_block, c).sum(axis=(1, 3))
        return out

    counts = np.zeros((side, side))
    row_pixels = np.minimum(min_block, h - np.arange(rows) * min_block)
    col_pixels = np.minimum(min_block, w - np.arange(cols) * min_block)
    counts[:rows, :cols] = np.outer(row_pixels, col_pixels)
    levels = [(cells(padded), cells(padded * padded), counts)]
    while levels[-1][2].shape[0] > 1:
        levels.append(tuple(_pool(a) for a in levels[-1]))
    return levels


def _pool(values: np.ndarray) -> np.ndarray:
    """Sum 2 x 2 blocks of the first two axes."""
    n = values.shape[0] // 2
    return values.reshape(n, 2, n, 2, *values.shape[2:]).sum(axis=(1, 3))


def _block_std(sums: np.ndarray, squares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """RMS over channels of the standard deviation inside each block (0 for empty blocks)."""
    n = np.maximum(counts, 1)[..., None]
    variance = np.maximum(squares / n - (sums / n) ** 2, 0.0)
    return np.sqrt(variance.mean(axis=-1))


def _upsample(grid: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every element of a 2-D grid into a ``factor`` x ``factor`` block."""
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1)


@cached_stage
def quadtree_split(image: np.ndarray, split_threshold: float, min_block: int) -> Quadtree:
    """Split ``image`` into a quadtree of homogeneous square blocks.

    Starting from one block covering the image, every block whose colour
    standard deviation (RMS over channels) exceeds ``split_threshold`` is
    split into four, down to blocks of ``min_block`` pixels. The test runs on
    all blocks of one level at once, from block sums and sums of squares.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3), float in [0, 1]
    split_threshold : float
        Largest standard deviation a leaf block may keep.
    min_block : int
        Side in pixels of the smallest block.

    Returns
    -------
    Quadtree
        Leaf map, leaf mean colours and counts, and adjacent leaf pairs.
    """
    pixels = with_channels(image)
    h, w = pixels.shape[:2]
    levels = _block_pyramid(pixels, min_block)
    cell_leaf = np.full(levels[0][2].shape, -1, dtype=np.int32)
    active = np.ones((1, 1), dtype=bool)
    means, counts, n_leaves = [], [], 0
    for level in range(len(levels) - 1, -1, -1):
        sums, squares, n = levels[level]
        homogeneous = (_block_std(sums, squares, n) <= split_threshold + _HOMOGENEITY_SLACK) | (level == 0)
        leaf = active & homogeneous & (n > 0)
        ids = np.where(leaf, np.cumsum(leaf).reshape(leaf.shape) - 1 + n_leaves, -1)
        cell_leaf = np.maximum(cell_leaf, _upsample(ids, 1 << level).astype(np.int32))
        means.append(sums[leaf] / n[leaf][:, None])
        counts.append(n[leaf])
        n_leaves += len(counts[-1])
        active = _upsample(active & ~homogeneous & (n > 0), 2)
    rows, cols = -(-h // min_block), -(-w // min_block)
    cell_leaf = cell_leaf[:rows, :cols]
    leaves = _upsample(cell_leaf, min_block)[:h, :w]
    return Quadtree(leaves, np.concatenate(means), np.concatenate(counts), adjacent_pairs(cell_leaf))


def _flatten(parent: np.ndarray) -> np.ndarray:
    """Root of every element of a union-find forest (vectorised pointer jumping)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def _greedy_unions(sums: list, totals: list, candidates: np.ndarray, threshold: float) -> np.ndarray:
    """Union-find over ``candidates`` (pairs in merge order), re-checking each against the running means.

    Parameters
    ----------
    sums, totals : list
        Colour sums (lists of C floats) and pixel counts of the regions;
        updated in place as regions merge.
    candidates : ndarray of int, (m, 2)
    threshold : float

    Returns
    -------
    ndarray of int
        Union-find parent of every region.
    """
    parent = list(range(len(totals)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    channels = len(sums[0])
    for x, y in candidates.tolist():
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        sx, sy, tx, ty = sums[rx], sums[ry], totals[rx], totals[ry]
        if sum((sx[k] / tx - sy[k] / ty) ** 2 for k in range(channels)) >= threshold * threshold * channels:
            continue
        if tx < ty:
            rx, ry = ry, rx
        parent[ry] = rx
        sums[rx] = [p + q for p, q in zip(sums[rx], sums[ry])]
        totals[rx] = tx + ty
    return np.array(parent)


def merge_regions(means: np.ndarray, counts: np.ndarray, pairs: np.ndarray, threshold: float) -> np.ndarray:
    """Greedily merge adjacent regions whose mean colours differ by less than ``threshold``.

    Each pass sorts the adjacent pairs of current regions that are closer
    than ``threshold`` by the RMS distance of their means (smallest first)
    and merges them with a union-find, re-checking every pair against the
    updated means so that merges cannot chain along a gradual ramp. Merged
    regions are then renumbered and passes repeat until no pair merges.

    Parameters
    ----------
    means : ndarray, (n, C)
        Mean colour of each initial region.
    counts : ndarray, (n,)
        Pixels in each initial region (weights of the running means).
    pairs : ndarray of int, (m, 2)
        Adjacent initial regions.
    threshold : float
        Merge while the RMS colour distance of the means is below this.

    Returns
    -------
    ndarray of int, (n,)
        Final region of every initial region, numbered from 0.
    """
    region = np.arange(len(counts))
    sums = means * counts[:, None]
    totals = counts.astype(np.float64)
    for _ in range(_MAX_MERGE_PASSES):
        if len(pairs) == 0:
            break
        current = sums / totals[:, None]
        distance = colour_distance(current[pairs[:, 0]], current[pairs[:, 1]])
        close = distance < threshold
        if not close.any():
            break
        candidates = pairs[close][np.argsort(distance[close], kind="stable")]
        roots = _flatten(_greedy_unions(sums.tolist(), totals.tolist(), candidates, threshold))
        compact = np.unique(roots, return_inverse=True)[1]
        region = compact[region]
        sums = group_sums(compact, sums)
        totals = np.bincount(compact, weights=totals)
        pairs = unique_pairs(compact[pairs[:, 0]], compact[pairs[:, 1]])
    return region


@register(
    "split-merge",
    title="Split and merge (quadtree)",
    family="region",
    kind="regions",
    params=(
        Param("split_threshold", 0.05, low=0.0, high=0.5, step=0.005,
              help="A block is split in four while the standard deviation of its colour exceeds this "
                   "(intensity units, 0-1). Lower values give smaller blocks; raise it on textured photos."),
        Param("min_block", 4, low=1, high=64,
              help="Side in pixels of the smallest block: splitting stops there even if a block is not "
                   "uniform. 1 keeps pixel detail but is slow on large photos; 8-16 is fast and blocky."),
        Param("merge_threshold", 0.15, low=0.0, high=1.0, step=0.005,
              help="Adjacent regions merge while their mean colours differ by less than this (0 turns "
                   "merging off). Raise it to join over-split areas; too high floods distinct objects together."),
    ),
    description="Recursively splits the image into four quadrants until every block is uniform "
                "(its colour varies less than a threshold), then merges neighbouring blocks whose "
                "mean colours are close, most similar pairs first. The quadtree shows where detail is; "
                "the merge step removes the artificial block borders.",
    references=(
        "S. L. Horowitz & T. Pavlidis, Picture segmentation by a directed split-and-merge procedure, "
        "Proc. 2nd Int. Joint Conf. on Pattern Recognition, 1974.",
        "Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.4 (region splitting and merging).",
    ),
)
def split_merge(image, *, split_threshold, min_block, merge_threshold):
    """Quadtree split-and-merge; labels from 1.

    Stages: ``quadtree`` (leaf outlines over the image), ``blocks`` (each
    leaf painted with its mean colour) and ``merged`` (each final region
    painted with its mean colour). The split is cached, so changing only
    ``merge_threshold`` reruns just the merge.
    """
    tree = quadtree_split(image, split_threshold, min_block)
    region_of_leaf = merge_regions(tree.means, tree.counts, tree.pairs, merge_threshold)
    labels = region_of_leaf[tree.leaves]
    n_regions = int(region_of_leaf.max()) + 1
    region_means = group_means(region_of_leaf, tree.means, n_regions, weights=tree.counts)[0]
    return Segmentation(
        labels=labels + 1,
        stages={
            "quadtree": _draw(image, boundaries(tree.leaves)),
            "blocks": paint_means(tree.leaves, tree.means, image),
            "merged": paint_means(labels, region_means, image),
        },
        notes=[f"The split produced {len(tree.counts)} blocks; merging left {n_regions} regions."],
    )


# ---------------------------------------------------------------------------
# Seeded region growing
# ---------------------------------------------------------------------------

def _seed_pixel(shape: tuple[int, int], seed_x: float, seed_y: float) -> tuple[int, int]:
    """(row, col) of the pixel at fractions ``seed_x`` of the width and ``seed_y`` of the height."""
    return int(round(seed_y * (shape[0] - 1))), int(round(seed_x * (shape[1] - 1)))


@cached_stage
def auto_seed(image: np.ndarray) -> tuple[int, int]:
    """(row, col) well inside the picture's most distinct object, for a seed nobody placed.

    Cached per picture: it does not depend on any slider, and a blur, an Otsu
    threshold, a labelling and a distance transform cost more than growing itself.

    The median colour of the border pixels stands for the background. Pixels
    farther from it than Otsu's threshold of that distance (after a light
    blur) form blobs; the largest blob not touching the border (any blob if
    all do) is the object, and the seed is its pixel farthest from the blob's
    edge, so growing starts inside it rather than on its rim. A flat or
    tiny picture gets the centre.
    """
    h, w = image.shape[:2]
    centre = ((h - 1) // 2, (w - 1) // 2)
    if min(h, w) < 3:
        return centre
    smooth = ndi.gaussian_filter(with_channels(image).astype(np.float64), sigma=(1, 1, 0))
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    distance = colour_distance(smooth, np.median(border, axis=0))
    if np.ptp(distance) < 1e-6:
        return centre
    blobs, n = ndi.label(distance > filters.threshold_otsu(distance))
    if n == 0:
        return centre
    sizes = np.bincount(blobs.ravel(), minlength=n + 1)
    sizes[0] = 0
    on_border = np.unique(np.concatenate([blobs[0], blobs[-1], blobs[:, 0], blobs[:, -1]]))
    inner = sizes.copy()
    inner[on_border] = 0
    chosen = int(np.argmax(inner if inner.any() else sizes))
    # The distance transform runs on the blob's bounding box and a one-pixel ring (clipped at the picture's
    # edge): every pixel of the ring is outside the blob, so each blob pixel's distance to the nearest one
    # is what it is on the whole picture, and the first deepest pixel is the same one.
    rows, cols = (slice(max(s.start - 1, 0), min(s.stop + 1, size))
                  for s, size in zip(ndi.find_objects(blobs, max_label=chosen)[chosen - 1], blobs.shape))
    depth = ndi.distance_transform_edt(blobs[rows, cols] == chosen)
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(row) + rows.start, int(col) + cols.start


@cached_stage
def _mark_point(image: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """RGB copy of ``image`` with a cross drawn at ``point`` (cached: the same seed gives the same
    object on every move, whose stage figure is then drawn once)."""
    h, w = image.shape[:2]
    arm, half = max(2, min(h, w) // 30), max(0, min(h, w) // 400)
    row, col = point
    mask = np.zeros((h, w), dtype=bool)
    mask[max(0, row - half):row + half + 1, max(0, col - arm):col + arm + 1] = True
    mask[max(0, row - arm):row + arm + 1, max(0, col - half):col + half + 1] = True
    return _draw(image, mask)


def _connected_to(mask: np.ndarray, seed: tuple[int, int], connectivity: int) -> np.ndarray:
    """The connected component of ``mask`` containing ``seed`` (which must be in ``mask``)."""
    return segmentation.flood(mask.view(np.uint8), seed, connectivity=1 if connectivity == 4 else 2)


def grow_region(image: np.ndarray, seed: tuple[int, int], tolerance: float, *, adaptive: bool = True,
                connectivity: int = 4) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Grow a region from ``seed`` over pixels whose colour is within ``tolerance`` of a reference.

    Each round adds, in one flood from the seed, every pixel connected to
    the region whose RMS colour distance to the reference is at most
    ``tolerance``. With ``adaptive`` the reference is the running mean of the
    region, recomputed after each round, so the region keeps growing while
    its own mean drifts; otherwise it is the seed's colour and one round
    suffices. Pixels once added are never removed.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3), float in [0, 1]
    seed : (int, int)
        (row, column) of the seed pixel.
    tolerance : float
        Largest RMS colour distance to the reference.
    adaptive : bool
        Compare with the running region mean (True) or the seed colour (False).
    connectivity : {4, 8}
        Pixel neighbourhood.

    Returns
    -------
    region : ndarray of bool, (H, W)
    distance : ndarray, (H, W)
        Distance of every pixel to the reference colour of the last round.
    sizes : list of int
        Region size after each round.
    """
    pixels = with_channels(image)
    table = palette(image)
    reference = pixels[seed]
    region = np.zeros(image.shape[:2], dtype=bool)
    total = np.zeros(pixels.shape[-1])  # the sum of the region's colours
    sizes = []
    for _ in range(_MAX_GROWTH_ROUNDS):
        distance = _distance_to(pixels, table, reference) if sizes else _distance_to_seed(image, seed)
        grown = _connected_to((distance <= tolerance) | region, seed, connectivity)
        grown[seed] = True
        size = int(np.count_nonzero(grown))
        done = bool(sizes) and size == sizes[-1]
        if adaptive and not done:
            total += _colour_sum(pixels, grown & ~region)  # a region only gains pixels: add the new ones
        region = grown
        sizes.append(size)
        if done or not adaptive:
            break
        reference = total / size
    return region, distance, sizes


def _colour_sum(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sum of the colours of the pixels in ``mask``, channel by channel (gathering whole (N, C) rows and
    summing over the short axis costs four times more)."""
    return np.array([pixels[..., channel][mask].sum() for channel in range(pixels.shape[-1])])


def _distance_to(pixels: np.ndarray, table: Palette | None, colour: np.ndarray) -> np.ndarray:
    """:func:`colour_distance` of every pixel to ``colour``, once per distinct colour when the picture
    has a ``table`` (:func:`seglib.palette.palette`; a gray picture has at most 256)."""
    if table is None:
        return colour_distance(pixels, colour)
    return colour_distance(table.colours, colour).take(table.index).reshape(pixels.shape[:2])


@cached_stage
def _distance_to_seed(image: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """Colour distance of every pixel to the seed's: the first round of growing, whatever the tolerance
    (cached, so a tolerance move grows from it at once, and with the seed's colour as the reference
    the distance stage is the same object on every move)."""
    pixels = with_channels(image)
    return _distance_to(pixels, palette(image), pixels[seed])


@register(
    "region-growing",
    title="Seeded region growing",
    family="region",
    kind="binary",
    params=(
        Param("seed", "auto", choices=("auto", "at position"),
              help="Where growing starts: 'auto' puts the seed inside the object that stands out most from "
                   "the picture's border colour; 'at position' uses the two sliders below."),
        Param("seed_x", 0.5, low=0.0, high=1.0, step=0.01, shown_when={"seed": ("at position",)},
              help="Horizontal position of the seed as a fraction of the width (0 = left edge). "
                   "Put it inside the object you want."),
        Param("seed_y", 0.5, low=0.0, high=1.0, step=0.01, shown_when={"seed": ("at position",)},
              help="Vertical position of the seed as a fraction of the height (0 = top edge)."),
        Param("tolerance", 0.1, low=0.0, high=1.0, step=0.005,
              help="Largest colour difference (0-1) between a pixel and the reference for it to join. "
                   "Too small stops at noise; too large leaks into the background."),
        Param("reference", "region mean", choices=("region mean", "seed"),
              help="Compare pixels with the running mean of the region (adapts to gentle shading, may "
                   "drift) or with the seed pixel's colour (predictable, sensitive to a noisy seed)."),
        Param("connectivity", 4, choices=(4, 8),
              help="4 grows only through edges of pixels; 8 also through corners, which leaks through "
                   "thin diagonal gaps."),
    ),
    description="Starts from one seed pixel and repeatedly adds neighbouring pixels whose colour is "
                "close to the region's mean (or the seed's colour). The result is one connected "
                "object: the textbook way to pick out a single structure you can point at.",
    references=(
        "R. Adams & L. Bischof, Seeded region growing, IEEE Trans. PAMI 16(6), 1994.",
        "Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.4 (region growing).",
    ),
)
def region_growing(image, *, seed, seed_x, seed_y, tolerance, reference, connectivity):
    """Seeded region growing (see :func:`grow_region`); label 1 is the grown region.

    Stages: ``seed`` (the image with the seed marked), ``distance to seed``
    (RMS colour distance to the reference of the last round: the seed's
    colour, or the region mean), ``growth`` (region size per round) and
    ``region``.
    """
    seed = auto_seed(image) if seed == "auto" else _seed_pixel(image.shape[:2], seed_x, seed_y)
    adaptive = reference == "region mean"
    region, distance, sizes = grow_region(image, seed, tolerance, adaptive=adaptive, connectivity=int(connectivity))
    notes = [f"Grew {sizes[-1]} pixels in {len(sizes)} round(s) from pixel (row {seed[0]}, column {seed[1]})."]
    if adaptive and len(sizes) == _MAX_GROWTH_ROUNDS:
        notes.append(f"Stopped after {_MAX_GROWTH_ROUNDS} rounds while the region mean was still drifting.")
    rounds = np.arange(1, len(sizes) + 1, dtype=np.float64)
    return Segmentation(
        labels=region.astype(np.int32),
        stages={
            "seed": _mark_point(image, seed),
            "distance to seed": distance,
            "growth": Curve(rounds, {"pixels in region": np.array(sizes, dtype=np.float64)},
                            x_label="round", y_label="pixels"),
            "region": region,
        },
        notes=notes,
    )


# ---------------------------------------------------------------------------
# Watershed
# ---------------------------------------------------------------------------

def _normalise(values: np.ndarray) -> np.ndarray:
    """Scale non-negative ``values`` to [0, 1] (all zeros stay zeros)."""
    top = float(values.max())
    return values / top if top > 0 else np.zeros_like(values, dtype=np.float64)


def _sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude, RMS over channels."""
    pixels = with_channels(image)
    squared = sum(filters.sobel(pixels[..., k]) ** 2 for k in range(pixels.shape[-1]))
    return np.sqrt(squared / pixels.shape[-1])


@cached_stage
def gradient_landscape(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude (RMS over channels) scaled to [0, 1]."""
    return _normalise(_sobel_magnitude(image))


@cached_stage
def foreground_distance(image: np.ndarray, polarity: str) -> tuple[np.ndarray, np.ndarray]:
    """Otsu foreground of ``image`` and the Euclidean distance of each of its pixels to the background.

    When Otsu finds no split (a constant image) the whole image is
    foreground and every distance is 0.
    """
    gray = luminance(image)  # the thresholds' gray picture, made once per picture
    low, high = float(gray.min()), float(gray.max())
    if high == low:
        return np.ones(gray.shape, dtype=bool), np.zeros(gray.shape)
    foreground, _ = foreground_side(gray, filters.threshold_otsu(gray), polarity)
    return foreground, ndi.distance_transform_edt(foreground)


def _surface(image: np.ndarray, landscape: str, polarity: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The surface to flood, in [0, 1], and the mask it is flooded within (None: everywhere).

    The distance landscape is inverted (``1 - d / max d``) so that object
    centres become the deepest basins; background pixels are set to 1.
    """
    if landscape == "gradient":
        return gradient_landscape(image), None
    foreground, distance = foreground_distance(image, polarity)
    return 1.0 - _normalise(distance), foreground


def _label_points(shape: tuple[int, int], coordinates: np.ndarray) -> np.ndarray:
    markers = np.zeros(shape, dtype=np.int32)
    markers[tuple(coordinates.T)] = np.arange(1, len(coordinates) + 1)
    return markers


def _minima_markers(surface: np.ndarray, h: float) -> np.ndarray:
    """Labelled regional minima of ``surface`` deeper than ``h`` (all regional minima when h = 0)."""
    minima = morphology.h_minima(surface, h) if h > 0 else morphology.local_minima(surface)
    return ndi.label(minima.astype(bool), structure=np.ones((3, 3)))[0]


def _distance_peak_markers(image: np.ndarray, polarity: str, min_distance: int, with_background: bool) -> np.ndarray:
    """One marker per peak of the foreground distance transform (and one background marker)."""
    foreground, distance = foreground_distance(image, polarity)
    components = ndi.label(foreground)[0]
    peaks = peak_local_max(distance, min_distance=min_distance, labels=components, exclude_border=False)
    markers = _label_points(foreground.shape, peaks)
    if with_background and not foreground.all():
        far = ndi.distance_transform_edt(~foreground) >= max(2, min_distance // 2)
        markers[far] = len(peaks) + 1
    return markers


def _mark_every_component(markers: np.ndarray, foreground: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Add a marker at the deepest point of every foreground component that has none."""
    components, n = ndi.label(foreground)
    if n == 0:
        return markers
    unmarked = np.setdiff1d(np.arange(1, n + 1), components[markers > 0])
    if unmarked.size == 0:
        return markers
    points = np.array(ndi.minimum_position(surface, components, unmarked), dtype=np.intp).reshape(-1, 2)
    markers = markers.copy()
    markers[tuple(points.T)] = markers.max() + np.arange(1, len(points) + 1)
    return markers


@cached_stage
def find_markers(image: np.ndarray, landscape: str, polarity: str, method: str, amount) -> np.ndarray:
    """Watershed markers (labelled seeds, 0 elsewhere).

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3), float in [0, 1]
    landscape : {"gradient", "distance"}
    polarity : {"auto", "bright", "dark"}
        Foreground side of the Otsu threshold (distance landscape and peaks).
    method : {"local-minima", "regular-grid", "peaks of distance"}
    amount : float or int
        ``h`` for local minima, the number of markers for the regular grid,
        ``min_distance`` for distance peaks.
    """
    surface, mask = _surface(image, landscape, polarity)
    if method == "local-minima":
        markers = _minima_markers(surface, amount)
    elif method == "regular-grid":
        markers = regular_seeds(surface.shape, int(amount), dtype=np.int32)
    else:
        markers = _distance_peak_markers(image, polarity, int(amount), with_background=mask is None)
    if mask is not None:
        markers = _mark_every_component(np.where(mask, markers, 0), mask, surface)
    if not markers.any():
        markers = _label_points(surface.shape, np.array([np.unravel_index(np.argmin(surface), surface.shape)]))
    return segmentation.relabel_sequential(markers)[0]


def _show_markers(markers: np.ndarray) -> np.ndarray:
    """Marker labels dilated so that single-pixel seeds are visible in the stage image."""
    size = max(1, min(markers.shape) // 150) * 2 + 1
    return ndi.grey_dilation(markers, size=(size, size)) if size > 1 else markers


@register(
    "watershed",
    title="Watershed",
    family="region",
    kind="regions",
    params=(
        Param("landscape", "gradient", choices=("gradient", "distance"),
              help="What is flooded: the Sobel gradient (basins are uniform areas, dams fall on edges) or "
                   "the inverted distance transform of the Otsu foreground (splits touching round objects)."),
        Param("markers", "local-minima", choices=("local-minima", "regular-grid", "peaks of distance"),
              help="Where flooding starts: minima of the landscape deeper than h, a regular grid of seeds "
                   "(superpixels), or peaks of the foreground distance transform at least min_distance apart."),
        Param("h", 0.1, low=0.0, high=1.0, step=0.005, shown_when={"markers": "local-minima"},
              help="Local minima only: ignore basins shallower than this (landscape scaled to 0-1). 0 keeps "
                   "every minimum and over-segments; 0.05-0.2 suppresses noise."),
        Param("min_distance", 10, low=1, high=200, shown_when={"markers": "peaks of distance"},
              help="Peaks of distance only: smallest distance in pixels between two object centres. "
                   "About the radius of the smallest object."),
        Param("n_markers", 200, low=2, high=5000, shown_when={"markers": "regular-grid"},
              help="Regular grid only: number of seeds. More seeds give smaller, more uniform regions."),
        Param("compactness", 0.0, low=0.0, high=10.0, step=0.0001,
              help="0 is the classic watershed. Positive values favour compact, regular regions; explore "
                   "on a log scale (0.001, 0.01, 0.1, 1)."),
        replace(POLARITY, help="Which side of the Otsu threshold is foreground for the distance landscape and "
                               "distance peaks: bright objects on a dark background, or dark objects."),
    ),
    description="Treats the image as a landscape and floods it from markers: each marker's basin grows "
                "until it meets another's at a watershed line. On the gradient, lines fall on edges; on "
                "the distance transform of a foreground mask, they cut touching objects apart (background "
                "pixels are then left unlabelled, 0).",
    references=(
        "S. Beucher & C. Lantuéjoul, Use of watersheds in contour detection, Int. Workshop on Image "
        "Processing: Real-time Edge and Motion Detection/Estimation, Rennes, 1979.",
        "L. Vincent & P. Soille, Watersheds in digital spaces: an efficient algorithm based on immersion "
        "simulations, IEEE Trans. PAMI 13(6), 1991.",
        "P. Neubert & P. Protzel, Compact watershed and preemptive SLIC: on improving trade-offs of "
        "superpixel segmentation algorithms, ICPR 2014.",
    ),
)
def watershed(image, *, landscape, markers, h, min_distance, n_markers, compactness, polarity):
    """Marker-controlled watershed; labels from 1, and 0 for background with ``landscape="distance"``.

    Stages: ``landscape`` (the surface flooded, scaled to [0, 1]: the
    gradient, or the inverted distance transform), ``markers`` (the seeds,
    dilated for visibility), ``watershed lines`` and ``regions``. The
    landscape and the markers are cached, so changing only ``compactness``
    reruns just the flooding.
    """
    amount = {"local-minima": h, "regular-grid": n_markers, "peaks of distance": min_distance}[markers]
    surface, mask = _surface(image, landscape, polarity)
    seeds = find_markers(image, landscape, polarity, markers, amount)
    labels = segmentation.watershed(surface, seeds, mask=mask, compactness=compactness)
    notes = [f"{int(seeds.max())} markers flooded the {landscape} landscape."]
    if mask is not None:
        notes.append("Background (Otsu-negative) pixels are left unlabelled (0).")
    return Segmentation(
        labels=labels,
        stages={
            "landscape": surface,
            "markers": _show_markers(seeds),
            "watershed lines": boundaries(labels),
            "regions": labels,
        },
        notes=notes,
    )
