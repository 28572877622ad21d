import cv2
import numpy as np
import pytest
import tifffile

from calcdetect.errors import ImageReadError
from calcdetect.io import Intensity, SpacingSource, is_image_file, read_mammogram
from calcdetect.pipeline import detect_mammogram


def _image(dtype=np.uint16, shape=(96, 80), seed=3):
    hi = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(hi // 8, hi // 2, shape).astype(dtype)


def _write(path, image):
    if path.suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, image)
    else:
        assert cv2.imwrite(str(path), image)
    return path


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("a.png", np.uint8), ("a.png", np.uint16), ("a.tif", np.uint16), ("a.tiff", np.float32),
     ("a.pgm", np.uint8), ("a.pgm", np.uint16)],
    ids=["png-8", "png-16", "tiff-16", "tiff-float", "pgm-8", "pgm-16"],
)
def test_lossless_rasters_load_exactly(tmp_path, name, dtype):
    image = _image(np.uint16).astype(dtype) if dtype == np.float32 else _image(dtype)
    mammogram = read_mammogram(_write(tmp_path / name, image), spacing_mm=0.1)
    assert mammogram.image.dtype == np.float32
    np.testing.assert_array_equal(mammogram.image, image)
    assert (mammogram.spacing, mammogram.spacing_source) == ((0.1, 0.1), SpacingSource.USER)
    assert mammogram.intensity is Intensity.PRESENTATION
    assert is_image_file(tmp_path / name)


def test_jpeg_loads_close(tmp_path):
    image = np.kron(_image(np.uint8, (12, 10)), np.ones((8, 8), np.uint8))  # blocks: JPEG keeps them
    mammogram = read_mammogram(_write(tmp_path / "a.jpg", image), spacing_mm=0.1)
    assert np.abs(mammogram.image - image).mean() < 2


def test_rgb_with_equal_channels_is_grey(tmp_path):
    grey = _image(np.uint8)
    mammogram = read_mammogram(_write(tmp_path / "a.png", np.dstack([grey] * 3)), spacing_mm=0.1)
    np.testing.assert_array_equal(mammogram.image, grey)
    assert "RGB image with equal channels read as grey" in mammogram.warnings


@pytest.mark.parametrize(
    ("spacing_mm", "sidecar_name", "sidecar", "spacing", "source"),
    [
        (None, None, None, (0.05, 0.05), SpacingSource.DEFAULT),
        (0.2, None, None, (0.2, 0.2), SpacingSource.USER),
        (0.2, "a.png.json", '{"spacing_mm": 0.042}', (0.042, 0.042), SpacingSource.SIDECAR),
        (None, "a.json", '{"spacing_mm": [0.05, 0.04], "laterality": "R", "view": "mlo"}', (0.05, 0.04),
         SpacingSource.SIDECAR),
    ],
    ids=["default", "user", "sidecar-beats-user", "sidecar-without-suffix"],
)
def test_raster_spacing_from_sidecar_user_or_default(tmp_path, spacing_mm, sidecar_name, sidecar, spacing, source):
    path = _write(tmp_path / "a.png", _image())
    if sidecar_name:
        (tmp_path / sidecar_name).write_text(sidecar)
    mammogram = read_mammogram(path, spacing_mm=spacing_mm)
    assert (mammogram.spacing, mammogram.spacing_source) == (spacing, source)
    assert any("assumed 0.05 mm" in w for w in mammogram.warnings) == (source is SpacingSource.DEFAULT)


def test_sidecar_gives_laterality_and_view(tmp_path):
    path = _write(tmp_path / "a.png", _image())
    (tmp_path / "a.png.json").write_text('{"spacing_mm": 0.05, "laterality": "L", "view": "CC", "patient": 1}')
    mammogram = read_mammogram(path)
    assert (mammogram.laterality, mammogram.view) == ("L", "CC")
    assert any("key 'patient' ignored" in w for w in mammogram.warnings)


def test_laterality_and_view_from_a_cbis_ddsm_file_name(tmp_path):
    mammogram = read_mammogram(_write(tmp_path / "Calc-Training_P_00005_RIGHT_CC.png", _image()))
    assert (mammogram.laterality, mammogram.view) == ("R", "CC")
    assert "laterality R and view CC taken from the file name" in mammogram.warnings


