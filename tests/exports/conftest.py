"""Runs of the bundled samples, made by the command line, for the exporters' tests."""

import shutil
from pathlib import Path

import pytest

from calcdetect.cli import main

SAMPLES = Path(__file__).parents[2] / "data" / "samples"


def _detect_samples(root: Path, names, *args: str, broken: bool = False, extra=None) -> Path:
    """Copy the samples `names` (and a broken file, and `extra` {name: writer(path)}) into
    ``root/in``, run ``calcdetect detect`` on them with `args` and return ``root/out``."""
    folder = root / "in"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    if broken:
        (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM")
    for name, write in (extra or {}).items():
        write(folder / name)
    out = root / "out"
    assert main(["detect", str(folder), "--out", str(out), "--jobs", "1", "--quiet", *args]) == 0
    return out


@pytest.fixture(scope="session", name="detect_samples")
def detect_samples_fixture():
    """:func:`_detect_samples`, for the modules' run fixtures."""
    return _detect_samples
