"""calcdetect.tables: one reader for CSV and Parquet, typed by the column definitions."""

import pytest

from calcdetect.tables import TABLES, read_table, table_columns, write_table

ROWS = [
    {"image_id": "a.dcm", "cluster_id": 0, "n_calcifications": 5, "row": 10.5, "col": 20.25, "score": 0.75,
     "morphology": "punctate"},
    {"image_id": "b.dcm", "cluster_id": 1, "n_calcifications": 3, "row": 1.0, "col": 2.0, "score": None,
     "morphology": None},
]


@pytest.mark.parametrize("table_format", ["csv", "parquet"])
def test_a_table_reads_back_typed_in_either_format(tmp_path, table_format):
    write_table(tmp_path, "clusters", ROWS, format=table_format)
    rows = read_table(tmp_path, "clusters")
    assert [{k: row[k] for k in ROWS[0]} for row in rows] == ROWS
    assert list(rows[0]) == list(TABLES["clusters"]) == table_columns(tmp_path, "clusters")
    assert type(rows[0]["cluster_id"]) is int and type(rows[0]["row"]) is float


def test_a_csv_from_another_tool_reads_as_ours_when_lenient(tmp_path):
    # A byte-order mark, padded cells, whole numbers written as floats, a column we do not know.
    (tmp_path / "clusters.csv").write_text(
        "\ufeffimage_id, cluster_id,row,col,score,reader\n a.dcm ,0.0, 10.5 ,20.25,0.75, Dr X \n", encoding="utf-8")
    row = read_table(tmp_path, "clusters", lenient=True)[0]
    assert row == {"image_id": "a.dcm", "cluster_id": 0, "row": 10.5, "col": 20.25, "score": 0.75, "reader": "Dr X"}
    (tmp_path / "clusters.csv").write_text("image_id,cluster_id\na.dcm,0.0\n")
    with pytest.raises(ValueError, match=r"row 1, column cluster_id: '0.0' is not an integer"):
        read_table(tmp_path, "clusters")  # the contract's own files are read (and validated) as written


@pytest.mark.parametrize(("text", "options", "match"), [
    ("image_id,cluster_id\na.dcm,1.5\n", {}, r"clusters.csv: row 1, column cluster_id: '1.5' is not an integer"),
    ("image_id,row\na.dcm,x\n", {}, r"clusters.csv: row 1, column row: 'x' is not a number"),
    ("image_id,row\n", {"required": ("image_id", "score")},
     r"clusters.csv: missing column\(s\) score; found image_id, row"),
], ids=["integer", "number", "required"])
def test_a_bad_table_is_refused_with_the_place_of_the_fault(tmp_path, text, options, match):
    (tmp_path / "clusters.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        read_table(tmp_path, "clusters", **options)


def test_an_unknown_table_or_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"table must be one of \('images', 'calcifications', 'clusters'\)"):
        read_table(tmp_path, "lesions")
    with pytest.raises(FileNotFoundError, match=r"clusters.csv: not found; give the output folder"):
        read_table(tmp_path, "clusters")