@pytest.mark.parametrize(
    ("sidecar", "match"),
    [
        ("{not json", r"a\.png: sidecar a\.png\.json is not readable JSON"),
        ("[0.05]", r"a\.png: sidecar a\.png\.json must hold a JSON object"),
        ('{"spacing_mm": -1}', r"a\.png: sidecar a\.png\.json: spacing_mm must be one or two positive numbers"),
        ('{"laterality": "left-ish"}', r"laterality must be 'L' or 'R'; got 'left-ish'"),
        ('{"view": "TOP"}', r"view must be one of .*; got 'TOP'"),
    ],
    ids=["not-json", "not-an-object", "bad-spacing", "bad-laterality", "bad-view"],
)
def test_invalid_sidecar_is_an_error_naming_it(tmp_path, sidecar, match):
    path = _write(tmp_path / "a.png", _image())
    (tmp_path / "a.png.json").write_text(sidecar)
    with pytest.raises(ImageReadError, match=match):
        read_mammogram(path)


def test_multi_page_tiff_needs_frames(tmp_path):
    stack = np.stack([_image(seed=s) for s in (1, 2)])
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, stack)
    with pytest.raises(ImageReadError, match=r"a\.tif: multi-page TIFF \(2 pages\)"):
        read_mammogram(path)
    np.testing.assert_array_equal(read_mammogram(path, frames="mip").image, stack.max(axis=0))
    np.testing.assert_array_equal(read_mammogram(path, frames=1).image, stack[1])


@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.float32], ids=["uint16", "uint8", "float32"])
def test_miniswhite_tiff_reads_as_its_minisblack_twin(tmp_path, dtype):
    # TIFF's MONOCHROME1: 0 is white, dense tissue dark. It reads as the same image stored
    # black-is-zero, with a warning; so does a maximum-intensity projection of its pages.
    image = _image(np.uint8 if dtype == np.uint8 else np.uint16, seed=4).astype(dtype)
    white_is_zero = (np.iinfo(dtype).max - image if dtype != np.float32 else image.max() + image.min() - image)
    black = read_mammogram(_write(tmp_path / "black.tif", image), spacing_mm=0.1)
    tifffile.imwrite(tmp_path / "white.tif", white_is_zero.astype(dtype), photometric="miniswhite")
    white = read_mammogram(tmp_path / "white.tif", spacing_mm=0.1)
    np.testing.assert_allclose(white.image, black.image, atol=1e-3)
    assert any("MINISWHITE" in w for w in white.warnings) and not any("MINISWHITE" in w for w in black.warnings)
    other = np.random.default_rng(5).permutation(white_is_zero.ravel()).reshape(image.shape).astype(dtype)
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([white_is_zero.astype(dtype), other]), photometric="miniswhite")
    mip = read_mammogram(tmp_path / "stack.tif", spacing_mm=0.1, frames="mip")
    whitest = np.minimum(white_is_zero.astype(dtype), other).astype(np.float64)  # the brightest calcium
    inverted = (np.iinfo(dtype).max - whitest if dtype != np.float32 else whitest.max() + whitest.min() - whitest)
    np.testing.assert_allclose(mip.image, inverted, atol=1e-3)


@pytest.mark.parametrize(
    ("writer", "compression"),
    [("tifffile", "lzw"), ("tifffile", "zlib"), ("tifffile", "zstd"), ("opencv", 5), ("opencv", 8)],
    ids=["lzw", "deflate", "zstd", "opencv-lzw", "opencv-deflate"],
)
def test_compressed_tiff_loads_exactly(tmp_path, writer, compression):
    # LZW and Deflate, as scanners and BCDR write them, and newer codecs: read by imagecodecs.
    image = _image(np.uint16, seed=6)
    path = tmp_path / "a.tif"
    if writer == "tifffile":
        tifffile.imwrite(path, image, compression=compression)
    else:
        assert cv2.imwrite(str(path), image, [cv2.IMWRITE_TIFF_COMPRESSION, compression])
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression != 1  # really compressed
    np.testing.assert_array_equal(read_mammogram(path, spacing_mm=0.1).image, image)


