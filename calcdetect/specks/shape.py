"""The shape of each calcification: features measured on its crop of the enhanced image, and a class."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from skimage.morphology import skeletonize

from calcdetect.arrays import StructOfArrays
from calcdetect.specks.candidates import Specks
from calcdetect._binary import fill_holes
from calcdetect._checks import check_image, check_positive, check_spacing
from calcdetect.filters.tophat import white_tophat
from calcdetect.specks.noise import local_noise
from calcdetect.specks.ridges import ridge_length


class SpeckShape(StrEnum):
    """Per-calcification shape class (the ``shape`` column of calcifications.csv)."""

    PUNCTATE = "punctate"  # round, < 0.5 mm
    ROUND = "round"  # round, 0.5-1 mm
    LINEAR = "linear"  # at least 3 times as long as wide
    BRANCHING = "branching"  # linear with a skeleton branch point
    IRREGULAR = "irregular"  # concave, angular outline
    RIM = "rim"  # lucent centre (eggshell)
    COARSE = "coarse"  # wider than 1.5 mm, or a piece of so wide an object (popcorn)


#: Thresholds of :func:`classify_specks` (mm where a length).
ELONGATED = 3.0  # length / width of a linear speck
IRREGULAR_SOLIDITY = 0.75  # area / convex hull area below which an outline is irregular
PUNCTATE_MAX_MM = 0.5
#: Midway between the widest round or coarse heterogeneous calcification (1 mm) and
#: the narrowest popcorn (2 mm) of the lexicon.
COARSE_MIN_WIDTH_MM = 1.5
LUCENT_CENTRE = 0.7  # centre below this fraction of the surrounding ring's peak
RIM_SOLIDITY = 0.85  # a rim's outline is convex

#: Objects wider than the speck size window (popcorn, 2-4 mm) are found in pieces: each
#: speck's enclosing object is measured whole (:func:`enclosing_objects`) on a grid of
#: cells about this size (mm), with a top-hat that keeps objects up to this diameter (mm),
#: where it stands out by this many local noise sigmas (over blocks of this side, mm).
OBJECT_CELL_MM = 0.25
OBJECT_MAX_DIAMETER_MM = 6.0
OBJECT_MIN_SIGNIFICANCE = 5.0
OBJECT_NOISE_BLOCK_MM = 12.0
#: A shell's lucent centre is a hole of at least this fraction of its filled outline
#: (0.4 for a 2.8 mm shell 0.15 mm thick); a notch between the lumps of popcorn is a cell or two.
OBJECT_HOLE_FRACTION = 0.2


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
    object_width_mm : (K,) ndarray
        Width of the bright object the speck belongs to, measured whole
        (:func:`enclosing_objects`); NaN where no object stands out at that
        scale or the image was not given. For a speck that is a piece of a wider
        object, `lucent_centre` is the object's.
    shape : (K,) ndarray of str
        :class:`SpeckShape` values.
    object_length_mm : (K,) ndarray
        Length of that enclosing object (NaN likewise): a calcified vessel's wall
        is a long object of which the specks are pieces.
    ridge_length_mm : (K,) ndarray
        How far the thin bright ridge through the speck runs, followed both ways
        (:func:`calcdetect.specks.ridges.ridge_length`, 0-10 mm): about its own
        size and blur for a compact calcification, millimetres for a bump on a line
        or a piece of one (a vessel's wall, a strand, a ligament); NaN where the
        image was not given.
    """

    elongation: np.ndarray
    solidity: np.ndarray
    branch_points: np.ndarray
    lucent_centre: np.ndarray
    sharpness: np.ndarray
    object_width_mm: np.ndarray
    shape: np.ndarray
    object_length_mm: np.ndarray | None = None
    ridge_length_mm: np.ndarray | None = None

    def __post_init__(self):
        for name in ("object_length_mm", "ridge_length_mm"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(len(self.elongation), np.nan))


