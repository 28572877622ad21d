"""Breast region: the breast separated from background, film labels and bars;
the chest-wall side, the nipple and, on oblique and lateral views, the pectoral muscle."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from calcdetect._binary import euclidean_distance, fill_holes
from calcdetect._checks import check_image, check_spacing
from calcdetect.specks.noise import MAD_TO_SIGMA

#: Grid on which the breast is found; fine enough for a skin margin of 1 mm.
_MASK_GRID_MM = 0.5

#: Breast and background levels must differ by this many background standard deviations.
_MIN_SEPARATION = 4.0

#: The breast edge: this fraction of the way from the background to the breast mean.
_SKIN_FRACTION = 0.15

#: A breast covers at least this fraction of a mammogram.
_MIN_BREAST_FRACTION = 0.05

#: Bridges narrower than twice this (film edges, label stems, markers touching the
#: breast through a thin bright line) are cut before the breast is chosen.
_OPENING_MM = 3.0

#: Film edges: border lines more than this fraction of whose cells are brighter than this
#: percentile of the breast, up to this depth, are unexposed film, not breast.
_FILM_EDGE_FRACTION = 0.7
_FILM_EDGE_PERCENTILE = 99.0
_FILM_EDGE_MAX_MM = 10.0

#: Views on which the pectoral muscle shows (oblique and lateral).
PECTORAL_VIEWS = frozenset({"MLO", "ML", "LM", "LMO", "SIO", "ISO"})

#: Grid of the pectoral search (mm), and the smoothing of the image there.
_PECTORAL_GRID_MM = 1.0
_PECTORAL_SMOOTH_MM = 1.5

#: Width of the bands either side of a candidate pectoral edge whose means are compared (mm).
_BAND_MM = 4.0

#: The pectoral edge is kept when the muscle side is brighter than the breast side by
#: at least this fraction of the breast's inter-quartile range (median along the edge).
_MIN_PECTORAL_CONTRAST = 0.25

#: How far (mm) the refined pectoral edge may depart from the best straight line.
_PECTORAL_REFINE_MM = 10.0


@dataclass(frozen=True, eq=False)
class BreastGeometry:
    """Where the breast is in a mammogram.

    Attributes
    ----------
    mask : (M, N) ndarray of bool
        Where calcifications are searched: the breast, `margin_mm` inside the
        skin line, without the pectoral muscle and `margin_mm` around it. All
        True when no breast could be told from the background.
    found : bool
        Whether a breast was separated from the background.
    chest_wall : {"left", "right"} or None
        Image side of the chest wall.
    nipple : tuple of 2 floats or None
        Estimated nipple position (row, col) in pixels: the point of the skin
        line farthest from the pectoral edge on oblique views where the muscle
        was found, else farthest from the chest wall.
    pectoral : (M, N) ndarray of bool or None
        The pectoral muscle; None when not searched (cranio-caudal or unknown
        view) or not found.
    depth : (m, n) ndarray of float32 or None
        Distance from the skin line (mm) into the breast on a coarse grid of
        ``cell`` pixels per cell (0 outside); see :meth:`depth_mm`.
    cell : tuple of 2 floats or None
        Pixels per cell of `depth` (rows, cols).
    """

    mask: np.ndarray
    found: bool
    chest_wall: str | None = None
    nipple: tuple[float, float] | None = None
    pectoral: np.ndarray | None = None
    depth: np.ndarray | None = None
    cell: tuple[float, float] | None = None

    @property
    def area_mm2(self) -> float | None:
        """Area of the breast (mm^2), from the depth grid; None when no breast was found."""
        if self.depth is None:
            return None
        return float(np.count_nonzero(self.depth > 0)) * _MASK_GRID_MM**2

    def depth_mm(self, rows, cols) -> np.ndarray | None:
        """Depth below the skin line (mm) at pixel positions; None when no breast was found.

        Parameters
        ----------
        rows, cols : (K,) array_like of float
            Pixel coordinates.
        """
        if self.depth is None or self.cell is None:  # set together
            return None
        r = np.clip((np.asarray(rows, float) + 0.5) / self.cell[0], 0, self.depth.shape[0] - 1).astype(np.intp)
        c = np.clip((np.asarray(cols, float) + 0.5) / self.cell[1], 0, self.depth.shape[1] - 1).astype(np.intp)
        return self.depth[r, c].astype(float)


def breast_mask(image, *, spacing, margin_mm: float = 1.0) -> np.ndarray:
    """Boolean mask of the breast, shrunk by `margin_mm` from the skin line.

    The pectoral muscle is kept (use :func:`breast_geometry` with a view to
    exclude it).

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
    return breast_geometry(image, spacing=spacing, margin_mm=margin_mm).mask


