"""The filter registry: every enhancement filter and band-pass the pipeline can use, by name.

A registered filter is a :class:`FilterSpec`: the function, how its parameters follow
from the calcification size window (``min_diameter_mm``, ``max_diameter_mm``), and its
spatial reach, so that the pipeline crops the image with the right margin for any
filter, a user's included. Filters come from three places:

- calcdetect's own (:data:`BUILT_IN`), registered when :mod:`calcdetect.filters` is imported;
- :func:`register_filter`, called by the user's code (one line per filter);
- installed packages that declare a :class:`FilterSpec` under the entry-point group
  ``calcdetect.filters`` (loaded on first use), e.g. in their ``pyproject.toml``::

      [project.entry-points."calcdetect.filters"]
      my-filter = "my_package.filters:MY_FILTER"
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

import numpy as np

from calcdetect.filters.builtin import BUILT_IN_SPECS
from calcdetect.filters.spec import FilterSpec

__all__ = ["BUILT_IN", "ENTRY_POINT_GROUP", "FILTERS", "FilterSpec", "UnknownFilterError", "available_filters",
           "get_filter", "register_filter", "register_spec", "user_filters"]

#: Entry-point group under which installed packages declare their filters.
ENTRY_POINT_GROUP = "calcdetect.filters"
#: Not a filter's name: ``Params(detector="response")`` means the enhancement filter's own response.
RESERVED = "response"


#: Every registered filter, by name.
FILTERS: dict[str, FilterSpec] = {spec.name: spec for spec in BUILT_IN_SPECS}
#: The filters calcdetect itself registers (every process has them).
BUILT_IN: frozenset[str] = frozenset(FILTERS)
_entry_points_loaded = False


def _fixed(params: Mapping, min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return dict(params)


def _constant(value: float, **params) -> float:
    return value


def _size_window(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"min_diameter_mm": min_diameter_mm, "max_diameter_mm": max_diameter_mm}


def register_filter(name: str, function: Callable[..., np.ndarray], *,
                    reach_mm: float | Callable[..., float] | None = None,
                    sizing: Callable[[float, float], dict] | None = None, defaults: Mapping | None = None,
                    summary: str = "", replace: bool = False) -> FilterSpec:
    """Make `function` available as ``Params(filter=name)`` / ``Params(detector=name)``.

    Parameters
    ----------
    name : str
    function : callable
        ``function(image, *, spacing, backend, **params) -> (M, N) float32`` response,
        calcifications positive on a background near zero (``backend`` is
        ``"opencv"`` or ``"reference"``; a function with one implementation may ignore it).
    reach_mm : float or callable
        How far (mm) from a pixel the response looks, or ``reach_mm(**params)``
        computing it (``reach_mm(*, spacing=None, **params)`` when it depends on the
        pixel size, e.g. a scale floored at a fraction of a pixel: it is then given the
        image's spacing, and None where no pixel size is known); ``math.inf`` for a
        filter that is not local. The pipeline grows its crop round the breast by
        this much. Without it (deprecated, the registration of before issue 14),
        `function` is called with the size window (``min_diameter_mm``,
        ``max_diameter_mm``) on the whole image.
    sizing : callable, optional
        ``sizing(min_diameter_mm, max_diameter_mm) -> params``: the parameters for a
        calcification size window. Give this or `defaults`.
    defaults : mapping, optional
        Fixed parameters (lengths in mm), whatever the size window.
    summary : str
        One line for listings.
    replace : bool
        Replace a filter registered before under `name` (not a built-in one).

    Returns
    -------
    FilterSpec

    Raises
    ------
    ValueError
        If `name` is built in, ``"response"``, or registered already and not `replace`; if both
        `sizing` and `defaults` are given (neither means no parameters); if
        `reach_mm` is a negative number, or a callable whose ``spacing`` has no default.

    Notes
    -----
    A batch run (:func:`calcdetect.batch.run_detection`) carries the filters registered
    here to its worker processes and Dask workers (:func:`user_filters`), which pickle
    functions by reference: with more than one worker, `function`, `sizing` and a
    callable `reach_mm` must be defined at the top level of an importable module.

    Examples
    --------
    >>> from calcdetect.filters import white_tophat
    >>> def wide_tophat(image, *, spacing, radius_mm, backend="opencv"):
    ...     return white_tophat(image, radius_mm, spacing=spacing, backend=backend)
    >>> spec = register_filter("wide-tophat", wide_tophat, defaults={"radius_mm": 1.0}, reach_mm=1.0)
    >>> spec.defaults, spec.reach_mm()
    ({'radius_mm': 1.0}, 1.0)
    >>> _ = FILTERS.pop("wide-tophat")
    """
    if sizing is not None and defaults is not None:
        raise ValueError(f"filter {name!r}: give sizing or defaults, not both")
    if reach_mm is None:
        if sizing is not None or defaults is not None:
            raise ValueError(f"filter {name!r}: give reach_mm (mm, or math.inf) with sizing or defaults")
        warnings.warn(f"register_filter({name!r}, function) without reach_mm is deprecated: the function gets the "
                      "size window (min_diameter_mm, max_diameter_mm), as before, and the whole image, its reach "
                      "being unknown; give reach_mm, and sizing or defaults", DeprecationWarning, stacklevel=2)
        sizing, reach_mm = _size_window, math.inf
    if not callable(reach_mm):
        value = float(reach_mm)
        if not value >= 0:
            raise ValueError(f"reach_mm must be >= 0 (mm, or math.inf); got {reach_mm!r}")
        reach_mm = functools.partial(_constant, value)
    if sizing is None:
        sizing = functools.partial(_fixed, dict(defaults or {}))
    return _add(FilterSpec(name, function, sizing, reach_mm, summary), replace=replace)


def _add(spec: FilterSpec, *, replace: bool) -> FilterSpec:
    if spec.name == RESERVED:
        raise ValueError(f"filter name {RESERVED!r} is reserved (Params.detector's 'the enhancement filter itself')")
    if spec.name in BUILT_IN:
        raise ValueError(f"filter {spec.name!r} is built in and cannot be replaced; register it under another name")
    if spec.name in FILTERS and not replace:
        raise ValueError(f"filter {spec.name!r} is already registered; pass replace=True to replace it")
    FILTERS[spec.name] = spec
    return spec


def register_spec(spec: FilterSpec, *, replace: bool = False) -> FilterSpec:
    """Register a ready :class:`FilterSpec` (as a worker does with the parent's filters)."""
    if not isinstance(spec, FilterSpec):
        raise TypeError(f"spec must be a FilterSpec; got {type(spec).__name__}")
    return _add(spec, replace=replace)


def user_filters() -> dict[str, FilterSpec]:
    """The filters registered in this process that are not built in (name -> spec)."""
    return {name: spec for name, spec in FILTERS.items() if name not in BUILT_IN}


def available_filters() -> list[str]:
    """The names of every filter: built in, registered, and declared by installed packages."""
    _load_entry_points()
    return sorted(FILTERS)


class UnknownFilterError(ValueError):
    """No filter is registered under the name asked for (the message lists those that are)."""


def get_filter(name: str) -> FilterSpec:
    """The filter registered as `name`.

    Raises
    ------
    UnknownFilterError
        (a ValueError) If no filter has that name, listing those that do.
    """
    if name not in FILTERS:
        _load_entry_points()
    try:
        return FILTERS[name]
    except KeyError:
        raise UnknownFilterError(f"filter must be one of {sorted(FILTERS)}; got {name!r}") from None


def _load_entry_points() -> None:
    """Register the filters installed packages declare (once per process). A plugin that
    cannot be loaded, is no :class:`FilterSpec`, or whose name is taken is left out with a
    warning naming it and the reason; the others load."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {point.name!r} ({point.value}) of group {ENTRY_POINT_GROUP!r}"
        try:
            spec = point.load()
        except Exception as exc:  # a broken plugin must not take the others (or the command line) down
            warnings.warn(f"{where} cannot be loaded, left out: {type(exc).__name__}: {exc}", stacklevel=2)
            continue
        if not isinstance(spec, FilterSpec):
            warnings.warn(f"{where} must be a calcdetect.filters.FilterSpec; got {type(spec).__name__}; left out",
                          stacklevel=2)
        elif spec.name != point.name:
            warnings.warn(f"{where} declares a filter named {spec.name!r}; the two names must agree; left out",
                          stacklevel=2)
        elif spec.name in FILTERS or spec.name == RESERVED:
            warnings.warn(f"{where}: the name {spec.name!r} is taken; left out", stacklevel=2)
        else:
            FILTERS[spec.name] = spec
