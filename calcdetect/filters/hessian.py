"""Blob and line measures from the eigenvalues of the scale-normalised Hessian, widths in millimetres."""

from __future__ import annotations

import numpy as np

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing
from calcdetect.filters.log import _check_sigma_px, _gaussian_derivatives


def hessian_eigenvalues(image, sigma_mm: float, *, spacing, backend: str = "opencv") -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``l1 <= l2`` of the scale-normalised Hessian, per pixel.

    The Hessian of the image smoothed by a Gaussian of standard deviation
    `sigma_mm` (isotropic in mm), with the derivatives per mm, times
    ``sigma_mm**2``: ``[[Hrr, Hrc], [Hrc, Hcc]]`` with ``Hrr = sigma_row_px**2
    * d2/drow_px2``, ``Hcc = sigma_col_px**2 * d2/dcol_px2`` and ``Hrc =
    sigma_row_px * sigma_col_px * d2/drow_px dcol_px`` (the eigenvalues are
    those of the Hessian in mm, so directions are measured in mm). The
    derivatives are those of :func:`calcdetect.filters.log.gaussian_derivative_kernel`,
    reflected at the border, on a support of ``int(4 * sigma_px + 0.5)`` pixels
    either side per axis.

    Parameters
    ----------
    image : (M, N) ndarray
    sigma_mm : float
        Standard deviation of the Gaussian in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"opencv"``: :func:`cv2.sepFilter2D` in float32 and the closed-form
        eigenvalues of a symmetric 2 x 2 matrix; ``"reference"``:
        :func:`scipy.ndimage.gaussian_filter` with ``order=(2, 0), (1, 1),
        (0, 2)`` in float64 and :func:`numpy.linalg.eigvalsh`.

    Returns
    -------
    l1, l2 : (M, N) ndarray of float32
        In image units; ``l1 <= l2``.

    Raises
    ------
    ValueError
        As :func:`hessian_blob`.

    References
    ----------
    .. [1] Lindeberg T. Feature detection with automatic scale selection.
       Int J Comput Vis 1998;30(2):79-116.

    Examples
    --------
    >>> image = np.zeros((31, 31), np.float32); image[:, 15] = 1  # a vertical line
    >>> l1, l2 = hessian_eigenvalues(image, 0.2, spacing=(0.1, 0.1))
    >>> bool(l1[10, 15] < -0.1 and abs(l2[10, 15]) < 1e-6)
    True
    """
    image = check_image(image)
    sigma_mm = check_positive("sigma_mm", sigma_mm)
    row_mm, col_mm = check_spacing(spacing)
    backend = check_backend(backend)
    sigma_px = (sigma_mm / row_mm, sigma_mm / col_mm)
    _check_sigma_px("sigma_mm", sigma_mm, sigma_px, spacing)
    d_rr, d_rc, d_cc = _gaussian_derivatives(image, sigma_px, [(2, 0), (1, 1), (0, 2)], backend)
    # Python floats keep float32 arrays float32 (and float64 ones float64).
    d_rr *= sigma_px[0] ** 2
    d_rc *= sigma_px[0] * sigma_px[1]
    d_cc *= sigma_px[1] ** 2
    if d_rr.dtype == np.float64:  # the reference (also the fallback for images smaller than the kernel)
        hessian = np.stack([np.stack([d_rr, d_rc], -1), np.stack([d_rc, d_cc], -1)], -2)
        eig = np.linalg.eigvalsh(hessian)  # ascending
        return eig[..., 0].astype(np.float32), eig[..., 1].astype(np.float32)
    mean = (d_rr + d_cc) * np.float32(0.5)
    radius = np.hypot((d_rr - d_cc) * np.float32(0.5), d_rc)
    return mean - radius, mean + radius


def hessian_blob(image, sigma_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Bright-blob strength: ``sqrt(l1 * l2)`` where both Hessian eigenvalues are negative, else 0.

    The square root of the determinant of the scale-normalised Hessian
    (:func:`hessian_eigenvalues`) where the image curves down in every
    direction (a bright, compact spot), 0 elsewhere: a thin line (``l2``
    about 0), an edge, a saddle or a dark spot answer about 0. In image
    units (like the Laplacian: at the centre of a round blob it is half of
    :func:`calcdetect.filters.log.laplacian_of_gaussian`). A bright blob of
    diameter ``d`` answers most at ``sigma_mm = d / (2 * sqrt(2))`` [1]_.
    The response at a pixel depends on the image within about ``4 *
    sigma_mm`` of it.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    sigma_mm : float
        Standard deviation of the Gaussian in millimetres; at least
        :data:`calcdetect.filters.log.MIN_SIGMA_PX` of the larger pixel side.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        As for :func:`hessian_eigenvalues`.

    Returns
    -------
    (M, N) ndarray of float32
        Non-negative.

    Raises
    ------
    ValueError
        If `image` is not 2-D and numeric, `sigma_mm` is not positive or is
        under ``MIN_SIGMA_PX`` pixel, `spacing` is not two positive numbers,
        or `backend` is unknown.

    References
    ----------
    .. [1] Lindeberg T. Feature detection with automatic scale selection.
       Int J Comput Vis 1998;30(2):79-116 (determinant of the Hessian).

    Examples
    --------
    >>> image = np.zeros((31, 31), np.uint16); image[14:17, 14:17] = 100
    >>> response = hessian_blob(image, 0.1, spacing=(0.1, 0.1))
    >>> [int(i) for i in np.unravel_index(np.argmax(response), response.shape)]
    [15, 15]
    """
    l1, l2 = hessian_eigenvalues(image, sigma_mm, spacing=spacing, backend=backend)
    # l2 < 0 implies l1 < 0; elsewhere the product is clipped to 0 before the root.
    return np.sqrt(np.where(l2 < 0, l1 * l2, np.float32(0)))


