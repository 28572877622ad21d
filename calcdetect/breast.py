"""Breast region: separate the breast from the background of a mammogram."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from calcdetect.filters._common import check_image, check_spacing

#: Grid on which the mask is computed; fine enough for a skin margin of 1 mm.
_MASK_GRID_MM = 0.5


def breast_mask(image, *, spacing, margin_mm: float = 1.0) -> np.ndarray:
    """Boolean mask of the breast, shrunk by `margin_mm` from the skin line.

    The image is averaged onto a 0.5 mm grid, split by Otsu's threshold, and
    the largest bright connected region, holes filled, is the breast. The
    margin keeps the steep skin edge, where any band-pass filter responds,
    away from the calcification candidates.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram, breast brighter than background (MONOCHROME2 sense).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    margin_mm : float
        Erosion from the skin line in millimetres; 0 keeps the whole breast.

    Returns
    -------
    (M, N) ndarray of bool
        All True when no background can be told apart (e.g. a flat image).
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    if margin_mm < 0:
        raise ValueError(f"margin_mm must be >= 0; got {margin_mm}")
    rows, cols = image.shape
    small_shape = (max(1, round(rows * row_mm / _MASK_GRID_MM)), max(1, round(cols * col_mm / _MASK_GRID_MM)))
    small = cv2.resize(image.astype(np.float32), small_shape[::-1], interpolation=cv2.INTER_AREA)
    if small.max() <= small.min():
        return np.ones(image.shape, bool)
    foreground = small > threshold_otsu(small)
    labels, n = ndi.label(foreground)
    if n == 0:
        return np.ones(image.shape, bool)
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    region = ndi.binary_fill_holes(labels == largest)
    # Upsample the region, then erode at full resolution so the margin is exact in mm.
    mask = cv2.resize(region.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST)
    if margin_mm > 0:
        r_row, r_col = max(1, round(margin_mm / row_mm)), max(1, round(margin_mm / col_mm))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_col + 1, 2 * r_row + 1))
        mask = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return mask.astype(bool)