@dataclass(frozen=True, eq=False)
class EnclosingObjects(StructOfArrays):
    """The bright object each of K specks belongs to, measured whole on a coarse grid.

    Attributes
    ----------
    width_mm, length_mm : (K,) ndarray
        Minor and major axis (mm) of the object's half-maximum outline (4 x the square root of
        the smaller second moment: a disk's diameter; 0.87 of a sphere's, whose
        projected thickness is rounded); NaN where the speck's neighbourhood does
        not stand out at the coarse scale, or the outline is wider than the top-hat.
    lucent_centre : (K,) ndarray of bool
        The outline's centroid lies in a hole of it, of at least :data:`OBJECT_HOLE_FRACTION`
        of the filled outline: a shell (rim), not a solid object.
    """

    width_mm: np.ndarray
    length_mm: np.ndarray
    lucent_centre: np.ndarray


def enclosing_objects(image, specks: Specks, *, spacing, mask=None, cell_mm: float = OBJECT_CELL_MM,
                      max_diameter_mm: float = OBJECT_MAX_DIAMETER_MM,
                      min_significance: float = OBJECT_MIN_SIGNIFICANCE) -> EnclosingObjects:
    """Measure, whole, the bright object around each speck.

    Calcifications wider than the speck size window (popcorn, 2-4 mm, and large
    rims) are found as several specks: their edges and lumps. On the image
    averaged over cells of about `cell_mm` and enhanced by a white top-hat of
    diameter `max_diameter_mm`, each speck's enclosing object is the connected
    region above half its peak (the top-hat's maximum within one cell of the
    speck), when that peak stands `min_significance` local noise sigmas above
    the local background (:func:`calcdetect.specks.noise.local_noise`, over blocks of
    :data:`OBJECT_NOISE_BLOCK_MM`): tissue texture at this scale is strong, a
    dense calcification is stronger.

    Parameters
    ----------
    image : (M, N) ndarray
        The mammogram, calcium bright, in the coordinates of the specks.
    specks : Specks
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    mask : (M, N) ndarray of bool, optional
        Where the noise is estimated (the breast); all of the image by default.
    cell_mm, max_diameter_mm, min_significance : float
        Coarse grid cell (mm), top-hat diameter (mm), and peak significance (sigmas).

    Returns
    -------
    EnclosingObjects
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    cell_mm = check_positive("cell_mm", cell_mm)
    max_diameter_mm = check_positive("max_diameter_mm", max_diameter_mm)
    min_significance = check_positive("min_significance", min_significance)
    if mask is not None and np.shape(mask) != image.shape:
        raise ValueError(f"mask shape {np.shape(mask)} differs from image shape {image.shape}")
    k = len(specks)
    width, length = np.full(k, np.nan), np.full(k, np.nan)
    lucent = np.zeros(k, bool)
    # Whole cells only, so that a cell is the exact mean of its pixels.
    f_row, f_col = max(1, round(cell_mm / row_mm)), max(1, round(cell_mm / col_mm))
    n_row, n_col = image.shape[0] // f_row, image.shape[1] // f_col
    reach = (math.ceil(max_diameter_mm / (row_mm * f_row)), math.ceil(max_diameter_mm / (col_mm * f_col)))
    if k == 0 or n_row <= 2 * reach[0] or n_col <= 2 * reach[1]:
        return EnclosingObjects(width_mm=width, length_mm=length, lucent_centre=lucent)
    cell = (row_mm * f_row, col_mm * f_col)
    work = image if image.dtype == np.uint16 else image.astype(np.float32, copy=False)
    small = cv2.resize(work[: n_row * f_row, : n_col * f_col], (n_col, n_row), interpolation=cv2.INTER_AREA)
    # Top-hat, noise and half maximum are unchanged by a positive affine map of the image:
    # stretched onto uint16 (steps of 1/65535 of its range, far below the noise), where
    # OpenCV's opening is several times faster than on floats.
    lo, hi = float(small.min()), float(small.max())
    small = np.round((small - lo) * (65535.0 / max(hi - lo, 1e-30))).astype(np.uint16)
    enhanced = white_tophat(small, max_diameter_mm / 2, spacing=cell)
    small_mask = None if mask is None else np.asarray(mask, bool)[: n_row * f_row : f_row, : n_col * f_col : f_col]
    noise = local_noise(enhanced, spacing=cell, block_mm=OBJECT_NOISE_BLOCK_MM, mask=small_mask, stride=2)
    i = np.clip((specks.row // f_row).astype(np.int64), 0, n_row - 1)
    j = np.clip((specks.col // f_col).astype(np.int64), 0, n_col - 1)
    level, sigma = noise.at(i, j)
    peak = cv2.dilate(enhanced, np.ones((3, 3), np.uint8))[i, j]
    for s in np.flatnonzero(peak - level >= min_significance * sigma):
        # The peak cell next to the speck, then its half-maximum region in a window
        # one top-hat wide each side (a region reaching the window's edge is tissue).
        r0, c0 = max(0, i[s] - 1), max(0, j[s] - 1)
        near = enhanced[r0 : i[s] + 2, c0 : j[s] + 2]
        pr, pc = np.unravel_index(int(np.argmax(near)), near.shape)
        pr, pc = pr + r0, pc + c0
        w0, v0 = max(0, pr - reach[0]), max(0, pc - reach[1])
        window = enhanced[w0 : pr + reach[0] + 1, v0 : pc + reach[1] + 1]
        height = peak[s] - level[s]
        _, labels = cv2.connectedComponents((window >= level[s] + 0.5 * height).astype(np.uint8), connectivity=8)
        region = labels == labels[pr - w0, pc - v0]
        rows, cols = np.nonzero(region)
        if rows.min() == 0 or cols.min() == 0 or rows.max() == window.shape[0] - 1 or cols.max() == window.shape[1] - 1:
            continue
        y, x = rows * cell[0], cols * cell[1]
        # Second moments of the cells as little squares (each adds cell^2 / 12 per axis).
        cov = np.cov(np.vstack([y, x]), bias=True) + np.diag([cell[0] ** 2 / 12, cell[1] ** 2 / 12])
        width[s], length[s] = 4 * np.sqrt(np.maximum(np.linalg.eigvalsh(cov), 0.0))
        # A shell's centre is a wide hole in its outline; a lumpy object may enclose a notch.
        filled = fill_holes(region)
        hole = filled & ~region
        cr, cc = int(round(rows.mean())), int(round(cols.mean()))
        lucent[s] = hole[cr, cc] and hole.sum() >= OBJECT_HOLE_FRACTION * filled.sum()
    return EnclosingObjects(width_mm=width, length_mm=length, lucent_centre=lucent)


def speck_features(response, specks: Specks, *, spacing, image=None, mask=None, ridges: bool = True) -> SpeckFeatures:
    """Measure the shape of each speck on its crop of `response`.

    Parameters
    ----------
    response : (M, N) ndarray
        The enhanced image the specks were measured on (e.g. a white top-hat),
        in the same coordinates as ``specks.bbox``.
    specks : Specks
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    image, mask : (M, N) ndarray, optional
        The mammogram and the breast mask in the same coordinates: each speck's
        enclosing object is then measured whole (:func:`enclosing_objects`), so that
        the pieces of a popcorn calcification are coarse, and the ridge through
        each is followed (``ridge_length_mm``).
    ridges : bool
        Follow the ridges (with `image`); ``ridge_length_mm`` is NaN without. The
        pipeline follows them later, only in images with clusters to describe.

    Returns
    -------
    SpeckFeatures
    """
    row_mm, col_mm = check_spacing(spacing)
    # Outlines are measured on square pixels of the finer spacing, so that a skeleton's length
    # and an area in pixels mean the same in every direction: non-square crops are resampled.
    pixel_mm = min(row_mm, col_mm)
    stretch = (row_mm / pixel_mm, col_mm / pixel_mm)
    k = len(specks)
    solidity = np.ones(k)
    branch_points = np.zeros(k, np.int64)
    lucent = np.zeros(k, bool)
    sharpness = np.zeros(k)
    elongation = specks.length_mm / np.maximum(specks.width_mm, 1e-9)  # refined below from the skeleton
    rows, cols = response.shape
    # For the edge sharpness, measured on all outlines at once after the loop: each speck's crop,
    # outline pixels (rows, cols in the crop) and height.
    measured, crops, outline_rows, outline_cols, heights = [], [], [], [], []
    for i in range(k):
        r0, c0, r1, c1 = specks.bbox[i]
        r0, c0, r1, c1 = max(0, r0 - 2), max(0, c0 - 2), min(rows, r1 + 3), min(cols, c1 + 3)
        crop: np.ndarray = np.asarray(response[r0:r1, c0:c1], np.float32)
        if stretch != (1.0, 1.0):
            crop = cv2.resize(crop, (round(crop.shape[1] * stretch[1]), round(crop.shape[0] * stretch[0])),
                              interpolation=cv2.INTER_LINEAR)
        background = _border_median(crop)
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
        # Resampling keeps pixel centres aligned: a source coordinate x maps to (x + 0.5) * f - 0.5.
        f_row, f_col = crop.shape[0] / (r1 - r0), crop.shape[1] / (c1 - c0)
        cr = int(round((specks.row[i] - r0 + 0.5) * f_row - 0.5))
        cc = int(round((specks.col[i] - c0 + 0.5) * f_col - 0.5))
        if 0 <= cr < crop.shape[0] and 0 <= cc < crop.shape[1] and area_px >= 9:
            # Only a convex speck can have a lucent centre; a concave one's centroid
            # may just fall between its arms.
            lucent[i] = crop[cr, cc] - background < LUCENT_CENTRE * height and solidity[i] >= RIM_SOLIDITY
        edge = outline[:, 0, :]  # (x, y) = (col, row) pairs
        measured.append(i)
        crops.append(crop)
        outline_rows.append(edge[:, 1])
        outline_cols.append(edge[:, 0])
        heights.append(height)
    # Edge sharpness: gradient along the outline, per mm of the speck's height.
    if measured:
        magnitude = _gradient_magnitude_at(crops, outline_rows, outline_cols, pixel_mm)
        per_speck = np.split(magnitude, np.cumsum([len(r) for r in outline_rows])[:-1])
        for i, height, values in zip(measured, heights, per_speck):
            sharpness[i] = _mean(values) / height
    object_width, object_length, ridge = np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan)
    if image is not None:
        objects = enclosing_objects(image, specks, spacing=spacing, mask=mask)
        object_width, object_length = objects.width_mm, objects.length_mm
        if ridges:
            ridge = ridge_length(image, specks.row, specks.col, spacing=spacing, mask=mask)
        piece = object_width > COARSE_MIN_WIDTH_MM  # a piece of a wide object: the object's centre counts
        lucent[piece] = objects.lucent_centre[piece]
    features = dict(elongation=elongation, solidity=solidity, branch_points=branch_points,
                    lucent_centre=lucent, sharpness=sharpness, object_width_mm=object_width)
    return SpeckFeatures(**features, shape=classify_specks(specks, **features), object_length_mm=object_length,
                         ridge_length_mm=ridge)


def _border_median(crop: np.ndarray) -> float:
    """``np.median`` of the first and last rows and columns of a float32 `crop` (corners
    twice), the same value without its overhead (thousands of specks an image)."""
    values = np.sort(np.concatenate((crop[0], crop[-1], crop[:, 0], crop[:, -1])))
    half = values.size // 2  # an even count, 2 (M + N): np.median averages the middle two as np.mean does
    return float((values[half - 1] + values[half]) / values.dtype.type(2))


def _mean(values: np.ndarray) -> float:
    """``float(values.mean())`` of a 1-D float array, the same value without its overhead: the
    pairwise sum in the array's type, divided by the count in float64, rounded to that type."""
    return float(values.dtype.type(np.float64(np.add.reduce(values)) / values.size))


