"""White top-hat with a disk, or the octagon that approximates it, sized in millimetres."""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing
from calcdetect.filters.chords import chord_opening, chords_faster


def disk_footprint(radius_mm: float, *, spacing) -> np.ndarray:
    """Footprint of a disk of radius `radius_mm` on a pixel grid.

    Pixel offsets (i, j) belong to the disk when ``(i * row_mm)**2 + (j * col_mm)**2
    <= radius_mm**2``, so the footprint is an ellipse in pixels when the spacing
    is anisotropic.

    Parameters
    ----------
    radius_mm : float
        Disk radius in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).

    Returns
    -------
    (2 * r_row + 1, 2 * r_col + 1) ndarray of bool
    """
    radius_mm = check_positive("radius_mm", radius_mm)
    row_mm, col_mm = check_spacing(spacing)
    # The tiny tolerance keeps exact-boundary offsets (e.g. radius 0.35 at 0.07,
    # where 0.35 / 0.07 = 4.999...) inside.
    tolerance = 1 + 1e-9
    r_row, r_col = int(radius_mm / row_mm * tolerance), int(radius_mm / col_mm * tolerance)
    i, j = np.ogrid[-r_row : r_row + 1, -r_col : r_col + 1]
    return (i * row_mm) ** 2 + (j * col_mm) ** 2 <= radius_mm**2 * tolerance**2


