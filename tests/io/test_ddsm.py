"""DDSM ``.LJPEG`` + ``.ics`` files, written by the tests in the data set's format from a
bundled sample, read back and calibrated to optical density."""

from pathlib import Path

import imagecodecs
import numpy as np
import pytest

from calcdetect.batch import find_inputs
from calcdetect.errors import ImageReadError
from calcdetect.io import Intensity, SpacingSource, is_image_file, read_mammogram
from calcdetect.io.ddsm import Digitizer, IcsView, find_ics, identify_digitizer, optical_density, read_ics
from calcdetect.pipeline import detect_mammogram

SAMPLE = Path(__file__).parents[2] / "data" / "samples" / "synth_0000.dcm"

#: The DDSM authors' step-wedge measurements for the DBA scanner (optical density, mean grey
#: level), from "Mapping Grey Levels to Optical Density for the DBA Scanner" (DDSM web site,
#: calibrate/DBA_Scanner_info.html).
DBA_STEP_WEDGE = [(0.04, 55722), (0.21, 37201), (0.34, 26986), (0.50, 18445), (0.69, 12569), (0.82, 8296),
                  (0.96, 5648), (1.13, 3797), (1.28, 2603), (1.44, 1772), (1.59, 1217), (1.74, 847),
                  (1.89, 581), (2.07, 393), (2.21, 271), (2.37, 185), (2.52, 132), (2.68, 94), (2.84, 65),
                  (2.99, 47), (3.13, 34)]

#: (case, DIGITIZER line, bits, resolution in micrometres, digitiser) of the four DDSM scanners.
SCANNERS = {
    "dba-mgh": ("A-1234-1", "DBA 21", 16, 42, Digitizer.DBA_MGH),
    "howtek-mgh": ("A-0555-1", "HOWTEK", 12, 43.5, Digitizer.HOWTEK_MGH),
    "lumisys-wfu": ("B-3024-1", "LUMISYS LASER", 12, 50, Digitizer.LUMISYS_WFU),
    "howtek-ismd": ("D-4002-1", "HOWTEK MULTIRAD850", 12, 43.5, Digitizer.HOWTEK_ISMD),
}


def sample_grey(bits: int) -> np.ndarray:
    """The bundled sample's pixels as a digitiser's grey levels of `bits` bits (calcium bright)."""
    image = read_mammogram(SAMPLE).image.astype(np.float64)
    scaled = (image - image.min()) / (image.max() - image.min()) * (2**bits - 1) * 0.9 + 2**bits * 0.05
    return np.round(scaled).astype(np.uint16)


