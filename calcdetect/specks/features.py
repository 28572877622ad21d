"""What a candidate speck looks like and where it lies: the inputs of the false-positive model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from calcdetect.arrays import StructOfArrays
from calcdetect.specks.candidates import Specks
from calcdetect.specks.shape import SpeckFeatures
from calcdetect._binary import euclidean_distance
from calcdetect._checks import check_image, check_positive, check_spacing
from calcdetect.specks.noise import NoiseMap

#: Radii (mm) of the neighbourhoods counted around each speck: the spacing of the
#: calcifications of one cluster (2 mm), and the radius of a cluster's 1 cm^2 (5.64 mm).
NEAR_MM = 2.0
AROUND_MM = 5.64
#: ... and of a vessel's course, which runs straight for centimetres.
WIDE_MM = 10.0
#: Radius (mm) of the ring on which a speck's line context is sampled, and its directions.
LINE_RING_MM = 1.0
LINE_DIRECTIONS = 16
#: Grid (mm) on which distances to the search mask's edge and the pectoral muscle are taken.
DISTANCE_GRID_MM = 0.5


@dataclass(frozen=True, eq=False)
class CandidateFeatures(StructOfArrays):
    """Features of K candidate specks (struct of arrays, float64, NaN where unknown).

    Attributes
    ----------
    significance : (K,) ndarray
        Peak of the detection band-pass in local noise sigmas (as thresholded).
    contrast : (K,) ndarray
        Peak of the enhancement filter (top-hat) in its local noise sigmas.
    sharpness_ratio : (K,) ndarray
        ``significance / max(contrast, 0.5)``: a speck sharper than the system's blur (dust,
        a hot pixel) excites the narrow band-pass far more than the top-hat.
    spike : (K,) ndarray
        At the brightest pixel near the centroid: its height above the mean of its
        8 neighbours, over its height above the background (the top-hat). About 1
        for a single hot pixel; a calcification blurred by the detector has
        neighbours nearly as bright as its peak.
    line_context : (K,) ndarray
        On a ring of radius :data:`LINE_RING_MM` round the peak, the top-hat of the
        brighter of each pair of opposite points' lesser one, over the speck's own
        top-hat height: near 1 where the speck is part of a thin bright line
        passing through (a ligament, a trabecular strand, a vessel), near 0 for a
        speck standing alone or in a cluster (no neighbour lies at both sides).
    diameter_mm, length_mm, width_mm : (K,) ndarray
        As in :class:`calcdetect.specks.candidates.Specks`.
    elongation, solidity, edge_sharpness, object_width_mm : (K,) ndarray
        From :class:`calcdetect.specks.shape.SpeckFeatures` (``sharpness`` there:
        edge gradient over height, per mm).
    noise_ratio : (K,) ndarray
        Local noise sigma of the detection band-pass over its median in the
        search region: above 1 in film grain, processed edges and dense texture.
    depth_mm : (K,) ndarray
        Distance below the skin line; where no skin line is known (no breast was
        found, or the caller gave the mask), the distance to the searched
        region's edge stands for it (the models never saw a missing depth).
    border_mm : (K,) ndarray
        Distance to the nearest image border.
    search_edge_mm : (K,) ndarray
        Distance to the edge of the searched region (skin margin, pectoral
        muscle, labels and film edges cut off).
    pectoral_mm : (K,) ndarray
        Distance to the pectoral muscle (NaN when none was found).
    neighbours_near, neighbours_around : (K,) ndarray
        Other candidates within :data:`NEAR_MM` and :data:`AROUND_MM`.
    brighter_around : (K,) ndarray
        Fraction of those within :data:`AROUND_MM` that are more significant.
    linearity_around : (K,) ndarray
        ``1 - minor / major`` eigenvalue of the positions of the candidates within
        :data:`AROUND_MM` (itself included): near 1 along a vessel's calcified
        wall, lower in a cluster or a noise field; NaN with fewer than 3.
    along_chain : (K,) ndarray
        ``|cos|`` of the angle between the speck's major axis and the major axis of
        those positions: 1 for a piece lying along the chain it is part of (a
        vessel's wall), NaN with fewer than 3.
    neighbours_wide, linearity_wide : (K,) ndarray
        The count and linearity within :data:`WIDE_MM`: a calcified vessel's
        pieces line up over centimetres, a segment of ductal casts fans out.
    object_length_mm : (K,) ndarray
        Length of the enclosing object (:class:`calcdetect.specks.shape.SpeckFeatures`).
    """

    significance: np.ndarray
    contrast: np.ndarray
    sharpness_ratio: np.ndarray
    spike: np.ndarray
    line_context: np.ndarray
    diameter_mm: np.ndarray
    length_mm: np.ndarray
    width_mm: np.ndarray
    elongation: np.ndarray
    solidity: np.ndarray
    edge_sharpness: np.ndarray
    object_width_mm: np.ndarray
    noise_ratio: np.ndarray
    depth_mm: np.ndarray
    border_mm: np.ndarray
    search_edge_mm: np.ndarray
    pectoral_mm: np.ndarray
    neighbours_near: np.ndarray
    neighbours_around: np.ndarray
    brighter_around: np.ndarray
    linearity_around: np.ndarray
    along_chain: np.ndarray
    neighbours_wide: np.ndarray
    linearity_wide: np.ndarray
    object_length_mm: np.ndarray

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Feature names, in field order."""
        return tuple(cls.__dataclass_fields__)


def candidate_features(image, specks: Specks, shapes: SpeckFeatures, *, spacing, response, detection_noise: NoiseMap,
                       mask, depth_mm=None, pectoral=None, offset=(0, 0), full_shape=None) -> CandidateFeatures:
    """Measure the features of each candidate speck for the false-positive model.

    Parameters
    ----------
    image : (M, N) ndarray
        The mammogram (calcium bright), in the coordinates of `specks`.
    specks : Specks
        The K candidates, in the coordinates of `image`.
    shapes : SpeckFeatures
        Their shape features (:func:`calcdetect.specks.shape.speck_features`).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    response : (M, N) ndarray
        The top-hat the specks were measured on (background = image - response).
    detection_noise : NoiseMap
        Local noise of the detection band-pass.
    mask : (M, N) ndarray of bool
        The searched region.
    depth_mm : (K,) ndarray, optional
        Depth of each speck below the skin line (mm); the distance to the edge
        of `mask` when omitted.
    pectoral : (M, N) ndarray of bool, optional
        The pectoral muscle, in the coordinates of `image`.
    offset : tuple of 2 ints
        Position of `image`'s first pixel in the full image (when `image` is a crop).
    full_shape : tuple of 2 ints, optional
        Shape of the full image (for the distance to its border); `image`'s by default.

    Returns
    -------
    CandidateFeatures
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    k = len(specks)
    if k == 0:
        return CandidateFeatures(**{n: np.zeros(0) for n in CandidateFeatures.names()})
    mask = np.asarray(mask, bool)
    rows_count, cols_count = image.shape
    r = np.clip(np.rint(specks.row).astype(np.intp), 0, rows_count - 1)
    c = np.clip(np.rint(specks.col).astype(np.intp), 0, cols_count - 1)
    peak_r, peak_c = _brightest_near(image, r, c)
    spike = _spike(image, response, peak_r, peak_c)

    sigma = detection_noise.at(specks.row, specks.col)[1]
    grid_inside = detection_noise.sigma[_grid_mask(mask, detection_noise)]
    typical_sigma = float(np.median(grid_inside)) if grid_inside.size else float(np.median(detection_noise.sigma))

    full_rows, full_cols = image.shape if full_shape is None else full_shape
    fr, fc = specks.row + offset[0], specks.col + offset[1]
    border_mm = np.minimum.reduce([fr * row_mm, fc * col_mm,
                                   (full_rows - 1 - fr) * row_mm, (full_cols - 1 - fc) * col_mm])
    search_edge_mm = _distance_to(~mask, r, c, spacing=(row_mm, col_mm))
    pectoral_mm = (np.full(k, np.nan) if pectoral is None or not np.any(pectoral)
                   else _distance_to(np.asarray(pectoral, bool), r, c, spacing=(row_mm, col_mm)))
    neighbourhood = _neighbourhood(specks, spacing=(row_mm, col_mm))
    contrast = np.asarray(specks.contrast, float)
    return CandidateFeatures(
        significance=np.asarray(specks.significance, float),
        contrast=contrast,
        sharpness_ratio=specks.significance / np.maximum(contrast, 0.5),
        spike=spike,
        line_context=_line_context(response, peak_r, peak_c, spacing=(row_mm, col_mm)),
        diameter_mm=np.asarray(specks.diameter_mm, float),
        length_mm=np.asarray(specks.length_mm, float),
        width_mm=np.asarray(specks.width_mm, float),
        elongation=np.asarray(shapes.elongation, float),
        solidity=np.asarray(shapes.solidity, float),
        edge_sharpness=np.asarray(shapes.sharpness, float),
        object_width_mm=np.asarray(shapes.object_width_mm, float),
        noise_ratio=sigma / max(typical_sigma, 1e-12),
        depth_mm=search_edge_mm if depth_mm is None else np.asarray(depth_mm, float),
        border_mm=border_mm,
        search_edge_mm=search_edge_mm,
        pectoral_mm=pectoral_mm,
        **neighbourhood,
        object_length_mm=np.asarray(shapes.object_length_mm, float),
    )


def _brightest_near(image: np.ndarray, r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of the brightest pixel of the 3 x 3 neighbourhood of each (r, c)."""
    rows_count, cols_count = image.shape
    best_r, best_c = r.copy(), c.copy()
    best = image[r, c].astype(float)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            rr, cc = np.clip(r + dr, 0, rows_count - 1), np.clip(c + dc, 0, cols_count - 1)
            value = image[rr, cc]
            better = value > best
            best = np.where(better, value, best)
            best_r, best_c = np.where(better, rr, best_r), np.where(better, cc, best_c)
    return best_r, best_c


def _spike(image: np.ndarray, response: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(peak - mean of its 8 neighbours) / (peak - background), see :class:`CandidateFeatures`."""
    rows_count, cols_count = image.shape
    total = np.zeros(len(r))
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                total += image[np.clip(r + dr, 0, rows_count - 1), np.clip(c + dc, 0, cols_count - 1)]
    height = np.maximum(response[r, c].astype(float), 1e-12)
    return (image[r, c] - total / 8) / height


def _line_context(response: np.ndarray, r: np.ndarray, c: np.ndarray, *, spacing) -> np.ndarray:
    """See :attr:`CandidateFeatures.line_context`."""
    rows_count, cols_count = response.shape
    angles = np.arange(LINE_DIRECTIONS // 2) * (2 * np.pi / LINE_DIRECTIONS)
    d_r = np.rint(LINE_RING_MM / spacing[0] * np.cos(angles)).astype(np.intp)
    d_c = np.rint(LINE_RING_MM / spacing[1] * np.sin(angles)).astype(np.intp)

    def at(sign):
        rr = np.clip(r[:, None] + sign * d_r, 0, rows_count - 1)
        cc = np.clip(c[:, None] + sign * d_c, 0, cols_count - 1)
        return response[rr, cc].astype(float)

    through = np.minimum(at(1), at(-1)).max(axis=1)
    return through / np.maximum(response[r, c].astype(float), 1e-12)


def _grid_mask(mask: np.ndarray, noise: NoiseMap) -> np.ndarray:
    """The blocks of `noise`'s grid whose centre lies in `mask`."""
    p, q = noise.sigma.shape
    rr = np.clip((np.arange(p) + 0.5) * noise.block_px[0], 0, mask.shape[0] - 1).astype(np.intp)
    cc = np.clip((np.arange(q) + 0.5) * noise.block_px[1], 0, mask.shape[1] - 1).astype(np.intp)
    return mask[np.ix_(rr, cc)]


def _distance_to(region: np.ndarray, r: np.ndarray, c: np.ndarray, *, spacing) -> np.ndarray:
    """Distance (mm) from pixels (r, c) to the nearest pixel of `region` (inf when empty),
    on a grid of about :data:`DISTANCE_GRID_MM` (to within a cell)."""
    row_mm, col_mm = spacing
    if not region.any():
        return np.full(len(r), np.inf)
    f_r, f_c = max(1, round(DISTANCE_GRID_MM / row_mm)), max(1, round(DISTANCE_GRID_MM / col_mm))
    small_shape = (-(-region.shape[0] // f_r), -(-region.shape[1] // f_c))
    padded = np.zeros((small_shape[0] * f_r, small_shape[1] * f_c), np.uint8)
    padded[: region.shape[0], : region.shape[1]] = region
    # Any pixel per cell: the maximum over each cell's rows (contiguous), then over its columns.
    rows_max = padded.reshape(small_shape[0], f_r, -1).max(axis=1)
    touched = rows_max.reshape(small_shape[0], small_shape[1], f_c).max(axis=2).astype(bool)
    # Distance in cells of unequal sides: rescale rows to columns' unit with a weighted transform.
    # The exact transform, rounded to float32 as OpenCV's DIST_MASK_PRECISE (which the models
    # were fitted with) gives it, but the same on every call: OpenCV's varied in the last bit.
    if f_r * row_mm == f_c * col_mm:
        distance = euclidean_distance(~touched).astype(np.float32) * np.float32(f_c * col_mm)
    else:
        distance = ndi.distance_transform_edt(~touched, sampling=(f_r * row_mm, f_c * col_mm))
    return distance[r // f_r, c // f_c].astype(float)


def _neighbourhood(specks: Specks, *, spacing) -> dict[str, np.ndarray]:
    """Counts, brighter fraction, linearity and alignment of the candidates around each one (see the class)."""
    row_mm, col_mm = spacing
    k = len(specks)
    points = np.column_stack([specks.row * row_mm, specks.col * col_mm])
    i, j, d = _pairs(points, WIDE_MM)
    distance = np.hypot(*d.T)
    around = distance <= AROUND_MM
    n_around = np.bincount(i[around], minlength=k).astype(float)
    brighter = np.bincount(i[around], weights=(specks.significance[j] > specks.significance[i])[around].astype(float),
                           minlength=k)
    linearity, chain = _layout(i[around], d[around], k)
    return {
        "neighbours_near": np.bincount(i[distance <= NEAR_MM], minlength=k).astype(float),
        "neighbours_around": n_around,
        "brighter_around": np.divide(brighter, n_around, out=np.zeros(k), where=n_around > 0),
        "linearity_around": linearity,
        "along_chain": np.where(np.isnan(linearity), math.nan, np.abs(np.cos(specks.orientation - chain))),
        "neighbours_wide": np.bincount(i, minlength=k).astype(float),
        "linearity_wide": _layout(i, d, k)[0],
    }


def linearity_around(points_mm, *, radius_mm: float = AROUND_MM, min_points: int = 3) -> np.ndarray:
    """Linearity of the points around each point, among themselves.

    As :attr:`CandidateFeatures.linearity_around` (``1 - minor / major`` eigenvalue of
    the positions within `radius_mm`, the point included), of any point set.

    Parameters
    ----------
    points_mm : (K, 2) array_like of float
        Positions (row, col) in mm, finite.
    radius_mm : float
        Neighbourhood radius (mm), > 0.
    min_points : int
        Fewest points within `radius_mm` (the point included) for a value, >= 3.

    Returns
    -------
    (K,) ndarray of float64
        In [0, 1]; NaN where fewer than `min_points` points lie within `radius_mm`.

    Raises
    ------
    ValueError
        When `points_mm` is not (K, 2) and finite, `radius_mm` not positive or
        `min_points` not an integer >= 3.
    """
    points = np.asarray(points_mm, float)
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise ValueError(f"points_mm must be a finite (K, 2) array of (row, col) in mm; got shape {points.shape}"
                         + ("" if points.ndim != 2 or points.shape[1] != 2 else " with non-finite values"))
    check_positive("radius_mm", radius_mm)
    if int(min_points) != min_points or min_points < 3:
        raise ValueError(f"min_points must be an integer >= 3; got {min_points!r}")
    i, _, d = _pairs(points, radius_mm)
    linearity = _layout(i, d, len(points))[0]
    return np.where(np.bincount(i, minlength=len(points)) + 1 >= min_points, linearity, math.nan)


def _pairs(points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered pair (i, j) of distinct points within `radius`, and the offsets points[j] - points[i]."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return i, j, points[j] - points[i]


def _layout(i: np.ndarray, d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Linearity (``1 - minor / major`` eigenvalue) and major-axis angle (from the row axis) of
    each candidate's neighbours' positions, itself included, from the pairs (i, offset d); NaN
    for fewer than 3 points."""
    n = np.bincount(i, minlength=k) + 1.0
    mean_r = np.bincount(i, weights=d[:, 0], minlength=k) / n
    mean_c = np.bincount(i, weights=d[:, 1], minlength=k) / n
    var_r = np.bincount(i, weights=d[:, 0] ** 2, minlength=k) / n - mean_r**2
    var_c = np.bincount(i, weights=d[:, 1] ** 2, minlength=k) / n - mean_c**2
    cov = np.bincount(i, weights=d[:, 0] * d[:, 1], minlength=k) / n - mean_r * mean_c
    half_trace = (var_r + var_c) / 2
    spread = np.sqrt(((var_r - var_c) / 2) ** 2 + cov**2)
    major, minor = half_trace + spread, np.maximum(half_trace - spread, 0.0)
    linearity = np.where(n >= 3, 1.0 - minor / np.maximum(major, 1e-12), math.nan)
    return linearity, 0.5 * np.arctan2(2 * cov, var_r - var_c)
