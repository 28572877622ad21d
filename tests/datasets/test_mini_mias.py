"""A fake mini-MIAS folder: Info.txt with its quirks and small PGM files."""

import numpy as np
import pytest

from calcdetect.datasets.mini_mias import (
    SPACING_MM,
    MiasClass,
    Severity,
    Tissue,
    open_mini_mias,
    read_info,
)
from calcdetect.errors import DatasetError
from calcdetect.io import read_mammogram

INFO = """MIAS database information
REFNUM BG CLASS SEVERITY X Y RADIUS

mdb001 G CIRC B 535 425 197
mdb003 D NORM
mdb209 G CALC M 40 10 6
mdb223 D CALC B 12 50 4
mdb223 D CALC B 50 20 3
mdb245 F CALC M
mdb246 F CALC M *NOTE 3*
"""


def _pgm(path, rows=64, cols=48, spot=None):
    """An 8-bit PGM of tissue-like grey levels with a bright 3 x 3 spot at `spot` (row, col)."""
    image = np.random.default_rng(rows * cols).integers(30, 60, (rows, cols)).astype(np.uint8)
    if spot is not None:
        r, c = spot
        image[r - 1:r + 2, c - 1:c + 2] = 250
    path.write_bytes(b"P5\n# mini-MIAS\n%d %d\n255\n" % (cols, rows) + image.tobytes())


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "Info.txt").write_text(INFO)
    _pgm(tmp_path / "mdb209.pgm", spot=(64 - 1 - 10, 40))  # y = 10 up from the bottom
    _pgm(tmp_path / "mdb223.pgm")
    _pgm(tmp_path / "mdb245.pgm")
    _pgm(tmp_path / "mdb003.pgm")
    _pgm(tmp_path / "mdb246.pgm")
    return tmp_path


def test_every_line_is_read_with_its_quirks(folder):
    rows = read_info(folder / "Info.txt")
    assert [r.image_id for r in rows] == ["mdb001", "mdb003", "mdb209", "mdb223", "mdb223", "mdb245", "mdb246"]
    first, normal, calc = rows[0], rows[1], rows[2]
    assert (first.tissue, first.kind, first.severity, first.radius_px) == (
        Tissue.FATTY_GLANDULAR, MiasClass.CIRCUMSCRIBED_MASS, Severity.BENIGN, 197.0)
    assert (normal.kind, normal.severity, normal.x, normal.widespread) == (MiasClass.NORMAL, None, None, False)
    assert (calc.x, calc.y, calc.radius_mm()) == (40.0, 10.0, pytest.approx(6 * SPACING_MM))
    assert rows[5].widespread and rows[6].widespread  # no centre, or a note instead of one
    assert (rows[5].line, rows[6].line) == (9, 10)


def test_centres_are_flipped_from_the_bottom_left_corner(folder):
    dataset = open_mini_mias(folder)
    (calc,) = [r for r in dataset.calcifications() if r.image_id == "mdb209"]
    rows, cols = dataset.shapes["mdb209"]
    assert (rows, cols) == (64, 48)
    row, col = calc.centre_rc(rows)
    image = read_mammogram(dataset.images["mdb209"], spacing_mm=SPACING_MM).image
    assert image[int(row), int(col)] == image.max()  # the spot drawn 10 px up from the bottom
    assert (row, col) == (53.0, 40.0)


def test_the_folder_reports_what_it_found_and_skipped(folder):
    dataset = open_mini_mias(folder)
    assert dataset.images["mdb001"] is None
    calc = dataset.calcifications()
    assert [r.line for r in calc] == [6, 7, 9, 10]  # line 8's centre lies outside its image
    reasons = dict(dataset.skipped)
    assert reasons["mdb001"].startswith("no mdb001.pgm in")
    assert reasons["mdb223 line 8"] == "centre (50, 20) outside the 48 x 64 image"
    assert "2 skipped" in dataset.summary() and "0.2 mm" in dataset.summary()


@pytest.mark.parametrize(("text", "match"), [
    ("title\nmdb001 G CIRC B 535 425 197\nsomething else\n", r"line 3 'something else' is not"),
    ("mdb001 X CALC B 1 2 3\n", r"line 1 .*tissue 'X' must be one of"),
    ("mdb001 G CALC B 1 2\n", "line 1 .*a centre needs x, y and a radius"),
    ("nothing here\n", "holds no 'mdbNNN ...' line"),
], ids=["stray-line", "tissue", "no-radius", "no-lines"])
def test_bad_info_files_name_the_line(tmp_path, text, match):
    (tmp_path / "Info.txt").write_text(text)
    with pytest.raises(DatasetError, match=match):
        read_info(tmp_path / "Info.txt")


def test_a_folder_without_info_says_what_to_give(tmp_path):
    with pytest.raises(DatasetError, match="holds no Info.txt; give info="):
        open_mini_mias(tmp_path)
