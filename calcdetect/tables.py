"""The result tables: one definition of every column, and their CSV and Parquet files.

Every column of the three tables (``images``, ``calcifications``, ``clusters``) is a
:class:`Column` (name, type, unit, meaning, allowed values or range) in
:data:`TABLE_COLUMNS`; the writers (:func:`write_table`) and the reader
(:func:`read_table`) take the column lists and types from there, so a run written as
CSV or as Parquet reads back the same. :mod:`calcdetect.schema` makes the JSON Schemas
and the page for people from the same definitions; :mod:`calcdetect.results` fills the
rows.

Schema version 1: the names, units and meanings of the contract's columns are fixed;
calcdetect may add columns after them (``contract=False``). Any change to a fixed
column bumps :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypedDict

import numpy as np

from calcdetect.atomic import atomic_open
from calcdetect.specks.shape import SpeckShape
from calcdetect.io.mammogram import SpacingSource
from calcdetect.lexicon import Assessment, Distribution, Morphology

#: Version of the tables' and ``run.json``'s layout (recorded in ``run.json``).
SCHEMA_VERSION = 1


class ColumnType(StrEnum):
    """Storage type of a column (Parquet's name; CSV holds its text)."""

    STRING = "string"
    INT64 = "int64"
    FLOAT64 = "float64"


@dataclass(frozen=True)
class Column:
    """One column of a result table.

    Attributes
    ----------
    name : str
    type : ColumnType
    meaning : str
        One or two sentences, for people.
    unit : str or None
        ``"px"``, ``"mm"``, ``"mm2"``, ``"1/cm2"``, ``"s"``; None for counts,
        identifiers, text and dimensionless values.
    allowed : tuple of str, optional
        The values a string column takes (besides missing).
    minimum, maximum : float, optional
        Inclusive range of a numeric column.
    exclusive_minimum : bool
        The minimum itself is not allowed (spacings).
    required : bool
        Never missing (the keys).
    contract : bool
        Part of the fixed contract of schema version 1; False for a column
        calcdetect adds after them.
    """

    name: str
    type: ColumnType
    meaning: str
    unit: str | None = None
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    required: bool = False
    contract: bool = True

    def json_schema(self) -> dict:
        """The JSON Schema of one value of this column (null allowed unless `required`)."""
        kind = {ColumnType.STRING: "string", ColumnType.INT64: "integer", ColumnType.FLOAT64: "number"}[self.type]
        out: dict = {"type": kind if self.required else [kind, "null"], "description": self.meaning}
        if self.unit:
            out["description"] += f" Unit: {self.unit}."
        if self.allowed is not None:
            out["enum"] = [*self.allowed, *(() if self.required else (None,))]
        if self.minimum is not None:
            out["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class _Range(TypedDict, total=False):
    """A range shared by many columns (``**_COUNT``)."""

    minimum: float
    maximum: float


class _Contract(TypedDict):
    contract: bool


_S, _I, _F = ColumnType.STRING, ColumnType.INT64, ColumnType.FLOAT64
_PROBABILITY: _Range = {"minimum": 0.0, "maximum": 1.0}
_COUNT: _Range = {"minimum": 0}
_SIZE: _Range = {"minimum": 0.0}
_ADDED: _Contract = {"contract": False}
_ASSESSMENTS = tuple(str(a) for a in Assessment)

_IMAGE_ID = Column("image_id", _S, "Stable id of the image within the run: the input path relative to the input "
                                    "root, or the SOP Instance UID where the user asks.", required=True)

#: Every column of every table, in the order written.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "images": (
        _IMAGE_ID,
        Column("path", _S, "Input path as given.", required=True),
        Column("status", _S, "Whether the image was processed.", allowed=("ok", "error"), required=True),
        Column("error", _S, "For status error: one line naming the reason and, where there is one, the remedy."),
        Column("rows", _I, "Image height.", "px", minimum=1),
        Column("columns", _I, "Image width.", "px", minimum=1),
        Column("spacing_mm", _F, "Pixel spacing used along the rows (between rows).", "mm", minimum=0.0,
               exclusive_minimum=True),
        Column("column_spacing_mm", _F, "Pixel spacing used along the columns; differs from spacing_mm for "
                                        "non-square pixels, which every measurement takes into account.", "mm",
               minimum=0.0, exclusive_minimum=True),
        Column("spacing_source", _S, "Where the spacing came from (docs/input.md).",
               allowed=tuple(str(s) for s in SpacingSource)),
        Column("laterality", _S, "Breast side where known.", allowed=("L", "R")),
        Column("view", _S, "Mammographic view where known (ACR abbreviation, e.g. CC, MLO)."),
        Column("n_calcifications", _I, "Calcifications reported (rows of the calcifications table).", **_COUNT),
        Column("n_clusters", _I, "Clusters reported, after the --min-confidence cut.", **_COUNT),
        Column("seconds", _F, "Processing time of this image.", "s", **_SIZE),
        Column("warnings", _S, "What the loader assumed or doubts (e.g. a default pixel spacing), '; '-separated.",
               **_ADDED),
        Column("n_suspicious_clusters", _I, "Clusters of a suspicious BI-RADS morphology (several in one breast "
                                            "is itself a predictor), diffuse ones (a scatter, no cluster) "
                                            "left out.", **_COUNT, **_ADDED),
        Column("n_candidates", _I, "Candidate specks before the false-positive model's cut "
                                   "(Params.min_calcification_probability).", **_COUNT, **_ADDED),
        Column("n_clusters_before_cut", _I, "Clusters before the operating point's cut (--min-confidence).",
               **_COUNT, **_ADDED),
        Column("birads_category", _S, "BI-RADS assessment category for calcifications: the highest of the "
                                      "image's clusters, 1 (negative) when it has none; a research aid "
                                      "(calcdetect.birads.assessment).", allowed=_ASSESSMENTS, **_ADDED),
        Column("breast_area_mm2", _F, "Area of the breast found (the denominator of false positives per cm^2); "
                                      "empty when no breast was found.", "mm2", **_SIZE, **_ADDED),
    ),
    "calcifications": (
        _IMAGE_ID,
        Column("calc_id", _I, "Key of the calcification, unique within the image.", minimum=0, required=True),
        Column("cluster_id", _I, "The cluster it belongs to; -1 for none (also the members of clusters the "
                                 "--min-confidence cut dissolved).", minimum=-1, required=True),
        Column("row", _F, "Centroid row, zero-based, origin at the top-left pixel's centre.", "px"),
        Column("col", _F, "Centroid column, zero-based, origin at the top-left pixel's centre.", "px"),
        Column("area_mm2", _F, "Area.", "mm2", **_SIZE),
        Column("diameter_mm", _F, "Equivalent-circle diameter.", "mm", **_SIZE),
        Column("length_mm", _F, "Major axis.", "mm", **_SIZE),
        Column("width_mm", _F, "Minor axis.", "mm", **_SIZE),
        Column("contrast", _F, "Peak of the enhanced (top-hat) response over the local background noise, in "
                               "noise standard deviations (dimensionless)."),
        Column("shape", _S, "Shape class of the speck.", allowed=tuple(str(s) for s in SpeckShape)),
        Column("score", _F, "The false-positive model's probability that the speck is a calcification "
                            "(calcdetect.specks.model.calcification_probability).", **_PROBABILITY),
    ),
    "clusters": (
        _IMAGE_ID,
        Column("cluster_id", _I, "Key of the cluster, 0..C-1 within the image.", minimum=0, required=True),
        Column("n_calcifications", _I, "Member count.", minimum=1),
        Column("row", _F, "Centre row: the member centroids' mean weighted by their score (the plain mean when "
                          "no score is positive).", "px"),
        Column("col", _F, "Centre column, weighted as row.", "px"),
        Column("row_min", _F, "Bounding box of the member centroids: first row.", "px"),
        Column("col_min", _F, "Bounding box of the member centroids: first column.", "px"),
        Column("row_max", _F, "Bounding box of the member centroids: last row.", "px"),
        Column("col_max", _F, "Bounding box of the member centroids: last column.", "px"),
        Column("extent_mm", _F, "Greatest dimension: the largest distance between member centroids plus the "
                                "mean member diameter.", "mm", **_SIZE),
        Column("area_mm2", _F, "Area of the convex hull of the member centroids (0 for collinear members).",
               "mm2", **_SIZE),
        Column("density_per_cm2", _F, "Members per cm2 of hull, the hull counted as at least 1 cm2.", "1/cm2",
               **_SIZE),
        Column("distribution", _S, "BI-RADS distribution.", allowed=tuple(str(d) for d in Distribution)),
        Column("morphology", _S, "BI-RADS morphology (suspicious or typically benign).",
               allowed=tuple(str(m) for m in Morphology)),
        Column("score", _F, "Suspicion: confidence x ppv; the FROC operating points sweep it.", **_PROBABILITY),
        Column("confidence", _F, "Detection confidence: the mean of the three highest member scores.",
               **_PROBABILITY, **_ADDED),
        Column("ppv", _F, "Probability of malignancy given the BI-RADS description (published PPVs; "
                          "docs/birads.md).", **_PROBABILITY, **_ADDED),
        Column("finding_extent_mm", _F, "Largest distance between member centroids of the finding the cluster is "
                                        "part of (unlike extent_mm, without a member diameter added: for a "
                                        "one-cluster finding it is smaller by about that diameter).", "mm",
               **_SIZE, **_ADDED),
        Column("pleomorphism", _F, "Variation of the members' size and shape (dimensionless).", **_SIZE, **_ADDED),
        Column("linear_fraction", _F, "Fraction of members that are linear or branching.", **_PROBABILITY,
               **_ADDED),
        Column("finding_id", _I, "The finding (0..F-1 per image): clusters whose members come within 12 mm "
                                 "(FINDING_LINK_MM), judged together; a vascular, linear cluster (a vessel) is a "
                                 "finding of its own.", minimum=0, **_ADDED),
        Column("birads_category", _S, "BI-RADS assessment category read off ppv by the ACR atlas's ranges "
                                      "(3 <= 2 %, 4A <= 10 %, 4B <= 50 %, 4C < 95 %, 5 >= 95 %); 2 for a "
                                      "typically benign morphology.", allowed=_ASSESSMENTS[1:], **_ADDED),
        Column("chance_groups", _F, "Expected number of groups as dense as the cluster's finding that the "
                                    "breast's scatter of likely calcifications would make (README, BI-RADS "
                                    "description); 1 or more: the cluster is diffuse by this count (below 1 it "
                                    "may still be diffuse by the distribution model). Empty where not judged: a "
                                    "vascular, coarse, skin or rod-like cluster; a finding without a likely "
                                    "calcification of the scatter's kind; no false-positive model or breast "
                                    "area.", minimum=0.0, **_ADDED),
    ),
}

