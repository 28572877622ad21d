"""Layout measures of a set of points (mm): the spatial arrangement a cluster is judged on.

Extent, axes and anisotropy, the fit of a curve, the minimum spanning tree's path ratio
and the local linearity (:class:`Layout`, :func:`layout`), and the fraction of elongated
specks that pair up side by side like a vessel's two walls (:func:`tram_track_fraction`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from calcdetect.geometry import largest_distance


@dataclass(frozen=True)
class Layout:
    """Arrangement of a set of points (mm).

    Attributes
    ----------
    n : int
    extent_mm : float
        Largest distance between two points.
    length_mm, width_mm : float
        Four standard deviations along the major and minor axes (each at least 2 mm).
    axis : (2,) ndarray
        Unit vector (row, col) of the major axis.
    curve_fit : float
        Fraction of points within 1 mm of a quadratic curve fitted along the major
        axis (robustly: refitted without the worst 30 %).
    path_ratio : float
        Length of the points' minimum spanning tree over the extent (the extent
        counted as at least 1 mm): about 1 along a line, 2-3 for a branching
        tree, more for points filling an area. 1 for fewer than 4 points.
    linearity : float
        Mean over the points of ``1 - l2 / l1``, the eigenvalues of the scatter
        of each point's neighbourhood (itself and its 4 nearest neighbours): 1
        where the points lie along lines (a duct and its branches), about 0.5
        where they fill an area. 1 for fewer than 4 points.
    centre : (2,) ndarray
    points : (K, 2) ndarray
    """

    n: int
    extent_mm: float
    length_mm: float
    width_mm: float
    axis: np.ndarray
    curve_fit: float
    path_ratio: float
    linearity: float
    centre: np.ndarray
    points: np.ndarray

    @property
    def anisotropy(self) -> float:
        return self.length_mm / self.width_mm

    def fan(self, target_mm) -> float:
        """How much wider the points spread on the far side from `target_mm` than on the near side.

        The log of the ratio of the spreads across the direction to the target
        (range + 1 mm) of the far and the near half: about 0 for an ellipse or a
        line, positive for a wedge whose apex points to the target.
        """
        to = self._towards(target_mm)
        if to is None or self.n < 4:
            return 0.0
        d = self.points - self.centre
        along, across = d @ to, d @ np.array([-to[1], to[0]])
        near, far = across[along > 0], across[along <= 0]
        if len(near) < 2 or len(far) < 2:
            return 0.0
        return math.log((np.ptp(far) + 1.0) / (np.ptp(near) + 1.0))

    def cone(self, target_mm) -> float:
        """Half-angle (radians) of the cone, from the point nearest `target_mm`, holding 90 % of the points.

        The cone's axis points away from the target: a duct tree spreading from
        its apex at the nipple side fills a narrow cone (0.2-0.5 rad), a patch
        seen from its nearest point a wide one, a line pointing to the target none.
        """
        to = self._towards(target_mm)
        if to is None or self.n < 3:
            return math.pi / 2
        away = -to
        apex = self.points[np.argmin(self.points @ away)]
        d = self.points - apex
        far = np.hypot(d[:, 0], d[:, 1]) > 1.0
        if far.sum() < 2:
            return math.pi / 2
        angle = np.arctan2(np.abs(d[far] @ np.array([-away[1], away[0]])), d[far] @ away)
        return float(np.percentile(angle, 90))

    def alignment(self, target_mm) -> float:
        """|cos| of the angle between the major axis and the direction to `target_mm`."""
        to = self._towards(target_mm)
        return 0.0 if to is None else abs(float(self.axis @ to))

    def _towards(self, target_mm) -> np.ndarray | None:
        """Unit vector from the centre to `target_mm`; None when they coincide."""
        to = np.asarray(target_mm, float) - self.centre
        norm = float(np.hypot(*to))
        return to / norm if norm > 0 else None


def layout(points_mm) -> Layout:
    """Measure the arrangement of (K, 2) points in mm (row, col)."""
    points = np.asarray(points_mm, float).reshape(-1, 2)
    centre = points.mean(axis=0)
    if len(points) >= 3:
        values, vectors = np.linalg.eigh(np.cov(points.T))
    else:
        values, vectors = np.zeros(2), np.eye(2)
        if len(points) == 2:
            d = points[1] - points[0]
            values[1] = float(d @ d) / 4
            vectors = np.array([[-d[1], d[0]], d]).T / max(float(np.hypot(*d)), 1e-12)
    # Floor the variances at (0.5 mm)^2: a line of point-like specks has a width.
    length, width = (4 * math.sqrt(max(v, 0.25)) for v in values[::-1])
    axis = vectors[:, 1]
    extent = largest_distance(points)
    fit, path_ratio, linearity = 1.0, 1.0, 1.0
    if len(points) >= 4:
        path_ratio = spanning_tree_length(points) / max(extent, 1.0)
        linearity = _local_linearity(points)
        u, v = (points - centre) @ axis, (points - centre) @ vectors[:, 0]
        keep = np.ones(len(points), bool)
        for _ in range(2):
            coef = np.polyfit(u[keep], v[keep], 2 if keep.sum() >= 5 else 1)
            residual = np.abs(v - np.polyval(coef, u))
            keep = residual < max(2.0, float(np.sort(residual)[int(0.7 * len(points))]))
        fit = float(np.mean(residual <= 1.0))
    return Layout(len(points), extent, length, width, axis, fit, path_ratio, linearity, centre, points)


def spanning_tree_length(points_mm) -> float:
    """Total length (mm) of the Euclidean minimum spanning tree of (K, 2) points, K >= 3.

    The tree is a subgraph of the Delaunay triangulation, so only its O(K)
    edges are weighed (joggled, so that collinear points triangulate too).
    """
    points = np.asarray(points_mm, float)
    simplices = Delaunay(points, qhull_options="QJ").simplices
    edges = np.unique(np.sort(np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]]),
                              axis=1), axis=0)
    lengths = np.hypot(*(points[edges[:, 0]] - points[edges[:, 1]]).T)
    graph = coo_matrix((lengths, (edges[:, 0], edges[:, 1])), shape=(len(points), len(points)))
    return float(minimum_spanning_tree(graph).sum())


def _local_linearity(points: np.ndarray, k: int = 5) -> float:
    """See :attr:`Layout.linearity`; (K, 2) points, K >= 3 (neighbourhoods of min(k, K))."""
    _, nearest = cKDTree(points).query(points, min(k, len(points)))
    neighbourhood = points[nearest] - points[nearest].mean(axis=1, keepdims=True)  # (K, k, 2)
    small, large = np.linalg.eigvalsh(np.einsum("kni,knj->kij", neighbourhood, neighbourhood)).T
    return float(np.mean(1.0 - small / np.maximum(large, 1e-12)))


def tram_track_fraction(points_mm, orientation, length_mm, *, max_turn_deg: float = 10.0) -> float:
    """Fraction of elongated specks with a parallel neighbour 0.6-3 mm to the side (tram tracks).

    Parameters
    ----------
    points_mm : (K, 2) array_like
        Centroids (row, col) in mm of the linear members.
    orientation : (K,) array_like
        Major-axis angles from the row axis (radians).
    length_mm : (K,) array_like
        Member lengths; neighbours must overlap along the axis.
    max_turn_deg : float
        Largest angle between two parallel specks.
    """
    points = np.asarray(points_mm, float).reshape(-1, 2)
    if len(points) < 2:
        return 0.0
    theta = np.asarray(orientation, float)
    u = np.column_stack([np.cos(theta), np.sin(theta)])  # (row, col) direction of each speck
    d = points[None, :, :] - points[:, None, :]  # d[i, j] = p_j - p_i
    along = np.abs((d * u[:, None, :]).sum(-1))
    across = np.abs(d[..., 0] * u[:, None, 1] - d[..., 1] * u[:, None, 0])
    turn = np.abs((theta[:, None] - theta[None, :] + np.pi / 2) % np.pi - np.pi / 2)
    reach = 0.5 * (np.asarray(length_mm)[:, None] + np.asarray(length_mm)[None, :])
    paired = (turn <= np.radians(max_turn_deg)) & (across >= 0.6) & (across <= 3.0) & (along <= reach)
    np.fill_diagonal(paired, False)
    return float(paired.any(axis=1).mean())
