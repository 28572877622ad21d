"""The code passes its linter (ruff) and type checker (mypy), as configured in pyproject.toml."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m <module> <args>`` in the repository root (where pyproject.toml configures it)."""
    pytest.importorskip(module, reason=f"{module} is not installed (pip install -e .[test])")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_passes():
    result = _run("ruff", "check", "calcdetect", "tests", "benchmarks")
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"


def test_mypy_passes():
    result = _run("mypy", "calcdetect")
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
