"""The output schema: one definition of every column of the three tables, and of ``run.json``.

Every table column is a :class:`Column` (name, type, unit, meaning, allowed values
or range) in :data:`TABLE_COLUMNS`. From these come the column lists and Parquet
types the writers use (:mod:`calcdetect.results`), the JSON Schemas
(:func:`table_json_schema`, :func:`run_json_schema`; JSON Schema draft 2020-12)
and the page for people, ``docs/schema.md`` (:func:`schema_markdown`). Write the
generated files with::

    calcdetect schema --write docs

:func:`validate_run` checks a run's tables (CSV or Parquet) and ``run.json``
against the schemas with :mod:`jsonschema` (``pip install 'calcdetect[schema]'``).

Schema version 1: the names, units and meanings of the contract's columns are
fixed; calcdetect may add columns after them (``contract=False``). Any change to
a fixed column bumps :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from calcdetect.cluster.shape import SpeckShape
from calcdetect.io.mammogram import SpacingSource
from calcdetect.lexicon import Assessment, Distribution, Morphology

#: Version of the tables' and ``run.json``'s layout (recorded in ``run.json``).
SCHEMA_VERSION = 1

#: Where the published JSON Schemas say they live (their ``$id`` prefix).
SCHEMA_URI = f"https://calcdetect.invalid/schema/{SCHEMA_VERSION}/"


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


_S, _I, _F = ColumnType.STRING, ColumnType.INT64, ColumnType.FLOAT64
_PROBABILITY = {"minimum": 0.0, "maximum": 1.0}
_COUNT = {"minimum": 0}
_SIZE = {"minimum": 0.0}
_ADDED = {"contract": False}
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
                                            "is itself a predictor).", **_COUNT, **_ADDED),
        Column("n_candidates", _I, "Candidate specks before the false-positive model's cut "
                                   "(Params.min_calcification_probability).", **_COUNT, **_ADDED),
        Column("n_clusters_before_cut", _I, "Clusters before the operating point's cut (--min-confidence).",
               **_COUNT, **_ADDED),
        Column("birads_category", _S, "BI-RADS assessment category for calcifications: the highest of the "
                                      "image's clusters, 1 (negative) when it has none; a research aid "
                                      "(calcdetect.cluster.assessment).", allowed=_ASSESSMENTS, **_ADDED),
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
                                 "(FINDING_LINK_MM), judged together; a vascular, linear cluster (a vessel) is a finding "
                                 "of its own.", minimum=0, **_ADDED),
        Column("birads_category", _S, "BI-RADS assessment category read off ppv by the ACR atlas's ranges (3 "
                                      "<= 2 %, 4A <= 10 %, 4B <= 50 %, 4C < 95 %, 5 >= 95 %); 2 for a typically "
                                      "benign morphology.", allowed=_ASSESSMENTS[1:], **_ADDED),
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


def table_json_schema(table: str) -> dict:
    """JSON Schema (draft 2020-12) of table `table`: an array of row objects.

    Rows may hold columns after the schema's (schema version 1 allows added
    columns); every schema column must be present, null where missing. Rows of
    status ``ok`` in ``images`` have their size and spacing; rows of status
    ``error`` their reason.

    Raises
    ------
    ValueError
        When `table` is not one of :data:`TABLES`.
    """
    if table not in TABLE_COLUMNS:
        raise ValueError(f"table must be one of {tuple(TABLE_COLUMNS)}; got {table!r}")
    columns = TABLE_COLUMNS[table]
    row: dict = {
        "type": "object",
        "properties": {c.name: c.json_schema() for c in columns},
        "required": [c.name for c in columns],
    }
    if table == "images":
        present = {"type": ["string", "integer", "number"]}
        row["allOf"] = [
            {"if": {"properties": {"status": {"const": "ok"}}},
             "then": {"properties": {name: present for name in ("rows", "columns", "spacing_mm", "column_spacing_mm",
                                                                 "spacing_source", "n_calcifications", "n_clusters")}}},
            {"if": {"properties": {"status": {"const": "error"}}},
             "then": {"properties": {"error": {"type": "string", "minLength": 1}}}},
        ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_URI}{table}.schema.json",
        "title": f"calcdetect {table} table, schema version {SCHEMA_VERSION}",
        "type": "array",
        "items": row,
    }


def run_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a run's ``run.json``."""
    count = {"type": "integer", "minimum": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_URI}run.schema.json",
        "title": f"calcdetect run.json, schema version {SCHEMA_VERSION}",
        "type": "object",
        "required": ["schema_version", "calcdetect_version", "parameters", "parameters_sha256", "libraries",
                     "python", "platform", "input_root", "inputs", "started", "finished", "execution", "images",
                     "n_calcifications", "n_clusters", "seconds"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "calcdetect_version": {"type": "string"},
            "parameters": {
                "type": "object", "required": ["detection", "loading", "image_id", "columns"],
                "description": "Every setting of the run (calcdetect.pipeline.Params, calcdetect.io.LoadOptions), "
                               "how images are named, and each table's columns.",
                "properties": {
                    "detection": {"type": "object"}, "loading": {"type": "object"},
                    "image_id": {"enum": ["path", "sop_instance_uid"]},
                    "columns": {"type": "object", "required": list(TABLES),
                                "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                },
            },
            "parameters_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "libraries": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "python": {"type": "string"},
            "platform": {"type": "string"},
            "input_root": {"type": "string"},
            "inputs": {"type": "array", "items": {"type": "string"}},
            "started": {"type": "string", "format": "date-time"},
            "finished": {"type": "string", "format": "date-time"},
            "execution": {
                "type": "object",
                "required": ["executor", "workers", "processed_now", "resumed", "redone", "table_format"],
                "properties": {
                    "executor": {"enum": ["serial", "processes", "dask"]},
                    "scheduler": {"type": ["string", "null"]},
                    "workers": {"type": "integer", "minimum": 1},
                    "processed_now": count, "resumed": count,
                    "redone": {"type": "object", "additionalProperties": count,
                               "description": "Images done again instead of taken from the stored run, by reason."},
                    "table_format": {"enum": ["csv", "parquet"]},
                },
            },
            "images": {"type": "object", "required": ["total", "ok", "failed"],
                       "properties": {"total": count, "ok": count, "failed": count}},
            "n_calcifications": count,
            "n_clusters": count,
            "seconds": {"type": "number", "minimum": 0},
        },
    }


def schema_markdown() -> str:
    """``docs/schema.md``: every table's columns for people (generated; do not edit by hand)."""
    lines = [
        f"# Output schema (version {SCHEMA_VERSION})",
        "",
        "Generated from `calcdetect/schema.py` by `calcdetect schema --write docs`; do not edit by hand.",
        "The JSON Schemas beside it (`docs/schema/*.schema.json`, draft 2020-12) say the same for tools;",
        "`calcdetect.schema.validate_run(OUT)` checks a run's tables and `run.json` against them.",
        "Conventions and files: [output-contract.md](output-contract.md).",
        "",
        "Columns marked *added* come after the contract's; schema version 1 allows more to be added",
        "after them. Missing values are empty (CSV) or null (Parquet).",
    ]
    for table, columns in TABLE_COLUMNS.items():
        lines += ["", f"## {table}", "", "| column | type | unit | values | meaning |", "|---|---|---|---|---|"]
        for c in columns:
            values = _values_text(c)
            meaning = c.meaning + (" *(added)*" if not c.contract else "")
            lines.append(f"| `{c.name}` | {c.type} | {c.unit or ''} | {values} | {meaning} |")
    return "\n".join(lines) + "\n"


def _values_text(c: Column) -> str:
    parts = []
    if c.allowed is not None:
        parts.append(", ".join(f"`{v}`" for v in c.allowed))
    if c.minimum is not None or c.maximum is not None:
        lo = "" if c.minimum is None else f"{'>' if c.exclusive_minimum else '>='} {c.minimum:g}"
        hi = "" if c.maximum is None else f"<= {c.maximum:g}"
        parts.append(" and ".join(p for p in (lo, hi) if p))
    if c.required:
        parts.append("never missing")
    return "; ".join(parts)


def write_schema_files(folder) -> list[Path]:
    """Write ``schema.md`` and ``schema/<name>.schema.json`` (the three tables and run) into `folder`."""
    from calcdetect.atomic import atomic_write_text

    folder = Path(folder)
    (folder / "schema").mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(folder / "schema.md", schema_markdown())]
    for name, schema in {**{t: table_json_schema(t) for t in TABLES}, "run": run_json_schema()}.items():
        written.append(atomic_write_text(folder / "schema" / f"{name}.schema.json",
                                         json.dumps(schema, indent=2) + "\n"))
    return [Path(p) for p in written]