def white_tophat(image, radius_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """Enhance bright structures narrower than a disk of radius `radius_mm`.

    The image minus its morphological opening by a disk: calcifications that
    fit inside the disk keep their full height, while the smoothly varying
    tissue background drops to about zero. Borders are handled by reflection
    (scipy's ``mode="reflect"``).

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    radius_mm : float
        Disk radius in millimetres; structures wider than ``2 * radius_mm``
        are removed.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"opencv"`` runs on the integer image when its values are integers in
        the uint16 range (exact, several times faster), else on float32;
        ``"reference"`` is :func:`scipy.ndimage.white_tophat`.

    Returns
    -------
    (M, N) ndarray of float32
        ``image - opening(image)``; non-negative.

    Raises
    ------
    ValueError
        For a bad image (not finite, when it is not whole uint16 values), radius, spacing
        or backend.

    Notes
    -----
    The fast path opens by the disk's rows (:func:`calcdetect.filters.chords.chord_opening`,
    in a time that grows with the disk's height rather than its area) where that is faster
    (:func:`~calcdetect.filters.chords.chords_faster`: disks of about 230 pixels and more),
    else by OpenCV pixel by pixel of the disk; the two are bit-identical. An image smaller
    than the disk is reflected beforehand as often as needed. scipy's reflection (the
    reference) goes wrong when the disk is several times the image's size; the fast path
    does not.

    References
    ----------
    .. [1] Serra J. Image Analysis and Mathematical Morphology. Academic Press, 1982.

    Examples
    --------
    >>> image = np.zeros((9, 9), np.uint16); image[4, 4] = 100
    >>> float(white_tophat(image, 0.2, spacing=(0.1, 0.1))[4, 4])
    100.0
    """
    image = check_image(image)
    footprint = disk_footprint(radius_mm, spacing=spacing)
    if check_backend(backend) == "reference":
        return ndi.white_tophat(image.astype(np.float32), footprint=footprint, mode="reflect")
    return _opening_residual(image, lambda work: _disk_opening(work, footprint))


def _disk_opening(image: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """The opening by the disk, reflected borders: by its rows where that is faster or the image
    is smaller than the disk (OpenCV reflects only once), else by OpenCV pixel by pixel of it;
    the two are bit-identical."""
    if chords_faster(footprint) or any(n < k for n, k in zip(image.shape, footprint.shape)):
        return chord_opening(image, footprint)
    return cv2.morphologyEx(image, cv2.MORPH_OPEN, footprint.astype(np.uint8), borderType=cv2.BORDER_REFLECT)


def octagon_footprint(radius_mm: float, *, spacing) -> np.ndarray:
    """Footprint of the octagon :func:`octagon_tophat` opens with, for a disk of `radius_mm`.

    The dilation of a rectangle of half sides ``(a_row, a_col)`` by the two diagonal
    segments of half length ``d`` pixels, with ``a + 2 d`` the disk's radius in pixels
    along each axis (so the octagon fills the disk's bounding box along the axes) and a
    rectangle at least 3 pixels wide when there are diagonals (else they cross as an X):
    of those, the one that differs from the disk in the fewest pixels. On square pixels,
    for a large disk, ``d`` is about ``0.29`` radii and ``a`` about ``0.41``: the regular
    octagon round the disk [1]_. It may miss a few of the disk's pixels and hold a few
    more (7 % of the disk's count at 0.6 mm on 0.07 mm pixels; up to a fifth for disks
    of a few pixels), and lies within ``sqrt 2`` radii of its centre (the bounding box).

    Parameters
    ----------
    radius_mm : float
        The disk's radius in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).

    Returns
    -------
    (2 * r_row + 1, 2 * r_col + 1) ndarray of bool
        The shape of :func:`disk_footprint`'s for the same radius.

    Raises
    ------
    ValueError
        For a radius that is not positive or a bad spacing.

    References
    ----------
    .. [1] Adams R. Radial decomposition of discs and spheres. CVGIP: Graphical Models
       and Image Processing 1993;55(5):325-32.
    """
    (a_row, a_col), d = _octagon_parts(radius_mm, spacing)
    return _octagon(a_row, a_col, d)


def octagon_tophat(image, radius_mm: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """White top-hat with the octagon that approximates a disk of radius `radius_mm`.

    As :func:`white_tophat`, the opening by :func:`octagon_footprint` instead of the disk:
    a rectangle and two diagonal segments, each of which OpenCV erodes and dilates by in
    a few passes, where the disk takes a pass per row of it at best (MATLAB's ``strel("disk")``
    approximates disks so, with more segments, for the same reason). Borders are handled by
    reflection.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    radius_mm : float
        Radius of the disk the octagon approximates, in millimetres.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    backend : {"opencv", "reference"}
        ``"opencv"`` as in :func:`white_tophat`; ``"reference"`` is
        :func:`scipy.ndimage.white_tophat` with :func:`octagon_footprint`.

    Returns
    -------
    (M, N) ndarray of float32
        Non-negative.

    Raises
    ------
    ValueError
        For a bad image (not finite, when it is not whole uint16 values), radius, spacing
        or backend.
    """
    image = check_image(image)
    (a_row, a_col), d = _octagon_parts(radius_mm, spacing)
    if check_backend(backend) == "reference":
        return ndi.white_tophat(image.astype(np.float32), footprint=_octagon(a_row, a_col, d), mode="reflect")
    return _opening_residual(image, lambda work: _octagon_opening(work, a_row, a_col, d))


def _octagon_opening(image: np.ndarray, a_row: int, a_col: int, d: int) -> np.ndarray:
    """The opening by the octagon: erosions by its rectangle and diagonals in turn, then dilations.

    Reflected once, by what the opening reaches (an erosion, then a dilation), so that each
    pass may treat the border as it likes: scipy reflects the erosion again before the
    dilation, which is the same for a footprint that is mirror symmetric.
    """
    pad = (2 * (a_row + 2 * d), 2 * (a_col + 2 * d))
    kernels = _octagon_kernels(a_row, a_col, d)
    opened = cv2.copyMakeBorder(image, pad[0], pad[0], pad[1], pad[1], cv2.BORDER_REFLECT)
    for kernel in kernels:
        opened = cv2.erode(opened, kernel)
    for kernel in kernels:
        opened = cv2.dilate(opened, kernel)
    return opened[pad[0]:pad[0] + image.shape[0], pad[1]:pad[1] + image.shape[1]]


def _opening_residual(image: np.ndarray, opening: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`image` minus its `opening`, as float32.

    The opening is taken of the image as uint16 when that is exact, else as float32 (then
    it must be finite).
    """
    if image.size == 0:
        return np.zeros(image.shape, np.float32)
    work = _as_uint16_if_exact(image)
    if work is None:
        work = check_image(image, finite=True).astype(np.float32, copy=False)
    # Subtract in float32: the difference of two uint16 images is exact there.
    return cv2.subtract(work, opening(work), dtype=cv2.CV_32F)


def _octagon_parts(radius_mm: float, spacing) -> tuple[tuple[int, int], int]:
    """Half sides (rows, cols) of the octagon's rectangle and half length of its diagonals (px)."""
    return _closest_octagon(check_spacing(spacing), float(check_positive("radius_mm", radius_mm)))


@functools.lru_cache(maxsize=64)
def _closest_octagon(spacing: tuple[float, float], radius_mm: float) -> tuple[tuple[int, int], int]:
    disk = disk_footprint(radius_mm, spacing=spacing)
    r_row, r_col = disk.shape[0] // 2, disk.shape[1] // 2
    # Diagonals need a rectangle at least 3 pixels wide: on a single pixel they cross as an
    # X, with holes.
    candidates = [((r_row - 2 * d, r_col - 2 * d), d) for d in range(min(r_row, r_col) // 2 + 1)
                  if d == 0 or min(r_row, r_col) - 2 * d >= 1]
    return min(candidates, key=lambda parts: int(np.count_nonzero(_octagon(parts[0][0], parts[0][1], parts[1]) ^ disk)))


def _octagon(a_row: int, a_col: int, d: int) -> np.ndarray:
    """The octagon (bool) of a rectangle of half sides (a_row, a_col) and diagonals of half length d."""
    point = np.zeros((2 * (a_row + 2 * d) + 1, 2 * (a_col + 2 * d) + 1), np.uint8)
    point[point.shape[0] // 2, point.shape[1] // 2] = 1
    footprint: np.ndarray = point
    for kernel in _octagon_kernels(a_row, a_col, d):
        footprint = cv2.dilate(footprint, kernel)
    return footprint.astype(bool)


def _octagon_kernels(a_row: int, a_col: int, d: int) -> list[np.ndarray]:
    """The rectangle and the two diagonal segments whose dilations make the octagon."""
    kernels = [np.ones((2 * a_row + 1, 2 * a_col + 1), np.uint8)]
    if d:
        diagonal = np.eye(2 * d + 1, dtype=np.uint8)
        kernels += [diagonal, np.ascontiguousarray(diagonal[:, ::-1])]
    return kernels


def _as_uint16_if_exact(image: np.ndarray) -> np.ndarray | None:
    """The image as uint16 when that loses nothing, else None."""
    if image.dtype == np.uint16:
        return image
    if image.dtype.kind in "ui":
        if image.size == 0 or (image.min() >= 0 and image.max() <= 65535):
            return image.astype(np.uint16)
        return None
    # A float outside 0..65535, fractional or not finite does not cast back to itself.
    with np.errstate(invalid="ignore"):
        as_int = image.astype(np.uint16)
    return as_int if np.array_equal(as_int, image) else None
