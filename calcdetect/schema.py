"""The output schema for validators and people: JSON Schemas of the tables and of ``run.json``.

The columns themselves are defined once, in :mod:`calcdetect.tables` (:data:`TABLE_COLUMNS`);
from them come the JSON Schemas (:func:`table_json_schema`, :func:`run_json_schema`;
JSON Schema draft 2020-12) and the page for people, ``docs/schema.md``
(:func:`schema_markdown`). Write the generated files with::

    calcdetect schema --write docs

:func:`validate_run` checks a run's tables (CSV or Parquet) and ``run.json``
against the schemas with :mod:`jsonschema` (``pip install 'calcdetect[schema]'``).
"""

from __future__ import annotations

import json
from pathlib import Path

from calcdetect.atomic import atomic_write_text
from calcdetect.tables import SCHEMA_VERSION, TABLE_COLUMNS, TABLES, Column, read_table, table_columns

#: Where the published JSON Schemas say they live (their ``$id`` prefix).
SCHEMA_URI = f"https://calcdetect.invalid/schema/{SCHEMA_VERSION}/"


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
        "Generated from the column definitions in `calcdetect/tables.py` by `calcdetect schema --write docs`; "
        "do not edit by hand.",
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

    folder = Path(folder)
    (folder / "schema").mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(folder / "schema.md", schema_markdown())]
    for name, schema in {**{t: table_json_schema(t) for t in TABLES}, "run": run_json_schema()}.items():
        written.append(atomic_write_text(folder / "schema" / f"{name}.schema.json",
                                         json.dumps(schema, indent=2) + "\n"))
    return [Path(p) for p in written]



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
    execution = run.get("execution")
    table_format = execution.get("table_format") if isinstance(execution, dict) else None  # as read_table would
    counts = {}
    for table in TABLES:
        rows = read_table(folder, table, table_format=table_format)
        names = table_columns(folder, table, table_format=table_format)
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
    "SCHEMA_URI",
    "run_json_schema",
    "schema_markdown",
    "table_json_schema",
    "validate_run",
    "write_schema_files",
]
