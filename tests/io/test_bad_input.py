"""Every kind of bad input is one ImageReadError naming the file, never another exception."""

import struct
import time
import tracemalloc
import zlib

import cv2
import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.uid import JPEG2000Lossless, RLELossless

from calcdetect.errors import ImageReadError, NotAnImageError
from calcdetect.io import read_mammogram
from calcdetect.io.mammogram import check_values


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(rows, cols):
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 16, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


def _dicom_bytes(dicom, tmp_path, pixels=None, syntax=pydicom.uid.ExplicitVRLittleEndian, **tags):
    pixels = dicom.pixels() if pixels is None else pixels
    path = dicom.save(dicom.make(pixels, **tags), tmp_path / "source.dcm", syntax)
    return path.read_bytes()


def _encoded_png(image):
    ok, buffer = cv2.imencode(".png", image)
    assert ok
    return buffer.tobytes()


def _tiff_bytes(tmp_path, image):
    tifffile.imwrite(tmp_path / "source.tif", image)
    return (tmp_path / "source.tif").read_bytes()


CASES = {
    "empty-dicom": ("bad.dcm", lambda d, t: b"", r"not a DICOM file"),
    "garbage-dicom": ("bad.dcm", lambda d, t: b"garbage" * 100, r"not a DICOM file"),
    "garbage-no-suffix": ("bad", lambda d, t: bytes(range(256)) * 4, r"not a DICOM file"),
    "dicm-then-garbage": ("bad.dcm", lambda d, t: bytes(128) + b"DICM" + b"\xff" * 300,
                          r"unreadable DICOM header|truncated"),
    "truncated-native": ("bad.dcm", lambda d, t: _dicom_bytes(d, t)[:-1000], r"truncated|unreadable"),
    "truncated-rle": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, syntax=RLELossless)[:-2000],
                      r"pixel data truncated"),
    "truncated-jpeg2000": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, syntax=JPEG2000Lossless)[:-3000],
                           r"pixel data truncated"),
    "zero-size-dicom": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, Rows=0, Columns=0),
                        r"image size 0 x 0 is too small"),
    "one-pixel-dicom": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, pixels=np.ones((1, 1), np.uint16)),
                        r"image size 1 x 1 is too small"),
    "rgb-dicom": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, pixels=np.zeros((32, 32, 3), np.uint8), bits=8,
                                                       photometric="RGB"), r"colour or palette image \(RGB"),
    "constant-dicom": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, pixels=np.full((32, 32), 7, np.uint16)),
                       r"constant image \(every pixel is 7\)"),
    "absurd-dicom": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, Rows=65535, Columns=65535), r"exceeds the limit"),
    "no-pixel-data": ("bad.dcm", lambda d, t: _dicom_bytes(d, t, PixelData=None), r"skipped: no pixel data"),
    "garbage-png": ("bad.png", lambda d, t: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, r"corrupt PNG|no IHDR"),
    "truncated-png": ("bad.png", lambda d, t: _encoded_png(d.pixels())[:300], r"cannot decode the PNG"),
    "absurd-png": ("bad.png", lambda d, t: _png_claiming(100000, 100000), r"100000 x 100000 .* exceeds the limit"),
    "one-pixel-png": ("bad.png", lambda d, t: _encoded_png(np.ones((1, 1), np.uint8)), r"1 x 1 is too small"),
    "rgb-png": ("bad.png", lambda d, t: _encoded_png(np.random.default_rng(0).integers(0, 255, (32, 32, 3),
                                                                                    dtype=np.uint8)),
                r"colour \(RGB\) image whose channels differ"),
    "constant-png": ("bad.png", lambda d, t: _encoded_png(np.zeros((32, 32), np.uint8)), r"constant image"),
    "nan-tiff": ("bad.tif", lambda d, t: _tiff_bytes(t, np.where(np.eye(32) > 0, np.nan, 1.0).astype(np.float32)),
                 r"not all finite"),
    "garbage-tiff": ("bad.tif", lambda d, t: b"II*\x00" + b"\xff" * 100, r"cannot read the TIFF"),
    "bitmap-pbm": ("bad.pbm", lambda d, t: b"P4\n32 32\n" + bytes(128), r"1-bit \(black and white\) image"),
    "absurd-pgm": ("bad.pgm", lambda d, t: b"P5\n60000 60000\n255\n" + bytes(100), r"exceeds the limit"),
    "bad-pgm-maxval": ("bad.pgm", lambda d, t: b"P5\n32 32\n0\n" + bytes(1024), r"maximum value must be in"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_library_error_naming_the_file(dicom, tmp_path, case):
    name, content, match = CASES[case]
    path = tmp_path / name
    path.write_bytes(content(dicom, tmp_path))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ImageReadError, match=rf"^{tmp_path}/{name}: .*({match})") as info:
            read_mammogram(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    assert time.perf_counter() - start < 5
    assert peak < 50e6  # nothing the header claims is allocated before it is checked


@pytest.mark.parametrize(
    ("make", "match"),
    [(lambda p: p, r"file not found"), (lambda p: p.mkdir() or p, r"is a directory")],
    ids=["missing", "directory"],
)
def test_unusable_paths(tmp_path, make, match):
    path = make(tmp_path / "x.dcm")
    with pytest.raises(ImageReadError, match=rf"x\.dcm: {match}"):
        read_mammogram(path)


def test_dicomdir_is_skipped(tmp_path):
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.FileSetID = "X"
    pydicom.dcmwrite(tmp_path / "DICOMDIR", ds, enforce_file_format=True)
    with pytest.raises(NotAnImageError, match=r"DICOMDIR: skipped: not an image but a DICOMDIR"):
        read_mammogram(tmp_path / "DICOMDIR")


@pytest.mark.parametrize(("third", "refused"), [(None, True), ((3, 5), False), ((700, 301), False)],
                         ids=["two-valued", "third-value-off-the-sample", "third-value-on-the-sample"])
def test_a_two_valued_image_is_told_by_every_pixel_not_by_the_sample(third, refused):
    image = np.zeros((701, 350), np.float32)
    image[100:400, 50:200] = 255.0
    if third is not None:
        image[third] = 17.0  # (3, 5) lies off the sample of every 7th row and column, (700, 301) on it
    if refused:
        with pytest.raises(NotAnImageError, match="two-valued"):
            check_values("roi.png", image)
    else:
        check_values("roi.png", image)
