"""Saturated plateaus: where an export clipped dense tissue flat, nothing can be measured."""

from __future__ import annotations

import cv2
import numpy as np

from calcdetect._checks import check_image, check_positive, check_spacing

#: An image is clipped when this fraction of the searched region sits at its maximum value:
#: a windowed export flattens whole areas of dense tissue (percent of the breast), while the
#: brightest calcifications of an unclipped image (a white rod, a popcorn) cover far less.
SATURATED_MIN_FRACTION = 0.005
#: In a clipped image, plateaus from this area (mm^2) are left out: a lone saturated speck
#: smaller than that may be a calcification, and keeps its chance.
SATURATED_MIN_AREA_MM2 = 1.0
#: Kept out of the search round a plateau (mm), at least: more than the reach of the default
#: detector (the band-pass, 4 sigmas of 0.14 mm), so the plateau's edge, which excites it, is
#: not searched; detection widens it to a farther-reaching detector's reach.
SATURATED_MARGIN_MM = 1.0


def saturated_plateaus(image, *, spacing, mask=None, min_fraction: float = SATURATED_MIN_FRACTION,
                       min_area_mm2: float = SATURATED_MIN_AREA_MM2) -> np.ndarray:
    """Flat regions at the image's maximum value, where a windowed export clipped dense tissue.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram, calcium bright.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    mask : (M, N) ndarray of bool, optional
        Where to look (the breast); the whole image by default.
    min_fraction : float
        The image counts as clipped when at least this fraction of `mask` is at the maximum.
    min_area_mm2 : float
        In a clipped image, the plateaus (8-connected) of at least this area are returned.

    Returns
    -------
    (M, N) ndarray of bool
        The plateaus; all False when the image is not clipped.

    Raises
    ------
    ValueError
        When `mask` has another shape than `image`, or an option is not positive.
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    check_positive("min_fraction", min_fraction)
    check_positive("min_area_mm2", min_area_mm2)
    if mask is None:
        mask = np.ones(image.shape, bool)
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {image.shape}")
    region = int(np.count_nonzero(mask))
    if region == 0:
        return np.zeros(image.shape, bool)
    # The maximum inside the region: a brighter burned-in label outside it must not hide a
    # clipped breast.
    peak = image.max(where=mask, initial=_lowest(image.dtype))
    top = (image == peak) & mask
    if np.count_nonzero(top) < min_fraction * region:
        return np.zeros(image.shape, bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(top.view(np.uint8), connectivity=8)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] * row_mm * col_mm >= min_area_mm2)
    return np.isin(labels, large[large > 0])


def _lowest(dtype: np.dtype):
    """The lowest value of a numeric `dtype` (where a maximum starts)."""
    return np.iinfo(dtype).min if dtype.kind in "ui" else -np.inf


def without_plateaus(mask, plateaus, *, spacing, margin_mm: float = SATURATED_MARGIN_MM) -> np.ndarray:
    """The search region without saturated plateaus and a margin round them.

    Parameters
    ----------
    mask, plateaus : (M, N) ndarray of bool
        The search region, and the plateaus (:func:`saturated_plateaus`).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    margin_mm : float
        Width of the margin (an ellipse in pixels where the spacing is not square).

    Returns
    -------
    (M, N) ndarray of bool

    Raises
    ------
    ValueError
        When the shapes differ or `margin_mm` is not positive.
    """
    mask, plateaus = np.asarray(mask, bool), np.asarray(plateaus, bool)
    if plateaus.shape != mask.shape:
        raise ValueError(f"plateaus shape {plateaus.shape} differs from mask shape {mask.shape}")
    check_positive("margin_mm", margin_mm)
    if not plateaus.any():
        return mask
    row_mm, col_mm = check_spacing(spacing)
    r, c = max(1, round(margin_mm / row_mm)), max(1, round(margin_mm / col_mm))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * c + 1, 2 * r + 1))
    return mask & ~cv2.dilate(plateaus.view(np.uint8), kernel).astype(bool)
