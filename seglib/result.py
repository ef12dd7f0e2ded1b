"""The one result type every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .labels import distinct


@dataclass
class Segmentation:
    """Output of a segmentation method.

    Attributes
    ----------
    labels : ndarray of int32, shape (H, W)
        The label map at the input image's size. 0 is background/unlabelled
        where the kind has one.
    kind : str
        ``binary``, ``semantic``, ``instance``, ``panoptic``, ``regions``
        (unsupervised segments with arbitrary ids) or ``edges`` (0/1 map).
    class_names : list of str, optional
        Names of the classes for ``semantic`` and ``panoptic`` labels
        (panoptic labels are ``class_index * 1000 + instance_number``).
    scores : ndarray of float, shape (H, W), optional
        Per-pixel confidence, where the method has one.
    stages : dict of str to object
        Ordered intermediate results that explain the method. Values are
        images (2-D or RGB arrays) or small structures described in the
        method's docstring (e.g. ``{"histogram": ..., "threshold": ...}``).
    params : dict
        The parameters used, defaults included.
    elapsed_s : float
        Wall time of the call in seconds.
    working_shape : tuple of int, optional
        (H, W) the method actually ran at; ``stages`` have this size.
    """

    labels: np.ndarray
    kind: str | None = None
    class_names: list[str] | None = None
    scores: np.ndarray | None = None
    stages: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    working_shape: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        labels = np.asarray(self.labels)
        if labels.ndim != 2:
            raise ValueError(f"labels must be 2-D (H, W), got shape {labels.shape}")
        self.labels = labels.astype(np.int32, copy=False)

    @property
    def n_segments(self) -> int:
        """Number of distinct non-zero labels."""
        return int(np.count_nonzero(distinct(self.labels)))


@dataclass
class Curve:
    """A 1-D stage drawn as lines, e.g. a histogram with its threshold.

    Attributes
    ----------
    x : ndarray, (N,)
    series : dict of str to ndarray (N,)
        One line per entry (e.g. ``{"histogram": counts, "between-class variance": v}``).
    markers : dict of str to float
        Vertical lines at these x positions (e.g. ``{"threshold": 0.42}``).
    x_label, y_label : str
    """

    x: np.ndarray
    series: dict[str, np.ndarray]
    markers: dict[str, float] = field(default_factory=dict)
    x_label: str = ""
    y_label: str = ""


@dataclass
class Points:
    """A point-cloud stage, e.g. pixel colours with cluster centres.

    Attributes
    ----------
    points : ndarray, (N, D) with D = 1, 2 or 3
        A sample of feature vectors (D = 1 is drawn as a histogram).
    labels : ndarray, (N,)
        Cluster of each point (colours the cloud).
    centres : ndarray, (K, D), optional
        Drawn as large markers.
    axis_names : tuple of str
        Names of the D axes (e.g. ``("R", "G", "B")``).
    """

    points: np.ndarray
    labels: np.ndarray
    centres: np.ndarray | None = None
    axis_names: tuple[str, ...] = ()
