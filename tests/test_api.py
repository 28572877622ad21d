"""calcdetect.detect: one call gives the rows the command line writes, from a file or an array."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import calcdetect
from calcdetect.cli import main
from calcdetect.errors import ImageReadError
from calcdetect.schema import table_json_schema
from calcdetect.tables import TABLES, format_cell

PROJECT = Path(__file__).parents[1]
SAMPLES = PROJECT / "data" / "samples"


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", ["synth_0000.dcm", "synth_0003.dcm"], ids=["cc", "mlo"])
def test_detect_gives_the_command_lines_tables(tmp_path, name):
    path = SAMPLES / name
    out = tmp_path / "out"
    assert main(["detect", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    found = calcdetect.detect(str(path))
    assert found.clusters, "every sample holds a planted cluster"
    for table in TABLES:
        written = _csv_rows(out / f"{table}.csv")
        ours = [{k: format_cell(v) for k, v in row.items()} for row in getattr(found, table)]
        assert len(ours) == len(written), table
        for a, b in zip(ours, written):
            a.pop("seconds", None), b.pop("seconds", None)
            assert a == b, table


def test_an_array_gives_what_its_file_gives():
    found = calcdetect.detect(SAMPLES / "synth_0003.dcm")
    image = calcdetect.read_mammogram(SAMPLES / "synth_0003.dcm").image
    same = calcdetect.detect(image, spacing=found.image.spacing, view="MLO", laterality="L")
    assert (same.image.path, same.image.image_id, same.image.spacing_source) == ("(array)", "image", "user")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "image_id"} for r in rows]  # noqa: E731
    assert strip(same.clusters) == strip(found.clusters)
    assert strip(same.calcifications) == strip(found.calcifications)


def test_the_view_decides_the_pectoral_search():
    """Without the view an MLO's pectoral muscle is searched (the old README example's fault)."""
    image = calcdetect.read_mammogram(SAMPLES / "synth_0003.dcm").image
    with_view = calcdetect.detect(image, spacing=0.085, view="MLO").result.geometry
    without = calcdetect.detect(image, spacing=0.085).result.geometry
    assert with_view.pectoral is not None and with_view.pectoral.any()
    assert without.pectoral is None or not without.pectoral.any()


def test_records_and_dict_are_plain_and_follow_the_schema():
    found = calcdetect.detect(SAMPLES / "synth_0000.dcm")
    record = json.loads(json.dumps(found.to_dict()))  # JSON-serialisable as it is
    assert record["schema_version"] == calcdetect.SCHEMA_VERSION
    assert record["image"]["spacing_source"] == "ImagerPixelSpacing"
    for table in TABLES:
        assert list(record[table][0]) == list(TABLES[table])
        jsonschema.validate(record[table], table_json_schema(table))


def test_to_pandas_is_typed_by_the_schema():
    pandas = pytest.importorskip("pandas", reason="pandas is optional (the test extra installs it)")
    tables = calcdetect.detect(SAMPLES / "synth_0000.dcm").to_pandas()
    assert set(tables) == set(TABLES)
    clusters = tables["clusters"]
    assert list(clusters.columns) == list(TABLES["clusters"])
    assert clusters["n_calcifications"].dtype == pandas.Int64Dtype()
    assert clusters["score"].dtype == np.float64 and clusters["morphology"].dtype == pandas.StringDtype()


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "message"),
    [
        (np.ones((64, 64)), {}, ValueError, "spacing is required for an array"),
        (np.ones((4, 64, 64)), {"spacing": 0.1}, ValueError, "must be a 2-D array"),
        (np.ones((64, 64)), {"spacing": 0.1}, ValueError, "constant image"),
        (np.random.default_rng(1).random((64, 64)), {"spacing": -1}, ValueError, "spacing must be"),
        (np.random.default_rng(1).random((64, 64)), {"spacing": 0.1, "laterality": "left"}, ValueError,
         "laterality must be"),
        (np.random.default_rng(1).random((64, 64)), {"spacing": 0.1, "voi": True}, TypeError, "for an array"),
        (np.random.default_rng(1).random((64, 64)), {"spacing": 0.1, "view": "XX"}, ValueError,
         "view must be an ACR view abbreviation"),
        (SAMPLES / "synth_0000.dcm", {"laterality": "L"}, TypeError, "LoadOptions does not have"),
        (SAMPLES / "README.md", {}, ImageReadError, "README.md"),
    ],
    ids=["array-without-spacing", "3-d-array", "constant-array", "negative-spacing", "bad-laterality",
         "file-option-for-array", "unknown-view", "array-option-for-file", "not-an-image"],
)
def test_bad_calls_say_what_is_wrong(source, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        calcdetect.detect(source, **kwargs)


def test_import_is_light_and_every_export_resolves():
    code = "import calcdetect, sys; print(sorted(m for m in sys.modules if m.startswith('calcdetect')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['calcdetect']"
    for name in calcdetect.__all__:
        assert getattr(calcdetect, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        calcdetect.nothing  # noqa: B018


def test_the_readme_library_example_runs(monkeypatch):
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Library\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(PROJECT)
    exec(compile(code, "README.md (Library)", "exec"), {})
