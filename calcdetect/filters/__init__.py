"""Enhancement filters and their registry.

Every registered filter maps an image to a response in which calcifications
are positive peaks on a background near zero, and takes the same keywords, so
that developers can swap filters and compare them::

    response = get_filter("tophat")(image, spacing=(0.07, 0.07), max_diameter_mm=1.0)

Register a new one with :func:`register_filter`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from calcdetect.filters.dog import difference_of_gaussians, gaussian
from calcdetect.filters.tophat import disk_footprint, white_tophat

__all__ = [
    "FILTERS",
    "difference_of_gaussians",
    "disk_footprint",
    "gaussian",
    "get_filter",
    "register_filter",
    "user_filters",
    "white_tophat",
]

#: A filter: ``f(image, *, spacing, min_diameter_mm, max_diameter_mm, backend) -> float32 response``.
Enhancer = Callable[..., np.ndarray]


def _tophat(image, *, spacing, min_diameter_mm: float, max_diameter_mm: float, backend: str = "opencv"):
    # A speck survives the opening untouched only when the disk does not fit in
    # it: a disk slightly wider than the largest speck of interest.
    return white_tophat(image, 0.6 * max_diameter_mm, spacing=spacing, backend=backend)


def _dog(image, *, spacing, min_diameter_mm: float, max_diameter_mm: float, backend: str = "opencv"):
    # A blob of diameter d answers a Laplacian of Gaussian best at sigma = d / (2 sqrt 2)
    # (Lindeberg 1998); the low sigma matches the smallest speck, the high one
    # removes background wider than the largest.
    low = min_diameter_mm / (2 * math.sqrt(2))
    return difference_of_gaussians(image, low, max(max_diameter_mm, 2 * low), spacing=spacing, backend=backend)


FILTERS: dict[str, Enhancer] = {"tophat": _tophat, "dog": _dog}
#: The filters calcdetect itself registers (every process has them).
BUILT_IN = frozenset(FILTERS)


def register_filter(name: str, enhancer: Enhancer, *, replace: bool = False) -> None:
    """Make `enhancer` available to the pipeline as ``Params(filter=name)``.

    A batch run (:func:`calcdetect.batch.run_detection`) carries the filters
    registered here to its worker processes and Dask workers (:func:`user_filters`),
    which pickle a function by reference: register a function defined at the top
    level of an importable module (not a lambda, nor one defined inside another)
    for runs with more than one worker.

    Raises
    ------
    ValueError
        If `name` is registered already and not `replace`, or is a built-in filter.
    """
    if name in BUILT_IN:
        raise ValueError(f"filter {name!r} is built in and cannot be replaced; register it under another name")
    if name in FILTERS and not replace:
        raise ValueError(f"filter {name!r} is already registered; pass replace=True to replace it")
    FILTERS[name] = enhancer


def user_filters() -> dict[str, Enhancer]:
    """The filters registered by :func:`register_filter` in this process (name -> function)."""
    return {name: fn for name, fn in FILTERS.items() if name not in BUILT_IN}


def get_filter(name: str) -> Enhancer:
    """The registered filter called `name`."""
    try:
        return FILTERS[name]
    except KeyError:
        raise ValueError(f"filter must be one of {sorted(FILTERS)}; got {name!r}") from None
