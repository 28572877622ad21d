"""Group specks into clusters by spatial density (DBSCAN in millimetres)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.stats import poisson

from calcdetect._checks import check_positive, check_spacing

#: Radius of a disk of 1 cm^2: "3 calcifications within 1 cm^2" (the CAD convention).
CAD_RADIUS_MM = math.sqrt(100 / math.pi)
#: Gap (mm) between the axes of large rod-like calcifications that groups them: 3 within
#: 1 cm of one another span at most 2 cm, BI-RADS "grouped" at its widest.
ROD_RADIUS_MM = 10.0


def cluster_labels(
    rows,
    cols,
    *,
    spacing,
    radius_mm: float = CAD_RADIUS_MM,
    min_specks: int = 3,
    length_mm=None,
    orientation=None,
) -> np.ndarray:
    """Label specks that lie in dense groups; -1 for the rest.

    A speck is a *core* speck when a disk of radius `radius_mm` centred on it
    holds at least `min_specks` specks (itself included); that group then lies
    within one disk of area ``pi * radius_mm**2``. Core specks closer than
    `radius_mm` belong to one cluster, and a speck within `radius_mm` of a core
    speck joins the nearest core speck's cluster: DBSCAN [1]_ with
    ``eps = radius_mm``. The defaults are the CAD convention of at least 3
    specks within 1 cm^2; the BI-RADS "grouped" lower limit, 5 within 1 cm, is
    ``radius_mm=5, min_specks=5``.

    With `length_mm` and `orientation`, a speck is its major axis, a segment
    of that length through its centroid, and two specks are as far apart as
    the gap between their segments (by :func:`shapely.distance`): large
    rod-like (secretory) calcifications and calcified vessel pieces, several
    mm long, lie closer than their centroids, and small specks barely change.

    Parameters
    ----------
    rows, cols : (K,) array_like of float
        Speck centroids in pixels.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    radius_mm : float
        Neighbourhood radius in millimetres.
    min_specks : int
        Specks needed within `radius_mm` to form a cluster, >= 2.
    length_mm : (K,) array_like of float, optional
        Length of each speck's major axis in millimetres (>= 0); with `orientation`.
    orientation : (K,) array_like of float, optional
        Angle of each major axis in radians from the row axis towards the column
        axis, as :attr:`calcdetect.specks.candidates.Specks.orientation`.

    Returns
    -------
    (K,) ndarray of int
        Cluster labels 0..C-1, numbered in order of each cluster's first speck;
        -1 for specks in no cluster. Labels do not depend on the order of the
        input beyond that numbering.

    Raises
    ------
    ValueError
        When `radius_mm` is not positive, `min_specks` is not an integer >= 2, or
        `length_mm` and `orientation` are not given together, with one finite value
        (a length >= 0) per speck.

    References
    ----------
    .. [1] Ester M, Kriegel H-P, Sander J, Xu X. A density-based algorithm for
       discovering clusters in large spatial databases with noise. KDD 1996.
    """
    row_mm, col_mm = check_spacing(spacing)
    radius_mm = check_positive("radius_mm", radius_mm)
    if int(min_specks) != min_specks or min_specks < 2:
        raise ValueError(f"min_specks must be an integer >= 2; got {min_specks!r}")
    points = np.column_stack([np.asarray(rows, float) * row_mm, np.asarray(cols, float) * col_mm])
    k = len(points)
    segments = _segments(points, length_mm, orientation)
    labels = np.full(k, -1, np.int64)
    if k < min_specks:
        return labels

    pairs, gap = _pairs_within(points, segments, radius_mm)
    degree = np.bincount(pairs.ravel(), minlength=k) + 1  # the speck itself counts
    core = degree >= min_specks
    if not core.any():
        return labels

    core_pairs = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(core_pairs)), (core_pairs[:, 0], core_pairs[:, 1])), shape=(k, k))
    _, component = connected_components(graph, directed=False)
    labels[core] = component[core]

    # Border specks: within reach of a core speck; they join the nearest one.
    mixed = core[pairs[:, 0]] != core[pairs[:, 1]]
    border_of = np.where(core[pairs[mixed, 0]], pairs[mixed, 1], pairs[mixed, 0])
    core_of = np.where(core[pairs[mixed, 0]], pairs[mixed, 0], pairs[mixed, 1])
    order = np.lexsort((core_of, gap[mixed], border_of))  # nearest first, ties to the lower index
    border_of, core_of = border_of[order], core_of[order]
    first = np.r_[True, border_of[1:] != border_of[:-1]][:len(border_of)]
    labels[border_of[first]] = labels[core_of[first]]

    # Renumber 0..C-1 in order of first appearance.
    clustered = labels >= 0
    _, first, inverse = np.unique(labels[clustered], return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    labels[clustered] = rank[inverse]
    return labels


def _segments(points: np.ndarray, length_mm, orientation) -> np.ndarray | None:
    """(K, 2, 2) end points in mm of each speck's major axis, or None for points."""
    if length_mm is None and orientation is None:
        return None
    if length_mm is None or orientation is None:
        given, missing = ("length_mm", "orientation") if orientation is None else ("orientation", "length_mm")
        raise ValueError(f"length_mm and orientation must be given together; got {given} without {missing}")
    half = np.asarray(length_mm, float) / 2
    angle = np.asarray(orientation, float)
    if half.shape != (len(points),) or angle.shape != (len(points),):
        raise ValueError(f"length_mm and orientation must have shape ({len(points)},); "
                         f"got {half.shape} and {angle.shape}")
    bad = ~(np.isfinite(half) & (half >= 0) & np.isfinite(angle))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"length_mm must be finite and >= 0 and orientation finite; got length_mm {2 * half[i]!r} "
                         f"and orientation {angle[i]!r} at speck {i}")
    step = half[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return np.stack([points - step, points + step], axis=1)


def _pairs_within(points: np.ndarray, segments: np.ndarray | None, radius_mm: float):
    """Pairs (i < j) of specks at most `radius_mm` apart, and their distances."""
    if segments is None:
        pairs = cKDTree(points).query_pairs(radius_mm, output_type="ndarray")
        return pairs, np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    # Two segments are no closer than their centroids less both half lengths: at most the longest.
    reach = radius_mm + float(np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).max(initial=0.0))
    pairs = cKDTree(points).query_pairs(reach, output_type="ndarray")
    lines = shapely.linestrings(segments)
    gap = shapely.distance(lines[pairs[:, 0]], lines[pairs[:, 1]])
    near = gap <= radius_mm
    return pairs[near], gap[near]


