"""Group specks into clusters by spatial density (DBSCAN in millimetres)."""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from calcdetect.filters._common import check_positive, check_spacing

#: Radius of a disk of 1 cm^2: "3 calcifications within 1 cm^2" (the CAD convention).
CAD_RADIUS_MM = math.sqrt(100 / math.pi)


def cluster_labels(rows, cols, *, spacing, radius_mm: float = CAD_RADIUS_MM, min_specks: int = 3) -> np.ndarray:
    """Label specks that lie in dense groups; -1 for the rest.

    A speck is a *core* speck when a disk of radius `radius_mm` centred on it
    holds at least `min_specks` specks (itself included); that group then lies
    within one disk of area ``pi * radius_mm**2``. Core specks closer than
    `radius_mm` belong to one cluster, and a speck within `radius_mm` of a core
    speck joins the nearest core speck's cluster: DBSCAN [1]_ with
    ``eps = radius_mm``. The defaults are the CAD convention of at least 3
    specks within 1 cm^2; the BI-RADS "grouped" lower limit, 5 within 1 cm, is
    ``radius_mm=5, min_specks=5``.

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

    Returns
    -------
    (K,) ndarray of int
        Cluster labels 0..C-1, numbered in order of each cluster's first speck;
        -1 for specks in no cluster. Labels do not depend on the order of the
        input beyond that numbering.

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
    labels = np.full(k, -1, np.int64)
    if k < min_specks:
        return labels

    tree = cKDTree(points)
    pairs = tree.query_pairs(radius_mm, output_type="ndarray")
    degree = np.bincount(pairs.ravel(), minlength=k) + 1  # the speck itself counts
    core = degree >= min_specks
    if not core.any():
        return labels

    core_pairs = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(core_pairs)), (core_pairs[:, 0], core_pairs[:, 1])), shape=(k, k))
    _, component = connected_components(graph, directed=False)
    labels[core] = component[core]

    # Border specks: within reach of a core speck; they join the nearest one.
    border = np.flatnonzero(~core)
    if len(border):
        core_index = np.flatnonzero(core)
        distance, nearest = cKDTree(points[core_index]).query(points[border], distance_upper_bound=radius_mm)
        reached = np.isfinite(distance)
        labels[border[reached]] = labels[core_index[nearest[reached]]]

    # Renumber 0..C-1 in order of first appearance.
    clustered = labels >= 0
    _, first, inverse = np.unique(labels[clustered], return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    labels[clustered] = rank[inverse]
    return labels