def _gradient_magnitude_at(crops: list[np.ndarray], rows: list[np.ndarray], cols: list[np.ndarray],
                           pixel_mm) -> np.ndarray:
    """``np.hypot(*np.gradient(crop, pixel_mm, pixel_mm))[rows, cols]`` of each float32 crop,
    concatenated, computed at those pixels only and for all crops at once: central
    differences inside, one-sided at a crop's edges, in np.gradient's arithmetic (the
    differences in float32, divided by the same `pixel_mm`, stored in float32)."""
    sizes = np.array([crop.shape for crop in crops], np.intp)
    counts = [len(r) for r in rows]
    gallery = np.concatenate([crop.ravel() for crop in crops])  # the crops one after another
    start = np.repeat(np.cumsum(sizes[:, 0] * sizes[:, 1]) - sizes[:, 0] * sizes[:, 1], counts)
    n_rows, n_cols = (np.repeat(sizes[:, axis], counts) for axis in (0, 1))
    r, c = np.concatenate(rows).astype(np.intp), np.concatenate(cols).astype(np.intp)

    def derivative(before: np.ndarray, after: np.ndarray, at: np.ndarray, axis_size: np.ndarray) -> np.ndarray:
        # the neighbours either side, clipped to the crop: a one-sided difference where clipped
        difference = gallery[after] - gallery[before]
        inside = (at > 0) & (at < axis_size - 1)
        return np.where(inside, difference / (2.0 * pixel_mm), difference / pixel_mm).astype(np.float32, copy=False)

    at = start + r * n_cols
    gy = derivative(at - np.where(r > 0, n_cols, 0) + c, at + np.where(r < n_rows - 1, n_cols, 0) + c, r, n_rows)
    gx = derivative(at + np.maximum(c - 1, 0), at + np.minimum(c + 1, n_cols - 1), c, n_cols)
    return np.hypot(gy, gx)


