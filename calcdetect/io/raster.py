"""Read mammograms from PNG, TIFF, PGM / PNM and JPEG files (dataset conversions).

These formats carry no spacing, laterality or view that can be trusted, so
those come from a sidecar JSON file, the options or the file name
(:func:`calcdetect.io.hints.resolve_facts`), and the spacing defaults to
:data:`~calcdetect.io.mammogram.DEFAULT_SPACING_MM` with a warning. Pixel
values are taken as they are (8- or 16-bit integers, or float TIFF), brighter
meaning denser: CBIS-DDSM PNG conversions (16-bit) and mini-MIAS PGMs (8-bit,
1024 x 1024 at 0.2 mm) read as they are.

The image size is read from the file's header and checked before the pixels
are decoded (PNG IHDR, the PNM header, the JPEG frame header, TIFF page tags).
"""

from __future__ import annotations

import math
import re
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calcdetect.errors import ImageReadError
from calcdetect.io.hints import resolve_facts
from calcdetect.io.mammogram import MAX_BYTES, Intensity, LoadOptions, Mammogram, check_shape, check_values

#: File name suffixes read by :func:`read_raster`.
RASTER_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".pgm", ".pnm", ".ppm", ".pbm", ".jpg", ".jpeg"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_JPEG_SIGNATURE = b"\xff\xd8\xff"
#: JPEG start-of-frame markers (ITU-T T.81, table B.1): every one but DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
#: Lossless, Huffman-coded, sequential (process 14).
_LOSSLESS_SOF = 0xC3


def raster_format(head: bytes) -> str | None:
    """``"png"``, ``"tiff"``, ``"pnm"`` or ``"jpeg"`` from a file's first bytes; None for none of them."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head[:4] in _TIFF_SIGNATURES:
        return "tiff"
    if head.startswith(_JPEG_SIGNATURE):
        return "jpeg"
    if re.match(rb"P[1-6]\s", head[:3]):
        return "pnm"
    return None


def read_raster(path, options: LoadOptions = LoadOptions()) -> Mammogram:
    """Load a PNG, TIFF, PGM / PNM or JPEG mammogram as float32.

    Parameters
    ----------
    path : str or PathLike
    options : LoadOptions
        ``spacing_mm`` (when there is no sidecar), ``frames`` (multi-page TIFF),
        ``max_pixels``.

    Returns
    -------
    Mammogram
        ``intensity`` ``"presentation"``; ``metadata["format"]`` the format.

    Raises
    ------
    ImageReadError
        Naming the file: unreadable, truncated or corrupt, not one of these
        formats, colour (RGB whose channels differ), 1-bit, too small or too
        large, multi-page without ``options.frames``, constant or non-finite.
    """
    path = Path(path)
    data = read_bytes(path)
    kind = raster_format(data[:16])
    if kind is None:
        raise ImageReadError(path, "not a PNG, TIFF, PGM / PNM or JPEG file (unrecognised first bytes)")
    notes: list[str] = []
    lossless = False
    image: np.ndarray | None
    bits_stored: int | None
    if kind == "tiff":
        image = _read_tiff(path, options, notes)
    else:
        frame = jpeg_frame(path, data) if kind == "jpeg" else None
        if frame is not None:
            rows, cols, channels, bits = frame.rows, frame.cols, frame.channels, frame.precision
        else:
            rows, cols, channels, bits = {"png": _png_header, "pnm": _pnm_header}[kind](path, data)
        if bits == 1:
            raise ImageReadError(path, "1-bit (black and white) image; a mammogram has grey levels")
        check_shape(path, rows, cols, bytes_per_pixel=channels * math.ceil(bits / 8), max_pixels=options.max_pixels)
        lossless = frame is not None and frame.lossless
        if lossless:
            image = decode_lossless_jpeg(path, data)
        else:
            with _quiet_opencv():
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        del data
        if image is None:
            raise ImageReadError(path, f"cannot decode the {kind.upper()} data (corrupt or truncated)")
        if image.shape[:2] != (rows, cols):
            raise ImageReadError(path, f"decoded size {image.shape[:2]} does not match the header's {rows} x {cols}")
    image = _grey(path, image, notes)
    if lossless:
        bits_stored = bits  # a lossless JPEG's precision (2-16), decoded into 8 or 16 bits
    else:
        bits_stored = image.dtype.itemsize * 8 if image.dtype.kind in "ui" else None
    image = image.astype(np.float32, copy=False)
    check_values(path, image)
    facts = resolve_facts(path, options)
    return facts.mammogram(image, notes=notes, bits_stored=bits_stored, metadata={"format": kind},
                           intensity=Intensity.PRESENTATION)


def raster_shape(path) -> tuple[int, int] | None:
    """(rows, cols) of a PNG or PGM / PNM file from its first bytes; None for another format
    or an unreadable header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return None
    kind = raster_format(head)
    if kind not in ("png", "pnm"):
        return None
    try:
        rows, cols, _, _ = {"png": _png_header, "pnm": _pnm_header}[kind](Path(path), head)
    except ImageReadError:
        return None
    return rows, cols