def hessian_line(image, sigma_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Bright-line strength: ``max(0, -l1 - |l2|)`` from the Hessian eigenvalues ``l1 <= l2``.

    Large when the image curves down strongly across a line (``l1`` very
    negative) and little along it (``l2`` about 0): a thin bright line such
    as a fine linear calcification or a strand. A round blob (``l1 = l2``)
    answers 0, as do dark lines and flat or linear backgrounds. Where ``l2 <= 0``
    this is ``l2 - l1``, the square root of Lindeberg's ridge strength
    ``A = (Lpp - Lqq)**2`` with scale normalisation ``gamma = 1`` [1]_; where
    ``l2 > 0`` (a saddle: the line darkens along its course) the upward
    curvature is subtracted too, as in Sato's line filter [2]_, here without
    its asymmetric weighting and in 2-D. In image units. A bright bar of
    width ``w`` answers most at ``sigma_mm = w / 2``. The response at a pixel
    depends on the image within about ``4 * sigma_mm`` of it.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    sigma_mm : float
        Standard deviation of the Gaussian in millimetres; at least
        :data:`calcdetect.filters.log.MIN_SIGMA_PX` of the larger pixel side.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        As for :func:`hessian_eigenvalues`.

    Returns
    -------
    (M, N) ndarray of float32
        Non-negative.

    Raises
    ------
    ValueError
        If `image` is not 2-D and numeric, `sigma_mm` is not positive or is
        under ``MIN_SIGMA_PX`` pixel, `spacing` is not two positive numbers,
        or `backend` is unknown.

    References
    ----------
    .. [1] Lindeberg T. Edge detection and ridge detection with automatic scale
       selection. Int J Comput Vis 1998;30(2):117-156.
    .. [2] Sato Y, Nakajima S, Shiraga N, et al. Three-dimensional multi-scale line
       filter for segmentation and visualization of curvilinear structures in
       medical images. Med Image Anal 1998;2(2):143-168.

    Examples
    --------
    >>> image = np.zeros((31, 31), np.uint16); image[:, 15] = 100
    >>> response = hessian_line(image, 0.1, spacing=(0.1, 0.1))
    >>> bool(response[10, 15] > 10 * response[10, 10])
    True
    """
    l1, l2 = hessian_eigenvalues(image, sigma_mm, spacing=spacing, backend=backend)
    response = -l1 - np.abs(l2)
    return np.maximum(response, np.float32(0), out=response)
