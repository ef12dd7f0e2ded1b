"""Classical interactive segmentation: you click, the method does the rest.

Four methods take the same prompts as Segment Anything (``sam``):
``points=[(x, y, label), ...]`` (label 1 = object, 0 = not the object) and
``box=(x0, y0, x1, y1)``, in the pixels of the image you pass to
:func:`seglib.segment` (see :mod:`seglib.prompts` for the conventions).
Each returns a binary mask of the object.

- ``flood-fill``: region growing from each object point over pixels whose
  colour is within a tolerance of the clicked colour.
- ``random-walker``: the probability that a random walk from each pixel
  reaches an object seed before a background seed (Grady 2006).
- ``marker-watershed``: the gradient flooded from the clicks as markers.
- ``grabcut``: colour models inside and outside a box, refined by graph
  cuts (Rother et al. 2004).

Background seeds, where a method needs them, are the negative points plus
everything outside the box; with neither, the image border. Called without
any prompt (e.g. from the Explore page), a method clicks the image centre
(``grabcut``: a box over the middle) and says so in a note. Given only a
box, the random walker and the marker watershed take its centre as the
object click (a note says so), so all of them run on the same box. The solvers
that build a graph with one node per pixel (random walker, GrabCut) run on
the image shrunk to ``solver_size`` and map their result back.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy import ndimage as ndi
from scipy.sparse.csgraph import breadth_first_order, maximum_flow
from skimage import filters
from skimage.segmentation import random_walker as skimage_random_walker
from skimage.segmentation import watershed

from .cache import cached_stage
from .imaging import colour_distance, resize_image, with_channels, working_shape
from .prompts import POSITIVE, SEED_BACKGROUND, SEED_OBJECT, Prompts, box_slices, default_prompts, draw_prompts, parse_prompts
from .registry import Param, method as registered_method, missing_prompt, register
from .result import Points, Segmentation
from .threads import limit_threads

if TYPE_CHECKING:  # imported where GrabCut fits its colour models: see _fit_colours
    from sklearn.mixture import GaussianMixture

_PROMPT_DOC = ("Click the object (points with label 1), optionally the background (label 0) and draw a box; "
               "coordinates are in the pixels of the image passed in.")
_SAMPLE = 2000              # pixels sampled to fit each GrabCut colour model
_GMM_ITERATIONS = 10        # EM steps per colour model fit (GrabCut itself iterates too)
_CLICK_SHARE = 0.5          # share of a GrabCut colour sample given to the clicked pixels
_CAP_SCALE = 100.0          # max-flow needs integer capacities: costs are multiplied by this
_UNARY_MAX = 30.0           # GrabCut data costs are clipped to this many nats


# ----------------------------------------------------------------------------- shared helpers


def seed_radius(shape: tuple[int, int]) -> int:
    """Radius (pixels) of the disk a click marks: about 0.4% of the longest side, at least 1."""
    return max(1, round(max(shape) / 256))


def working_prompts(image: np.ndarray, points, box, original_shape, *, method: str,
                    need: str | None = None, box_centre: bool = False) -> tuple[Prompts, list[str]]:
    """Validate prompts given in original pixels and map them to the working image.

    Parameters
    ----------
    image : ndarray
        The working image (its (H, W) is the target frame).
    points, box
        As given by the caller (see :func:`seglib.prompts.parse_prompts`).
    original_shape : (H, W) or None
        The caller's image size (``None``: the working image's).
    method : str
        The method's slug, named in error messages.
    need : {"point", "box", "point or box"}, optional
        What the method cannot work without: an object point, a box, or
        either. Default: the method's registered ``prompt_need``.
    box_centre : bool
        For methods seeded by object points: with a box but no object point,
        the box's centre stands in for one (and a note says so), so the
        method runs on the same box as a box-driven one.

    Returns
    -------
    prompts : Prompts
        In working-image pixels.
    notes : list of str
        Says so when a default prompt stood in for a missing one.

    Raises
    ------
    ValueError
        For malformed prompts, or when the needed object point or box is missing.
    """
    need = registered_method(method).prompt_need if need is None else need
    shape = image.shape[:2]
    original = _check_original_shape(original_shape) if original_shape is not None else shape
    notes = []
    if points is None and box is None:
        prompts = default_prompts(original, box=need == "box")
        what = "a box over the middle of the image" if need == "box" else "a click at the image centre"
        notes.append(f"No prompt was given, so {what} stood in: click the object to choose it.")
    else:
        prompts = parse_prompts(points, box, shape=original)
        if box_centre and prompts.box is not None and not len(prompts.positive):
            x0, y0, x1, y1 = prompts.box
            centre = np.array([[(x0 + x1) / 2, (y0 + y1) / 2]])
            prompts = replace(prompts, points=np.concatenate([prompts.points.reshape(-1, 2), centre]),
                              labels=np.concatenate([prompts.labels, [POSITIVE]]).astype(prompts.labels.dtype))
            notes.append("No object click, so the box's centre stood in for one: click the object if the "
                         "centre misses it.")
    wanted = missing_prompt(need, len(prompts.positive), prompts.box is not None)
    if wanted:
        box = "a" if prompts.box is not None else "no"
        raise ValueError(f"{method} needs {wanted}; got {len(prompts.positive)} object point(s), "
                         f"{len(prompts.negative)} background point(s) and {box} box")
    return prompts.rescale(shape), notes


def _check_original_shape(original_shape) -> tuple[int, int]:
    """``(H, W)`` of a caller's ``original_shape`` ((H, W) or (H, W, C) of positive integers); ValueError otherwise."""
    try:
        dims = [operator.index(d) for d in original_shape]
    except TypeError:
        dims = []
    if len(dims) not in (2, 3) or min(dims[:2]) < 1:
        raise ValueError(f"original_shape={str(original_shape)[:80]} is not allowed: expected (H, W) or (H, W, C) "
                         "with positive integer sizes")
    return dims[0], dims[1]


