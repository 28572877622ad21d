"""The speed benchmarks run end to end on a small image (their numbers are not asserted:
tests never assert wall-clock times)."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path

import cv2
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str, monkeypatch):
    # The scripts import their shared module (_speed) from their own folder, as when run there.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name, argv, expected",
    [
        ("bench_detect", ["--repeat", "1", "--shape", "512", "416", "--before-s", "1.0"],
         ["fast path", "reference path", "ratio", "against 1.000 s before issue 14"]),
        ("bench_floor", ["--repeat", "1", "--shape", "512", "416", "--before-s", "1.0"],
         ["filter tophat, as registered", "filter bandpass, as registered",
          "specks: threshold and connected components", "floor:", "a third of 1.000 s"]),
        ("bench_floor", ["--repeat", "1", "--shape", "512", "416", "--filter", "tophat-octagon"],
         ["filter tophat-octagon, as registered", "floor:"]),
    ],
    ids=["detect", "floor", "floor-octagon"],
)
def test_speed_benchmark_runs_and_reports_every_stage(name, argv, expected, capsys, monkeypatch):
    # The scripts pin the thread pools to one thread; the rest of the suite keeps its own. Each
    # variable is set (to its own value, or 1) so that the scripts' setdefault leaves nothing
    # behind when monkeypatch undoes it.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    threads = cv2.getNumThreads()
    try:
        assert _load(name, monkeypatch).main(argv) == 0
    finally:
        cv2.setNumThreads(threads)
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


@pytest.mark.parametrize("name", ["bench_detect", "bench_floor"])
def test_a_speed_script_pins_the_thread_pools_before_anything_loads_them(name):
    # The pools read OMP_NUM_THREADS and the like when numpy and OpenCV load: _speed sets them first.
    tree = ast.parse((BENCHMARKS / f"{name}.py").read_text(encoding="utf-8"))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               and getattr(node, "module", None) != "__future__"]
    assert isinstance(imports[0], ast.ImportFrom) and imports[0].module == "_speed"
