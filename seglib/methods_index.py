"""Imports every module that registers methods, in the order pages list them."""

from .traditional import threshold  # noqa: F401
from .traditional import region  # noqa: F401
from .traditional import clustering  # noqa: F401
from .traditional import edges  # noqa: F401
from .traditional import graph  # noqa: F401
from .deep import bundled  # noqa: F401
from . import interactive  # noqa: F401
from .deep import sam  # noqa: F401
from .deep import zoo  # noqa: F401
from .deep import panoptic  # noqa: F401
