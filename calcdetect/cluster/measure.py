"""Measurements of clusters of specks."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from calcdetect.arrays import StructOfArrays
from calcdetect.specks.candidates import Specks
from calcdetect._checks import check_spacing
from calcdetect.geometry import hull_area, largest_distance

#: Densities are counted over the hull area, or over at least this much (1 cm^2).
MIN_DENSITY_AREA_MM2 = 100.0


@dataclass(frozen=True, eq=False)
class Clusters(StructOfArrays):
    """Clusters of one image, as a struct of arrays (all length C).

    Attributes
    ----------
    n_calcifications : (C,) ndarray of int
    row, col : (C,) ndarray of float
        Mean of member centroids weighted by their scores, pixels
        (:func:`cluster_centre`).
    row_min, col_min, row_max, col_max : (C,) ndarray of float
        Bounding box of member centroids, pixels.
    extent_mm : (C,) ndarray
        Greatest dimension: largest distance between member centroids plus the
        mean member diameter.
    area_mm2 : (C,) ndarray
        Area of the convex hull of member centroids (0 for collinear members).
    density_per_cm2 : (C,) ndarray
        Members per cm^2 of hull, the hull counted as at least 1 cm^2.
    confidence : (C,) ndarray
        Detection confidence in [0, 1]; see :func:`cluster_confidence`.
    """

    n_calcifications: np.ndarray
    row: np.ndarray
    col: np.ndarray
    row_min: np.ndarray
    col_min: np.ndarray
    row_max: np.ndarray
    col_max: np.ndarray
    extent_mm: np.ndarray
    area_mm2: np.ndarray
    density_per_cm2: np.ndarray
    confidence: np.ndarray


#: A cluster is as sure as this many of its surest members (the CAD convention's least cluster).
CONFIDENCE_MEMBERS = 3


def cluster_confidence(scores) -> float:
    """Detection confidence of a cluster in [0, 1]: the mean of its members' three highest scores.

    With the false-positive model (:mod:`calcdetect.specks.model`) a member's score is
    the probability that it is a calcification, so a cluster is confident when at
    least :data:`CONFIDENCE_MEMBERS` of its members surely are; a sparse spread of
    many weak members stays as unsure as its best three (the count never adds).

    Parameters
    ----------
    scores : (K,) array_like
        Member scores in [0, 1], K >= 1.
    """
    scores = np.sort(np.asarray(scores, float))[::-1]
    if scores.size == 0:
        raise ValueError("scores must hold at least one member score; got none")
    return float(scores[:CONFIDENCE_MEMBERS].mean())


def measure_clusters(specks: Specks, labels, *, spacing) -> Clusters:
    """Measure each cluster given speck measurements and cluster labels.

    Parameters
    ----------
    specks : Specks
        The image's specks (K of them).
    labels : (K,) array_like of int
        Cluster label per speck, -1 for none, clusters numbered 0..C-1.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).

    Returns
    -------
    Clusters
    """
    row_mm, col_mm = check_spacing(spacing)
    labels = np.asarray(labels)
    n_clusters = int(labels.max()) + 1 if len(labels) else 0
    columns: dict[str, list] = {f.name: [] for f in fields(Clusters)}
    for c in range(n_clusters):
        member = labels == c
        rows, cols = specks.row[member], specks.col[member]
        points_mm = np.column_stack([rows * row_mm, cols * col_mm])
        span = largest_distance(points_mm)
        area = hull_area(points_mm)
        n = int(member.sum())
        columns["n_calcifications"].append(n)
        row, col = cluster_centre(rows, cols, specks.score[member])
        columns["row"].append(row)
        columns["col"].append(col)
        columns["row_min"].append(rows.min())
        columns["col_min"].append(cols.min())
        columns["row_max"].append(rows.max())
        columns["col_max"].append(cols.max())
        columns["extent_mm"].append(span + float(specks.diameter_mm[member].mean()))
        columns["area_mm2"].append(area)
        columns["density_per_cm2"].append(density_per_cm2(n, area))
        columns["confidence"].append(cluster_confidence(specks.score[member]))
    return Clusters(**{
        name: np.asarray(values, dtype=np.int64 if name == "n_calcifications" else float)
        for name, values in columns.items()
    })


def density_per_cm2(n_calcifications: int, area_mm2: float) -> float:
    """Calcifications per cm^2 of a cluster's hull, the hull counted as at least
    :data:`MIN_DENSITY_AREA_MM2` (1 cm^2, so that a tight group of few is not "dense").

    Parameters
    ----------
    n_calcifications : int
    area_mm2 : float
        Area of the convex hull of the members' centroids (:func:`calcdetect.geometry.hull_area`).
    """
    return n_calcifications / max(float(area_mm2), MIN_DENSITY_AREA_MM2) * 100.0


def cluster_centre(rows, cols, scores) -> tuple[float, float]:
    """(row, col) of a cluster: its members' centroids averaged with their scores as weights.

    The surest members place the cluster: a few doubtful specks at one side (noise
    next to a faint group) pull it less than an unweighted mean would. With no
    positive score the plain mean.

    Parameters
    ----------
    rows, cols : (K,) array_like of float
        Member centroids (pixels), K >= 1.
    scores : (K,) array_like of float
        Member scores (the calcification probability, 0-1, when the model ran).

    Returns
    -------
    tuple of 2 floats
        Pixels.
    """
    weights = np.clip(np.nan_to_num(np.asarray(scores, float)), 0.0, None)
    if not weights.sum() > 0:
        weights = np.ones_like(weights)
    return float(np.average(rows, weights=weights)), float(np.average(cols, weights=weights))
