import numpy as np
import pytest

from calcdetect.errors import ImageReadError
from calcdetect.io import Mammogram, SpacingSource, read_mammogram, write_mammogram


@pytest.fixture
def pixels():
    return np.random.default_rng(31).integers(0, 4096, (64, 48)).astype(np.uint16)


@pytest.mark.parametrize("compress", [False, True], ids=["explicit-le", "jpeg-ls"])
def test_round_trip_is_exact(tmp_path, pixels, compress):
    path = write_mammogram(tmp_path / "a.dcm", pixels, spacing=(0.07, 0.065), bits_stored=12,
                           laterality="R", view="MLO", compress=compress)
    mammogram = read_mammogram(path)
    assert isinstance(mammogram, Mammogram)
    assert mammogram.image.dtype == np.float32
    np.testing.assert_array_equal(mammogram.image, pixels)
    assert mammogram.spacing == (0.07, 0.065)
    assert mammogram.spacing_source is SpacingSource.IMAGER_PIXEL_SPACING
    assert (mammogram.laterality, mammogram.view, mammogram.bits_stored) == ("R", "MLO", 12)


def test_monochrome1_equals_inverted_monochrome2(tmp_path, pixels):
    mono2 = read_mammogram(write_mammogram(tmp_path / "m2.dcm", pixels, spacing=(0.1, 0.1), bits_stored=12))
    inverted = (4095 - pixels).astype(np.uint16)
    mono1 = read_mammogram(write_mammogram(tmp_path / "m1.dcm", inverted, spacing=(0.1, 0.1), bits_stored=12,
                                           photometric="MONOCHROME1"))
    np.testing.assert_array_equal(mono1.image, mono2.image)


@pytest.mark.parametrize(
    ("spacing_mm", "expected", "source"),
    [(0.05, (0.05, 0.05), SpacingSource.USER), ((0.05, 0.06), (0.05, 0.06), SpacingSource.USER)],
    ids=["scalar", "pair"],
)
def test_user_spacing_when_header_has_none(shared_dicom, spacing_mm, expected, source):
    mammogram = read_mammogram(shared_dicom / "MG1_J2KI.dcm", spacing_mm=spacing_mm)
    assert mammogram.spacing == expected
    assert mammogram.spacing_source is source


def test_real_jpeg2000_film_mammogram_loads(shared_dicom):
    mammogram = read_mammogram(shared_dicom / "MG1_J2KI.dcm", spacing_mm=0.05)
    assert mammogram.image.shape == (4664, 3064)
    assert 0 <= mammogram.image.min() < mammogram.image.max() <= 4095
    assert (mammogram.laterality, mammogram.view) == ("L", "MLO")


def test_missing_spacing_is_an_error_not_one_mm(shared_dicom):
    with pytest.raises(ImageReadError, match=r"MG1_J2KI\.dcm: no PixelSpacing or ImagerPixelSpacing"):
        read_mammogram(shared_dicom / "MG1_J2KI.dcm")


def test_undecodable_transfer_syntax_names_file_and_syntax(shared_dicom):
    with pytest.raises(ImageReadError, match=r"MG1_JPLY\.dcm: cannot decode .* 1\.2\.840\.10008\.1\.2\.4\.51"):
        read_mammogram(shared_dicom / "MG1_JPLY.dcm", spacing_mm=0.05)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a DICOM file"),
        (b"garbage" * 100, "not a DICOM file"),
    ],
    ids=["empty", "garbage"],
)
def test_non_dicom_bytes(tmp_path, content, match):
    path = tmp_path / "bad.dcm"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=match):
        read_mammogram(path)


def test_truncated_file_is_a_library_error(tmp_path, pixels):
    good = write_mammogram(tmp_path / "good.dcm", pixels, spacing=(0.1, 0.1), compress=False)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(good.read_bytes()[:-1000])
    with pytest.raises(ImageReadError, match=r"cut\.dcm: "):
        read_mammogram(cut)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope\.dcm: file not found"):
        read_mammogram(tmp_path / "nope.dcm")


def test_writer_refuses_values_beyond_bits_stored(tmp_path):
    with pytest.raises(ValueError, match="pixel values exceed bits_stored=12"):
        write_mammogram(tmp_path / "x.dcm", np.full((4, 4), 5000, np.uint16), spacing=(0.1, 0.1), bits_stored=12)
