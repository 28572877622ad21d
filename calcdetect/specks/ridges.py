"""How far a thin bright ridge runs through each speck: the course of a vessel's wall or a strand.

A calcification of a cluster is a compact speck: the image falls off round it in every
direction. A piece of a calcified vessel's wall, a bump on a trabecular strand or on a
Cooper's ligament lies on a thin bright ridge that runs on, often for millimetres, past
the speck. :func:`ridge_length` follows that ridge both ways from each speck and says how
far it runs. The ridge is found with the Hessian of the Gaussian-smoothed image (the
line detectors of Frangi et al. 1998 and Sato et al. 1998 rest on the same eigenvalues).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_image, check_positive, check_spacing
from calcdetect.specks.noise import local_noise, noise_block_px
from calcdetect.specks.tiles import blocks_round, filter_windows, tile_windows, window_blocks

#: Scale (mm) of the Gaussian whose Hessian finds the ridges: a bar about
#: ``2 * sqrt(3) * sigma`` wide (0.5 mm) answers most (Lindeberg 1998, scale selection),
#: the width of a vessel's calcified wall or a fine strand.
RIDGE_SIGMA_MM = 0.15
#: The ridge goes on while its strength is at least this many local noise sigmas
#: (robust, over blocks of :data:`RIDGE_NOISE_BLOCK_MM`).
RIDGE_MIN_SIGNIFICANCE = 2.0
RIDGE_NOISE_BLOCK_MM = 4.0
#: ... and while its course turns by less than this (degrees) per pixel step.
RIDGE_MAX_TURN_DEG = 30.0
#: Longest course followed each way (mm).
RIDGE_MAX_MM = 5.0
#: The ridges are followed on a square grid no finer than this (mm): finer or non-square
#: images are first averaged down to it, for speed (the smoothing is then at most 1.5 of
#: its pixels).
RIDGE_GRID_MM = 0.1
#: Each step re-centres on the ridge within this many pixels to either side.
_SNAP_PX = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)


def ridge_strength(image, *, spacing, sigma_mm: float = RIDGE_SIGMA_MM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bright-ridge strength and course of each pixel.

    With ``l1 <= l2`` the eigenvalues of the Hessian (in mm) of the image smoothed by a
    Gaussian of `sigma_mm`, the strength is ``-l1``, the curvature across a thin
    bright line; the course is the direction of ``l2``'s eigenvector, along the line.

    Parameters
    ----------
    image : (M, N) ndarray
        Calcium bright.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    sigma_mm : float
        Scale of the smoothing (mm).

    Returns
    -------
    strength : (M, N) ndarray of float32
        In grey levels per mm^2.
    cos2, sin2 : (M, N) ndarray of float32
        The course's double angle, ``(cos 2a, sin 2a)`` times the eigenvalues'
        half difference, with ``a`` its direction (in mm) from the row axis towards
        the column axis (interpolate them, then ``a = atan2(sin2, cos2) / 2``).

    Raises
    ------
    ValueError
        If `image` is not 2-D, `spacing` or `sigma_mm` not positive.

    References
    ----------
    .. [1] Frangi AF, Niessen WJ, Vincken KL, Viergever MA. Multiscale vessel
       enhancement filtering. MICCAI 1998, LNCS 1496:130-7.
    .. [2] Lindeberg T. Edge detection and ridge detection with automatic scale
       selection. Int J Comput Vis 1998;30:117-56.
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    check_positive("sigma_mm", sigma_mm)
    smooth = cv2.GaussianBlur(np.asarray(image, np.float32), (0, 0), sigmaX=sigma_mm / col_mm, sigmaY=sigma_mm / row_mm,
                              borderType=cv2.BORDER_REFLECT)
    # [1, -2, 1] second differences and [-1, 0, 1] x [-1, 0, 1] / 4, per mm^2
    d_rr = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=1, scale=1 / row_mm**2, borderType=cv2.BORDER_REFLECT)
    d_cc = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=1, scale=1 / col_mm**2, borderType=cv2.BORDER_REFLECT)
    sin2 = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3, scale=0.25 / (row_mm * col_mm), borderType=cv2.BORDER_REFLECT)
    cos2 = cv2.addWeighted(d_rr, 0.5, d_cc, -0.5, 0.0)  # half difference
    mean = cv2.addWeighted(d_rr, 0.5, d_cc, 0.5, 0.0, dst=d_rr)
    del d_cc
    strength = cv2.subtract(cv2.magnitude(cos2, sin2), mean, dst=mean)  # -l1 = radius - mean
    return strength, cos2, sin2


def ridge_length(image, rows, cols, *, spacing, mask=None, sigma_mm: float = RIDGE_SIGMA_MM,
                 min_significance: float = RIDGE_MIN_SIGNIFICANCE, max_mm: float = RIDGE_MAX_MM) -> np.ndarray:
    """Length (mm) of the thin bright ridge through each point, followed both ways.

    From each point the course (:func:`ridge_strength`) is stepped one pixel at a
    time, each step re-centred on the strongest ridge pixel within 1.5 pixels to
    either side, while the ridge strength stays at least `min_significance` local
    noise sigmas above its local median (blocks of :data:`RIDGE_NOISE_BLOCK_MM`,
    inside `mask`) and the course turns less than :data:`RIDGE_MAX_TURN_DEG` per
    step; at most `max_mm` each way. A round speck gives about its own size and
    blur; a piece of a line, the line's length (up to ``2 * max_mm``).

    What it cannot tell: a chain of specks so close that the smoothing joins them
    (about 0.5 mm apart) reads as a line, and the bright side of a blurred edge (of
    dense tissue, a mass) curves like a ridge, so a speck beside it may read as on
    a line.

    Parameters
    ----------
    image : (M, N) ndarray
        Calcium bright, finite.
    rows, cols : (K,) array_like
        Start points (pixels), e.g. the specks' centroids.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    mask : (M, N) ndarray of bool, optional
        Where the noise is measured (the breast); the whole image by default.
    sigma_mm, min_significance, max_mm : float
        See above.

    Returns
    -------
    (K,) ndarray of float64
        Millimetres, in ``[0, 2 * max_mm]``.

    Raises
    ------
    ValueError
        For a bad or non-finite image, a bad spacing or parameter, `rows` and `cols`
        of different shapes or outside the image, or a `mask` of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((200, 200), np.float32)
    >>> image[100, 40:160] = 100.0  # a line 12 mm long at 0.1 mm
    >>> image += np.random.default_rng(0).normal(0, 1, image.shape).astype(np.float32)
    >>> float(np.round(ridge_length(image, [100.0], [100.0], spacing=(0.1, 0.1))[0]))
    10.0
    """
    row_mm, col_mm = check_spacing(spacing)
    for name, value in (("min_significance", min_significance), ("max_mm", max_mm)):
        check_positive(name, value)
    image = check_image(image)
    if min(image.shape) < 2:
        raise ValueError(f"image must have at least 2 rows and 2 columns; got shape {image.shape}")
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(f"rows and cols must be 1-D of one length; got shapes {rows.shape} and {cols.shape}")
    outside = ~((rows >= 0) & (rows <= image.shape[0] - 1) & (cols >= 0) & (cols <= image.shape[1] - 1))
    if outside.any():
        raise ValueError(f"rows and cols must lie inside the image {image.shape}; "
                         f"got ({rows[outside][0]}, {cols[outside][0]})")
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != image.shape:
            raise ValueError(f"mask must have the image's shape {image.shape}; got {mask.shape}")
    if rows.size == 0:
        return np.zeros(0)
    grid_mm = max(RIDGE_GRID_MM, row_mm, col_mm)
    factor = (row_mm / grid_mm, col_mm / grid_mm)
    if factor != (1.0, 1.0):  # average down to the square ridge grid
        size = (max(round(image.shape[1] * factor[1]), 2), max(round(image.shape[0] * factor[0]), 2))
        factor = (size[1] / image.shape[0], size[0] / image.shape[1])
        native = image if image.dtype in (np.uint8, np.uint16, np.float32) else image.astype(np.float32)
        image = cv2.resize(native, size, interpolation=cv2.INTER_AREA)  # in its own type: less to read
        if mask is not None:
            mask = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).view(bool)
        rows, cols = (rows + 0.5) * factor[0] - 0.5, (cols + 0.5) * factor[1] - 0.5
    pixel_mm = grid_mm  # square from here on
    check_image(image, finite=True)  # on the ridge grid: fewer pixels to check
    strength, cos2, sin2 = _ridge_maps(image, rows, cols, pixel_mm=pixel_mm, mask=mask, sigma_mm=sigma_mm,
                                       max_mm=max_mm)
    limits = (strength.shape[0] - 1.0, strength.shape[1] - 1.0)
    rows, cols = np.clip(rows, 0, limits[0]), np.clip(cols, 0, limits[1])
    course = (cos2, sin2)
    min_cos = math.cos(math.radians(RIDGE_MAX_TURN_DEG))
    total = np.zeros(rows.size)
    for sign in (1.0, -1.0):
        r, c = rows.copy(), cols.copy()
        d_r, d_c = _direction(course, r, c)
        d_r, d_c = sign * d_r, sign * d_c
        travelled = np.zeros(rows.size)
        going = np.arange(rows.size)
        while going.size:
            r1, c1, dr, dc = r[going] + d_r[going], c[going] + d_c[going], d_r[going], d_c[going]
            snaps_r = np.clip(r1[None, :] - np.multiply.outer(_SNAP_PX, dc), 0, limits[0])
            snaps_c = np.clip(c1[None, :] + np.multiply.outer(_SNAP_PX, dr), 0, limits[1])
            values = _bilinear(strength, snaps_r, snaps_c)
            best = values.argmax(axis=0)
            at = np.arange(going.size)
            r1, c1 = snaps_r[best, at], snaps_c[best, at]
            n_r, n_c = _direction(course, r1, c1)
            turn = n_r * dr + n_c * dc
            n_r, n_c = np.where(turn < 0, -n_r, n_r), np.where(turn < 0, -n_c, n_c)
            step_mm = np.hypot(r1 - r[going], c1 - c[going]) * pixel_mm
            ok = ((values[best, at] >= min_significance) & (np.abs(turn) >= min_cos)
                  & (step_mm >= 0.5 * pixel_mm)  # held at the image's edge: the ridge leaves it
                  & (travelled[going] + step_mm <= max_mm))
            going, r1, c1, n_r, n_c, step_mm = going[ok], r1[ok], c1[ok], n_r[ok], n_c[ok], step_mm[ok]
            r[going], c[going], d_r[going], d_c[going] = r1, c1, n_r, n_c
            travelled[going] += step_mm
        total += travelled
    return total


def _ridge_maps(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, pixel_mm: float, mask: np.ndarray | None,
                sigma_mm: float, max_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge strength in local noise sigmas, and its course, where the courses from (rows, cols) may go.

    The maps are made only on the noise blocks a course of `max_mm` may read
    (:mod:`calcdetect.specks.tiles`; 0 elsewhere), each window with a margin for the
    smoothing and differences: the values are the whole image's maps there (to float32
    rounding), but for blocks mostly outside `mask`, which take the noise of the nearest
    block made (the whole image's nearest valid block may not be), and the floor on the
    noise, a fraction of the median over the blocks made. On an image with a few clusters
    that is a small part of the breast.
    """
    spacing = (pixel_mm, pixel_mm)
    block = noise_block_px(spacing, block_mm=RIDGE_NOISE_BLOCK_MM)
    reach = math.ceil(max_mm / pixel_mm) + 3  # the course, its snaps and their interpolation (px)
    margin = math.ceil(4 * sigma_mm / pixel_mm) + 3  # the smoothing's kernel and the differences (px)
    needed = blocks_round(np.c_[rows, cols, rows, cols], shape=image.shape, block_px=block, reach_px=(reach, reach))
    windows = tile_windows(needed, shape=image.shape, block_px=block)
    strength = np.zeros(image.shape, np.float32)
    cos2, sin2 = np.zeros(image.shape, np.float32), np.zeros(image.shape, np.float32)
    for window, within, maps in filter_windows(lambda part: ridge_strength(part, spacing=spacing, sigma_mm=sigma_mm),
                                               image, windows, margin_px=(margin, margin)):
        strength[window], cos2[window], sin2[window] = (m[within] for m in maps)
    made = window_blocks(windows, shape=image.shape, block_px=block)  # the needed and the rest of their windows
    noise = local_noise(strength, spacing=spacing, block_mm=RIDGE_NOISE_BLOCK_MM, mask=mask, blocks=made)
    for window in windows:
        strength[window] -= noise.upsample(noise.level, window)
        strength[window] /= np.maximum(noise.upsample(noise.sigma, window), np.float32(1e-12))
    return strength, cos2, sin2


def _direction(course: tuple[np.ndarray, np.ndarray], r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit step (rows, cols per pixel) along the course ``(cos2, sin2)`` at (r, c), of either sign."""
    angle = 0.5 * np.arctan2(_bilinear(course[1], r, c), _bilinear(course[0], r, c))
    return np.cos(angle), np.sin(angle)


def _bilinear(image: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """`image` at fractional positions (r, c) inside it, bilinearly interpolated (float64)."""
    return ndi.map_coordinates(image, [r, c], order=1, mode="nearest", output=np.float64)