def classify_specks(specks: Specks, *, elongation, solidity, branch_points, lucent_centre, sharpness,
                    object_width_mm=None) -> np.ndarray:
    """Shape class of each speck from its size and shape features (first rule that applies).

    1. lucent centre -> rim; 2. wider than 1.5 mm, or a piece of an object that wide
    (`object_width_mm`) -> coarse; 3. elongation of 3 or more -> branching when its
    skeleton branches, else linear; 4. solidity below 0.75 -> irregular;
    5. equivalent diameter of 0.5 mm or more -> round; 6. else punctate. Sizes follow
    the BI-RADS lexicon (punctate < 0.5 mm, round and coarse heterogeneous 0.5-1 mm,
    popcorn > 2 mm).
    """
    shape = np.full(len(specks), str(SpeckShape.PUNCTATE), dtype=object)
    shape[specks.diameter_mm >= PUNCTATE_MAX_MM] = str(SpeckShape.ROUND)
    shape[np.asarray(solidity) < IRREGULAR_SOLIDITY] = str(SpeckShape.IRREGULAR)
    elongated = np.asarray(elongation) >= ELONGATED
    shape[elongated] = str(SpeckShape.LINEAR)
    shape[elongated & (np.asarray(branch_points) > 0)] = str(SpeckShape.BRANCHING)
    wide = (specks.width_mm > COARSE_MIN_WIDTH_MM) & ~elongated
    if object_width_mm is not None:
        wide |= np.asarray(object_width_mm) > COARSE_MIN_WIDTH_MM  # NaN (no object) compares False
    shape[wide] = str(SpeckShape.COARSE)
    shape[np.asarray(lucent_centre, bool)] = str(SpeckShape.RIM)
    return shape