def chance_groups(n_members, footprint_mm2, n_others, *, breast_area_mm2: float) -> np.ndarray:
    """Expected number of groups as dense as each one that a uniform scatter would make.

    The `n_others` likely calcifications of the breast other than a group's own are
    taken as a uniform (Poisson) scatter over the breast. A group's footprint, of area
    ``A``, then holds ``N ~ Poisson(n_others / area * A)`` of them, and the breast
    splits into ``area / A`` disjoint footprints; the expected number of those holding
    at least the group's count is ``P(N >= n) * area / A``. A window placed anywhere
    (the scan statistic [1]_) finds such a count far more often than disjoint
    footprints do (among 150 points on 150 cm^2, some 1 cm^2 window holds 5 in 99 % of
    scatters, where this expectation is 0.55): it understates chance, so a test on it
    errs towards calling a group real. A footprint drawn tightly round the group's
    own points understates it more; :func:`calcdetect.birads.describe.describe_clusters`
    grows the hull by :data:`CAD_RADIUS_MM`, the reach that formed the group.

    Parameters
    ----------
    n_members : (C,) array_like of int
        Likely calcifications in each group, >= 0.
    footprint_mm2 : (C,) array_like
        Area of each group's footprint (mm^2), > 0.
    n_others : (C,) array_like of int
        Likely calcifications in the breast outside each group, >= 0.
    breast_area_mm2 : float
        Area of the breast (mm^2), > 0.

    Returns
    -------
    (C,) ndarray of float64
        Expected groups; NaN for a group without a likely calcification (nothing to judge).

    Raises
    ------
    ValueError
        When the three arrays are not 1-D of one length, the counts are not whole
        numbers >= 0, a footprint is not finite and > 0, or `breast_area_mm2` is not
        positive.

    References
    ----------
    .. [1] Naus JI. Clustering of random points in two dimensions. Biometrika 1965;52:263-7.
    """
    breast_area_mm2 = check_positive("breast_area_mm2", breast_area_mm2)
    n, footprint, others = (np.asarray(v, float) for v in (n_members, footprint_mm2, n_others))
    for name, value in (("n_members", n), ("footprint_mm2", footprint), ("n_others", others)):
        if value.ndim != 1 or value.shape != n.shape:
            raise ValueError(f"{name} must be 1-D with one value per group ({n.size}); got shape {value.shape}")
    for name, value in (("n_members", n), ("n_others", others)):
        bad = ~(np.isfinite(value) & (value >= 0) & (value == np.round(value)))
        if bad.any():
            raise ValueError(f"{name} must hold whole numbers >= 0; got {value[bad][:3]}")
    bad = ~(np.isfinite(footprint) & (footprint > 0))
    if bad.any():
        raise ValueError(f"footprint_mm2 must hold finite values > 0; got {footprint[bad][:3]}")
    expected = np.where(n > 0, poisson.sf(n - 1, others / breast_area_mm2 * footprint), np.nan)
    return expected * breast_area_mm2 / footprint
