"""Difference of Gaussians with widths in millimetres."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import difference_of_gaussians as _skimage_dog

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing

#: Kernel half-width in standard deviations, as scipy's default ``truncate``.
TRUNCATE = 4.0


def gaussian(image, sigma_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Gaussian blur of width `sigma_mm`, float32, reflected borders.

    Parameters
    ----------
    image : (M, N) ndarray
    sigma_mm : float
        Standard deviation in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"reference"`` is :func:`scipy.ndimage.gaussian_filter` in float64.

    Returns
    -------
    (M, N) ndarray of float32
    """
    image = check_image(image)
    sigma_mm = check_positive("sigma_mm", sigma_mm)
    row_mm, col_mm = check_spacing(spacing)
    sigma_px = (sigma_mm / row_mm, sigma_mm / col_mm)
    if check_backend(backend) == "reference":
        return _reference_gaussian(image, sigma_px)
    return _cv_gaussian(image.astype(np.float32, copy=False), sigma_px)


def _reference_gaussian(image: np.ndarray, sigma_px: tuple[float, float]) -> np.ndarray:
    return ndi.gaussian_filter(image.astype(np.float64), sigma_px, mode="reflect", truncate=TRUNCATE).astype(
        np.float32
    )


def _cv_gaussian(image: np.ndarray, sigma_px: tuple[float, float]) -> np.ndarray:
    # Same kernel support as scipy (radius = int(truncate * sigma + 0.5)) so the
    # two agree to float32 rounding.
    k_row, k_col = (2 * int(TRUNCATE * s + 0.5) + 1 for s in sigma_px)
    if image.shape[0] < k_row or image.shape[1] < k_col:
        # OpenCV reflects only once at the border: tiny images take the reference path.
        return _reference_gaussian(image, sigma_px)
    return cv2.GaussianBlur(
        image, (k_col, k_row), sigmaX=sigma_px[1], sigmaY=sigma_px[0], borderType=cv2.BORDER_REFLECT
    )


def difference_of_gaussians(
    image, low_sigma_mm: float, high_sigma_mm: float, *, spacing, backend: str = "opencv"
) -> np.ndarray:
    """Band-pass: Gaussian of width `low_sigma_mm` minus one of `high_sigma_mm`.

    Blobs of diameter about ``2 * sqrt(2) * low_sigma_mm`` to
    ``2 * sqrt(2) * high_sigma_mm`` respond most; slowly varying tissue and
    pixel noise are both suppressed.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    low_sigma_mm, high_sigma_mm : float
        Standard deviations in millimetres, ``low_sigma_mm < high_sigma_mm``.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"reference"`` is :func:`skimage.filters.difference_of_gaussians`.

    Returns
    -------
    (M, N) ndarray of float32

    References
    ----------
    .. [1] Marr D, Hildreth E. Theory of edge detection. Proc R Soc Lond B 207:187-217, 1980.
    """
    image = check_image(image)
    low = check_positive("low_sigma_mm", low_sigma_mm)
    high = check_positive("high_sigma_mm", high_sigma_mm)
    if not low < high:
        raise ValueError(f"low_sigma_mm must be < high_sigma_mm; got {low} and {high}")
    row_mm, col_mm = check_spacing(spacing)
    low_px, high_px = (low / row_mm, low / col_mm), (high / row_mm, high / col_mm)
    if check_backend(backend) == "reference":
        return _skimage_dog(
            image.astype(np.float64), low_px, high_px, mode="reflect", truncate=TRUNCATE
        ).astype(np.float32)
    work = image.astype(np.float32, copy=False)
    response = _cv_gaussian(work, low_px)
    response -= _cv_gaussian(work, high_px)
    return response
