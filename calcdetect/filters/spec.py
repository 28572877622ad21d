"""What a registered filter is: its function, sizing and reach (see :mod:`calcdetect.filters.registry`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from calcdetect.specks.candidates import MAX_DIAMETER_MM, MIN_DIAMETER_MM

__all__ = ["FilterSpec", "format_params"]


@dataclass(frozen=True)
class FilterSpec:
    """A registered filter.

    Attributes
    ----------
    name : str
        What :class:`calcdetect.pipeline.Params` (``filter``, ``detector``) and the
        command line (``--filter``, ``--detector``) call it.
    function : callable
        ``function(image, *, spacing, backend, **params) -> (M, N) float32``:
        calcifications positive on a background near zero.
    sizing : callable
        ``sizing(min_diameter_mm, max_diameter_mm) -> dict``: the function's
        parameters (lengths in mm, names ending ``_mm``) for a calcification size window.
    reach : callable
        ``reach(**params) -> float``: how far (mm) from a pixel the response looks;
        ``math.inf`` when it is not local (the pipeline then filters the whole image).
    summary : str
        One line for listings (``calcdetect filters``, ``calcdetect bench``).

    Every callable must be a function defined at the top level of an importable module
    (or a :func:`functools.partial` of one) for a batch run with several workers, which
    pickles it by reference.
    """

    name: str
    function: Callable[..., np.ndarray]
    sizing: Callable[[float, float], dict]
    reach: Callable[..., float]
    summary: str = ""

    def params(self, *, min_diameter_mm: float = MIN_DIAMETER_MM, max_diameter_mm: float = MAX_DIAMETER_MM) -> dict:
        """The function's parameters for a calcification size window (mm)."""
        return dict(self.sizing(min_diameter_mm, max_diameter_mm))

    @property
    def defaults(self) -> dict:
        """The parameters for the default size window (0.1-1 mm)."""
        return self.params()

    def reach_mm(self, *, min_diameter_mm: float = MIN_DIAMETER_MM, max_diameter_mm: float = MAX_DIAMETER_MM) -> float:
        """How far (mm) from a pixel the response looks, for a size window; inf when not local."""
        return float(self.reach(**self.params(min_diameter_mm=min_diameter_mm, max_diameter_mm=max_diameter_mm)))

    def __call__(self, image, *, spacing, min_diameter_mm: float = MIN_DIAMETER_MM,
                 max_diameter_mm: float = MAX_DIAMETER_MM, backend: str = "opencv") -> np.ndarray:
        """The response of `image`, the filter sized to the size window."""
        params = self.params(min_diameter_mm=min_diameter_mm, max_diameter_mm=max_diameter_mm)
        return self.function(image, spacing=spacing, backend=backend, **params)


def format_params(params: dict) -> str:
    """``name=value, ...`` for listings: numbers to 4 significant digits, anything else as repr."""
    return ", ".join(f"{key}={value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool)
                     else f"{key}={value!r}" for key, value in params.items())
