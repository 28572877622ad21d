"""Result tables (output contract, schema version 1) and their files.

Every column is defined once, in :mod:`calcdetect.schema`; this module fills the
rows and writes them.

No computation happens here: a :class:`~calcdetect.pipeline.Result` is turned
into rows, and rows into files, atomically.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from calcdetect.atomic import atomic_open, atomic_write_text
from calcdetect.pipeline import Result
from calcdetect.schema import COLUMN_TYPES, TABLES

#: Joins an image's warnings in the ``warnings`` column (a warning's own "; " becomes ", ").
WARNING_SEPARATOR = "; "

#: Column lists of the three tables, in order (from :data:`calcdetect.schema.TABLE_COLUMNS`).
IMAGE_COLUMNS = TABLES["images"]
CALCIFICATION_COLUMNS = TABLES["calcifications"]
CLUSTER_COLUMNS = TABLES["clusters"]

#: File formats of the tables.
FORMATS = ("csv", "parquet")


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
            **({} if d is None else {
                "distribution": d.distribution[i], "morphology": d.morphology[i], "ppv": d.ppv[i],
                "finding_extent_mm": d.finding_extent_mm[i], "pleomorphism": d.pleomorphism[i],
                "linear_fraction": d.linear_fraction[i], "finding_id": int(d.finding_id[i]),
                "birads_category": category[i]}),
        }
        for i in range(len(c))
    ]


def format_cell(value) -> str:
    """CSV text of one value: empty for missing, 6 significant digits for floats."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else format(float(value), ".6g")
    return str(value)


def write_csv(path, columns: Iterable[str], rows: Iterable[Mapping]) -> Path:
    """Write rows (dicts keyed by column) to `path` atomically, columns in the given order, streaming."""
    columns = tuple(columns)
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([format_cell(row.get(name)) for name in columns])
    return Path(path)


def write_table(folder, name: str, rows: Iterable[Mapping], *, format: str = "csv") -> Path:
    """Write table `name` (one of :data:`TABLES`) into `folder` as CSV or Parquet, atomically."""
    columns = TABLES[name]
    if format == "csv":
        return write_csv(Path(folder) / f"{name}.csv", columns, rows)
    if format == "parquet":
        return write_parquet(Path(folder) / f"{name}.parquet", columns, rows)
    raise ValueError(f"format must be one of {FORMATS}; got {format!r}")


def require_format(format: str):
    """Check that table `format` can be written (before hours of work); return its modules, if any."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}")
    if format == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError("--format parquet needs pyarrow: pip install 'calcdetect[parquet]'") from None
        return pa, pq
    return None


def write_parquet(path, columns: Iterable[str], rows: Iterable[Mapping]) -> Path:
    """Write rows to a Parquet file with the types of :data:`COLUMN_TYPES`; missing values are null."""
    pa, pq = require_format("parquet")
    columns = tuple(columns)
    schema = pa.schema([(name, getattr(pa, COLUMN_TYPES[name])()) for name in columns])
    with atomic_open(path, "wb") as fh, pq.ParquetWriter(fh, schema) as writer:
        for batch in _batches(rows, PARQUET_BATCH_ROWS):
            data = {name: [plain_value(row.get(name)) for row in batch] for name in columns}
            writer.write_table(pa.Table.from_pydict(data, schema=schema))
    return Path(path)


#: Rows per Parquet row group written at a time (bounds memory on large runs).
PARQUET_BATCH_ROWS = 50_000


def _batches(rows: Iterable, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    yield batch  # possibly empty: an empty table still gets its schema


def plain_value(value):
    """A cell as a plain Python value: numpy scalars as Python numbers, NaN as None (missing)."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def write_json(path, data) -> Path:
    """Write `data` as indented JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
