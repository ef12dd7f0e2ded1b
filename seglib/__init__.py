"""seglib: image segmentation methods, metrics and datasets as plain numpy functions.

>>> import seglib
>>> [m.name for m in seglib.methods("threshold")][:2]
['global-threshold', 'otsu']
>>> result = seglib.segment(image, "otsu")          # doctest: +SKIP
"""

from .core import segment, snippet
from .registry import Method, Param, method, methods, register
from .result import Curve, Points, Segmentation

__all__ = ["Curve", "Method", "Param", "Points", "Segmentation", "method", "methods", "register", "segment", "snippet"]
__version__ = "0.2.0"
