"""The output schema: generated files up to date, real runs valid (CSV and Parquet), broken
runs caught with the file, row and value named."""

import csv
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from calcdetect.batch import run_detection
from calcdetect.cli import main
from calcdetect.lexicon import Distribution, Morphology
from calcdetect.results import calcification_rows, cluster_rows, image_row
from calcdetect.schema import run_json_schema, schema_markdown, table_json_schema, validate_run, write_schema_files
from calcdetect.tables import TABLE_COLUMNS, TABLES, read_table

PROJECT = Path(__file__).parents[1]
SAMPLES = PROJECT / "data" / "samples"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run of two samples and a broken file, written as CSV and as Parquet."""
    root = tmp_path_factory.mktemp("schema")
    folder = root / "in"
    folder.mkdir()
    for name in ("synth_0000.dcm", "synth_0003.dcm"):  # a CC and an MLO view
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 64)
    out = {}
    for table_format in ("csv", "parquet"):
        out[table_format] = root / table_format
        run_detection([folder], out[table_format], jobs=1, table_format=table_format)
    return out


def test_generated_files_are_up_to_date(tmp_path):
    """docs/schema.md and docs/schema/*.schema.json are what `calcdetect schema --write docs` makes."""
    written = write_schema_files(tmp_path)
    for path in written:
        committed = PROJECT / "docs" / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} missing: run `calcdetect schema --write docs`"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), \
            f"{committed} is stale: run `calcdetect schema --write docs`"


@pytest.mark.parametrize("table_format", ["csv", "parquet"])
def test_real_runs_follow_the_schema(runs, table_format):
    validate_run(runs[table_format])
    images = read_table(runs[table_format], "images")
    assert sorted(r["status"] for r in images) == ["error", "ok", "ok"]
    assert read_table(runs[table_format], "clusters"), "the samples hold planted clusters"


def test_parquet_and_csv_runs_hold_the_same_rows(runs):
    for table in TABLES:
        csv_rows, parquet_rows = read_table(runs["csv"], table), read_table(runs["parquet"], table)
        assert len(csv_rows) == len(parquet_rows)
        for a, b in zip(csv_rows, parquet_rows):
            assert a.keys() == b.keys()
            for name in a:
                if isinstance(a[name], float) and name not in ("seconds",):
                    assert a[name] == pytest.approx(b[name], rel=1e-5, abs=1e-9), (table, name)
                elif name not in ("seconds",):
                    assert a[name] == b[name], (table, name)


def _break_csv(folder: Path, table: str, column: str, value: str, row: int = 0) -> None:
    path = folder / f"{table}.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        names, rows = reader.fieldnames, list(reader)
    rows[row][column] = value
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("clusters", "score", "1.5", "1.5 is greater than the maximum of 1.0"),
        ("clusters", "morphology", "spiky", "'spiky' is not one of"),
        ("calcifications", "cluster_id", "-2", "-2 is less than the minimum of -1"),
        ("images", "status", "maybe", "'maybe' is not one of ['ok', 'error']"),
        ("images", "spacing_mm", "0", "0.0 is less than or equal to the minimum of 0.0"),
        ("images", "rows", "", "None is not of type 'string', 'integer', 'number'"),
        ("calcifications", "image_id", "", "None is not of type 'string'"),
    ],
    ids=["score-above-1", "unknown-morphology", "cluster-id-below-minus-1", "unknown-status", "zero-spacing",
         "ok-image-without-size", "missing-key"],
)
def test_broken_values_are_named(runs, tmp_path, table, column, value, message):
    broken = tmp_path / "run"
    shutil.copytree(runs["csv"], broken)
    ok_row = [r["status"] for r in read_table(broken, "images")].index("ok")
    _break_csv(broken, table, column, value, row=ok_row if table == "images" else 0)
    with pytest.raises(jsonschema.ValidationError) as caught:
        validate_run(broken)
    assert str(caught.value).startswith(f"{broken / table}: at row ")
    assert message in str(caught.value)


def test_a_cell_of_the_wrong_type_is_named(runs, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(runs["csv"], broken)
    _break_csv(broken, "clusters", "n_calcifications", "many")
    with pytest.raises(ValueError, match=r"clusters.csv: row 1, column n_calcifications: 'many' is not an integer"):
        validate_run(broken)


@pytest.mark.parametrize("change", ["count", "column-order", "schema-version"])
def test_run_json_and_layout_checks(runs, tmp_path, change):
    broken = tmp_path / "run"
    shutil.copytree(runs["csv"], broken)
    run = json.loads((broken / "run.json").read_text())
    if change == "count":
        run["n_clusters"] += 1
        expected, error = "disagree with the tables", ValueError
    elif change == "schema-version":
        run["schema_version"] = 2
        expected, error = "1 was expected", jsonschema.ValidationError
    else:
        with open(broken / "clusters.csv", newline="") as fh:
            rows = list(csv.reader(fh))
        rows = [[r[1], r[0], *r[2:]] for r in rows]
        with open(broken / "clusters.csv", "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
        expected, error = "do not begin with the schema's", ValueError
    (broken / "run.json").write_text(json.dumps(run))
    with pytest.raises(error, match=expected):
        validate_run(broken)


def test_added_columns_after_the_contract_are_allowed(runs, tmp_path):
    extended = tmp_path / "run"
    shutil.copytree(runs["csv"], extended)
    path = extended / "clusters.csv"
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows = [[*r, "extra" if i == 0 else "x"] for i, r in enumerate(rows)]
    with open(path, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    validate_run(extended)


def test_every_row_the_writers_make_has_exactly_the_schema_columns():
    """The row builders and the schema agree (no column written without a definition)."""
    from calcdetect.io import read_mammogram
    from calcdetect.pipeline import detect_mammogram

    result = detect_mammogram(read_mammogram(SAMPLES / "synth_0000.dcm"))
    assert set(image_row("a", "a", result=result)) == set(TABLES["images"])
    assert set(calcification_rows("a", result)[0]) == set(TABLES["calcifications"])
    assert set(cluster_rows("a", result)[0]) == set(TABLES["clusters"])


def test_coded_values_are_the_lexicon():
    columns = {c.name: c for c in TABLE_COLUMNS["clusters"]}
    assert set(columns["distribution"].allowed) == {str(d) for d in Distribution}
    assert set(columns["morphology"].allowed) == {str(m) for m in Morphology}


@pytest.mark.parametrize("table", [*TABLES, "run"], ids=[*TABLES, "run"])
def test_the_schemas_are_valid_json_schema(table):
    schema = run_json_schema() if table == "run" else table_json_schema(table)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_markdown_lists_every_column_with_its_unit():
    text = schema_markdown()
    for columns in TABLE_COLUMNS.values():
        for c in columns:
            assert f"| `{c.name}` | {c.type} | {c.unit or ''} |" in text


def test_unknown_table_is_refused():
    with pytest.raises(ValueError, match="table must be one of"):
        table_json_schema("findings")


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "broken"])
def test_cli_check(runs, tmp_path, capsys, valid):
    folder = tmp_path / "run"
    shutil.copytree(runs["csv"], folder)
    if not valid:
        _break_csv(folder, "clusters", "score", "-1")
    assert main(["schema", "--check", str(folder)]) == (0 if valid else 1)
    captured = capsys.readouterr()
    if valid:
        assert "follow schema version 1" in captured.out
    else:
        assert "does not follow the schema" in captured.err and "clusters" in captured.err


def test_missing_values_are_null_in_parquet(runs):
    """Parquet holds missing values as null, never NaN (read with pyarrow itself)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for table in TABLES:
        data = pq.read_table(runs["parquet"] / f"{table}.parquet")
        for name in data.column_names:
            column = data.column(name)
            if column.type in ("double", "float"):
                assert not pc.any(pc.is_nan(column)).as_py(), (table, name)
    errors = pq.read_table(runs["parquet"] / "images.parquet").column("error").to_pylist()
    assert errors.count(None) == 2  # the two processed images have no error


def test_the_recorded_format_is_the_one_read(runs, tmp_path):
    """A stray Parquet file beside a CSV run is not what is checked or read."""
    import pyarrow.parquet as pq

    mixed = tmp_path / "run"
    shutil.copytree(runs["csv"], mixed)
    pq.write_table(pq.read_table(runs["parquet"] / "clusters.parquet").slice(0, 0), mixed / "clusters.parquet")
    assert len(read_table(mixed, "clusters")) == len(read_table(runs["csv"], "clusters")) > 0
    _break_csv(mixed, "clusters", "score", "1.5")
    with pytest.raises(jsonschema.ValidationError, match="greater than the maximum"):
        validate_run(mixed)


def test_a_folder_without_a_run_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run.json; give the output folder"):
        validate_run(tmp_path)


def test_the_contract_page_lists_the_contract_columns_in_order():
    import re

    text = (PROJECT / "docs" / "output-contract.md").read_text(encoding="utf-8")
    for table, columns in TABLE_COLUMNS.items():
        item = re.search(rf"^- {table}: (.*?)(?=^- |^$)", text, re.M | re.S)
        assert item is not None, table
        assert re.findall(r"`([a-z_0-9]+)`", item.group(1)) == [c.name for c in columns if c.contract]
