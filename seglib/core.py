"""``segment()``: the one entry point that runs any registered method."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from . import cache
from .checks import check_int
from .imaging import as_float, check_image, resize_image, resize_labels, working_shape
from .pipeline import POSTPROCESS_PARAMS, PREPROCESS_PARAMS, is_identity, postprocess, preprocess, resolve_postprocess, resolve_preprocess
from .registry import Method, method as get_method
from .result import Segmentation

DEFAULT_WORKING_SIZE = 1024


def _working_image(image: np.ndarray, small: tuple[int, int], pre: dict) -> np.ndarray:
    """``image`` shrunk to ``small`` (first: cheaper on huge uploads), as floats in [0, 1], pre-processed;
    read-only, so cached stages fingerprint it once."""
    work = as_float(resize_image(image, small))
    if not is_identity(pre, PREPROCESS_PARAMS):
        work = preprocess(work, pre)
    work.setflags(write=False)
    return work


# A uint8 picture's working image, kept per content, size and pre-processing (the float copy of a
# 1024 px photo took 4-8 ms of every slider move).
_uint8_working_image = cache.cached_stage(_working_image)


def segment(
    image,
    method: str | Method,
    /,
    *,
    working_size: int | None = DEFAULT_WORKING_SIZE,
    preprocess_options: dict | None = None,
    postprocess_options: dict | None = None,
    keep_scores: bool = True,
    **params,
) -> Segmentation:
    """Segment ``image`` with a registered method.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        uint8, or float with values in [0, 1]. Never mutated.
    method : str or Method
        A slug from :func:`seglib.methods` such as ``"otsu"``. ``image`` and
        ``method`` are positional-only, so a method may have a parameter
        called ``method`` (``adaptive-threshold`` does).
    working_size : int or None, default 1024
        Longest side the method runs at. Larger images are downscaled
        (anti-aliased) and the labels are mapped back to full size with
        nearest-neighbour interpolation. ``None`` runs at full size.
    preprocess_options, postprocess_options : dict, optional
        Options of :mod:`seglib.pipeline` (colour space, blur, denoise;
        opening, closing, fill holes, minimum size).
    keep_scores : bool, default True
        False leaves out the per-pixel ``scores`` (the result's are None),
        for a caller that never reads them: they are not mapped back to the
        input's size (58 ms and 16 MB for a 1024 px map of a 1411 px
        picture, on every call).
    **params
        The method's parameters (missing ones take their defaults) and
        inputs (``points``, ``box``, ``weights``...: see
        :data:`seglib.registry.INPUTS`). What the method lists in
        ``Method.supplied`` is filled in here: ``original_shape``, the
        input's (H, W) that prompt coordinates refer to, and
        ``colour_space``, the pre-processing colour space (so a method does
        not convert HSV or Lab again).

    Returns
    -------
    Segmentation
        Labels at the input's size, with ``params``, ``stages`` and
        ``elapsed_s`` filled. Stage arrays the method made as float64 come
        back as float32 (they are pictures to look at); read-only ones,
        shared with the stage cache, as they are.

    Raises
    ------
    KeyError
        For an unknown method slug (listing the valid ones).
    ValueError
        For a malformed image or a parameter outside its spec.
    """
    spec = get_method(method)
    check_image(image)
    full_shape = np.shape(image)[:2]
    resolved = spec.resolve(params, shape=full_shape)
    pre = resolve_preprocess(preprocess_options)
    post = resolve_postprocess(postprocess_options)
    check_int(working_size, "working_size", low=16, none=True)

    start = time.perf_counter()
    small = working_shape(full_shape, working_size)
    if np.asarray(image).dtype == np.uint8:
        # Kept in the stage cache: a slider move on the same picture skips the conversion, and
        # hashing the uint8 input is 8x cheaper than hashing its float working copy.
        work = _uint8_working_image(image, small, pre)
        cache.remember(work, f"{cache.fingerprint(image)}|{small}|{sorted(pre.items())}")
    else:
        work = _working_image(as_float(image), small, pre)

    supplied = {"original_shape": tuple(full_shape), "colour_space": pre["colour_space"]}
    result = spec.func(work, **resolved, **{name: supplied[name] for name in spec.supplied})
    if not isinstance(result, Segmentation):
        raise TypeError(f"method {spec.name!r} returned {type(result).__name__}, expected Segmentation")
    labels = result.labels
    if labels.shape != tuple(small):
        raise RuntimeError(f"method {spec.name!r} returned labels of shape {labels.shape}, expected {tuple(small)}")
    kind = result.kind or spec.kind
    if not is_identity(post, POSTPROCESS_PARAMS):
        labels = postprocess(labels, kind, post, image=work, colour_space=pre["colour_space"])
    scores = result.scores if keep_scores else None
    if tuple(small) != tuple(full_shape):
        labels = resize_labels(labels, full_shape)
        if scores is not None:
            scores = resize_image(np.asarray(scores, dtype=np.float64), full_shape)
    elapsed = time.perf_counter() - start

    all_params = dict(resolved)
    if not is_identity(pre, PREPROCESS_PARAMS):
        all_params["preprocess_options"] = pre
    if not is_identity(post, POSTPROCESS_PARAMS):
        all_params["postprocess_options"] = post
    if working_size != DEFAULT_WORKING_SIZE:
        all_params["working_size"] = working_size
    return dataclasses.replace(
        result,
        labels=labels,
        kind=kind,
        stages={name: _as_picture(value) for name, value in result.stages.items()},
        scores=scores,
        params=all_params,
        elapsed_s=elapsed,
        working_shape=tuple(small),
    )


def _as_picture(value):
    """A stage's float64 maps and pictures as float32 (those of a dict of them too); the rest as it is.

    Stages are there to be looked at: float32 keeps seven digits, far finer than a screen's 256
    levels, in half the memory of every cached result (fuzzy c-means at 1024 px: 63 -> 46 MB).
    Read-only arrays are left alone: they are shared with the stage cache, and a copy would add to it.
    """
    if isinstance(value, dict):
        return {key: _as_picture(item) for key, item in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim >= 2 and value.flags.writeable:
        return value.astype(np.float32)
    return value


def snippet(method: str | Method, params: dict, image_expr: str = "image", *, sample: str | None = None,
            scene: tuple[int, str, int] | None = None, file_name: str = "your_image.png") -> str:
    """Python code that reproduces a result with seglib.

    Parameters
    ----------
    method : str or Method
    params : dict
        Parameters as stored in ``Segmentation.params``; defaults are left out, and so
        are parameters that do not matter given the others (``Param.shown_when``).
    image_expr : str
        Expression naming the image in the generated code.
    sample : str, optional
        The bundled sample the result was computed on: the code loads it with
        :func:`seglib.samples.load_sample`.
    scene : (seed, difficulty, size), optional
        The ShapeScene it was computed on: the code draws it again with
        :func:`seglib.datasets.shapes.make_scene`.
    file_name : str
        Otherwise, the file the code reads with :func:`seglib.io.load_image`.
    """
    spec = get_method(method)
    defaults = spec.defaults()
    current = defaults | params
    shown = {p.name for p in spec.params if p.is_shown(current)}
    args = [f"{k}={v!r}" for k, v in params.items()
            if k not in defaults or (defaults[k] != v and k in shown)]
    call = ", ".join([image_expr, repr(spec.name)] + args)
    if sample is not None:
        load = f"from seglib.samples import load_sample\n\n{image_expr} = load_sample({sample!r})\n"
    elif scene is not None:
        seed, difficulty, size = scene
        load = ("from seglib.datasets.shapes import make_scene\n\n"
                f"{image_expr} = make_scene({int(seed)}, size={int(size)}, difficulty={difficulty!r}).image\n")
    else:
        load = f"from seglib.io import load_image\n\n{image_expr} = load_image({file_name!r})\n"
    return (
        "import seglib\n"
        f"{load}"
        f"result = seglib.segment({call})\n"
        "labels = result.labels  # (H, W) int32\n"
    )
