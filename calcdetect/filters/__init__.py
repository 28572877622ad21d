"""Enhancement filters and band-passes, and their registry.

Every registered filter maps an image to a response in which calcifications are
positive peaks on a background near zero, is sized to the calcification size window,
and states its reach, so that developers can swap filters and compare them::

    response = get_filter("tophat")(image, spacing=(0.07, 0.07), max_diameter_mm=1.0)

``calcdetect filters`` lists them; register a new one with :func:`register_filter`
(see :mod:`calcdetect.filters.registry`).
"""

from __future__ import annotations

from calcdetect.filters.dog import difference_of_gaussians, gaussian
from calcdetect.filters.registry import (BUILT_IN, ENTRY_POINT_GROUP, FILTERS, UnknownFilterError, available_filters,
                                         get_filter, register_filter, register_spec, user_filters)
from calcdetect.filters.spec import FilterSpec
from calcdetect.filters.tophat import disk_footprint, octagon_footprint, octagon_tophat, white_tophat

__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "FILTERS",
    "FilterSpec",
    "UnknownFilterError",
    "available_filters",
    "difference_of_gaussians",
    "disk_footprint",
    "gaussian",
    "get_filter",
    "octagon_footprint",
    "octagon_tophat",
    "register_filter",
    "register_spec",
    "user_filters",
    "white_tophat",
]