#: Column names of each table, in order.
TABLES: dict[str, tuple[str, ...]] = {name: tuple(c.name for c in columns) for name, columns in TABLE_COLUMNS.items()}

#: Storage type of every column name (a name means the same in every table).
COLUMN_TYPES: dict[str, str] = {c.name: str(c.type) for columns in TABLE_COLUMNS.values() for c in columns}


def _check_one_type_per_name() -> None:
    for columns in TABLE_COLUMNS.values():
        for c in columns:
            if COLUMN_TYPES[c.name] != c.type:
                raise AssertionError(f"column {c.name!r} has two types")


_check_one_type_per_name()

#: Column lists of the three tables, in order.
IMAGE_COLUMNS = TABLES["images"]
CALCIFICATION_COLUMNS = TABLES["calcifications"]
CLUSTER_COLUMNS = TABLES["clusters"]

#: File formats of the tables.
FORMATS = ("csv", "parquet")


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


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
    """Write table `name` (one of :data:`TABLES`) into `folder` as CSV or Parquet, atomically.

    Parameters
    ----------
    folder : str or PathLike
    name : {"images", "calcifications", "clusters"}
    rows : iterable of mapping
        Keyed by column; absent keys and None are missing values.
    format : {"csv", "parquet"}

    Returns
    -------
    Path
        The file written (``<name>.<format>``).

    Raises
    ------
    ValueError
        When `name` or `format` is not one of those allowed.
    """
    if name not in TABLES:
        raise ValueError(f"name must be one of {tuple(TABLES)}; got {name!r}")
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


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_table(folder, table: str, *, table_format: str | None = None, required: Iterable[str] = (),
               lenient: bool = False) -> list[dict]:
    """Rows of a run's table `table`, typed by the schema: CSV text converted to int / float,
    empty cells to None; columns the schema does not know kept as text.

    The file is ``<table>.<table_format>``; without `table_format`, the format the
    run recorded in its ``run.json``, else the Parquet file when there is one, else the CSV.

    Parameters
    ----------
    folder : str or PathLike
        A run's output folder.
    table : {"images", "calcifications", "clusters"}
    table_format : {"csv", "parquet"}, optional
    required : iterable of str
        Columns the caller needs.
    lenient : bool
        Read a CSV another tool wrote: cells padded with spaces, whole numbers written as
        ``3.0`` (the contract's own files, as :func:`calcdetect.schema.validate_run` checks
        them, hold neither).

    Returns
    -------
    list of dict
        One per row, keyed by column, in the file's order.

    Raises
    ------
    FileNotFoundError
        When the run has neither file.
    ValueError
        When `table` is not a table of :data:`TABLES`, a `required` column is missing, or
        a cell is not of its column's type (naming the file, row and column).
    """
    if table not in TABLE_COLUMNS:
        raise ValueError(f"table must be one of {tuple(TABLE_COLUMNS)}; got {table!r}")
    path = _table_path(folder, table, table_format)
    missing = [c for c in required if c not in (names := _columns(path, lenient))]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(names) or 'none'}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in pq.read_table(path).to_pylist()]
    types = {c.name: c.type for c in TABLE_COLUMNS[table]}
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for number, raw in enumerate(csv.DictReader(fh), start=1):
            row = {}
            for name, cell in raw.items():
                if name is None:  # cells beyond the header's columns
                    continue
                name = name.strip() if lenient else name
                try:
                    row[name] = _typed(cell, types.get(name), lenient)
                except ValueError:
                    raise ValueError(f"{path}: row {number}, column {name}: {cell!r} is not "
                                     f"{'an integer' if types[name] is ColumnType.INT64 else 'a number'}") from None
            rows.append(row)
    return rows


