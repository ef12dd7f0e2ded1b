"""Imports every module that registers methods, in the order pages list them."""

from .traditional import threshold, region, clustering, edges, graph  # noqa: F401
from .deep import bundled  # noqa: F401
from . import interactive  # noqa: F401
from .deep import sam, zoo, panoptic  # noqa: F401
