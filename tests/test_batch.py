import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import calcdetect.filters
from calcdetect.batch import _workers_within_budget, ImageTask, run_detection
from calcdetect.cli import main
from calcdetect.pipeline import Params
from calcdetect.store import RunConflictError, settings_hash
from calcdetect.synth import SynthSettings, make_set

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TABLES = ("images", "calcifications", "clusters")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The bundled samples, plus an undecodable DICOM and a garbage file."""
    folder = tmp_path_factory.mktemp("inputs")
    for dcm in SAMPLES.glob("*.dcm"):
        shutil.copy(dcm, folder / dcm.name)
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom" / "MG1_JPLY.dcm"
    if shared.is_file():
        shutil.copy(shared, folder / "undecodable.dcm")
    (folder / "garbage.dcm").write_bytes(b"not a dicom file" * 64)
    return folder


def _tables(out: Path) -> dict[str, list[dict]]:
    """The three tables, without the timing column (the only one that may differ between runs)."""
    tables = {}
    for name in TABLES:
        with open(out / f"{name}.csv", newline="") as fh:
            tables[name] = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]
    return tables


@pytest.fixture(scope="module")
def serial_tables(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    run_detection([inputs], out, jobs=1)
    return _tables(out)


def test_serial_run_has_rows_for_every_file_in_input_order(serial_tables):
    images = serial_tables["images"]
    assert [row["image_id"] for row in images] == sorted(row["image_id"] for row in images)
    statuses = {row["image_id"]: row["status"] for row in images}
    assert statuses["garbage.dcm"] == "error"
    assert sum(status == "ok" for status in statuses.values()) == 5
    assert len(serial_tables["clusters"]) > 0


@pytest.mark.parametrize(
    "kwargs", [{"jobs": 2}, {"jobs": 2, "scheduler": "local"}], ids=["process-pool", "dask-localcluster"]
)
def test_parallel_paths_give_the_serial_tables(inputs, tmp_path, serial_tables, kwargs):
    summary = run_detection([inputs], tmp_path / "out", **kwargs)
    assert summary.workers == 2
    assert _tables(tmp_path / "out") == serial_tables


def test_killed_run_resumes_to_the_uninterrupted_tables(tmp_path):
    data = tmp_path / "data"
    make_set(data, n=16, seed=31, settings=SynthSettings(scale=0.35))
    reference = tmp_path / "reference"
    run_detection([data], reference, jobs=1)

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "calcdetect.cli", "detect", str(data), "--out", str(out), "--jobs", "1", "--quiet"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.json"))) >= 4:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    n_parts = len(list(parts.glob("*.json")))
    assert 4 <= n_parts < 16, "the run was not stopped part-way"
    assert not (out / "images.csv").exists()

    summary = run_detection([data], out, jobs=1)
    assert summary.n_processed == 16 - n_parts
    assert _tables(out) == _tables(reference)  # no duplicated or missing rows


def test_resume_with_other_settings_is_refused_unless_overwrite(inputs, tmp_path):
    out = tmp_path / "out"
    run_detection([inputs], out, jobs=1)
    with pytest.raises(RunConflictError,
                       match=r"holds a run made with other settings \(detection\.threshold: 5\.0 stored, 6\.0 now\)"):
        run_detection([inputs], out, params=Params(threshold=6.0), jobs=1)
    summary = run_detection([inputs], out, params=Params(threshold=6.0), jobs=1, overwrite=True)
    assert summary.n_processed == summary.n_images


def test_run_stored_with_other_table_columns_is_refused(inputs, tmp_path):
    # A run left by a calcdetect that wrote other columns must not be resumed into mixed tables.
    import json

    out = tmp_path / "out"
    run_detection([inputs], out, jobs=1)
    stored = json.loads((out / "settings.json").read_text())
    stored["settings"]["columns"]["clusters"].remove("ppv")
    stored["sha256"] = settings_hash(stored["settings"])
    (out / "settings.json").write_text(json.dumps(stored))
    with pytest.raises(RunConflictError, match=r"other settings \(columns\.clusters: now also \[\"ppv\"\]\)"):
        run_detection([inputs], out, jobs=1)


def test_same_command_again_processes_nothing(inputs, tmp_path, serial_tables):
    out = tmp_path / "out"
    run_detection([inputs], out, jobs=1)
    summary = run_detection([inputs], out, jobs=1)
    assert summary.n_processed == 0
    assert _tables(out) == serial_tables


def _two_samples(folder: Path) -> Path:
    folder.mkdir()
    for name in ("synth_0000.dcm", "synth_0001.dcm"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


def _same_size_other_pixels(path: Path) -> None:
    """Rewrite the DICOM at `path` uncompressed with its pixels mirrored: same size as its own
    uncompressed twin, other pixels; then give it back its modification time."""
    from calcdetect.io import write_mammogram
    import pydicom

    pixels = pydicom.dcmread(path).pixel_array
    mtime = path.stat().st_mtime_ns
    write_mammogram(path, pixels[:, ::-1].copy(), spacing=(0.07, 0.07), bits_stored=14, compress=False,
                    uid_seed="mirrored")
    os.utime(path, ns=(mtime, mtime))


@pytest.mark.parametrize(
    "change",
    ["replaced-by-another-image", "same-size-and-time-other-pixels", "touched-only", "new-version", "new-code"],
)
def test_resume_reuses_a_stored_result_only_for_the_same_bytes_and_version(tmp_path, monkeypatch, change):
    from calcdetect.io import write_mammogram
    import pydicom

    folder = _two_samples(tmp_path / "in")
    target = folder / "synth_0000.dcm"
    if change == "same-size-and-time-other-pixels":  # start from an uncompressed file, so sizes can match
        write_mammogram(target, pydicom.dcmread(target).pixel_array, spacing=(0.07, 0.07), bits_stored=14,
                        compress=False, uid_seed="mirrored")
    out = tmp_path / "out"
    run_detection([folder], out, jobs=1)
    size_before = target.stat().st_size

    if change == "replaced-by-another-image":
        shutil.copy(SAMPLES / "synth_0002.dcm", target)
        expected = {"its input changed": 1}
    elif change == "same-size-and-time-other-pixels":
        _same_size_other_pixels(target)
        assert target.stat().st_size == size_before
        expected = {"its input changed": 1}
    elif change == "touched-only":
        os.utime(target)
        expected = {}
    else:  # an upgrade, or code changed under the same version number (a refitted model, a fix)
        from calcdetect.store import code_fingerprint

        code = code_fingerprint()[:12]
        if change == "new-version":
            monkeypatch.setattr("calcdetect.store.__version__", "99.0")
            expected = {f"made by calcdetect 0.1.0 (code {code}), this is 99.0 (code {code})": 2}
        else:
            monkeypatch.setattr("calcdetect.store.code_fingerprint", lambda: "f" * 64)
            expected = {f"made by calcdetect 0.1.0 (code {code}), this is 0.1.0 (code {'f' * 12})": 2}

    summary = run_detection([folder], out, jobs=1)
    assert summary.redone == expected
    assert summary.n_processed == sum(expected.values())
    fresh = tmp_path / "fresh"
    run_detection([folder], fresh, jobs=1)
    assert _tables(out) == _tables(fresh)


def test_cli_summary_says_what_was_done_again_and_why(tmp_path, capsys):
    folder = _two_samples(tmp_path / "in")
    out = tmp_path / "out"
    main(["detect", str(folder), "--out", str(out), "--quiet", "--jobs", "1"])
    shutil.copy(SAMPLES / "synth_0003.dcm", folder / "synth_0001.dcm")
    capsys.readouterr()
    main(["detect", str(folder), "--out", str(out), "--quiet", "--jobs", "1"])
    assert "(1 from the stored run; 1 done again because its input changed)" in capsys.readouterr().out


def test_resume_needs_a_stored_run(inputs, tmp_path):
    with pytest.raises(RunConflictError, match="there is no run to resume here"):
        run_detection([inputs], tmp_path / "empty", resume=True)


def test_a_failing_worker_leaves_an_error_row_and_the_rest_complete(inputs, tmp_path, monkeypatch):
    import calcdetect.batch

    real = calcdetect.batch.process_task

    def flaky(task, **kwargs):
        if task.key == "synth_0002.dcm":
            raise RuntimeError("disk on fire")
        return real(task, **kwargs)

    monkeypatch.setattr(calcdetect.batch, "process_task", flaky)
    run_detection([inputs], tmp_path / "out", jobs=1)
    images = {row["image_id"]: row for row in _tables(tmp_path / "out")["images"]}
    assert images["synth_0002.dcm"]["status"] == "error"
    assert images["synth_0002.dcm"]["error"] == "worker failed: RuntimeError: disk on fire"
    assert sum(row["status"] == "ok" for row in images.values()) == 4


def test_parquet_tables_hold_the_csv_rows(inputs, tmp_path, serial_tables):
    pq = pytest.importorskip("pyarrow.parquet")
    run_detection([inputs], tmp_path / "out", jobs=1, table_format="parquet")
    for name in TABLES:
        table = pq.read_table(tmp_path / "out" / f"{name}.parquet").to_pylist()
        csv_rows = serial_tables[name]
        assert len(table) == len(csv_rows)
        for row, csv_row in zip(table, csv_rows):
            assert row["image_id"] == csv_row["image_id"]
            for key, text in csv_row.items():
                value = row[key]
                if text == "":
                    assert value is None, key
                elif isinstance(value, float):
                    assert value == pytest.approx(float(text), rel=1e-5), key
                else:
                    assert str(value) == text, key


@pytest.mark.parametrize(
    ("budget_gb", "expected"), [(None, 8), (100.0, 8), (2.0, 4), (0.001, 1)], ids=["none", "ample", "tight", "tiny"]
)
def test_memory_budget_lowers_parallelism(tmp_path, budget_gb, expected, monkeypatch):
    import calcdetect.batch

    monkeypatch.setattr(calcdetect.batch, "peek_shape", lambda path: (4096, 4096))  # 64 MiB float32, 512 MiB peak
    tasks = [ImageTask(str(tmp_path / f"{i}.dcm"), f"{i}.dcm") for i in range(20)]
    assert _workers_within_budget(8, tasks, budget_gb) == expected


def test_cli_refuses_a_conflicting_run_and_reports_progress_quietly_off_a_terminal(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", str(inputs), "--out", str(out), "--jobs", "1"]) == 0
    first = capsys.readouterr()
    assert "it/s" not in first.err and "img/s" not in first.err  # no progress bar off a terminal
    assert "7 images: 5 ok, 2 failed" in first.out or "6 images: 5 ok, 1 failed" in first.out
    assert main(["detect", str(inputs), "--out", str(out), "--jobs", "1", "--threshold", "6"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["detect", str(inputs), "--out", str(out), "--jobs", "1"]) == 0
    assert "from the stored run" in capsys.readouterr().out


@pytest.fixture
def user_filter(monkeypatch, filter_registry):
    """A filter registered in this process only, from a module the spawned workers can import."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "helpers"))  # spawned workers inherit sys.path
    import user_filter

    calcdetect.filters.register_filter("wide_tophat", user_filter.wide_tophat, sizing=user_filter.widest_disk,
                                       reach_mm=user_filter.disk_reach)
    return "wide_tophat"


