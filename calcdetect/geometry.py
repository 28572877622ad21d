"""Plane geometry of point sets: convex hulls, their areas and distances to them.

One place for the hulls that cluster measurement (:mod:`calcdetect.cluster.measure`),
evaluation (:mod:`calcdetect.evaluate`), the truth regions (:mod:`calcdetect.truth`) and
the drawings and DICOM objects of a run all use. Points are (row, col), in whatever unit
the caller gives (pixels or mm); hulls come from :class:`scipy.spatial.ConvexHull`
(Qhull: Barber, Dobkin & Huhdanpaa, ACM Trans. Math. Softw. 22, 1996), with the
degenerate cases Qhull refuses (fewer than 3 distinct points, collinear points) answered
here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist


def _points(points, name: str = "points") -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.size % 2 or (array.ndim == 2 and array.shape[1] != 2) or array.ndim > 2:
        raise ValueError(f"{name} must be (N, 2) (row, col) pairs; got shape {array.shape}")
    return array.reshape(-1, 2)


def convex_hull(points) -> np.ndarray:
    """Vertices of the convex hull of 2-D points.

    Duplicate points and points on the hull's edges are dropped, so collinear
    input gives its two end points and a single (repeated) point gives one.

    Parameters
    ----------
    points : (N, 2) array_like of float
        Points (row, col), N >= 1.

    Returns
    -------
    (H, 2) ndarray of float64
        Hull vertices, counter-clockwise in the (row, col) plane starting at
        the lexicographically smallest point; H is 1, 2 or at least 3.

    Raises
    ------
    ValueError
        When `points` is empty or not (N, 2).

    Examples
    --------
    >>> convex_hull([[0, 0], [0, 2], [0, 1], [0, 2]]).tolist()
    [[0.0, 0.0], [0.0, 2.0]]
    >>> convex_hull([[0, 0], [1, 1], [1, 0], [0, 1], [0.5, 0.5]]).tolist()
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    unique = np.unique(_points(points), axis=0)  # sorted by (row, col)
    if len(unique) == 0:
        raise ValueError("points must hold at least one point; got none")
    if len(unique) <= 2:
        return unique
    try:
        vertices = unique[ConvexHull(unique).vertices]  # counter-clockwise in 2-D
    except QhullError:  # collinear: the first and last in (row, col) order are the ends
        return unique[[0, -1]]
    first = np.lexsort((vertices[:, 1], vertices[:, 0]))[0]
    return np.roll(vertices, -first, axis=0)


def distance_to_hull(points, hull) -> np.ndarray:
    """Distance of points from a convex polygon, 0 inside.

    Parameters
    ----------
    points : (P, 2) array_like of float
        Query points (row, col).
    hull : (H, 2) array_like of float
        Vertices as returned by :func:`convex_hull` (counter-clockwise); one
        vertex is a point, two are a segment. Same units as `points`.

    Returns
    -------
    (P,) ndarray of float64
        Euclidean distance; NaN for a query point with a NaN coordinate.

    Raises
    ------
    ValueError
        When `hull` has no vertex.

    Examples
    --------
    >>> square = convex_hull([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> distance_to_hull([[0.5, 0.5], [0.5, 3.0]], square).tolist()
    [0.0, 2.0]
    """
    points = _points(points)
    hull = _points(hull, "hull")
    if len(hull) == 0:
        raise ValueError("hull must hold at least one vertex; got none")
    if len(hull) == 1:
        return np.hypot(*(points - hull[0]).T)
    start = hull if len(hull) >= 3 else hull[:1]
    edge = (np.roll(hull, -1, axis=0) if len(hull) >= 3 else hull[1:]) - start  # (E, 2)
    offset = points[:, None, :] - start[None, :, :]  # (P, E, 2)
    t = np.clip((offset * edge).sum(-1) / (edge * edge).sum(-1), 0.0, 1.0)
    distance = np.hypot(*np.moveaxis(offset - t[..., None] * edge, -1, 0)).min(axis=1)
    if len(hull) >= 3:
        cross = edge[:, 0] * offset[..., 1] - edge[:, 1] * offset[..., 0]
        distance[(cross >= 0).all(axis=1)] = 0.0
    return distance


def polygon_area(vertices) -> float:
    """Area of a simple polygon (the shoelace formula); 0 for fewer than 3 vertices.

    Parameters
    ----------
    vertices : (H, 2) array_like of float
        In order round the polygon (either way round).

    Returns
    -------
    float
        In the square of the vertices' unit.

    Examples
    --------
    >>> polygon_area(convex_hull([[0, 0], [0, 2], [3, 0], [3, 2]]))
    6.0
    """
    vertices = _points(vertices, "vertices")
    if len(vertices) < 3:
        return 0.0
    r, c = vertices[:, 0], vertices[:, 1]
    return float(abs(np.dot(r, np.roll(c, -1)) - np.dot(c, np.roll(r, -1))) / 2)


def hull_area(points) -> float:
    """Area of the convex hull of 2-D points; 0 for fewer than 3 or collinear points.

    Parameters
    ----------
    points : (N, 2) array_like of float

    Returns
    -------
    float
        In the square of the points' unit.
    """
    points = _points(points)
    return polygon_area(convex_hull(points)) if len(points) >= 3 else 0.0


def grown_hull_area(points, radius: float) -> float:
    """Area of the convex hull of 2-D points grown by `radius` (its Minkowski sum with a disk).

    Steiner's formula for a convex set: ``area + perimeter * radius + pi * radius**2``
    (a single point gives the disk, two points a stadium).

    Parameters
    ----------
    points : (N, 2) array_like of float
        N >= 1.
    radius : float
        In the points' unit, >= 0.

    Returns
    -------
    float
        In the square of the points' unit.

    Raises
    ------
    ValueError
        When `points` is empty, not (N, 2) or not finite, or `radius` is negative or not finite.

    Examples
    --------
    >>> round(grown_hull_area([[0, 0], [0, 2], [2, 0], [2, 2]], 1.0), 4)  # 4 + 8 + pi
    15.1416
    """
    radius = float(radius)
    if not (math.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius must be finite and >= 0; got {radius!r}")
    points = _points(points)
    if not np.all(np.isfinite(points)):
        raise ValueError(f"points must be finite; got {points[~np.isfinite(points).all(axis=1)][:3].tolist()}")
    hull = convex_hull(points)
    perimeter = float(np.hypot(*(np.roll(hull, -1, axis=0) - hull).T).sum()) if len(hull) >= 2 else 0.0
    return polygon_area(hull) + perimeter * radius + math.pi * radius**2


def largest_distance(points) -> float:
    """Largest distance between two of (N, 2) points; 0 for fewer than 2.

    Measured between the convex hull's vertices: the farthest pair is among
    them, and N may be large.

    Parameters
    ----------
    points : (N, 2) array_like of float

    Returns
    -------
    float
        In the points' unit.
    """
    points = _points(points)
    if len(points) < 2:
        return 0.0
    hull = convex_hull(points)
    return float(pdist(hull).max()) if len(hull) > 1 else 0.0