def write_case(folder: Path, grey: np.ndarray, *, case="D-4002-1", view="LEFT_CC", digitizer="HOWTEK", bits=12,
               resolution_um=50.0, frame_shape=None, ics_shape=None) -> Path:
    """Write `grey` as ``<case>.<view>.LJPEG`` (lossless JPEG, predictor 1, as DDSM's files) and the
    case's ``.ics`` beside it; `frame_shape` writes another size into the JPEG frame header."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = grey.shape if ics_shape is None else ics_shape
    other = "LEFT_MLO" if view == "RIGHT_MLO" else "RIGHT_MLO"
    (folder / f"{case}.ics").write_text(
        f"ics_version 1.0\nfilename {case}\nDATE_OF_STUDY 2 7 95\nPATIENT_AGE 61\nFILM\nFILM_TYPE REGULAR\n"
        f"DENSITY 2\nDATE_DIGITIZED 7 22 1997\nDIGITIZER {digitizer}\nSELECTED\n"
        f"{view} LINES {rows} PIXELS_PER_LINE {cols} BITS_PER_PIXEL {bits} RESOLUTION {resolution_um:g} OVERLAY\n"
        f"{other} LINES 4664 PIXELS_PER_LINE 3024 BITS_PER_PIXEL {bits} RESOLUTION {resolution_um:g} NON_OVERLAY\n")
    stored = grey if frame_shape is None else grey.reshape(frame_shape)
    path = folder / f"{case.replace('-', '_')}.{view}.LJPEG"
    path.write_bytes(imagecodecs.jpeg8_encode(stored, lossless=True, bitspersample=bits, predictor=1))
    return path


@pytest.mark.parametrize("scanner", list(SCANNERS), ids=list(SCANNERS))
def test_ljpeg_is_calibrated_to_optical_density(tmp_path, scanner):
    case, digitizer_line, bits, resolution_um, digitizer = SCANNERS[scanner]
    grey = sample_grey(bits)
    path = write_case(tmp_path, grey, case=case, view="RIGHT_MLO", digitizer=digitizer_line, bits=bits,
                      resolution_um=resolution_um)
    mammogram = read_mammogram(path)
    np.testing.assert_array_equal(mammogram.image, -optical_density(grey, digitizer))
    assert mammogram.intensity is Intensity.OPTICAL_DENSITY
    assert (mammogram.spacing, mammogram.spacing_source) == ((resolution_um / 1000,) * 2, SpacingSource.ICS)
    assert (mammogram.laterality, mammogram.view, mammogram.bits_stored) == ("R", "MLO", bits)
    assert mammogram.metadata == {"format": "ljpeg", "digitizer": str(digitizer)}
    # Laterality and view come from the view name, not the file name's tokens (no warning for that).
    assert not any("file name" in w for w in mammogram.warnings)
    assert any("16-bit DDSM file" in w for w in mammogram.warnings) == (bits == 16)


#: (grey level, optical density) worked out by hand from the published line of each digitiser.
HAND_WORKED = {
    Digitizer.DBA_MGH: [(10**4.80662, 0.0), (10 ** (4.80662 - 1.07553), 1.0), (10 ** (4.80662 - 3 * 1.07553), 3.0)],
    Digitizer.HOWTEK_MGH: [(0, 3.789), (1000, 2.84332), (4000, 0.00628)],
    Digitizer.LUMISYS_WFU: [(4096.99, 0.0), (3087.98, 1.0), (1069.96, 3.0)],
    Digitizer.HOWTEK_ISMD: [(0, 3.96604), (1000, 2.97548), (4000, 0.00381)],
}


@pytest.mark.parametrize("digitizer", list(Digitizer), ids=[d.name for d in Digitizer])
def test_optical_density_matches_hand_worked_values(digitizer):
    grey, density = np.array(HAND_WORKED[digitizer]).T
    np.testing.assert_allclose(optical_density(grey, digitizer), density, atol=2e-4)


def test_dba_calibration_reproduces_the_published_step_wedge():
    density, grey = np.array(DBA_STEP_WEDGE).T
    error = optical_density(grey, Digitizer.DBA_MGH) - density
    assert np.abs(error).max() < 0.1  # the published line fit; 0.08 at the darkest step
    assert np.abs(error).mean() < 0.03


@pytest.mark.parametrize("digitizer", list(Digitizer), ids=[d.name for d in Digitizer])
def test_optical_density_falls_as_grey_level_rises(digitizer):
    grey = np.linspace(10, 4000, 50)
    density = optical_density(grey, digitizer)
    assert (np.diff(density) < 0).all()  # grey levels are calcium bright on every scanner
    assert 0 < density.min() and density.max() < 4.5


def test_detection_on_ljpeg_matches_the_same_image_as_dicom(tmp_path):
    """A linear calibration (Howtek) changes only gain and offset: the same clusters come out."""
    grey = sample_grey(12)
    reference = read_mammogram(SAMPLE)
    mammogram = read_mammogram(write_case(tmp_path, grey, resolution_um=reference.spacing[0] * 1000))
    ours, theirs = detect_mammogram(mammogram).clusters, detect_mammogram(reference).clusters
    assert len(ours) == len(theirs) >= 1
    np.testing.assert_allclose(np.sort(ours.row), np.sort(theirs.row), atol=0.5)
    np.testing.assert_allclose(np.sort(ours.col), np.sort(theirs.col), atol=0.5)


def test_swapped_frame_header_is_read_in_the_ics_size(tmp_path):
    grey = sample_grey(12)
    path = write_case(tmp_path, grey, frame_shape=grey.shape[::-1])
    mammogram = read_mammogram(path)
    np.testing.assert_array_equal(mammogram.image, -optical_density(grey, Digitizer.HOWTEK_ISMD))
    assert any("frame header gives 832 x 1024" in w for w in mammogram.warnings)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("no-ics", "no .ics case file for case D_4002_1 beside it"),
        ("other-size", "the JPEG frame header gives 1024 x 832 x 1 channel(s); D-4002-1.ics gives 1000 x 832"),
        ("same-count-not-swapped", "the JPEG frame header gives 2048 x 416 x 1 channel(s); D-4002-1.ics gives "
                                   "1024 x 832"),
        ("header-overstates", "the JPEG frame header gives 12000 x 12000"),
        ("fewer-bits", "the JPEG frame holds 12-bit samples; D-4002-1.ics gives 16 bits per pixel"),
        ("zero-resolution", "D-4002-1.ics: image line"),
        ("view-missing", "D-4002-1.ics has no RIGHT_CC line"),
        ("too-many-bits", "exceeds the 8 bits per pixel of D-4002-1.ics"),
        ("bad-line", "D-4002-1.ics: image line 'LEFT_CC LINES many"),
        ("bad-name", "a DDSM image is named <case>.<view>.LJPEG"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_ljpeg_errors_name_the_file_and_the_reason(tmp_path, change, reason):
    grey = sample_grey(12)
    path = write_case(tmp_path, grey, ics_shape=(1000, 832) if change == "other-size" else None,
                      frame_shape=(2048, 416) if change == "same-count-not-swapped" else None)
    ics = tmp_path / "D-4002-1.ics"
    if change == "header-overstates":  # the frame header says 12000 x 12000: refused before decoding
        data = bytearray(path.read_bytes())
        at = data.find(b"\xff\xc3") + 5
        data[at : at + 4] = (12000).to_bytes(2, "big") * 2
        path.write_bytes(bytes(data))
    elif change == "fewer-bits":
        ics.write_text(ics.read_text().replace("BITS_PER_PIXEL 12", "BITS_PER_PIXEL 16"))
    elif change == "zero-resolution":
        ics.write_text(ics.read_text().replace("RESOLUTION 50", "RESOLUTION 0"))
    elif change == "no-ics":
        ics.unlink()
    elif change == "view-missing":
        path = path.rename(tmp_path / "D_4002_1.RIGHT_CC.LJPEG")
    elif change == "too-many-bits":
        ics.write_text(ics.read_text().replace("BITS_PER_PIXEL 12", "BITS_PER_PIXEL 8"))
    elif change == "bad-line":
        ics.write_text(ics.read_text().replace("LINES 1024", "LINES many"))
    elif change == "bad-name":
        path = path.rename(tmp_path / "D_4002_1.LJPEG")
    with pytest.raises(ImageReadError) as caught:
        read_mammogram(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert reason in str(caught.value)


def test_unknown_digitizer_keeps_grey_levels(tmp_path):
    grey = sample_grey(12)
    mammogram = read_mammogram(write_case(tmp_path, grey, case="E-0001-1", digitizer="ACME 9000"))
    np.testing.assert_array_equal(mammogram.image, grey)
    assert mammogram.intensity is Intensity.PRESENTATION
    assert any("'ACME 9000' has no published calibration" in w for w in mammogram.warnings)


@pytest.mark.parametrize(
    ("text", "case", "digitizer"),
    [("DBA 21", "A-1234-1", Digitizer.DBA_MGH), ("HOWTEK", "A-0555-1", Digitizer.HOWTEK_MGH),
     ("LUMISYS LASER", "C-0001-1", Digitizer.LUMISYS_WFU), ("howtek", "d_4002_1", Digitizer.HOWTEK_ISMD),
     ("HOWTEK", "B-3024-1", None), ("", "A-1234-1", None)],
    ids=["dba", "howtek-mgh", "lumisys", "howtek-ismd-lower-case", "howtek-unknown-site", "none"],
)
def test_identify_digitizer(text, case, digitizer):
    assert identify_digitizer(text, case) == digitizer


#: An .ics case file as DDSM's are laid out (CRLF line ends, the SEQUENCE block of the
#: digitising order), with made-up values.
REAL_LAYOUT_ICS = (
    "ics_version 1.0\r\nfilename B-3024-1\r\nDATE_OF_STUDY 2 7 95\r\nPATIENT_AGE 42\r\nFILM \r\n"
    "FILM_TYPE REGULAR\r\nDENSITY 4\r\nDATE_DIGITIZED 7 22 1997\r\nDIGITIZER LUMISYS LASER\r\n"
    "SELECTED \r\nLEFT_CC LINES 4696 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 12 RESOLUTION 50 OVERLAY\r\n"
    "LEFT_MLO LINES 4688 PIXELS_PER_LINE 3048 BITS_PER_PIXEL 12 RESOLUTION 50 OVERLAY\r\n"
    "RIGHT_CC LINES 4624 PIXELS_PER_LINE 3056 BITS_PER_PIXEL 12 RESOLUTION 50 NON_OVERLAY\r\n"
    "RIGHT_MLO LINES 4664 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 12 RESOLUTION 50 NON_OVERLAY\r\n"
    "SEQUENCE\r\nLEFT_CC\r\nLEFT_MLO\r\nRIGHT_CC\r\nRIGHT_MLO\r\n"
)


def test_ics_in_the_data_sets_layout(tmp_path):
    path = tmp_path / "B-3024-1.ics"
    path.write_bytes(REAL_LAYOUT_ICS.encode("latin-1"))
    ics = read_ics(path)
    assert (ics.case, ics.digitizer_text, ics.digitizer) == ("B-3024-1", "LUMISYS LASER", Digitizer.LUMISYS_WFU)
    assert list(ics.views) == ["LEFT_CC", "LEFT_MLO", "RIGHT_CC", "RIGHT_MLO"]
    assert ics.views["LEFT_MLO"] == IcsView(lines=4688, pixels_per_line=3048, bits_per_pixel=12, resolution_um=50)
    assert find_ics(tmp_path / "B_3024_1.LEFT_CC.LJPEG") == path


def test_lower_case_names_are_read(tmp_path):
    grey = sample_grey(12)
    path = write_case(tmp_path, grey)
    path = path.rename(tmp_path / path.name.lower())
    (tmp_path / "D-4002-1.ics").rename(tmp_path / "d_4002_1.ics")
    mammogram = read_mammogram(path)
    assert (mammogram.laterality, mammogram.view) == ("L", "CC")
    assert is_image_file(path)


def test_ics_given_as_an_input_says_what_to_give(tmp_path):
    write_case(tmp_path, sample_grey(12))
    with pytest.raises(ImageReadError, match="a DDSM .ics case file, not an image: give its .LJPEG images"):
        read_mammogram(tmp_path / "D-4002-1.ics")


def test_folder_search_takes_ljpeg_and_not_ics(tmp_path):
    path = write_case(tmp_path, sample_grey(12))
    assert is_image_file(path) and not is_image_file(tmp_path / "D-4002-1.ics")
    assert [p.name for p in find_inputs([tmp_path])[1]] == [path.name]


@pytest.mark.parametrize("bits", [8, 12, 16], ids=["8-bit", "12-bit", "16-bit"])
def test_lossless_jpeg_raster_loads_exactly(tmp_path, bits):
    grey = sample_grey(bits)
    if bits == 8:
        grey = grey.astype(np.uint8)
    path = tmp_path / "scan.jpg"
    path.write_bytes(imagecodecs.jpeg8_encode(grey, lossless=True, bitspersample=bits, predictor=6))
    mammogram = read_mammogram(path, spacing_mm=0.05)
    np.testing.assert_array_equal(mammogram.image, grey)
    assert mammogram.bits_stored == bits
