"""The rows of the result tables (output contract, schema version 1), and ``run.json``'s writer.

Every column is defined once, in :mod:`calcdetect.tables`, which also writes and reads
the files; this module fills the rows. No computation happens here: a
:class:`~calcdetect.pipeline.Result` is turned into rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from calcdetect.atomic import atomic_write_text
from calcdetect.pipeline import Result

#: Joins an image's warnings in the ``warnings`` column (a warning's own "; " becomes ", ").
WARNING_SEPARATOR = "; "


def image_row(
    image_id: str,
    path: str,
    *,
    result: Result | None = None,
    shape: tuple[int, int] | None = None,
    spacing: tuple[float, float] | None = None,
    spacing_source: str | None = None,
    laterality: str | None = None,
    view: str | None = None,
    error: str | None = None,
    seconds: float | None = None,
    warnings: tuple[str, ...] = (),
) -> dict:
    """One row of ``images.csv``; ``status`` is ``error`` when `error` is given."""
    return {
        "image_id": image_id,
        "path": path,
        "status": "error" if error else "ok",
        "error": error,
        "rows": shape[0] if shape else None,
        "columns": shape[1] if shape else None,
        "spacing_mm": spacing[0] if spacing else None,
        "column_spacing_mm": spacing[1] if spacing else None,
        "spacing_source": spacing_source,
        "laterality": laterality,
        "view": view,
        "n_calcifications": len(result.specks) if result is not None else None,
        "n_clusters": len(result.clusters) if result is not None else None,
        "seconds": seconds,
        "warnings": WARNING_SEPARATOR.join(w.replace(WARNING_SEPARATOR, ", ") for w in warnings) or None,
        "n_suspicious_clusters": result.n_suspicious_clusters if result is not None else None,
        "n_candidates": result.n_candidates if result is not None else None,
        "n_clusters_before_cut": result.n_clusters_before_cut if result is not None else None,
        "birads_category": result.image_birads_category if result is not None else None,
        "breast_area_mm2": result.geometry.area_mm2 if result is not None and result.geometry is not None else None,
    }


def calcification_rows(image_id: str, result: Result) -> list[dict]:
    """Rows of ``calcifications.csv`` for one image."""
    s = result.specks
    return [
        {
            "image_id": image_id, "calc_id": i, "cluster_id": int(result.cluster_id[i]),
            "row": s.row[i], "col": s.col[i], "area_mm2": s.area_mm2[i], "diameter_mm": s.diameter_mm[i],
            "length_mm": s.length_mm[i], "width_mm": s.width_mm[i], "contrast": s.contrast[i],
            "shape": result.shapes.shape[i] if result.shapes is not None else None, "score": s.score[i],
        }
        for i in range(len(s))
    ]


def cluster_rows(image_id: str, result: Result) -> list[dict]:
    """Rows of ``clusters.csv`` for one image; descriptors stay empty when not described."""
    c, d = result.clusters, result.descriptions
    suspicion, category = result.suspicion, result.birads_category
    return [
        {
            "image_id": image_id, "cluster_id": i, "n_calcifications": int(c.n_calcifications[i]),
            "row": c.row[i], "col": c.col[i], "row_min": c.row_min[i], "col_min": c.col_min[i],
            "row_max": c.row_max[i], "col_max": c.col_max[i], "extent_mm": c.extent_mm[i],
            "area_mm2": c.area_mm2[i], "density_per_cm2": c.density_per_cm2[i],
            "score": suspicion[i], "confidence": c.confidence[i],
            **({} if d is None or category is None else {  # category is None just when d is
                "distribution": d.distribution[i], "morphology": d.morphology[i], "ppv": d.ppv[i],
                "finding_extent_mm": d.finding_extent_mm[i], "pleomorphism": d.pleomorphism[i],
                "linear_fraction": d.linear_fraction[i], "finding_id": int(d.finding_id[i]),
                "birads_category": category[i], "chance_groups": d.chance_groups[i]}),
        }
        for i in range(len(c))
    ]


def write_json(path, data) -> Path:
    """Write `data` as indented JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
