"""What a registered filter is: its function, sizing and reach (see :mod:`calcdetect.filters.registry`)."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calcdetect._checks import check_spacing
from calcdetect.errors import FilterError
from calcdetect.specks.candidates import MAX_DIAMETER_MM, MIN_DIAMETER_MM

__all__ = ["FilterSpec", "format_params", "names_spacing", "unwrapped"]


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
        One that names a ``spacing`` parameter (default None: the reach on fine pixels) is
        given the pixel size too (:meth:`reach_mm`).
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

    def __post_init__(self):
        if names_spacing(self.reach, required=True):
            raise ValueError(f"filter {self.name!r}: its reach names spacing without a default; give it spacing=None "
                             "(the reach on fine pixels, for where no pixel size is known, e.g. 'calcdetect filters')")

    def params(self, *, min_diameter_mm: float = MIN_DIAMETER_MM, max_diameter_mm: float = MAX_DIAMETER_MM) -> dict:
        """The function's parameters for a calcification size window (mm)."""
        return dict(self.sizing(min_diameter_mm, max_diameter_mm))

    @property
    def defaults(self) -> dict:
        """The parameters for the default size window (0.1-1 mm)."""
        return self.params()

    def reach_mm(self, *, min_diameter_mm: float = MIN_DIAMETER_MM, max_diameter_mm: float = MAX_DIAMETER_MM,
                 spacing=None) -> float:
        """How far from a pixel the response looks, for a size window and a pixel size.

        Parameters
        ----------
        min_diameter_mm, max_diameter_mm : float
            The calcification size window the filter is sized to (:meth:`params`).
        spacing : tuple of 2 floats, optional
            Pixel spacing (row_mm, col_mm). A filter whose scales are floored at a
            fraction of a pixel (LoG, Hessian, a trous) looks farther on coarse pixels
            than its parameters say: its reach callable names a ``spacing`` parameter
            and is given it here. A callable that does not name it (a ``**params``
            catch-all does not) gives the same reach at every pixel size. Without
            `spacing`, the reach on fine pixels.

        Returns
        -------
        float
            Millimetres; ``math.inf`` when the filter is not local.

        Raises
        ------
        ValueError
            For a bad `spacing`.
        """
        params = self.params(min_diameter_mm=min_diameter_mm, max_diameter_mm=max_diameter_mm)
        if spacing is not None:
            spacing = check_spacing(spacing)
            if names_spacing(self.reach):
                params["spacing"] = spacing
        return float(self.reach(**params))

    def __call__(self, image, *, spacing, min_diameter_mm: float = MIN_DIAMETER_MM,
                 max_diameter_mm: float = MAX_DIAMETER_MM, backend: str = "opencv") -> np.ndarray:
        """The response of `image`, the filter sized to the size window.

        Raises
        ------
        calcdetect.errors.FilterError
            If a filter that is not calcdetect's own raises, or returns anything but an
            array of the image's shape (naming the filter and its module).
        """
        params = self.params(min_diameter_mm=min_diameter_mm, max_diameter_mm=max_diameter_mm)
        if getattr(unwrapped(self.function), "__module__", "").startswith("calcdetect."):
            return self.function(image, spacing=spacing, backend=backend, **params)
        try:
            response = self.function(image, spacing=spacing, backend=backend, **params)
        except Exception as exc:
            raise FilterError(self.name, self.origin, f"{type(exc).__name__}: {exc}") from exc
        shape = np.shape(image)
        if not (isinstance(response, np.ndarray) and response.shape == shape and response.dtype.kind in "uif"):
            got = (f"a {response.dtype} array of shape {response.shape}" if isinstance(response, np.ndarray)
                   else type(response).__name__)
            raise FilterError(self.name, self.origin, f"returned {got} for an image of shape {shape}; a filter "
                                                      "returns a numeric array of the image's shape")
        return response

    @property
    def callables(self) -> tuple[Callable, ...]:
        """The function, the sizing and the reach: what a worker must import."""
        return self.function, self.sizing, self.reach

    @property
    def origin(self) -> str:
        """Where the filter's function is defined: its source file, else its module."""
        function = unwrapped(self.function)
        try:
            return inspect.getsourcefile(function) or function.__module__
        except TypeError:
            return getattr(function, "__module__", "?")

    def fingerprint(self, **window) -> str:
        """12 hex digits that change when the filter's code or parameters do: the source files
        of its function, sizing and reach (their modules whole, helpers and constants included)
        and its parameters for the size window."""
        parts = [repr(sorted(self.params(**window).items()))]
        for function in map(unwrapped, self.callables):
            try:
                path = inspect.getsourcefile(function)
                parts.append(Path(path).read_text(encoding="utf-8") if path else inspect.getsource(function))
            except (OSError, TypeError):  # no source (a builtin, or typed in at a prompt): its name
                parts.append(f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', function)}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def format_params(params: dict) -> str:
    """``name=value, ...`` for listings: numbers to 4 significant digits, anything else as repr."""
    return ", ".join(f"{key}={value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool)
                     else f"{key}={value!r}" for key, value in params.items())


def unwrapped(function: Callable) -> Callable:
    """The function a :func:`functools.partial` wraps (itself for anything else)."""
    return getattr(function, "func", function)


def names_spacing(function: Callable, *, required: bool = False) -> bool:
    """Whether `function` takes a parameter named ``spacing`` (not only through ``**kwargs``);
    with `required`, one without a default. False when it has no signature to read."""
    try:
        parameter = inspect.signature(function).parameters.get("spacing")
    except (TypeError, ValueError):
        return False
    if parameter is None or parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
        return False
    return not required or parameter.default is parameter.empty