def run_record(folder) -> dict:
    """A run folder's ``run.json`` as recorded ({} when it has none or it cannot be read)."""
    try:
        record = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _table_path(folder, table: str, table_format: str | None = None) -> Path:
    """The file of a run's table (see :func:`read_table` for which format); FileNotFoundError when absent."""
    folder = Path(folder)
    if table_format is None:
        execution = run_record(folder).get("execution")
        table_format = execution.get("table_format") if isinstance(execution, dict) else None
    if table_format is None:
        table_format = "parquet" if (folder / f"{table}.parquet").is_file() else "csv"
    path = folder / f"{table}.{table_format}"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; give the output folder of 'calcdetect detect'")
    return path


def table_columns(folder, table: str, *, table_format: str | None = None) -> list[str]:
    """The column names of a run's table, from its CSV header or Parquet schema (also when empty),
    in the format :func:`read_table` reads (`table_format` as there)."""
    return _columns(_table_path(folder, table, table_format))


def _columns(path: Path, lenient: bool = False) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        names = next(csv.reader(fh), [])
    return [name.strip() for name in names] if lenient else names


def _typed(cell: str | None, kind: ColumnType | None, lenient: bool = False):
    cell = (cell.strip() if lenient else cell) if cell is not None else ""
    if not cell:
        return None
    if kind is ColumnType.INT64:
        try:
            return int(cell)
        except ValueError:
            if not lenient:
                raise
            number = float(cell)  # "3.0" from a tool that writes every number as a float
            if not number.is_integer():
                raise
            return int(number)
    if kind is ColumnType.FLOAT64:
        return float(cell)
    return cell

