"""Helpers for testing calcdetect and the tools built on it: an oracle detector.

:func:`predictions_from_truth` writes the tables a perfect detector would, from a
``truth.json``; scoring them must give sensitivity 1 at no false positive, which tests
the scoring, and the tables are a known input for tools that read calcdetect's output.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from calcdetect.cluster.measure import density_per_cm2
from calcdetect.geometry import hull_area
from calcdetect.tables import CALCIFICATION_COLUMNS, CLUSTER_COLUMNS, IMAGE_COLUMNS, write_csv
from calcdetect.truth import TruthCalcification, read_truth


def predictions_from_truth(truth_path, out_dir) -> Path:
    """Write prediction tables that repeat the truth (an oracle detector).

    Every truth cluster becomes a predicted cluster at its centroid with score
    1, distribution and morphology copied; every truth calcification (members
    and isolated) becomes a predicted calcification at its centroid with score
    1, linked to its cluster by ``cluster_id`` (``-1`` for isolated specks).
    Values the truth does not give (spacing source, seconds, contrast in noise
    units, speck shape) are left empty.

    Parameters
    ----------
    truth_path : str or PathLike
        A ``truth.json``.
    out_dir : str or PathLike
        Folder for ``images.csv``, ``calcifications.csv`` and ``clusters.csv``
        (columns of :mod:`calcdetect.tables`, written by
        :func:`calcdetect.tables.write_csv`: atomically, floats to 6
        significant digits); created if needed.

    Returns
    -------
    Path
        `out_dir`.
    """
    truth = read_truth(truth_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    image_rows, calc_rows, cluster_rows = [], [], []
    for image in truth.images:
        spacing_mm = np.asarray(image.spacing_mm)
        calc_id = 0
        for cluster in image.clusters:
            specks = cluster.calcifications
            for speck in specks:
                calc_rows.append(_oracle_calcification(image.image_id, calc_id, cluster.cluster_id, speck))
                calc_id += 1
            centroids = cluster.member_centroids()
            area_mm2 = hull_area(centroids * spacing_mm)
            cluster_rows.append(
                {
                    "image_id": image.image_id,
                    "cluster_id": cluster.cluster_id,
                    "n_calcifications": len(specks),
                    "row": cluster.row,
                    "col": cluster.col,
                    "row_min": float(centroids[:, 0].min()),
                    "col_min": float(centroids[:, 1].min()),
                    "row_max": float(centroids[:, 0].max()),
                    "col_max": float(centroids[:, 1].max()),
                    "extent_mm": cluster.extent_mm,
                    "area_mm2": area_mm2,
                    "density_per_cm2": density_per_cm2(len(specks), area_mm2),
                    "distribution": cluster.distribution,
                    "morphology": cluster.morphology,
                    "score": 1.0,
                }
            )
        for speck in image.isolated:
            calc_rows.append(_oracle_calcification(image.image_id, calc_id, -1, speck))
            calc_id += 1
        image_rows.append(
            {
                "image_id": image.image_id,
                "path": image.image_id,
                "status": "ok",
                "rows": image.rows,
                "columns": image.columns,
                "spacing_mm": image.spacing_mm[0],
                "column_spacing_mm": image.spacing_mm[1],
                "laterality": image.laterality,
                "view": image.view,
                "n_calcifications": calc_id,
                "n_clusters": len(image.clusters),
            }
        )
    write_csv(out_dir / "images.csv", IMAGE_COLUMNS, image_rows)
    write_csv(out_dir / "calcifications.csv", CALCIFICATION_COLUMNS, calc_rows)
    write_csv(out_dir / "clusters.csv", CLUSTER_COLUMNS, cluster_rows)
    return out_dir


def _oracle_calcification(image_id: str, calc_id: int, cluster_id: int, speck: TruthCalcification) -> dict:
    diameter_mm = speck.diameter_mm
    return {
        "image_id": image_id,
        "calc_id": calc_id,
        "cluster_id": cluster_id,
        "row": speck.row,
        "col": speck.col,
        "area_mm2": None if diameter_mm is None else math.pi * diameter_mm**2 / 4,
        "diameter_mm": diameter_mm,
        "length_mm": speck.length_mm,
        "width_mm": speck.width_mm,
        "score": 1.0,
    }
