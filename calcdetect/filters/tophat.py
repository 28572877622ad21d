"""White top-hat with a disk sized in millimetres."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing


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
    # OpenCV reflects only once at the border: an image smaller than the disk
    # (never a mammogram) takes the reference path, which reflects as often as needed.
    if check_backend(backend) == "reference" or any(n < k for n, k in zip(image.shape, footprint.shape)):
        return ndi.white_tophat(image.astype(np.float32), footprint=footprint, mode="reflect")
    kernel = footprint.astype(np.uint8)
    work = _as_uint16_if_exact(image)
    if work is None:
        work = image.astype(np.float32, copy=False)
    opened = cv2.morphologyEx(work, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REFLECT)
    # Subtract in float32: the difference of two uint16 images is exact there.
    return np.subtract(work, opened, dtype=np.float32)


def _as_uint16_if_exact(image: np.ndarray) -> np.ndarray | None:
    """The image as uint16 when that loses nothing, else None."""
    if image.dtype == np.uint16:
        return image
    if image.dtype.kind in "ui":
        if image.size == 0 or (image.min() >= 0 and image.max() <= 65535):
            return image.astype(np.uint16)
        return None
    lo, hi = image.min(initial=0), image.max(initial=0)
    if lo >= 0 and hi <= 65535:
        as_int = image.astype(np.uint16)
        if np.array_equal(as_int, image):
            return as_int
    return None