def breast_geometry(image, *, spacing, margin_mm: float = 1.0, view: str | None = None,
                    exclude_pectoral: bool = True) -> BreastGeometry:
    """Find the breast, its chest-wall side, nipple and (on oblique views) pectoral muscle.

    The image is averaged onto a 0.5 mm grid and split into background and
    breast by Otsu's method; the breast edge is then placed 15 % of the way
    from the background level to the breast mean, so that the thin periphery
    is kept. Bright things joined to the breast by bridges narrower than
    6 mm (film edges, labels, markers) are cut off by a morphological opening
    and the largest remaining region, grown back to its own edge and with its
    holes filled, is the breast; film labels, markers and redaction bars,
    separate from it or darker than the background, are outside. The chest
    wall is the image side the breast touches most.

    On oblique and lateral views (`view` in :data:`PECTORAL_VIEWS`), the
    pectoral muscle is searched in the upper chest-wall corner as the straight
    edge, from the top border to the chest wall, across which the image drops
    most (band means 4 mm either side, on a 1 mm grid), refined row by row to
    the steepest descent within 10 mm of that line and smoothed by a robust
    quadratic fit. It is kept only when the muscle side is brighter, along
    the edge (median), by at least a quarter of the breast's inter-quartile
    range.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram, breast brighter than background (MONOCHROME2 sense).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    margin_mm : float
        Margin from the skin line and the pectoral edge, in millimetres.
    view : str, optional
        ``"CC"``, ``"MLO"``, ...; the pectoral muscle is searched only on the
        views in :data:`PECTORAL_VIEWS`.
    exclude_pectoral : bool
        Search the pectoral muscle (on those views) and leave it out of `mask`.

    Returns
    -------
    BreastGeometry
    """
    image = check_image(image)
    row_mm, col_mm = check_spacing(spacing)
    if not (math.isfinite(margin_mm) and margin_mm >= 0):
        raise ValueError(f"margin_mm must be >= 0; got {margin_mm}")
    rows, cols = image.shape
    small_shape = (max(1, round(rows * row_mm / _MASK_GRID_MM)), max(1, round(cols * col_mm / _MASK_GRID_MM)))
    small = cv2.resize(image.astype(np.float32, copy=False), small_shape[::-1], interpolation=cv2.INTER_AREA)
    region = _breast_region(small)
    if region is None:
        return BreastGeometry(mask=np.ones(image.shape, bool), found=False)
    cell = (rows / small_shape[0], cols / small_shape[1])  # pixels per grid cell
    chest_wall = _chest_wall_side(region)
    flip = chest_wall == "right"
    oriented_small = small[:, ::-1] if flip else small
    oriented_region = region[:, ::-1] if flip else region

    edge = None  # pectoral edge: column (in grid cells, oriented) for each grid row
    if exclude_pectoral and view is not None and view.upper() in PECTORAL_VIEWS:
        edge = _pectoral_edge(oriented_small, oriented_region)
    pectoral_small = None
    if edge is not None:
        pectoral_small = np.arange(region.shape[1])[None, :] < edge[:, None]
        pectoral_small &= oriented_region
        if flip:
            pectoral_small = pectoral_small[:, ::-1]
    nipple = _nipple(oriented_region, edge)
    nipple_px = None
    if nipple is not None:
        r, c = nipple
        if flip:
            c = region.shape[1] - 1 - c
        nipple_px = ((r + 0.5) * cell[0] - 0.5, (c + 0.5) * cell[1] - 0.5)

    # Distance to the background in mm on the grid (the image border counts as
    # background only where the breast does not touch it: the chest wall does; the
    # pectoral muscle counts as background), interpolated to full resolution: the
    # margin is then exact to a fraction of a cell.
    # Without a pectoral muscle this is also the depth below the skin line.
    depth = euclidean_distance(region) * _MASK_GRID_MM - _MASK_GRID_MM / 2  # as scipy's with sampling 0.5
    inside_mm = depth if pectoral_small is None else (
        euclidean_distance(region & ~pectoral_small) * _MASK_GRID_MM - _MASK_GRID_MM / 2)
    mask = cv2.resize(inside_mm.astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR) >= margin_mm
    pectoral = None
    if pectoral_small is not None:
        pectoral = cv2.resize(pectoral_small.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_LINEAR) > 0
        mask &= ~pectoral
    return BreastGeometry(mask=mask, found=True, chest_wall=chest_wall, nipple=nipple_px, pectoral=pectoral,
                          depth=(depth.clip(0) * region).astype(np.float32), cell=cell)