@pytest.mark.parametrize(("values", "skipped"), [((0, 255), True), ((0, 1), True), ((0, 128, 255), False)],
                         ids=["mask-0-255", "mask-0-1", "three-levels"])
def test_a_two_valued_image_is_skipped_as_no_mammogram(tmp_path, values, skipped):
    from calcdetect.errors import NotAnImageError

    rng = np.random.default_rng(2)
    mask = np.full((96, 80), values[0], np.uint8)
    mask[20:60, 10:50] = values[1]  # an outlined region, as a region-of-interest mask
    if len(values) > 2:
        mask[rng.integers(0, 96, 50), rng.integers(0, 80, 50)] = values[2]
    path = _write(tmp_path / "roi.png", mask)
    if skipped:
        with pytest.raises(NotAnImageError, match=r"roi\.png: skipped: a two-valued image \(only 0 and "):
            read_mammogram(path, spacing_mm=0.1)
    else:
        assert read_mammogram(path, spacing_mm=0.1).image.shape == (96, 80)


def test_sidecar_is_not_an_input(tmp_path):
    (tmp_path / "a.png.json").write_text("{}")
    assert not is_image_file(tmp_path / "a.png.json")


def _film_like(shape, spacing_mm, *, dtype, specks_mm, contrast, seed=5):
    """A bright half-ellipse breast on a dark background with round specks of the given diameters."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    hi = np.iinfo(dtype).max
    breast = ((rows - shape[0] / 2) / (0.45 * shape[0])) ** 2 + (cols / (0.8 * shape[1])) ** 2 < 1
    image = np.where(breast, 0.5 * hi, 0.05 * hi) + rng.normal(0, 0.01 * hi, shape)
    centres = []
    for i, diameter in enumerate(specks_mm):
        r0, c0 = shape[0] / 2 + (i - 1) * 30 / spacing_mm * 0.2, shape[1] * 0.35
        image += contrast * hi * (np.hypot(rows - r0, cols - c0) <= diameter / 2 / spacing_mm)
        centres.append((r0, c0))
    return np.clip(np.round(image), 0, hi).astype(dtype), centres


def test_mini_mias_like_pgm_runs_and_finds_large_specks(tmp_path):
    """1024 x 1024, 8-bit, 0.2 mm: the pipeline runs; specks of 3 or more pixels are found."""
    image, centres = _film_like((1024, 1024), 0.2, dtype=np.uint8, specks_mm=[0.8, 0.8, 0.8], contrast=0.25)
    path = _write(tmp_path / "mdb001.pgm", image)
    (tmp_path / "mdb001.json").write_text('{"spacing_mm": 0.2, "view": "MLO"}')
    mammogram = read_mammogram(path)
    assert mammogram.spacing == (0.2, 0.2)
    assert any("coarser than 0.1 mm" in w for w in mammogram.warnings)
    result = detect_mammogram(mammogram)
    found = np.column_stack([result.specks.row, result.specks.col])
    for centre in centres:
        assert np.hypot(*(found - centre).T).min() < 2


def test_cbis_ddsm_like_16_bit_png(tmp_path):
    image, centres = _film_like((1200, 800), 0.05, dtype=np.uint16, specks_mm=[0.3, 0.3, 0.3], contrast=0.08)
    mammogram = read_mammogram(_write(tmp_path / "Calc-Test_P_00038_LEFT_CC.png", image))
    assert (mammogram.spacing_source, mammogram.laterality, mammogram.view) == (SpacingSource.DEFAULT, "L", "CC")
    result = detect_mammogram(mammogram)
    found = np.column_stack([result.specks.row, result.specks.col])
    for centre in centres:
        assert np.hypot(*(found - centre).T).min() < 3


@pytest.mark.parametrize("suffix", [".png", ".pgm", ".tif"], ids=["png", "pgm", "tiff-unknown"])
def test_peek_shape_reads_png_and_pgm_headers(tmp_path, suffix):
    from calcdetect.io.peek import peek_shape

    path = tmp_path / f"image{suffix}"
    assert cv2.imwrite(str(path), np.random.default_rng(3).integers(0, 255, (37, 21)).astype(np.uint8))
    assert peek_shape(path) == (None if suffix == ".tif" else (37, 21))
