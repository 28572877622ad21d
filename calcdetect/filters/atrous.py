"""Undecimated ("a trous") B3-spline wavelet detail up to a size in millimetres."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing

#: The B3-spline scaling filter of the a trous transform (Starck & Murtagh).
B3_SPLINE = np.array([1, 4, 6, 4, 1], dtype=np.float64) / 16


def atrous_levels(scale_mm: float, *, spacing) -> tuple[int, int]:
    """Number of a trous levels along rows and along columns for `scale_mm`.

    Level ``j`` holds structures about ``2**j`` pixels across; along each axis
    the level is the one whose ``2**j`` pixels is closest to `scale_mm` on a
    log scale, ``round(log2(scale_mm / pixel_mm))``, at least 1.

    Parameters
    ----------
    scale_mm : float
        Size in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).

    Returns
    -------
    (int, int)
        Levels along rows and along columns.

    Examples
    --------
    >>> atrous_levels(1.0, spacing=(0.07, 0.1))
    (4, 3)
    """
    scale_mm = check_positive("scale_mm", scale_mm)
    row_mm, col_mm = check_spacing(spacing)
    row_levels, col_levels = (max(1, round(math.log2(scale_mm / pixel_mm))) for pixel_mm in (row_mm, col_mm))
    return row_levels, col_levels


def _dilated_kernel(level: int) -> np.ndarray:
    """The B3-spline filter of `level` (1, 2, ...): its taps ``2**(level - 1)`` pixels apart."""
    step = 2 ** (level - 1)
    kernel = np.zeros(4 * step + 1)
    kernel[::step] = B3_SPLINE
    return kernel


def atrous_band(image, scale_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Sum of the a trous wavelet bands from the finest up to the level of `scale_mm`.

    The undecimated B3-spline wavelet transform (algorithme a trous): the
    smoothings ``c_0 = image``, ``c_j = h_j * c_(j-1)`` with ``h_j`` the
    separable kernel ``[1, 4, 6, 4, 1] / 16`` with ``2**(j-1) - 1`` zeros
    inserted between its taps, and the bands ``w_j = c_(j-1) - c_j`` [1]_. The
    response is ``w_1 + ... + w_J = image - c_J``: the detail of all the
    structures up to about ``2**J`` pixels (``scale_mm``) across, with the
    background broader than that removed; a bright speck up to `scale_mm`
    wide keeps most of its contrast (positive), flat and linear backgrounds
    answer 0 (away from the border, where the reflection bends a ramp). For
    the detail up to the largest calcification of interest take
    ``scale_mm = max_diameter_mm``. (Olivo-Marin [2]_ detects spots with the
    product of thresholded bands instead; the sum keeps the response linear.)

    ``J`` is chosen per axis (:func:`atrous_levels`), so that with
    anisotropic spacing the smoothing spans about `scale_mm` along both axes;
    past the smaller of the two levels only the other axis is smoothed. The
    response at a pixel depends on the image within ``2**(J+1) - 2`` pixels
    of it along each axis (about ``2 * scale_mm``).

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    scale_mm : float
        Size in millimetres of the largest structures kept.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"opencv"``: :func:`cv2.sepFilter2D` with the dilated kernels in
        float32, ``image - c_J``; ``"reference"``: the bands summed, each
        smoothing by :func:`scipy.ndimage.convolve1d` per axis in float64.
        Borders are reflected (scipy's ``mode="reflect"``) at every level.

    Returns
    -------
    (M, N) ndarray of float32
        In image units.

    Raises
    ------
    ValueError
        If `image` is not 2-D and numeric, `scale_mm` is not positive,
        `spacing` is not two positive numbers, or `backend` is unknown.

    References
    ----------
    .. [1] Starck JL, Murtagh F, Bijaoui A. Image Processing and Data Analysis:
       The Multiscale Approach. Cambridge University Press, 1998.
    .. [2] Olivo-Marin JC. Extraction of spots in biological images using
       multiscale products. Pattern Recognit 2002;35(9):1989-1996.

    Examples
    --------
    >>> image = np.full((33, 33), 1000, np.uint16); image[16, 16] += 100
    >>> response = atrous_band(image, 0.3, spacing=(0.1, 0.1))
    >>> float(response[0, 0]), round(float(response[16, 16]), 2)
    (0.0, 97.05)
    """
    image = check_image(image)
    levels = atrous_levels(scale_mm, spacing=spacing)
    backend = check_backend(backend)
    # OpenCV reflects only once at the border: images narrower than the last
    # level's kernel (2**(J+1) + 1 taps) take the reference path, which reflects
    # as often as needed.
    if backend == "reference" or any(n < 2 * 2**j + 1 for n, j in zip(image.shape, levels)):
        return _reference_atrous(image, levels)
    work = image.astype(np.float32, copy=False)
    smooth = work
    identity = np.ones(1, np.float32)
    for level in range(1, max(levels) + 1):
        kernel = _dilated_kernel(level).astype(np.float32)  # symmetric: correlation = convolution
        k_row = kernel if level <= levels[0] else identity
        k_col = kernel if level <= levels[1] else identity
        smooth = cv2.sepFilter2D(smooth, cv2.CV_32F, k_col, k_row, borderType=cv2.BORDER_REFLECT)
    return np.subtract(work, smooth, dtype=np.float32)


def _reference_atrous(image: np.ndarray, levels: tuple[int, int]) -> np.ndarray:
    previous = image.astype(np.float64)
    total = np.zeros_like(previous)
    for level in range(1, max(levels) + 1):
        smooth = previous
        for axis in (0, 1):
            if level <= levels[axis]:
                smooth = ndi.convolve1d(smooth, _dilated_kernel(level), axis=axis, mode="reflect")
        total += previous - smooth  # the band w_level
        previous = smooth
    return total.astype(np.float32)