def read_table(folder, table: str, *, table_format: str | None = None) -> list[dict]:
    """Rows of a run's table `table`, typed by the schema: CSV text converted to int / float,
    empty cells to None; columns the schema does not know kept as read.

    The file is ``<table>.<table_format>``; without `table_format`, the format the
    run recorded in its ``run.json``, else the Parquet file when there is one, else the CSV.

    Raises
    ------
    FileNotFoundError
        When the run has neither file.
    ValueError
        When a cell is not of its column's type (naming the file, row and column).
    """
    path = _table_path(folder, table, table_format)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in pq.read_table(path).to_pylist()]
    types = {c.name: c.type for c in TABLE_COLUMNS[table]}
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for number, raw in enumerate(csv.DictReader(fh), start=2):
            row = {}
            for name, cell in raw.items():
                try:
                    row[name] = _typed(cell, types.get(name))
                except ValueError:
                    raise ValueError(f"{path}: line {number}, column {name}: {cell!r} is not "
                                     f"{types[name]}") from None
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


def table_columns(folder, table: str) -> list[str]:
    """The column names of a run's table, from its CSV header or Parquet schema (also when empty),
    in the format :func:`read_table` reads."""
    path = _table_path(folder, table)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def _typed(cell: str | None, kind: ColumnType | None):
    if cell is None or cell == "":
        return None
    if kind is ColumnType.INT64:
        return int(cell)
    if kind is ColumnType.FLOAT64:
        return float(cell)
    return cell


