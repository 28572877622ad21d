"""Argument checks shared by the whole package: spacing, positive numbers, backends, images."""

from __future__ import annotations

import numpy as np

BACKENDS = ("opencv", "reference")


def check_spacing(spacing) -> tuple[float, float]:
    """Validate a (row_mm, col_mm) pixel spacing and return it as floats."""
    try:
        row_mm, col_mm = (float(v) for v in spacing)
    except (TypeError, ValueError):
        raise ValueError(f"spacing must be (row_mm, col_mm); got {spacing!r}") from None
    if not (np.isfinite([row_mm, col_mm]).all() and row_mm > 0 and col_mm > 0):
        raise ValueError(f"spacing must be two positive numbers in mm; got {spacing!r}")
    return row_mm, col_mm


def check_positive(name: str, value: float) -> float:
    """Return `value` as a float, or raise naming the parameter when it is not > 0."""
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return value


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    return backend


def check_image(image, *, finite: bool = False) -> np.ndarray:
    """`image` as an array, or raise when it is not 2-D and numeric (with `finite`: or holds
    NaN or infinite values)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, cols); got shape {image.shape}")
    if image.dtype.kind not in "uif":
        raise ValueError(f"image must be numeric; got dtype {image.dtype}")
    if finite and image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError("image must be finite; it holds NaN or infinite values")
    return image
