"""The pipeline searches only the breast: not the pectoral muscle, labels, bars or film edges."""

import csv

import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.cli import main
from calcdetect.io import Mammogram, SpacingSource
from calcdetect.pipeline import Params, detect, detect_mammogram
from calcdetect.synth import SynthSettings, synthesize


@pytest.fixture(scope="module")
def mlo():
    return synthesize(rng=np.random.default_rng(1003), settings=SynthSettings(scale=0.3, spacing_mm=0.1),
                      view="MLO", normal=True, isolated=0)


def _in(mask, result):
    rows = np.clip(np.round(result.specks.row).astype(int), 0, mask.shape[0] - 1)
    cols = np.clip(np.round(result.specks.col).astype(int), 0, mask.shape[1] - 1)
    return mask[rows, cols]


@pytest.fixture(scope="module")
def muscle(mlo):
    """The true pectoral muscle less 1 mm along its edge (the estimate's edge is within about that)."""
    return ndi.binary_erosion(mlo.pectoral_mask, iterations=10)


def test_no_candidates_in_the_pectoral_muscle_on_mlo(mlo, muscle):
    # A low threshold, so that the muscle's texture and edge give candidates when it is searched.
    kept = detect(mlo.pixels, spacing=mlo.spacing, params=Params(threshold=3.0), view="MLO")
    assert not _in(muscle, kept).any()
    searched = detect(mlo.pixels, spacing=mlo.spacing, params=Params(threshold=3.0, exclude_pectoral=False),
                      view="MLO")
    assert _in(muscle, searched).sum() > 20


def test_detect_mammogram_passes_the_view(mlo, muscle):
    mammogram = Mammogram(image=mlo.pixels.astype(np.float32), spacing=mlo.spacing,
                          spacing_source=SpacingSource.USER, view="MLO")
    assert not _in(muscle, detect_mammogram(mammogram, params=Params(threshold=3.0))).any()
    unknown_view = Mammogram(image=mammogram.image, spacing=mlo.spacing, spacing_source=SpacingSource.USER)
    assert _in(muscle, detect_mammogram(unknown_view, params=Params(threshold=3.0))).any()


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_three_real_files_through_the_command_line(shared_dicom, tmp_path):
    out = tmp_path / "out"
    names = ("MG1_J2KI.dcm", "MG1_JPLY.dcm", "RG3_J2KI_CR_MONOCHROME1.dcm")
    assert main(["detect", *(str(shared_dicom / n) for n in names), "--out", str(out), "--quiet",
                 "--jobs", "1"]) == 0
    rows = {row["image_id"]: row for row in _read(out / "images.csv")}
    film = rows["MG1_J2KI.dcm"]
    assert (film["status"], film["spacing_source"], film["laterality"], film["view"]) == ("ok", "default", "L", "MLO")
    assert "assumed 0.05 mm" in film["warnings"]
    assert rows["MG1_JPLY.dcm"]["status"] == "error"
    assert "1.2.840.10008.1.2.4.51" in rows["MG1_JPLY.dcm"]["error"]
    assert rows["RG3_J2KI_CR_MONOCHROME1.dcm"]["status"] != "ok"
    assert "not a breast image" in rows["RG3_J2KI_CR_MONOCHROME1.dcm"]["error"]
    # No candidate on the film label, the redaction bar or the film edge (see tests/test_breast.py).
    for calc in _read(out / "calcifications.csv"):
        row, col = float(calc["row"]), float(calc["col"])
        assert not (250 <= row < 650 and 2350 <= col < 2800)
        assert not (1607 <= row < 2539 and 2767 <= col < 3000)
        assert row < 4600
    # Nothing identifying leaves: the patient's name, id and age are in the headers, not the outputs.
    for table in out.iterdir():
        if table.is_file():
            text = table.read_text(errors="replace")
            assert not any(secret in text for secret in ("CompressedSamples", "3MG1", "11RG3", "19790408", "075Y"))
