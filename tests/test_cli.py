import argparse
import csv
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from calcdetect.cli import main
from calcdetect.io import read_mammogram, write_mammogram
from calcdetect.tables import CALCIFICATION_COLUMNS, CLUSTER_COLUMNS, IMAGE_COLUMNS


def _mammogram_with_cluster(rng, render_disks, shape=(600, 500), spacing_mm=0.07):
    """A bright half-disk 'breast' on a dark background with a cluster of 6 specks."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    breast = (rows - shape[0] / 2) ** 2 + cols**2 < (0.9 * shape[1]) ** 2
    image = np.where(breast, 2000.0, 100.0) + rng.normal(0, 12, shape)
    centers = [(300 + 30 * np.sin(a), 200 + 30 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
    image += 300 * render_disks(shape, centers, [0.4 / spacing_mm] * 6)
    return np.clip(image, 0, 4095).astype(np.uint16), centers


@pytest.fixture
def inputs(tmp_path, shared_dicom, disks):
    rng = np.random.default_rng(41)
    folder = tmp_path / "in"
    for name in ("a.dcm", "sub/b.dcm"):
        pixels, _ = _mammogram_with_cluster(rng, disks)
        write_mammogram(folder / name, pixels, spacing=(0.07, 0.07), bits_stored=12, laterality="L", view="CC")
    shutil.copy(shared_dicom / "MG1_JPLY.dcm", folder / "undecodable.dcm")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _read(path):
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def test_detect_writes_the_contract_tables_and_records_errors(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", str(inputs), "--out", str(out), "--threshold", "8", "--jobs", "1"]) == 0

    header, images = _read(out / "images.csv")
    assert tuple(header) == IMAGE_COLUMNS
    by_id = {row["image_id"]: row for row in images}
    assert sorted(by_id) == ["a.dcm", "sub/b.dcm", "undecodable.dcm"]  # notes.txt is not DICOM
    bad = by_id["undecodable.dcm"]
    assert bad["status"] == "error"
    assert "1.2.840.10008.1.2.4.51" in bad["error"]
    for image_id in ("a.dcm", "sub/b.dcm"):
        row = by_id[image_id]
        assert (row["status"], row["error"], row["rows"], row["columns"]) == ("ok", "", "600", "500")
        assert (row["spacing_mm"], row["spacing_source"], row["laterality"], row["view"]) == (
            "0.07", "ImagerPixelSpacing", "L", "CC")
        assert row["n_clusters"] == "1"
        assert row["n_suspicious_clusters"] == "0"  # one punctate group

    header, calcifications = _read(out / "calcifications.csv")
    assert tuple(header) == CALCIFICATION_COLUMNS
    header, clusters = _read(out / "clusters.csv")
    assert tuple(header) == CLUSTER_COLUMNS
    assert len(clusters) == 2
    for cluster in clusters:
        assert (float(cluster["row"]), float(cluster["col"])) == pytest.approx((300, 200), abs=2)
        assert cluster["n_calcifications"] == "6"
        # Six equal 0.4 mm disks within 3 mm: a grouped cluster of punctate specks.
        assert (cluster["distribution"], cluster["morphology"]) == ("grouped", "punctate")
        assert float(cluster["score"]) == pytest.approx(float(cluster["confidence"]) * float(cluster["ppv"]), rel=1e-4)
        assert 0 <= float(cluster["score"]) <= 1
    members = [c for c in calcifications if c["cluster_id"] == "0"]
    assert len(members) == 12

    run = json.loads((out / "run.json").read_text())
    assert run["schema_version"] == 1
    assert run["images"] == {"total": 3, "ok": 2, "failed": 1}
    assert run["parameters"]["detection"]["filter"] == "tophat"
    assert len(run["parameters_sha256"]) == 64
    assert run["libraries"]["pydicom"]

    text = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert "SYNTHETIC" not in text  # no patient name or id leaks into the outputs
    assert "undecodable.dcm" in capsys.readouterr().err


def test_exit_code_is_nonzero_only_when_nothing_was_processed(tmp_path, shared_dicom):
    assert main(["detect", str(shared_dicom / "MG1_JPLY.dcm"), "--out", str(tmp_path / "o"), "--jobs", "1"]) == 1
    _, images = _read(tmp_path / "o" / "images.csv")
    assert [row["status"] for row in images] == ["error"]


def test_sop_instance_uid_as_image_id(inputs, tmp_path):
    out = tmp_path / "out"
    main(["detect", str(inputs / "a.dcm"), "--out", str(out), "--image-id", "sop", "--quiet", "--jobs", "1"])
    _, images = _read(out / "images.csv")
    assert images[0]["image_id"] == read_mammogram(inputs / "a.dcm").sop_instance_uid


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--spacing-mm", "-1"], "expected one or two positive numbers"), (["--threshold", "0"], "threshold must be")],
    ids=["negative-spacing", "zero-threshold"],
)
def test_bad_options_are_reported(tmp_path, capsys, argv, match):
    try:
        code = main(["detect", str(tmp_path), "--out", str(tmp_path / "o"), *argv])
    except SystemExit as exc:  # argparse refuses bad types itself
        code = exc.code
    assert code == 2
    assert match in capsys.readouterr().err


def test_missing_extra_is_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    code = main(["detect", str(samples / "synth_0000.dcm"), "--out", str(tmp_path / "o"), "--jobs", "1",
                 "--format", "parquet", "--quiet"])
    assert code == 2
    assert "pip install 'calcdetect[parquet]'" in capsys.readouterr().err
    assert not (tmp_path / "o" / "parts").exists()  # refused before any work


@pytest.mark.parametrize(
    ("argv", "name", "value"),
    [(["--max-length-mm", "8"], "max_length_mm", 8.0),
     (["--min-calcification-probability", "0.2"], "min_calcification_probability", 0.2),
     (["--min-confidence", "0"], "min_confidence", 0.0)],
    ids=["max-length", "min-calcification-probability", "min-confidence"],
)
def test_detection_options_reach_the_stored_settings(inputs, tmp_path, argv, name, value):
    out = tmp_path / "out"
    main(["detect", str(inputs / "a.dcm"), "--out", str(out), "--quiet", "--jobs", "1", *argv])
    params = json.loads((out / "settings.json").read_text())["settings"]["detection"]
    assert params[name] == value


PLUGIN = """
import numpy as np
from calcdetect.filters import register_filter, white_tophat