def read_bytes(path: Path) -> bytes:
    """The whole file, refused (ImageReadError naming `path`) when it is a folder, missing,
    unreadable or larger than :data:`~calcdetect.io.mammogram.MAX_BYTES`."""
    try:
        if path.is_dir():
            raise ImageReadError(path, "is a directory, not a file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ImageReadError(path, f"file of {size} bytes exceeds the limit of {MAX_BYTES} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read the file ({type(exc).__name__}: {exc.strerror or exc})") from None


def _png_header(path: Path, data: bytes) -> tuple[int, int, int, int]:
    """(rows, cols, channels, bit depth) from the IHDR chunk."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageReadError(path, "truncated or corrupt PNG: no IHDR chunk")
    cols, rows, bits, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour)
    if channels is None or bits not in (1, 2, 4, 8, 16):
        raise ImageReadError(path, f"corrupt PNG header (colour type {colour}, bit depth {bits})")
    if colour == 3:
        raise ImageReadError(path, "palette (indexed colour) PNG; a mammogram is grey-scale")
    return rows, cols, channels, bits


def _pnm_header(path: Path, data: bytes) -> tuple[int, int, int, int]:
    """(rows, cols, channels, bits) from a PBM / PGM / PPM header (comments allowed)."""
    magic = data[:2]
    text = re.sub(rb"#[^\n]*", b" ", data[2:200])
    fields = text.split()
    needed = 2 if magic in (b"P1", b"P4") else 3
    if len(fields) < needed:
        raise ImageReadError(path, "truncated PNM header")
    try:
        cols, rows, *rest = (int(v) for v in fields[:needed])
    except ValueError:
        raise ImageReadError(path, "corrupt PNM header (width, height and maximum value expected)") from None
    if magic in (b"P1", b"P4"):
        return rows, cols, 1, 1
    maxval = rest[0]
    if not 1 <= maxval <= 65535:
        raise ImageReadError(path, f"PNM maximum value must be in [1, 65535]; got {maxval}")
    return rows, cols, 3 if magic in (b"P3", b"P6") else 1, 8 if maxval < 256 else 16


@dataclass(frozen=True)
class JpegFrame:
    """The first start-of-frame header of a JPEG file (ITU-T T.81, B.2.2)."""

    marker: int  # 0xC0 baseline ... 0xC3 lossless (process 14)
    precision: int
    rows: int
    cols: int
    channels: int

    @property
    def lossless(self) -> bool:
        """Lossless, Huffman-coded, sequential (SOF3, process 14): what OpenCV cannot read."""
        return self.marker == _LOSSLESS_SOF


def jpeg_frame(path: Path, data: bytes) -> JpegFrame:
    """The header of the first start-of-frame marker of JPEG bytes `data`.

    Raises
    ------
    ImageReadError
        Naming `path`: no frame header, or a corrupt marker sequence before it.
    """
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageReadError(path, "corrupt JPEG: marker expected")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS:
            if i + 10 > len(data):
                break
            precision, rows, cols, channels = struct.unpack(">BHHB", data[i + 4 : i + 10])
            return JpegFrame(marker, precision, rows, cols, channels)
        if length < 2:
            raise ImageReadError(path, "corrupt JPEG: segment length < 2")
        i += 2 + length
    raise ImageReadError(path, "truncated or corrupt JPEG: no frame header")


def decode_lossless_jpeg(path: Path, data: bytes) -> np.ndarray:
    """Decode lossless JPEG bytes (SOF3, process 14: any predictor, 2-16 bits) with
    libjpeg-turbo 3.1 or later, through imagecodecs (OpenCV reads no lossless JPEG).

    Returns
    -------
    ndarray of uint8 or uint16
        (rows, cols), or (rows, cols, channels) for a colour file.

    Raises
    ------
    ImageReadError
        Naming `path` and the decoder's reason.
    """
    import imagecodecs

    try:
        return imagecodecs.jpeg8_decode(data)
    except Exception as exc:  # imagecodecs raises its own error types
        raise ImageReadError(path, f"cannot decode the lossless JPEG (libjpeg-turbo: {_clip(exc)}); convert it "
                                   f"to a 16-bit TIFF or PNG with a tool that reads it") from None


def _read_tiff(path: Path, options: LoadOptions, notes: list[str]) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            pages = tif.pages
            n = len(pages)
            first = pages[0]
            assert isinstance(first, tifffile.TiffPage)  # pages.useframes is off: every page is a TiffPage
            shape, dtype = first.shape, first.dtype
            rows, cols = (int(v) for v in shape[:2]) if len(shape) >= 2 else (0, 0)
            channels = int(np.prod(shape[2:])) if len(shape) > 2 else 1
            check_shape(path, rows, cols, frames=n, bytes_per_pixel=channels * (dtype.itemsize if dtype else 1),
                        max_pixels=options.max_pixels)
            if dtype is None or dtype.kind == "b":
                raise ImageReadError(path, f"TIFF sample type {dtype} is not a grey-level image")
            if n == 1:
                image = first.asarray()
            elif options.frames == "error":
                raise ImageReadError(path, f"multi-page TIFF ({n} pages); load it with --frames mip "
                                           f"(maximum-intensity projection) or --frames K (one page, 0-based)")
            elif options.frames == "mip":
                mip: np.ndarray | None = None
                # The brightest calcium: the highest value, the lowest where 0 is white.
                brightest = np.minimum if first.photometric == tifffile.PHOTOMETRIC.MINISWHITE else np.maximum
                for page in pages:
                    assert isinstance(page, tifffile.TiffPage)
                    if page.shape != shape or page.photometric != first.photometric:
                        raise ImageReadError(path, f"TIFF pages differ in shape or photometric ({page.shape}, "
                                                   f"{_tag_name(page.photometric)} and {shape}, "
                                                   f"{_tag_name(first.photometric)})")
                    frame = page.asarray()
                    mip = frame if mip is None else brightest(mip, frame, out=mip)
                assert mip is not None  # pages[0] was read: there is a page
                image = mip
                notes.append(f"maximum-intensity projection of {n} pages")
            else:
                index = int(options.frames)  # neither "error" nor "mip": a page index (LoadOptions checks)
                if index >= n:
                    raise ImageReadError(path, f"page {options.frames} requested but the TIFF has {n} pages")
                notes.append(f"page {options.frames} of {n}")
                first = pages[index]
                assert isinstance(first, tifffile.TiffPage)
                image = first.asarray()
            if first.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
                image = _white_is_zero(image, int(first.bitspersample))
                notes.append("TIFF photometric MINISWHITE (0 is white, dense tissue dark): inverted to calcium "
                             "bright")
            return image
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile raises many types on corrupt files
        raise ImageReadError(path, f"cannot read the TIFF ({type(exc).__name__}: {_clip(exc)})") from None


def _white_is_zero(image: np.ndarray, bits: int) -> np.ndarray:
    """A MINISWHITE image inverted about the range of its samples (TIFF 6.0, PhotometricInterpretation 0):
    integers about ``2**bits - 1``, floating point about the image's own extremes."""
    if image.dtype.kind == "u":
        return (np.asarray(2**bits - 1, image.dtype) - image).astype(image.dtype)
    if image.dtype.kind == "i":
        return (-1 - image.astype(np.int64)).astype(image.dtype)  # two's complement mirror of the signed range
    return np.float32(np.nanmax(image)) + np.float32(np.nanmin(image)) - image.astype(np.float32)


def _grey(path: Path, image: np.ndarray, notes: list[str]) -> np.ndarray:
    """A 2-D grey image: colour refused unless its channels are equal; alpha dropped."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        channels = image.shape[2]
        if channels not in (2, 3, 4):
            raise ImageReadError(path, f"image with {channels} channels; a mammogram is grey-scale")
        colour = image[:, :, :1] if channels == 2 else image[:, :, :3]
        if channels in (2, 4) and (image[:, :, -1] != image[:, :, -1].max()).any():
            notes.append("alpha channel ignored")
        if colour.shape[2] == 3 and not ((colour[:, :, 0] == colour[:, :, 1]).all()
                                         and (colour[:, :, 1] == colour[:, :, 2]).all()):
            raise ImageReadError(path, "colour (RGB) image whose channels differ; a mammogram is grey-scale")
        if colour.shape[2] == 3:
            notes.append("RGB image with equal channels read as grey")
        image = np.ascontiguousarray(colour[:, :, 0])
    if image.ndim != 2:
        raise ImageReadError(path, f"image of shape {image.shape} is not 2-D grey-scale")
    if image.dtype.kind not in "uif":
        raise ImageReadError(path, f"pixel type {image.dtype} is not a number")
    if image.dtype.kind in "ui" and image.dtype.itemsize > 2:
        notes.append(f"{image.dtype} pixels converted to float32 (exact up to 2**24)")
    return image


@contextmanager
def _quiet_opencv():
    """Silence OpenCV's logging (it writes to stderr on corrupt files); library code never prints."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _tag_name(value) -> str:
    """The name of a TIFF tag's enum value (tifffile keeps a value outside its enum as the int)."""
    return str(getattr(value, "name", value))


def _clip(value, limit: int = 200) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
