"""Scale-normalised Laplacian of Gaussian with widths in millimetres.

Also home of the Gaussian-derivative filters that :mod:`calcdetect.filters.hessian`
shares: the sampled Gaussian derivative kernels, corrected so that they
differentiate low-order polynomials exactly (see :func:`gaussian_derivative_kernel`).
"""

from __future__ import annotations

import operator

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing
from calcdetect.filters.dog import TRUNCATE

#: Smallest Gaussian (pixels) whose derivatives are computed: below it the weight of
#: the neighbouring pixels, ``exp(-1 / (2 * sigma**2))`` (3e-4 at 0.25), is too small
#: for the moment correction of :func:`gaussian_derivative_kernel` to be accurate
#: (and the kernels are already the finite differences ``[1, -2, 1]``, ``[-1, 0, 1] / 2``).
MIN_SIGMA_PX = 0.25


def _radius(sigma_px: float) -> int:
    # The rule of scipy (and of dog._cv_gaussian): radius = int(truncate * sigma + 0.5).
    return int(TRUNCATE * sigma_px + 0.5)


def _sampled_moments(sigma_px: float, radius: int) -> tuple[np.ndarray, float, float]:
    """The sampled, normalised Gaussian on ``-radius..radius`` and its 2nd and 4th moments."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / sigma_px**2 * x**2)
    phi /= phi.sum()
    return phi, float(np.sum(x**2 * phi)), float(np.sum(x**4 * phi))


def gaussian_derivative_kernel(sigma_px: float, order: int) -> np.ndarray:
    """1-D Gaussian derivative convolution kernel with the low moments of the continuous one.

    The kernel of :func:`scipy.ndimage.gaussian_filter1d` (``_gaussian_kernel1d``:
    the Gaussian sampled on ``-r..r`` pixels, ``r = int(4 * sigma_px + 0.5)``,
    normalised to sum 1, times the derivative's Hermite polynomial), with the
    derivatives re-weighted by the moments of that *sampled* Gaussian (variance
    ``v``, fourth moment ``m4``) instead of those of the continuous one
    (``sigma**2``, ``3 * sigma**4``)::

        order 0: phi(x)
        order 1: -x * phi(x) / v
        order 2: 2 * (x**2 - v) * phi(x) / (m4 - v**2)

    so that, as for the continuous Gaussian, the order-2 kernel sums to 0 and
    returns 2 on ``x**2``, and the order-1 kernel returns 1 on ``x`` (as
    convolutions): the Laplacian and the Hessian built from them are exact
    on polynomials of degree up to 3. Scipy's kernels, truncated and sampled, do not: the
    scale-normalised Laplacian ``-sigma**2 * (d2/dx2 + d2/dy2)`` they give
    answers a flat background of level ``L`` with ``2 * (1 - v / sigma**2) * L``,
    ``0.001 * L`` to ``0.002 * L`` for wide Gaussians (the truncation at 4 sigma), but
    ``0.28 * L`` at ``sigma_px = 0.5`` and ``1.5 * L`` at 0.35 (the sampling),
    the sizes of the smallest calcifications. These kernels answer 0, and
    tend to the finite differences ``[1, -2, 1]`` and ``[-1, 0, 1] / 2`` as
    sigma goes to 0; for ``sigma_px`` of 1 or more they differ from scipy's
    by less than 0.1 % (order 1) and 0.7 % (order 2) of their peak.

    Parameters
    ----------
    sigma_px : float
        Standard deviation in pixels, at least :data:`MIN_SIGMA_PX`.
    order : {0, 1, 2}
        Order of the derivative.

    Returns
    -------
    (2 * r + 1,) ndarray of float64
        Convolution kernel (reverse it for a correlation, e.g. :func:`cv2.sepFilter2D`).
    """
    radius = _radius(sigma_px)
    phi, v, m4 = _sampled_moments(sigma_px, radius)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    if order == 0:
        return phi
    if order == 1:
        return -x * phi / v
    if order == 2:
        return 2 * (x**2 - v) * phi / (m4 - v**2)
    raise ValueError(f"order must be 0, 1 or 2; got {order!r}")


def _scipy_terms(sigma_px: float, order: int) -> dict[int, float]:
    """The kernel of :func:`gaussian_derivative_kernel` as a sum of scipy's kernels: {scipy order: weight}."""
    phi, v, m4 = _sampled_moments(sigma_px, _radius(sigma_px))
    s2 = sigma_px**2
    if order == 0:
        return {0: 1.0}
    if order == 1:  # scipy's order 1 is -x phi / s2
        return {1: s2 / v}
    # scipy's order 2 is (x**2 / s2**2 - 1 / s2) phi, so x**2 phi = s2**2 * order2 + s2 * phi
    weight = 2 / (m4 - v**2)
    return {2: weight * s2**2, 0: weight * (s2 - v)}


def _check_sigma_px(name: str, sigma_mm: float, sigma_px: tuple[float, float], spacing) -> None:
    if min(sigma_px) < MIN_SIGMA_PX:
        raise ValueError(
            f"{name} must be at least {MIN_SIGMA_PX} pixel; got {sigma_mm!r} mm, "
            f"{min(sigma_px):.3g} pixel at spacing {tuple(spacing)!r}"
        )


def _gaussian_derivatives(
    image: np.ndarray, sigma_px: tuple[float, float], orders, backend: str
) -> list[np.ndarray]:
    """The image filtered by Gaussian derivatives, per pixel**order.

    Parameters
    ----------
    image : (M, N) ndarray
    sigma_px : (float, float)
        Standard deviations (rows, cols) in pixels, each at least :data:`MIN_SIGMA_PX`.
    orders : sequence of (int, int)
        Derivative orders (along rows, along cols), each 0, 1 or 2.
    backend : {"opencv", "reference"}
        ``"opencv"``: :func:`cv2.sepFilter2D` with the kernels of
        :func:`gaussian_derivative_kernel` in float32; ``"reference"``:
        weighted sums of :func:`scipy.ndimage.gaussian_filter` of `image`
        in float64 with the same support.

    Returns
    -------
    list of (M, N) ndarray
        One per order; float32 (``"opencv"``) or float64 (``"reference"``).
    """
    radii = tuple(_radius(s) for s in sigma_px)
    if backend == "opencv" and image.shape[0] > 2 * radii[0] and image.shape[1] > 2 * radii[1]:
        work = image.astype(np.float32, copy=False)
        out = []
        for o_row, o_col in orders:
            # sepFilter2D correlates: reverse the convolution kernels, as scipy does.
            k_row = gaussian_derivative_kernel(sigma_px[0], o_row)[::-1].astype(np.float32)
            k_col = gaussian_derivative_kernel(sigma_px[1], o_col)[::-1].astype(np.float32)
            out.append(cv2.sepFilter2D(work, cv2.CV_32F, k_col, k_row, borderType=cv2.BORDER_REFLECT))
        return out
    # The reference; also for images smaller than the kernel, which OpenCV reflects only once.
    work = image.astype(np.float64)
    cache: dict[tuple[int, int], np.ndarray] = {}

    def scipy_filtered(order: tuple[int, int]) -> np.ndarray:
        if order not in cache:
            cache[order] = ndi.gaussian_filter(
                work, sigma_px, order=order, mode="reflect", truncate=TRUNCATE, radius=radii
            )
        return cache[order]

    out = []
    for o_row, o_col in orders:
        total = np.zeros_like(work)
        for s_row, w_row in _scipy_terms(sigma_px[0], o_row).items():
            for s_col, w_col in _scipy_terms(sigma_px[1], o_col).items():
                total += w_row * w_col * scipy_filtered((s_row, s_col))
        out.append(total)
    return out


def laplacian_of_gaussian(image, sigma_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Scale-normalised, sign-flipped Laplacian of Gaussian: bright blobs positive.

    ``-sigma_mm**2 * (d2/drow2 + d2/dcol2)(G * image)`` with ``G`` a Gaussian of
    standard deviation `sigma_mm` (isotropic in mm) and the derivatives per mm.
    In pixels this is ``-(sigma_row_px**2 * d2/drow_px2 + sigma_col_px**2 *
    d2/dcol_px2)(G * image)``, so anisotropic spacing needs no other care; the
    response is in image units, independent of
    the spacing for the same physical object. A bright blob of diameter ``d``
    responds most at its centre when ``sigma_mm = d / (2 * sqrt(2))`` (a
    Gaussian blob of standard deviation ``s`` at ``sigma_mm = s``) [1]_; flat
    and linearly varying backgrounds answer 0 (away from the image border,
    where the reflection bends a ramp).

    The derivatives are those of the sampled Gaussian, exact on polynomials up
    to degree 3 (:func:`gaussian_derivative_kernel`), on a support of
    ``int(4 * sigma_px + 0.5)`` pixels either side per axis: the response at a
    pixel depends on the image within about ``4 * sigma_mm`` of it.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    sigma_mm : float
        Standard deviation of the Gaussian in millimetres; at least
        :data:`MIN_SIGMA_PX` of the larger pixel side.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"opencv"``: separable Gaussian-derivative kernels with
        :func:`cv2.sepFilter2D` in float32; ``"reference"``:
        :func:`scipy.ndimage.gaussian_filter` with ``order=(2, 0)`` and
        ``(0, 2)`` in float64 (plus the sampled-moment correction). Borders
        are reflected (scipy's ``mode="reflect"``).

    Returns
    -------
    (M, N) ndarray of float32

    Raises
    ------
    ValueError
        If `image` is not 2-D and numeric, `sigma_mm` is not positive or is
        under :data:`MIN_SIGMA_PX` pixel, `spacing` is not two positive
        numbers, or `backend` is unknown.

    References
    ----------
    .. [1] Lindeberg T. Feature detection with automatic scale selection.
       Int J Comput Vis 1998;30(2):79-116.

    Examples
    --------
    >>> image = np.zeros((31, 31), np.uint16); image[13:18, 13:18] = 100
    >>> response = laplacian_of_gaussian(image, 0.2, spacing=(0.1, 0.1))
    >>> [int(i) for i in np.unravel_index(np.argmax(response), response.shape)]
    [15, 15]
    """
    image = check_image(image)
    sigma_mm = check_positive("sigma_mm", sigma_mm)
    row_mm, col_mm = check_spacing(spacing)
    backend = check_backend(backend)
    sigma_px = (sigma_mm / row_mm, sigma_mm / col_mm)
    _check_sigma_px("sigma_mm", sigma_mm, sigma_px, spacing)
    d_rr, d_cc = _gaussian_derivatives(image, sigma_px, [(2, 0), (0, 2)], backend)
    # Python floats keep float32 arrays float32 (and float64 ones float64).
    response = -(sigma_px[0] ** 2) * d_rr
    response -= sigma_px[1] ** 2 * d_cc
    return response.astype(np.float32, copy=False)


def laplacian_of_gaussian_max(
    image, min_sigma_mm: float, max_sigma_mm: float, *, spacing, n_scales: int = 4, backend: str = "opencv"
) -> np.ndarray:
    """Pixel-wise maximum of :func:`laplacian_of_gaussian` over a range of scales.

    The scales are `n_scales` standard deviations spaced geometrically from
    `min_sigma_mm` to `max_sigma_mm` (both included), as the scale space of
    :func:`skimage.feature.blob_log` with ``log_scale=True``; the scale
    normalisation makes the responses comparable, so blobs of diameters
    ``2 * sqrt(2) * min_sigma_mm`` to ``2 * sqrt(2) * max_sigma_mm`` all
    answer about their contrast. The response at a pixel depends on the image
    within about ``4 * max_sigma_mm`` of it.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    min_sigma_mm, max_sigma_mm : float
        Smallest and largest standard deviation in millimetres,
        ``min_sigma_mm < max_sigma_mm``.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    n_scales : int
        Number of scales, at least 2.
    backend : {"opencv", "reference"}
        As for :func:`laplacian_of_gaussian`.

    Returns
    -------
    (M, N) ndarray of float32

    Raises
    ------
    ValueError
        As :func:`laplacian_of_gaussian`, and if ``min_sigma_mm >= max_sigma_mm``
        or `n_scales` is not an integer of at least 2.

    References
    ----------
    .. [1] Lindeberg T. Feature detection with automatic scale selection.
       Int J Comput Vis 1998;30(2):79-116.

    Examples
    --------
    >>> image = np.zeros((41, 41), np.float32); image[19:22, 19:22] = 1; image[8:16, 8:16] = 1
    >>> response = laplacian_of_gaussian_max(image, 0.1, 0.3, spacing=(0.1, 0.1))
    >>> bool(response[20, 20] > 0.5 and response[12, 12] > 0.5)
    True
    """
    image = check_image(image)
    low = check_positive("min_sigma_mm", min_sigma_mm)
    high = check_positive("max_sigma_mm", max_sigma_mm)
    if not low < high:
        raise ValueError(f"min_sigma_mm must be < max_sigma_mm; got {low} and {high}")
    try:
        n = operator.index(n_scales)
    except TypeError:
        n = None
    if n is None or isinstance(n_scales, bool) or n < 2:
        raise ValueError(f"n_scales must be an integer >= 2; got {n_scales!r}")
    check_spacing(spacing)
    check_backend(backend)
    response: np.ndarray | None = None
    for sigma_mm in np.geomspace(low, high, n):
        at_scale = laplacian_of_gaussian(image, float(sigma_mm), spacing=spacing, backend=backend)
        response = at_scale if response is None else np.maximum(response, at_scale, out=response)
    assert response is not None  # n >= 2 scales
    return response