def _prompt_stage(image: np.ndarray, prompts: Prompts) -> np.ndarray:
    return draw_prompts(image, prompts)


# ----------------------------------------------------------------------------- flood fill


@cached_stage
def _gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    return filters.gaussian(image, sigma=sigma, channel_axis=-1 if image.ndim == 3 else None, preserve_range=True)


def smoothed(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed image (each channel; cached by content and ``sigma``); ``sigma=0`` returns ``image``."""
    return _gaussian(image, sigma) if sigma > 0 else image


def _seed_colour(image: np.ndarray, row: int, col: int, radius: int) -> np.ndarray:
    window = with_channels(image)[max(row - radius, 0):row + radius + 1, max(col - radius, 0):col + radius + 1]
    return window.reshape(-1, window.shape[-1]).mean(axis=0)


@register(
    "flood-fill",
    title="Flood fill (region growing from clicks)",
    family="interactive",
    kind="binary",
    params=(
        Param("tolerance", 0.2, low=0.005, high=1.0, step=0.005,
              help="How far (RMS over channels, 0-1) a pixel's colour may be from the clicked colour and "
                   "still join. Raise it until the object fills, lower it when the fill leaks out."),
        Param("smoothing", 0.5, low=0.0, high=8.0, step=0.25,
              help="Gaussian blur (pixels) before comparing colours. A little blur stops noise and texture "
                   "from breaking the fill into speckles."),
    ),
    description="The paint-bucket tool: starting at each object click, grow a connected region over "
                "pixels whose colour is close to the clicked colour. Background clicks stop the fill where "
                "pixels are closer to the background colour; a box keeps it inside.",
    references=("R. Adams & L. Bischof, Seeded region growing, IEEE Trans. PAMI 16(6), 1994.",
                "Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.4 (region growing)."),
    inputs=("points", "box"),
    supplied=("original_shape",),
    prompt_need="point",
)
def flood_fill(image, *, points=None, box=None, original_shape=None, tolerance, smoothing):
    prompts, notes = working_prompts(image, points, box, original_shape, method="flood-fill")
    smooth = with_channels(smoothed(image, smoothing))
    radius = seed_radius(image.shape[:2])
    nearest_negative = np.full(image.shape[:2], np.inf)
    for r, c in zip(*prompts.pixels("negative")):
        nearest_negative = np.minimum(nearest_negative, colour_distance(smooth, _seed_colour(smooth, r, c, radius)))
    allowed = prompts.box_mask()
    seeds = prompts.seed_map(radius) == SEED_OBJECT
    mask = np.zeros(image.shape[:2], dtype=bool)
    closest = np.full(image.shape[:2], np.inf)
    within_any = np.zeros_like(mask)
    for r, c in zip(*prompts.pixels("positive")):
        distance = colour_distance(smooth, _seed_colour(smooth, r, c, radius))
        closest = np.minimum(closest, distance)
        within = (distance <= tolerance) & (distance < nearest_negative) | seeds
        if allowed is not None:
            within &= allowed
        within_any |= within
        regions, _ = ndi.label(within)
        if regions[r, c]:
            mask |= regions == regions[r, c]
    return Segmentation(
        labels=mask.astype(np.int32),
        stages={"prompts": _prompt_stage(image, prompts), "colour distance to the clicks": closest,
                "within tolerance": within_any, "mask": mask},
        notes=notes,
    )


# ----------------------------------------------------------------------------- random walker


def edge_weights(image: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Random-walker weights of the edges to the right and downward neighbours.

    ``w = exp(-beta * |dI|^2 / (10 * std(I)))`` (divided further by the square
    root of the number of channels), plus 1e-10: the scaling of
    :func:`skimage.segmentation.random_walker`, so ``beta`` means the same.

    Returns
    -------
    right : ndarray, (H, W - 1)
    down : ndarray, (H - 1, W)
    """
    data = with_channels(image)
    scale = beta / (10 * max(float(data.std()), 1e-6))
    if data.shape[-1] > 1:
        scale /= np.sqrt(data.shape[-1])
    right = np.exp(-scale * np.sum(np.diff(data, axis=1) ** 2, axis=-1)) + 1e-10
    down = np.exp(-scale * np.sum(np.diff(data, axis=0) ** 2, axis=-1)) + 1e-10
    return right, down


def grid_edges(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Node pairs of the 4-connected grid: right edges first, then downward ones (row-major ids)."""
    ids = np.arange(shape[0] * shape[1]).reshape(shape)
    first = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    second = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    return first, second


@cached_stage
def _walk(image: np.ndarray, seeds: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Probability map and edge-barrier map (1 - weight) at the solver's resolution.

    The probability is scikit-image's :func:`~skimage.segmentation.random_walker`
    (``return_full_prob=True``, the sparse direct solver ``mode="bf"``): for
    each pixel, the chance that a walk from it reaches an object seed (1)
    before a background seed (2). The barrier is the stage scikit-image does
    not return: the graph's edge weights it solved on.
    """
    data, channel_axis = (image, -1 if image.ndim == 3 else None)
    if not float(image.std()) > 0:
        # Flat image: every edge weighs the same. scikit-image divides by the image's spread (0 here), so
        # give it any non-flat picture with beta 0, which also makes every weight 1.
        data, channel_axis, beta = np.indices(seeds.shape)[0].astype(np.float64), None, 0.0
    with warnings.catch_warnings():  # round-off just outside [0, 1] at a large beta: clipped below
        warnings.filterwarnings("ignore", message="The probability range is outside")
        probability = skimage_random_walker(data, seeds, beta=beta, mode="bf", return_full_prob=True,
                                            channel_axis=channel_axis)[0]
    right, down = edge_weights(image, beta)
    barrier = np.zeros(seeds.shape)
    barrier[:, :-1] = np.maximum(barrier[:, :-1], 1 - right)
    barrier[:-1, :] = np.maximum(barrier[:-1, :], 1 - down)
    return np.clip(probability, 0.0, 1.0), barrier


SOLVER_SIZE = Param(
    "solver_size", 256, low=64, high=384, step=32,
    help="Longest side (pixels) of the image the graph is solved on; the result is mapped back to the "
         "working image. Larger follows boundaries more closely but is slower (time grows faster than the "
         "pixel count).",
)
"""Random walker's solver size. The top of the range keeps a solve within the 1.5 s budget (about 0.5 s
at 384; 1024 took 11 s). GrabCut refits and cuts up to 10 times, so its range stops at 192."""


def _shrink(image: np.ndarray, solver_size: int) -> np.ndarray:
    return resize_image(image, working_shape(image.shape, solver_size))


def _enlarge(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.clip(resize_image(np.asarray(values, dtype=np.float64), shape), 0.0, 1.0)


@register(
    "random-walker",
    title="Random walker (seeded)",
    family="interactive",
    kind="binary",
    params=(
        Param("beta", 500.0, low=1.0, high=5000.0, log=True,
              help="How strongly image edges stop the walkers (scikit-image's scaling; its default is 130, "
                   "but a click is a tiny seed against a whole border, so sharper edges help). Raise it when "
                   "the mask leaks across weak edges; lower it when noise traps the walkers near the clicks."),
        Param("threshold", 0.5, low=0.05, high=0.95, step=0.05,
              help="Probability of reaching an object seed first above which a pixel is object. Only "
                   "this cut is redone when you move it."),
        SOLVER_SIZE,
    ),
    description="Imagine a random walker starting at each pixel, preferring to step between similar "
                "pixels. The pixel belongs to the object if the walker is likely to reach an object click "
                "before a background seed. Background seeds are your negative clicks and everything outside "
                "the box, else the image border.",
    references=("L. Grady, Random walks for image segmentation, IEEE Trans. PAMI 28(11), 2006.",),
    inputs=("points", "box"),
    supplied=("original_shape",),
    prompt_need="point or box",
)
def random_walker(image, *, points=None, box=None, original_shape=None, beta, threshold, solver_size):
    prompts, notes = working_prompts(image, points, box, original_shape, method="random-walker", box_centre=True)
    shape = image.shape[:2]
    small = _shrink(image, solver_size)
    small_prompts = prompts.rescale(small.shape[:2])
    seeds_small = small_prompts.seed_map(seed_radius(small.shape[:2]), background="auto")
    probability_small, barrier_small = _walk(small, seeds_small, beta)
    probability = _enlarge(probability_small, shape)
    mask = probability >= threshold
    if small.shape[:2] != shape:
        notes.append(f"Solved on {small.shape[1]} x {small.shape[0]} pixels (solver_size={solver_size}).")
    return Segmentation(
        labels=mask.astype(np.int32),
        scores=probability,
        stages={"prompts": _prompt_stage(image, prompts),
                "seeds (1 object, 2 background)": prompts.seed_map(seed_radius(shape), background="auto"),
                "edge barrier (1 - weight)": _enlarge(barrier_small, shape),
                "object probability": probability, "mask": mask},
        notes=notes,
    )


# ----------------------------------------------------------------------------- marker watershed


@cached_stage
def colour_gradient(image: np.ndarray, sigma: float) -> np.ndarray:
    """Sobel gradient magnitude of the smoothed image, root-mean-square over channels."""
    data = with_channels(smoothed(image, sigma))
    squares = sum(filters.sobel(data[..., c]) ** 2 for c in range(data.shape[-1]))
    return np.sqrt(squares / data.shape[-1])


@register(
    "marker-watershed",
    title="Marker-controlled watershed",
    family="interactive",
    kind="binary",
    params=(
        Param("smoothing", 1.0, low=0.0, high=8.0, step=0.25,
              help="Gaussian blur (pixels) before the gradient. More blur ignores texture and noise but "
                   "rounds off corners."),
        Param("compactness", 0.0, low=0.0, high=0.1, step=0.001,
              help="0 floods purely by gradient; larger values favour round regions around each click, "
                   "useful when an edge has gaps."),
    ),
    description="Treat the gradient as a landscape and flood it from your clicks: object clicks release "
                "object water, background clicks (or the box outside, or the image border) background "
                "water. Where the floods meet, on the ridges of strong edges, is the boundary.",
    references=("S. Beucher & F. Meyer, The morphological approach to segmentation: the watershed "
                "transformation, in Mathematical Morphology in Image Processing, 1993.",
                "P. Neubert & P. Protzel, Compact watershed and preemptive SLIC, ICPR 2014."),
    inputs=("points", "box"),
    supplied=("original_shape",),
    prompt_need="point or box",
)
def marker_watershed(image, *, points=None, box=None, original_shape=None, smoothing, compactness):
    prompts, notes = working_prompts(image, points, box, original_shape, method="marker-watershed",
                                     box_centre=True)
    gradient = colour_gradient(image, smoothing)
    markers = prompts.seed_map(seed_radius(image.shape[:2]), background="auto")
    basins = watershed(gradient, markers, compactness=compactness)
    mask = basins == SEED_OBJECT
    return Segmentation(
        labels=mask.astype(np.int32),
        stages={"prompts": _prompt_stage(image, prompts), "gradient": gradient,
                "markers (1 object, 2 background)": markers, "mask": mask},
        notes=notes,
    )


# ----------------------------------------------------------------------------- GrabCut


def min_cut(source: np.ndarray, sink: np.ndarray, first: np.ndarray, second: np.ndarray,
            pairwise: np.ndarray) -> np.ndarray:
    """Minimum s-t cut of a pixel graph, by :func:`scipy.sparse.csgraph.maximum_flow`.

    Parameters
    ----------
    source, sink : ndarray of int, (N,)
        Capacity of each node's edge from the source and to the sink: the
        cost of labelling the node background and object respectively.
    first, second : ndarray of int, (E,)
        Neighbouring node pairs.
    pairwise : ndarray of int, (E,)
        Cost of cutting each neighbour edge (both directions).

    Returns
    -------
    ndarray of bool, (N,)
        True for nodes on the source (object) side of a minimum cut: those
        still reachable from the source in the residual graph.
    """
    n = source.size
    s, t = n, n + 1
    nodes = np.arange(n)
    rows = np.concatenate([first, second, np.full(n, s), nodes])
    cols = np.concatenate([second, first, nodes, np.full(n, t)])
    capacity = np.concatenate([pairwise, pairwise, source, sink]).astype(np.int32)
    keep = capacity > 0
    graph = sp.csr_matrix((capacity[keep], (rows[keep], cols[keep])), shape=(n + 2, n + 2))
    flow = maximum_flow(graph, s, t, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, s, directed=True, return_predecessors=False)
    side = np.zeros(n + 2, dtype=bool)
    side[reached] = True
    return side[:n]


def _fit_colours(samples: np.ndarray, components: int, previous: GaussianMixture | None = None) -> GaussianMixture:
    """A Gaussian mixture of ``components`` (fewer for a tiny sample) fitted to ``samples``.

    With ``previous`` of the same size, EM continues from it instead of restarting from k-means++:
    GrabCut refines its colour models round by round, and a warm start settles in a step or two.
    """
    # scikit-learn here: importing it costs a server process 80 MB, and only GrabCut uses it
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    k = max(1, min(components, len(samples) // 4))
    if previous is not None and previous.n_components == k:
        model = previous
    else:
        model = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, max_iter=_GMM_ITERATIONS, tol=1e-2,
                                random_state=0, init_params="k-means++", warm_start=True)
    with warnings.catch_warnings():  # a few EM steps are enough here: GrabCut refits every round
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(samples)


def _sample(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(values) <= _SAMPLE:
        return values
    return values[rng.choice(len(values), _SAMPLE, replace=False)]


def _with_clicks(sample: np.ndarray, clicked: np.ndarray, share: float = _CLICK_SHARE) -> np.ndarray:
    """``sample`` plus the clicked pixels repeated to make up ``share`` of it.

    A click covers a few pixels among thousands: repeated, its colour gets a
    component of its own in the model, as a brush stroke would in GrabCut.
    """
    if len(clicked) == 0:
        return sample
    repeats = int(np.ceil(share * len(sample) / ((1 - share) * len(clicked))))
    return np.concatenate([sample, np.repeat(clicked, repeats, axis=0)])


def _smoothness_costs(data: np.ndarray, smoothness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GrabCut's contrast-sensitive Potts costs ``gamma * exp(-beta |dz|^2)`` on the 4-connected grid."""
    first, second = grid_edges(data.shape[:2])
    flat = data.reshape(-1, data.shape[-1])
    squared = np.sum((flat[first] - flat[second]) ** 2, axis=1)
    beta = 1.0 / (2 * max(float(squared.mean()), 1e-12))
    return first, second, smoothness * np.exp(-beta * squared)


def _cut_once(data, fg_model, bg_model, hard_fg, hard_bg, edges) -> tuple[np.ndarray, np.ndarray]:
    """One graph cut with the current colour models: (object mask, object posterior)."""
    first, second, pairwise = edges
    flat = data.reshape(-1, data.shape[-1])
    cost_fg = np.minimum(-fg_model.score_samples(flat), 1e9)
    cost_bg = np.minimum(-bg_model.score_samples(flat), 1e9)
    base = np.minimum(cost_fg, cost_bg)
    cost_fg = np.minimum(cost_fg - base, _UNARY_MAX)
    cost_bg = np.minimum(cost_bg - base, _UNARY_MAX)
    posterior = 1.0 / (1.0 + np.exp(cost_fg - cost_bg))
    hard = 1 + int(np.ceil((_UNARY_MAX + 4 * float(pairwise.max(initial=0))) * _CAP_SCALE))
    source = np.round(cost_bg * _CAP_SCALE).astype(np.int64)
    sink = np.round(cost_fg * _CAP_SCALE).astype(np.int64)
    source[hard_fg.ravel()], sink[hard_fg.ravel()] = hard, 0
    source[hard_bg.ravel()], sink[hard_bg.ravel()] = 0, hard
    mask = min_cut(source, sink, first, second, np.round(pairwise * _CAP_SCALE).astype(np.int64))
    return mask.reshape(data.shape[:2]), posterior.reshape(data.shape[:2])


def _grabcut_frame(prompts: Prompts, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The box plus a one-pixel ring (fixed background) where the box leaves room."""
    rows, cols = box_slices(prompts.box, shape)
    return (slice(max(rows.start - 1, 0), min(rows.stop + 1, shape[0])),
            slice(max(cols.start - 1, 0), min(cols.stop + 1, shape[1])))


def _background_sample(image: np.ndarray, inside: np.ndarray, rng) -> tuple[np.ndarray, list[str]]:
    flat = with_channels(image).reshape(-1, 1 if image.ndim == 2 else 3)
    outside = np.flatnonzero(~inside)
    notes = []
    if len(outside) < 16:
        ring = np.ones(inside.shape, dtype=bool)
        ring[1:-1, 1:-1] = False
        outside = np.flatnonzero(ring)
        notes.append("The box covers the whole image, so the image border served as the background colour sample.")
    return flat[_sample(outside, rng)], notes


@register(
    "grabcut",
    title="GrabCut (box + colour models + graph cut)",
    family="interactive",
    kind="binary",
    params=(
        Param("iterations", 3, low=1, high=10,
              help="Rounds of refitting the colour models to the current mask and cutting again. Two or "
                   "three usually settle it; the method stops early once the mask stops changing."),
        Param("components", 5, low=1, high=8,
              help="Gaussians in each colour model. More fit multi-coloured objects and backgrounds "
                   "better; fewer are faster and steadier on small objects."),
        Param("smoothness", 50.0, low=0.0, high=200.0, step=5.0,
              help="Cost of a boundary between similar neighbours (GrabCut's gamma, 50 in the paper). "
                   "Raise it for smoother masks without speckles; lower it to follow thin parts."),
        Param(SOLVER_SIZE.name, 128, low=64, high=192, step=32, help=SOLVER_SIZE.help),
    ),
    description="Draw a box around the object: everything outside is background. Gaussian mixture colour "
                "models are fitted to the inside and the outside, and a minimum graph cut balances colour "
                "fit against short, high-contrast boundaries; refit and cut again. Object and background "
                "clicks are hard constraints.",
    references=("C. Rother, V. Kolmogorov & A. Blake, \"GrabCut\": interactive foreground extraction using "
                "iterated graph cuts, ACM SIGGRAPH 2004.",
                "Y. Boykov & M.-P. Jolly, Interactive graph cuts for optimal boundary and region segmentation "
                "of objects in N-D images, ICCV 2001."),
    inputs=("points", "box"),
    supplied=("original_shape",),
    prompt_need="box",
)
def grabcut(image, *, points=None, box=None, original_shape=None, iterations, components, smoothness, solver_size):
    prompts, notes = working_prompts(image, points, box, original_shape, method="grabcut")
    shape = image.shape[:2]
    rng = np.random.default_rng(0)
    inside = prompts.box_mask()
    bg_outside, extra = _background_sample(image, inside, rng)
    rows, cols = _grabcut_frame(prompts, shape)
    crop = _shrink(image[rows, cols], solver_size)
    data = with_channels(crop)
    local = prompts.crop(rows, cols).rescale(crop.shape[:2])
    seeds = local.seed_map(seed_radius(crop.shape[:2]))
    unknown = local.box_mask()
    hard_bg = (seeds == SEED_BACKGROUND) | ~unknown
    hard_fg = (seeds == SEED_OBJECT) & ~hard_bg
    # Tiny (3 x 3) matrix work: a multi-threaded BLAS spinning up for each product costs far more.
    with limit_threads(1, torch=False):
        fit = _iterate_grabcut(data, unknown, hard_fg, hard_bg, bg_outside, rng, iterations=iterations,
                               components=components, smoothness=smoothness)
    full = np.zeros(shape, dtype=bool)
    full[rows, cols] = _enlarge(fit.mask, image[rows, cols].shape[:2]) >= 0.5
    full &= inside
    likelihood = np.zeros(shape)
    likelihood[rows, cols] = _enlarge(fit.posterior, image[rows, cols].shape[:2])
    stages = {"prompts": _prompt_stage(image, prompts), "trimap": _trimap(prompts, inside),
              "object posterior (colour models)": likelihood}
    if image.ndim == 3:
        stages["colour models"] = _colour_points(data, fit, unknown, bg_outside, rng)
    stages["mask"] = full
    return Segmentation(labels=full.astype(np.int32), scores=likelihood, stages=stages,
                        notes=notes + extra + fit.notes)


@dataclass
class _GrabCutFit:
    mask: np.ndarray
    posterior: np.ndarray
    fg_model: GaussianMixture
    bg_model: GaussianMixture
    notes: list[str]


def _iterate_grabcut(data, unknown, hard_fg, hard_bg, bg_outside, rng, *, iterations, components,
                     smoothness) -> _GrabCutFit:
    """Alternate fitting the colour models to the current mask and cutting, until the mask settles."""
    edges = _smoothness_costs(data, smoothness)
    mask = unknown & ~hard_bg
    notes = [f"Still changing after {iterations} round(s); more iterations may refine it."]
    fg_clicked, bg_clicked = data[hard_fg], data[hard_bg & unknown]
    fg_model = bg_model = None
    for rounds in range(1, iterations + 1):
        fg_sample = _sample(data[mask] if mask.any() else data[unknown], rng)
        bg_sample = np.concatenate([bg_outside, _sample(data[unknown & ~mask], rng)])
        fg_model = _fit_colours(_with_clicks(fg_sample, fg_clicked), components, fg_model)
        bg_model = _fit_colours(_with_clicks(bg_sample, bg_clicked), components, bg_model)
        new, posterior = _cut_once(data, fg_model, bg_model, hard_fg, hard_bg, edges)
        changed = bool((new != mask).any())
        mask = new
        if not changed:
            notes = [f"Converged after {rounds} round(s): the last cut changed nothing."]
            break
    return _GrabCutFit(mask, posterior, fg_model, bg_model, notes)


def _trimap(prompts: Prompts, inside: np.ndarray) -> np.ndarray:
    """0 outside the box (background), 1 unknown, 2 object clicks, 3 background clicks."""
    trimap = inside.astype(np.int32)
    seeds = prompts.seed_map(seed_radius(inside.shape))
    trimap[seeds == SEED_OBJECT] = 2
    trimap[seeds == SEED_BACKGROUND] = 3
    return trimap


def _colour_points(data, fit: _GrabCutFit, unknown, bg_outside, rng) -> Points:
    """RGB samples of object (1) and background (0) pixels with both models' means as centres."""
    fg = _sample(data[fit.mask], rng)[:1000]
    bg = np.concatenate([bg_outside, data[unknown & ~fit.mask]])
    bg = _sample(bg, rng)[:1000]
    return Points(points=np.concatenate([fg, bg]), labels=np.r_[np.ones(len(fg), int), np.zeros(len(bg), int)],
                  centres=np.concatenate([fit.fg_model.means_, fit.bg_model.means_]), axis_names=("R", "G", "B"))