def widest_tophat(image, *, spacing, radius_mm, backend="opencv"):
    return white_tophat(np.asarray(image), radius_mm, spacing=spacing, backend=backend)


def widest(min_diameter_mm, max_diameter_mm):
    return {"radius_mm": max_diameter_mm}


register_filter("widest-tophat", widest_tophat, sizing=widest, reach_mm=2.0)
"""


@pytest.mark.parametrize("jobs", ["1", "2"], ids=["serial", "process-pool"])
def test_a_filter_file_is_chosen_by_name_for_filter_and_detector(inputs, tmp_path, monkeypatch, filter_registry,
                                                                  capsys, jobs):
    plugin = tmp_path / "plugins" / f"plugin_{jobs}_{tmp_path.name.replace('-', '_')}.py"  # a name no test used
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    monkeypatch.setattr(__import__("sys"), "path", list(__import__("sys").path))
    out = tmp_path / "out"
    assert main(["detect", str(inputs / "a.dcm"), str(inputs / "sub" / "b.dcm"), "--out", str(out), "--quiet",
                 "--jobs", jobs, "--filters-from", str(plugin), "--filter", "widest-tophat",
                 "--detector", "response"]) == 0
    params = json.loads((out / "settings.json").read_text())["settings"]["detection"]
    assert (params["filter"], params["detector"]) == ("widest-tophat", "response")
    with (out / "images.csv").open() as fh:
        assert [row["status"] for row in csv.DictReader(fh)] == ["ok", "ok"]


def test_a_filter_file_beside_a_calcdetect_folder_reaches_the_workers(inputs, tmp_path, monkeypatch, filter_registry,
                                                                      capsys):
    """A filter kept next to a checkout: its folder holds a folder named calcdetect, which worker
    processes would import (as an empty namespace package) instead of calcdetect itself, were the
    folder put on their path; the file is linked from a private folder instead."""
    plugin = tmp_path / f"beside_{tmp_path.name.replace('-', '_')}.py"
    plugin.write_text(PLUGIN)
    (tmp_path / "calcdetect").mkdir()  # a checkout's root: no __init__.py
    monkeypatch.setattr(__import__("sys"), "path", list(__import__("sys").path))
    out = tmp_path / "out"
    assert main(["detect", str(inputs / "a.dcm"), "--out", str(out), "--quiet", "--jobs", "2",
                 "--filters-from", str(plugin), "--filter", "widest-tophat"]) == 0
    with (out / "images.csv").open() as fh:
        assert [row["status"] for row in csv.DictReader(fh)] == ["ok"]
    assert str(tmp_path) not in __import__("sys").path


def test_calcdetect_filters_lists_a_filter_file(tmp_path, monkeypatch, filter_registry, capsys):
    plugin = tmp_path / f"listed_{tmp_path.name.replace('-', '_')}.py"
    plugin.write_text(PLUGIN)
    monkeypatch.setattr(__import__("sys"), "path", list(__import__("sys").path))
    assert main(["filters", "--filters-from", str(plugin)]) == 0
    assert re.search(r"\nwidest-tophat +reach 2 mm  \(radius_mm=1\)", capsys.readouterr().out)


@pytest.mark.parametrize(("text", "message"), [
    ("def broken(:\n", r"importing it failed \(line 1\): SyntaxError"),
    ("raise RuntimeError('no GPU here')\n", "importing it failed: RuntimeError: no GPU here"),
    ("import no_such_module_xyz\n", "importing it failed: ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    ("X = 1\n", "it registers no filter"),
], ids=["syntax-error", "raises", "imports-a-missing-module", "registers-nothing"])
def test_a_filter_file_that_cannot_serve_is_named_with_the_reason(tmp_path, monkeypatch, capsys, text, message):
    plugin = tmp_path / f"bad_{tmp_path.name.replace('-', '_')}.py"
    plugin.write_text(text)
    monkeypatch.setattr(__import__("sys"), "path", list(__import__("sys").path))
    assert main(["filters", "--filters-from", str(plugin)]) == 2
    err = capsys.readouterr().err
    assert f"--filters-from {plugin}" in err
    assert re.search(message, err), err


def test_an_unknown_filter_points_to_filters_from(inputs, tmp_path, capsys):
    assert main(["detect", str(inputs), "--out", str(tmp_path / "out"), "--filter", "mine"]) == 2
    assert "a filter of your own is named after --filters-from FILE" in capsys.readouterr().err
    assert main(["bench", "--out", str(tmp_path / "bench"), "--filters", "mine"]) == 2
    assert not (tmp_path / "bench").exists()


def test_a_filter_file_whose_name_is_taken_is_refused(tmp_path, monkeypatch, capsys):
    plugin = tmp_path / "json.py"  # the standard library's json is imported already
    plugin.write_text(PLUGIN)
    monkeypatch.setattr(__import__("sys"), "path", list(__import__("sys").path))
    assert main(["filters", "--filters-from", str(plugin)]) == 2
    assert "the module name 'json' is taken by" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--filter", "nope"], "filter must be one of"),
    (["--detector", "nope"], "detector must be 'response' or one of"),
    (["--filters-from", "no_such_module_xyz"], "--filters-from no_such_module_xyz: no module of that name"),
], ids=["filter", "detector", "module"])
def test_an_unknown_filter_is_a_usage_error(inputs, tmp_path, capsys, argv, message):
    assert main(["detect", str(inputs), "--out", str(tmp_path / "out"), "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_path_is_a_usage_error_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", str(tmp_path / "nowhere"), "--out", str(out), "--quiet"]) == 2
    assert f"no such file or folder: {tmp_path / 'nowhere'}" in capsys.readouterr().err
    assert not out.exists()


def test_an_input_without_images_says_why(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    assert main(["detect", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "no image files in" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_quiet_still_reports_each_failure_and_counts_read_as_english(inputs, tmp_path, capsys):
    main(["detect", str(inputs / "a.dcm"), str(inputs / "undecodable.dcm"), "--out", str(tmp_path / "o"),
          "--quiet", "--jobs", "1"])
    captured = capsys.readouterr()
    assert "error  undecodable.dcm:" in captured.err
    assert captured.out.startswith("2 images: 1 ok, 1 failed;")
    main(["detect", str(inputs / "a.dcm"), "--out", str(tmp_path / "one"), "--quiet", "--jobs", "1"])
    out = capsys.readouterr().out
    assert out.startswith("1 image: 1 ok, 0 failed;") and "in 1 cluster;" in out and "with 1 worker." in out


@pytest.mark.parametrize("quiet", [False, True], ids=["loud", "quiet"])
def test_loader_warnings_are_printed_once_per_image(tmp_path, capsys, quiet):
    rng = np.random.default_rng(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):  # PNG states no spacing: the default is assumed, with a warning
        image = 1000 + 40 * rng.standard_normal((256, 256))
        cv2.imwrite(str(folder / name), np.clip(image, 0, 65535).astype(np.uint16))
    main(["detect", str(folder), "--out", str(tmp_path / "out"), "--jobs", "1", *(["--quiet"] if quiet else [])])
    err = capsys.readouterr().err
    for name in ("a.png", "b.png"):
        assert err.count(f"warning {name}: no pixel spacing in the file") == (0 if quiet else 1)


def _subcommands():
    from calcdetect.cli import _parser

    actions = _parser()._subparsers._group_actions[0].choices
    return sorted(actions.items())


@pytest.mark.parametrize(("name", "parser"), _subcommands(), ids=[name for name, _ in _subcommands()])
def test_every_option_has_help_and_shows_its_default(name, parser):
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"calcdetect {name} {action.option_strings or action.dest}: no help text"
        has_default = action.default not in (None, False) and not action.required and action.option_strings
        if has_default and action.default is not argparse.SUPPRESS:
            assert "default" in action.help, f"calcdetect {name} {action.option_strings}: default not shown"


def test_detect_help_names_every_input_format(capsys):
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in ("DICOM", "PNG", "TIFF", "PGM", "JPEG", ".LJPEG"):
        assert name in text


def test_overwrite_removes_what_was_made_of_the_old_results(tmp_path):
    """Pictures, report, COCO of other results never survive --overwrite (and other-format tables go)."""
    samples = Path(__file__).parents[1] / "data" / "samples"
    out = tmp_path / "out"
    source = str(samples / "synth_0000.dcm")
    assert main(["detect", source, "--out", str(out), "--jobs", "1", "--quiet", "--report", "--coco"]) == 0
    assert (out / "overlays").is_dir() and (out / "report.html").is_file() and (out / "detections.coco.json").is_file()
    assert main(["detect", source, "--out", str(out), "--jobs", "1", "--quiet", "--overwrite", "--threshold", "50",
                 "--format", "parquet"]) == 0
    assert not (out / "overlays").exists() and not (out / "report.html").exists()
    assert not (out / "detections.coco.json").exists()
    assert not (out / "clusters.csv").exists() and (out / "clusters.parquet").is_file()


def test_evaluate_margin_default_is_the_library_default():
    # The command line writes the default out so that it starts without loading the evaluation.
    from calcdetect import cli
    from calcdetect.evaluate.matching import MARGIN_MM

    assert cli._MARGIN_MM == MARGIN_MM
