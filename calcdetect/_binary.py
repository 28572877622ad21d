"""Binary raster operations of scipy.ndimage done by OpenCV, value for value, several times faster."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi


#: Where OpenCV gives a distance of this many pixels or more, scipy gives them all (see
#: :func:`euclidean_distance`).
_MAX_DISTANCE_PX = 512


def euclidean_distance(binary) -> np.ndarray:
    """Distance from each non-zero pixel to the nearest zero pixel, in pixels.

    The same values as ``scipy.ndimage.distance_transform_edt(binary)``, bit for bit,
    several times faster: OpenCV's exact transform (``DIST_L2``, ``DIST_MASK_PRECISE``:
    Felzenszwalb and Huttenlocher's algorithm [1]_) gives each distance ``d`` in float32,
    whose square is then rounded to the integer it is (``rows^2 + cols^2`` to the nearest
    zero pixel) and its square root taken in float64. A correctly rounded float32 ``d`` is
    within 2^-24 of it (relative); OpenCV's Intel IPP code path was seen up to 9 float32
    steps off (images 2-11 pixels thin, distances from about 900 pixels). Below 512 pixels
    even 16 steps leave ``d^2`` within half of its integer: an image with a larger distance
    is left to scipy. The rounding also removes the last-bit differences OpenCV's result
    may show between calls. Scaled by a power of two (cells of 0.5 or 1 mm) the result is
    still scipy's with that ``sampling``, exactly.

    Parameters
    ----------
    binary : (M, N) array_like of bool
        Non-zero where the distance is wanted.

    Returns
    -------
    (M, N) ndarray of float64
        0 on zero pixels. Without any zero pixel, scipy's answer (which it computes).

    Raises
    ------
    ValueError
        When `binary` is not 2-D.

    References
    ----------
    .. [1] Felzenszwalb PF, Huttenlocher DP. Distance transforms of sampled functions.
       Theory of Computing 2012;8:415-28.
    """
    binary = np.asarray(binary, bool)
    if binary.ndim != 2:
        raise ValueError(f"binary must be 2-D; got shape {binary.shape}")
    if binary.all():  # no zero pixel
        return ndi.distance_transform_edt(binary)
    distance = cv2.distanceTransform(np.ascontiguousarray(binary).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    if distance.max() >= _MAX_DISTANCE_PX:
        return ndi.distance_transform_edt(binary)
    return np.sqrt(np.rint(np.square(distance, dtype=np.float64)))


def fill_holes(binary) -> np.ndarray:
    """`binary` with its holes filled: ``scipy.ndimage.binary_fill_holes(binary)``, exactly.

    A hole is a part of the background that no 4-connected path of background pixels
    joins to the outside of the image (scipy's default structure); it is found by
    OpenCV's flood fill of the background from outside the image, about 7 x faster on the
    small windows this is done on (one per enclosing object of an image's specks).

    Parameters
    ----------
    binary : (M, N) array_like of bool
        True (non-zero) on the objects whose holes are filled.

    Returns
    -------
    (M, N) ndarray of bool

    Raises
    ------
    ValueError
        When `binary` is not 2-D.
    """
    binary = np.asarray(binary, bool)
    if binary.ndim != 2:
        raise ValueError(f"binary must be 2-D; got shape {binary.shape}")
    padded = np.zeros((binary.shape[0] + 2, binary.shape[1] + 2), np.uint8)  # the outside, all background
    padded[1:-1, 1:-1] = binary
    reached = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)  # floodFill's mask: 1 more each side
    cv2.floodFill(padded, reached, (0, 0), 1, flags=4)
    return reached[2:-2, 2:-2] == 0
