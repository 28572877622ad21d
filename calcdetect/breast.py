"""Breast region: separate the breast from the background of a mammogram."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from calcdetect.filters._common import check_image, check_spacing

#: Grid on which the mask is computed; fine enough for a skin margin of 1 mm.
_MASK_GRID_MM = 0.5

#: Breast and background means must differ by this many background standard deviations.
_MIN_SEPARATION = 4.0

#: The breast edge: this fraction of the way from the background to the breast mean.
_SKIN_FRACTION = 0.15

#: A breast covers at least this fraction of a mammogram.
_MIN_BREAST_FRACTION = 0.05


def breast_mask(image, *, spacing, margin_mm: float = 1.0) -> np.ndarray:
    """Boolean mask of the breast, shrunk by `margin_mm` from the skin line.

    The image is averaged onto a 0.5 mm grid and split into background and
    breast by Otsu's method; the breast edge is then placed 15 % of the way
    from the background mean to the breast mean, so that the thin periphery
    is kept, and the largest such region, holes filled, is the breast (to
    within about 0.5 mm). The margin keeps the steep skin edge, where any
    band-pass filter responds, away from the calcification candidates.

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
        All True when no background can be told apart (a flat or noise-only
        image, or a breast filling the field).
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    if margin_mm < 0:
        raise ValueError(f"margin_mm must be >= 0; got {margin_mm}")
    rows, cols = image.shape
    small_shape = (max(1, round(rows * row_mm / _MASK_GRID_MM)), max(1, round(cols * col_mm / _MASK_GRID_MM)))
    small = cv2.resize(image.astype(np.float32, copy=False), small_shape[::-1], interpolation=cv2.INTER_AREA)
    if small.max() <= small.min():
        return np.ones(image.shape, bool)
    foreground = small > threshold_otsu(small)
    background = small[~foreground]
    # Air or detector background is flat; when the "background" class is not far
    # below the breast (relative to its own spread), there is nothing to mask.
    gap = small[foreground].mean() - background.mean()
    if gap < _MIN_SEPARATION * background.std():
        return np.ones(image.shape, bool)
    # Otsu's threshold lies midway and would cut off the thin periphery, where the
    # compressed thickness rolls off to the skin: cut much closer to the background.
    labels, n = ndi.label(small > background.mean() + _SKIN_FRACTION * gap)
    if n == 0:
        return np.ones(image.shape, bool)
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    region = ndi.binary_fill_holes(labels == largest)
    if region.mean() < _MIN_BREAST_FRACTION:  # a few bright specks, not a breast
        return np.ones(image.shape, bool)
    # Distance to the background in mm on the coarse grid (the image border counts
    # as background only where the breast does not touch it: the chest wall does),
    # interpolated to full resolution: the margin is then exact to a fraction of a cell.
    inside_mm = ndi.distance_transform_edt(region, sampling=_MASK_GRID_MM) - _MASK_GRID_MM / 2
    inside_mm = cv2.resize(inside_mm.astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR)
    return inside_mm >= margin_mm