def _breast_region(small: np.ndarray) -> np.ndarray | None:
    """The breast on the grid (bool), or None when no breast can be told from the background."""
    if not small.max() > small.min():
        return None
    foreground = small > threshold_otsu(small)
    background = small[~foreground]
    if background.size == 0 or not foreground.any():
        return None
    # Robust background level and spread: a redaction bar or a dark film edge in
    # the background must not pull them.
    level = float(np.median(background))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(background - level)))
    # Air or detector background is flat; when the "background" class is not far
    # below the breast (relative to its own spread), there is nothing to mask.
    gap = float(small[foreground].mean()) - level
    if gap <= 0 or gap < _MIN_SEPARATION * max(spread, float(background.std()) * 0.25):
        return None
    # Otsu's threshold lies midway and would cut off the thin periphery, where the
    # compressed thickness rolls off to the skin: cut much closer to the background.
    candidate = small > level + _SKIN_FRACTION * gap
    radius = max(1, round(_OPENING_MM / _MASK_GRID_MM))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    core = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, disk, borderType=cv2.BORDER_CONSTANT,
                            borderValue=0)
    labels, n = ndi.label(core)
    if n == 0:
        return None
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    # Grow the core back to the breast's own edge (what the opening shaved off), but
    # no further than the opening's reach, so that the cut bridges stay cut.
    grown = cv2.dilate(largest.astype(np.uint8), disk, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    labels, _ = ndi.label(candidate & grown)
    keep = np.unique(labels[largest & (labels > 0)])
    region = fill_holes(np.isin(labels, keep[keep > 0]))
    if region.mean() < _MIN_BREAST_FRACTION:  # a few bright specks, not a breast
        return None
    _cut_film_edges(small, region)
    return region


def _cut_film_edges(small: np.ndarray, region: np.ndarray) -> None:
    """Remove from `region`, in place, bright strips along the image border (unexposed film
    edges): border rows or columns most of whose cells are brighter than nearly all the breast."""
    bright = small > np.percentile(small[region], _FILM_EDGE_PERCENTILE)
    limit = max(1, round(_FILM_EDGE_MAX_MM / _MASK_GRID_MM))

    def depth(fractions: np.ndarray) -> int:  # strip lines counted from the border inwards
        n = 0
        while n < min(limit, fractions.size - 1) and fractions[n] > _FILM_EDGE_FRACTION:
            n += 1
        return n

    by_row, by_col = bright.mean(axis=1), bright.mean(axis=0)
    rows, cols = region.shape
    top, bottom, left, right = depth(by_row), depth(by_row[::-1]), depth(by_col), depth(by_col[::-1])
    region[:top] = False
    region[rows - bottom :] = False
    region[:, :left] = False
    region[:, cols - right :] = False


def _chest_wall_side(region: np.ndarray) -> str:
    """The image side the breast touches most; the nearer side when it touches neither."""
    left, right = int(region[:, 0].sum()), int(region[:, -1].sum())
    if left != right:
        return "left" if left > right else "right"
    cols = np.flatnonzero(region.any(axis=0))
    return "left" if cols[0] <= region.shape[1] - 1 - cols[-1] else "right"


def _nipple(region: np.ndarray, edge: np.ndarray | None) -> tuple[float, float] | None:
    """(row, col) on the grid, chest wall at the left: the breast point farthest from
    the pectoral edge (when there is one), else from the chest wall."""
    rr, cc = np.nonzero(region)
    if rr.size == 0:
        return None
    if edge is not None:
        # Distance from the pectoral line through its two ends (top and chest wall).
        top, bottom = float(edge[0]), _edge_end_row(edge)
        if top > 0 and bottom > 0:
            distance = (cc / top + rr / bottom - 1) / math.hypot(1 / top, 1 / bottom)
        else:
            distance = cc.astype(float)
    else:
        distance = cc.astype(float)
    far = distance >= distance.max() - 1.0  # within one cell of the farthest
    row = float(np.mean(rr[far]))
    # The skin line on that row: the farthest breast cell from the chest wall.
    on_row = np.flatnonzero(region[int(round(row))])
    col = float(on_row.max()) if on_row.size else float(np.mean(cc[far]))
    return row, col


def _edge_end_row(edge: np.ndarray) -> float:
    """The grid row where a pectoral edge (columns per row) reaches the chest wall."""
    inside = np.flatnonzero(edge > 0)
    return float(inside[-1] + 1) if inside.size else 0.0


def _pectoral_edge(small: np.ndarray, region: np.ndarray) -> np.ndarray | None:
    """Columns (0.5 mm cells) of the pectoral edge for every row, chest wall at the left; None if not found.

    `small` and `region` are on the 0.5 mm grid, chest wall at the left.
    """
    factor = round(_PECTORAL_GRID_MM / _MASK_GRID_MM)
    shape = (max(1, region.shape[0] // factor), max(1, region.shape[1] // factor))
    grid = cv2.resize(small[: shape[0] * factor, : shape[1] * factor], shape[::-1], interpolation=cv2.INTER_AREA)
    inside = cv2.resize(region[: shape[0] * factor, : shape[1] * factor].astype(np.float32), shape[::-1],
                        interpolation=cv2.INTER_AREA) > 0.99
    grid = cv2.GaussianBlur(grid, (0, 0), _PECTORAL_SMOOTH_MM / _PECTORAL_GRID_MM)
    # Keep away from the skin line: it is a bright-to-dark edge too.
    skin = euclidean_distance(inside) * _PECTORAL_GRID_MM
    usable = skin > _BAND_MM + 2
    top_cols = np.flatnonzero(inside[0])
    if top_cols.size == 0 or not inside[:, 0].any() or usable.sum() < 100:
        return None  # the breast does not reach the top border and the chest wall: no muscle corner
    q1, q3 = np.percentile(grid[inside], [25, 75])
    scale = max(float(q3 - q1), 1e-12)

    height, width = shape
    top_max = int(top_cols.max())
    a_values = np.arange(max(3, round(5 / _PECTORAL_GRID_MM)), max(4, round(0.95 * top_max)), 2, dtype=float)
    b_values = np.arange(max(5, round(20 / _PECTORAL_GRID_MM)), height + 1, 3, dtype=float)
    if a_values.size == 0 or b_values.size == 0:
        return None
    a, b = (v.ravel() for v in np.meshgrid(a_values, b_values, indexing="ij"))
    score = _line_contrast(grid, usable, a, b) / scale
    if not np.isfinite(score).any() or np.nanmax(score) < _MIN_PECTORAL_CONTRAST:
        return None
    best = int(np.nanargmax(score))
    a, b = float(a[best]), float(b[best])
    refined = _refine_edge(grid, usable, a, b)
    if refined is None:
        return None
    # Back to the 0.5 mm grid: the edge column per 0.5 mm row.
    rows_fine = (np.arange(region.shape[0]) + 0.5) / factor - 0.5
    edge = np.interp(rows_fine, np.arange(height), refined) * factor
    return np.clip(edge, 0, region.shape[1])


def _line_contrast(grid, usable, a, b) -> np.ndarray:
    """Contrast across each line from (0, a) to (b, 0): the median over its length of the
    mean of a band on the corner side minus the mean of a band on the other side; NaN
    where fewer than a quarter of the line lies well inside the breast."""
    samples = np.linspace(0.03, 0.97, 48)
    offsets = np.linspace(0.5, _BAND_MM / _PECTORAL_GRID_MM, 4)
    norm = np.hypot(1 / b, 1 / a)
    normal_r, normal_c = (1 / b) / norm, (1 / a) / norm  # unit normal pointing away from the corner
    r = samples[None, :] * b[:, None]  # (lines, samples)
    c = (1 - samples[None, :]) * a[:, None]
    shift_r = offsets[None, :, None] * normal_r[:, None, None]  # (lines, offsets, 1)
    shift_c = offsets[None, :, None] * normal_c[:, None, None]
    inner = [(r[:, None, :] - shift_r).ravel(), (c[:, None, :] - shift_c).ravel()]
    outer = [(r[:, None, :] + shift_r).ravel(), (c[:, None, :] + shift_c).ravel()]
    shape = (a.size, offsets.size, samples.size)
    ok = ndi.map_coordinates(usable.astype(np.uint8), outer, order=0, mode="constant", cval=0)
    ok = ok.reshape(shape).all(axis=1)
    inner = ndi.map_coordinates(grid, inner, order=1, mode="nearest").reshape(shape).mean(axis=1)
    outer = ndi.map_coordinates(grid, outer, order=1, mode="nearest").reshape(shape).mean(axis=1)
    difference = np.where(ok, inner - outer, np.nan)
    enough = ok.sum(axis=1) >= samples.size // 4
    with np.errstate(all="ignore"):
        contrast = np.nanmedian(np.where(enough[:, None], difference, 0.0), axis=1)
    return np.where(enough, contrast, np.nan)


def _refine_edge(grid, usable, a, b) -> np.ndarray | None:
    """Edge column per 1 mm row: steepest descent near the line (0, a)-(b, 0), robustly smoothed."""
    height, width = grid.shape
    gradient = cv2.Sobel(grid, cv2.CV_32F, 1, 0, ksize=3)
    reach = _PECTORAL_REFINE_MM / _PECTORAL_GRID_MM
    edge_rows: list[int] = []
    edge_cols: list[int] = []
    for r in range(min(height, int(math.ceil(b)))):
        centre = a * (1 - r / b)
        lo, hi = max(0, int(centre - reach)), min(width, int(centre + reach) + 1)
        if hi - lo < 3:
            continue
        values = np.where(usable[r, lo:hi], gradient[r, lo:hi], np.inf)
        if not np.isfinite(values).any():
            continue
        edge_rows.append(r)
        edge_cols.append(lo + int(np.argmin(values)))
    if len(edge_rows) < 10:
        return None
    rows, cols = np.asarray(edge_rows, float), np.asarray(edge_cols, float)
    keep = np.ones(rows.size, bool)
    for _ in range(4):  # quadratic least squares, dropping points far from the fit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            coef = np.polyfit(rows[keep], cols[keep], 2)
        residual = np.abs(np.polyval(coef, rows) - cols)
        limit = max(2.0, 2.5 * MAD_TO_SIGMA * float(np.median(residual[keep])))
        keep = residual <= limit
        if keep.sum() < 10:
            return None
    edge = np.polyval(coef, np.arange(height, dtype=float))
    # Below the chest-wall end there is no muscle; the edge never grows downwards past the line's.
    line = a * (1 - np.arange(height) / b)
    edge = np.where(np.arange(height) < b * 1.2, edge, 0.0)
    edge = np.minimum(np.maximum(edge, 0.0), np.maximum(line, 0) + reach)
    ended = np.flatnonzero(edge < 0.5)  # the muscle ends where the edge first meets the chest wall
    if ended.size:
        edge[ended[0] :] = 0.0
    return edge