def validate_run(folder) -> None:
    """Check a run folder's three tables (CSV or Parquet) and ``run.json`` against the schemas.

    Also checks what a schema cannot: each table's columns come in the schema's
    order (added columns after), and ``run.json``'s counts match the tables.

    Raises
    ------
    jsonschema.ValidationError
        Naming the file, the row and the value that breaks the schema.
    ValueError
        Columns out of order or missing, or counts that disagree.
    ImportError
        When jsonschema is not installed (``pip install 'calcdetect[schema]'``).
    """
    try:
        import jsonschema
    except ImportError:
        raise ImportError("validating a run needs jsonschema: pip install 'calcdetect[schema]'") from None
    folder = Path(folder)
    checker = jsonschema.Draft202012Validator
    if not (folder / "run.json").is_file():
        raise FileNotFoundError(f"{folder}: no run.json; give the output folder of a finished 'calcdetect detect'")
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    _validate(checker(run_json_schema(), format_checker=checker.FORMAT_CHECKER), run, folder / "run.json")
    counts = {}
    for table in TABLES:
        rows = read_table(folder, table)
        names = table_columns(folder, table)
        if names[: len(TABLES[table])] != list(TABLES[table]):
            raise ValueError(f"{folder / table}: columns {names} do not begin with the schema's {list(TABLES[table])}")
        _validate(checker(table_json_schema(table)), rows, folder / table)
        counts[table] = rows
    images = counts["images"]
    expected = {"total": len(images), "ok": sum(r["status"] == "ok" for r in images),
                "failed": sum(r["status"] != "ok" for r in images)}
    if run["images"] != expected or run["n_calcifications"] != len(counts["calcifications"]) \
            or run["n_clusters"] != len(counts["clusters"]):
        raise ValueError(f"{folder / 'run.json'}: counts {run['images']}, {run['n_calcifications']} calcifications, "
                         f"{run['n_clusters']} clusters disagree with the tables ({expected}, "
                         f"{len(counts['calcifications'])}, {len(counts['clusters'])})")


def _validate(validator, instance, where: Path) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        path = list(error.absolute_path)
        if isinstance(instance, list) and path:  # a table: its row, counted from 1, and column
            location = f"row {path[0] + 1}" + (f", column {path[1]}" if len(path) > 1 else "")
        else:
            location = "/".join(str(p) for p in path) or "(top)"
        raise jsonschema.ValidationError(f"{where}: at {location}: {error.message}")


__all__ = [
    "COLUMN_TYPES",
    "SCHEMA_VERSION",
    "TABLES",
    "TABLE_COLUMNS",
    "Column",
    "ColumnType",
    "read_table",
    "run_json_schema",
    "run_record",
    "schema_markdown",
    "table_columns",
    "table_json_schema",
    "validate_run",
    "write_schema_files",
]
