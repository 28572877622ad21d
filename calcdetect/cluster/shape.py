"""The shape of each calcification: features measured on its crop of the enhanced image, and a class."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from skimage.morphology import skeletonize

from calcdetect.arrays import StructOfArrays
from calcdetect.candidates import Specks
from calcdetect.filters._common import check_spacing


class SpeckShape(StrEnum):
    """Per-calcification shape class (the ``shape`` column of calcifications.csv)."""

    PUNCTATE = "punctate"  # round, < 0.5 mm
    ROUND = "round"  # round, 0.5-1 mm
    LINEAR = "linear"  # at least 3 times as long as wide
    BRANCHING = "branching"  # linear with a skeleton branch point
    IRREGULAR = "irregular"  # concave, angular outline
    RIM = "rim"  # lucent centre (eggshell)
    COARSE = "coarse"  # wider than 1 mm


#: Thresholds of :func:`classify_specks` (mm where a length).
ELONGATED = 3.0  # length / width of a linear speck
IRREGULAR_SOLIDITY = 0.75  # area / convex hull area below which an outline is irregular
PUNCTATE_MAX_MM = 0.5
COARSE_MIN_WIDTH_MM = 1.0
LUCENT_CENTRE = 0.7  # centre below this fraction of the surrounding ring's peak
RIM_SOLIDITY = 0.85  # a rim's outline is convex


@dataclass(frozen=True, eq=False)
class SpeckFeatures(StructOfArrays):
    """Shape features of K specks (struct of arrays).

    Attributes
    ----------
    elongation : (K,) ndarray
        The larger of length_mm / width_mm and, for specks of 12 pixels or more,
        skeleton length over mean width (skeleton length^2 / area), which also
        sees thin branched casts.
    solidity : (K,) ndarray
        Area of the half-maximum outline over that of its convex hull (1 for convex, and for specks of
        fewer than 6 pixels, whose outline cannot be told).
    branch_points : (K,) ndarray of int
        Skeleton pixels with 3 or more skeleton neighbours (for elongated specks; 0 otherwise).
    lucent_centre : (K,) ndarray of bool
        A convex speck (solidity >= 0.85) whose response at the centroid is
        below 70 % of its peak.
    sharpness : (K,) ndarray
        Mean gradient magnitude along the half-maximum outline over the speck's height, per mm.
    shape : (K,) ndarray of str
        :class:`SpeckShape` values.
    """

    elongation: np.ndarray
    solidity: np.ndarray
    branch_points: np.ndarray
    lucent_centre: np.ndarray
    sharpness: np.ndarray
    shape: np.ndarray


def speck_features(response, specks: Specks, *, spacing) -> SpeckFeatures:
    """Measure the shape of each speck on its crop of `response`.

    Parameters
    ----------
    response : (M, N) ndarray
        The enhanced image the specks were measured on (e.g. a white top-hat),
        in the same coordinates as ``specks.bbox``.
    specks : Specks
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).

    Returns
    -------
    SpeckFeatures
    """
    row_mm, col_mm = check_spacing(spacing)
    k = len(specks)
    solidity = np.ones(k)
    branch_points = np.zeros(k, np.int64)
    lucent = np.zeros(k, bool)
    sharpness = np.zeros(k)
    elongation = specks.length_mm / np.maximum(specks.width_mm, 1e-9)  # refined below from the skeleton
    rows, cols = response.shape
    for i in range(k):
        r0, c0, r1, c1 = specks.bbox[i]
        r0, c0, r1, c1 = max(0, r0 - 2), max(0, c0 - 2), min(rows, r1 + 3), min(cols, c1 + 3)
        crop = np.asarray(response[r0:r1, c0:c1], np.float32)
        background = float(np.median(np.r_[crop[0], crop[-1], crop[:, 0], crop[:, -1]]))
        height = float(crop.max()) - background
        if height <= 0:
            continue
        region = (crop - background >= 0.5 * height).astype(np.uint8)
        n, labels = cv2.connectedComponents(region, connectivity=8)
        peak = np.unravel_index(int(np.argmax(crop)), crop.shape)
        region = (labels == labels[peak]).astype(np.uint8)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outline = max(contours, key=len)
        if region.sum() >= 6:
            hull_area = cv2.contourArea(cv2.convexHull(outline))
            if hull_area > 0:
                solidity[i] = min(1.0, cv2.contourArea(outline) / hull_area)
        area_px = int(region.sum())
        if area_px >= 12:
            skeleton = skeletonize(region.astype(bool)).astype(np.uint8)
            neighbours = cv2.filter2D(skeleton, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
            branch_points[i] = int(np.count_nonzero(skeleton & (neighbours >= 4)))  # itself + 3 neighbours
            # Skeleton length over mean width (= length^2 / area): a rod's length / width, and
            # large for a thin branched cast, whose second moments make it look round.
            length_px = max(int(skeleton.sum()), 1)
            elongation[i] = max(elongation[i], length_px**2 / area_px)
        # Lucent centre: the centroid well below the brightest ring pixel around it.
        cr, cc = int(round(specks.row[i])) - r0, int(round(specks.col[i])) - c0
        if 0 <= cr < crop.shape[0] and 0 <= cc < crop.shape[1] and area_px >= 9:
            # Only a convex speck can have a lucent centre; a concave one's centroid
            # may just fall between its arms.
            lucent[i] = crop[cr, cc] - background < LUCENT_CENTRE * height and solidity[i] >= RIM_SOLIDITY
        # Edge sharpness: gradient along the outline, per mm of the speck's height.
        gy, gx = np.gradient(crop, row_mm, col_mm)
        edge = outline[:, 0, :]  # (x, y) = (col, row) pairs
        sharpness[i] = float(np.hypot(gy, gx)[edge[:, 1], edge[:, 0]].mean()) / height
    features = dict(elongation=elongation, solidity=solidity, branch_points=branch_points,
                    lucent_centre=lucent, sharpness=sharpness)
    return SpeckFeatures(**features, shape=classify_specks(specks, **features))


def classify_specks(specks: Specks, *, elongation, solidity, branch_points, lucent_centre, sharpness) -> np.ndarray:
    """Shape class of each speck from its size and shape features (first rule that applies).

    1. lucent centre -> rim; 2. elongation of 3 or more -> branching when its skeleton
    branches, else linear; 3. wider than 1 mm -> coarse; 4. solidity below 0.75 ->
    irregular; 5. equivalent diameter of 0.5 mm or more -> round; 6. else punctate.
    Sizes follow the BI-RADS lexicon (punctate < 0.5 mm, round < 1 mm, coarse > 1 mm).
    """
    shape = np.full(len(specks), str(SpeckShape.PUNCTATE), dtype=object)
    shape[specks.diameter_mm >= PUNCTATE_MAX_MM] = str(SpeckShape.ROUND)
    shape[np.asarray(solidity) < IRREGULAR_SOLIDITY] = str(SpeckShape.IRREGULAR)
    elongated = np.asarray(elongation) >= ELONGATED
    shape[elongated] = str(SpeckShape.LINEAR)
    shape[elongated & (np.asarray(branch_points) > 0)] = str(SpeckShape.BRANCHING)
    shape[(specks.width_mm > COARSE_MIN_WIDTH_MM) & ~elongated] = str(SpeckShape.COARSE)
    shape[np.asarray(lucent_centre, bool)] = str(SpeckShape.RIM)
    return shape