@pytest.mark.parametrize("kwargs", [{"jobs": 1}, {"jobs": 2}, {"jobs": 2, "scheduler": "local"}],
                         ids=["serial", "process-pool", "dask-localcluster"])
def test_a_registered_filter_reaches_the_workers(inputs, tmp_path, user_filter, kwargs):
    summary = run_detection([inputs], tmp_path / "out", params=Params(filter=user_filter), **kwargs)
    statuses = {row["image_id"]: row["status"] for row in _tables(tmp_path / "out")["images"]}
    assert sum(status == "ok" for status in statuses.values()) == 5, statuses
    assert summary.workers == kwargs["jobs"]


def test_a_filter_that_cannot_reach_the_workers_is_refused_before_the_run(inputs, tmp_path, filter_registry):
    calcdetect.filters.register_filter("lambda", lambda image, **_: np.asarray(image, np.float32), reach_mm=0)
    with pytest.raises(ValueError, match="filter 'lambda' cannot reach the worker processes"):
        run_detection([inputs], tmp_path / "out", params=Params(filter="lambda"), jobs=2)
    assert not (tmp_path / "out").exists()


def test_a_run_made_before_a_users_filter_was_edited_is_not_resumed(inputs, tmp_path, monkeypatch, filter_registry):
    import importlib

    source = ("from calcdetect.filters import register_filter, white_tophat\nRADIUS = {radius}\n\n\n"
              "def mine(image, *, spacing, backend='opencv'):\n"
              "    return white_tophat(image, RADIUS, spacing=spacing, backend=backend)\n\n\n"
              "register_filter('mine', mine, reach_mm=2.0, replace=True)\n")
    module = tmp_path / "edited_filter.py"
    module.write_text(source.format(radius=0.6))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("edited_filter")
    out = tmp_path / "out"
    run_detection([inputs], out, params=Params(filter="mine"), jobs=1)
    settings = json.loads((out / "settings.json").read_text())["settings"]
    assert settings["filters"] == {"mine": calcdetect.filters.get_filter("mine").fingerprint()}
    assert run_detection([inputs], out, params=Params(filter="mine"), jobs=1).n_processed == 0  # unchanged: resumed
    module.write_text(source.format(radius=0.9))  # the filter's module edited
    with pytest.raises(RunConflictError, match="other settings"):
        run_detection([inputs], out, params=Params(filter="mine"), jobs=1)


def test_a_filter_typed_in_at_a_prompt_is_refused_before_a_parallel_run(inputs, tmp_path, monkeypatch,
                                                                         filter_registry):
    import types

    prompt = types.ModuleType("__main__")  # python -c, stdin or a notebook: no file to re-import

    def typed_in(image, *, spacing, backend="opencv"):
        return np.asarray(image, np.float32)

    typed_in.__module__, typed_in.__qualname__ = "__main__", "typed_in"
    prompt.typed_in = typed_in
    monkeypatch.setitem(sys.modules, "__main__", prompt)
    calcdetect.filters.register_filter("typed-in", typed_in, reach_mm=0.0)
    with pytest.raises(ValueError, match="filter 'typed-in' cannot reach the worker processes .*no script file"):
        run_detection([inputs], tmp_path / "out", params=Params(filter="typed-in"), jobs=2)
    assert not (tmp_path / "out").exists()
