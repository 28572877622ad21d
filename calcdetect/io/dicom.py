"""Read and write mammograms as DICOM with pydicom 3.

This module is the only place that sees a :class:`pydicom.Dataset`; everything
downstream receives a :class:`Mammogram`: a float32 array in detector (or log)
units, its pixel spacing and where that spacing came from.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless, generate_uid

from calcdetect.atomic import atomic_open
from calcdetect.errors import ImageReadError

#: Digital Mammography X-Ray Image Storage - For Presentation.
MAMMOGRAPHY_PRESENTATION_SOP_CLASS = UID("1.2.840.10008.5.1.4.1.1.1.2")

#: Refuse images with more pixels than this before decoding anything: the
#: largest full-field detectors are about 4,100 x 5,600 and film scans at 42 um
#: about 7,000 x 5,000; 200 Mpx (800 MB as float32) is far beyond either.
MAX_PIXELS = 200_000_000


class SpacingSource(StrEnum):
    """Where a mammogram's pixel spacing came from (the ``spacing_source`` column)."""

    PIXEL_SPACING = "PixelSpacing"
    IMAGER_PIXEL_SPACING = "ImagerPixelSpacing"
    USER = "user"
    DEFAULT = "default"


@dataclass(frozen=True)
class LoadOptions:
    """How input files are turned into mammograms (every option of the loader).

    Attributes
    ----------
    spacing_mm : float or tuple of 2 floats, optional
        Pixel spacing (row_mm, col_mm) for files whose header has none.
    """

    spacing_mm: float | tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class Mammogram:
    """A loaded mammogram.

    Attributes
    ----------
    image : (M, N) ndarray of float32
        Pixel values after the modality LUT, MONOCHROME1 already inverted so
        that calcium is bright.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    spacing_source : SpacingSource
        Which attribute (or the user) gave `spacing`.
    laterality, view : str or None
        ``"L"`` / ``"R"`` and ``"CC"`` / ``"MLO"`` / ... where the header says.
    sop_instance_uid : str or None
        The image's SOP Instance UID (an identifier free of patient data).
    bits_stored : int or None
        Bits stored per pixel in the file.
    warnings : tuple of str
        One line each: what the loader assumed or doubts (recorded in the
        ``warnings`` column of ``images.csv``).
    metadata : dict
        Other facts of the header the pipeline may use (transfer syntax, ...).
    """

    image: np.ndarray
    spacing: tuple[float, float]
    spacing_source: SpacingSource
    laterality: str | None = None
    view: str | None = None
    sop_instance_uid: str | None = None
    bits_stored: int | None = None
    warnings: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)


#: File name suffixes taken as DICOM when a folder is searched (besides files with the DICM magic).
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".ima"})


def is_image_file(path) -> bool:
    """Whether a file found in a folder is an input: a DICOM suffix or the ``DICM`` magic."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def read_mammogram(path, *, spacing_mm: float | tuple[float, float] | None = None) -> Mammogram:
    """Load a DICOM mammogram as float32.

    Parameters
    ----------
    path : str or PathLike
        A DICOM file.
    spacing_mm : float or tuple of 2 floats, optional
        Pixel spacing (row_mm, col_mm) to use when the header has neither
        PixelSpacing nor ImagerPixelSpacing (e.g. digitised film).

    Returns
    -------
    Mammogram

    Raises
    ------
    ImageReadError
        When the file is not DICOM, has no or undecodable pixel data, is not a
        single 2-D grey-scale image, or has no pixel spacing and none was given.
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not a file") from None
    except InvalidDicomError as exc:
        raise ImageReadError(path, f"not a DICOM file ({exc})") from None
    except Exception as exc:  # pydicom raises many types on corrupt headers
        raise ImageReadError(path, f"unreadable DICOM header ({type(exc).__name__}: {exc})") from None

    if "PixelData" not in ds:
        raise ImageReadError(path, "no pixel data (not an image object)")
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if rows < 2 or columns < 2:
        raise ImageReadError(path, f"image size {rows} x {columns} is too small")
    if rows * columns * frames > MAX_PIXELS:
        raise ImageReadError(
            path, f"image size {frames} x {rows} x {columns} exceeds the limit of {MAX_PIXELS} pixels"
        )
    if frames > 1:
        raise ImageReadError(path, f"multi-frame image ({frames} frames); only 2-D mammograms are supported")
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ImageReadError(
            path, f"photometric interpretation {photometric} with {samples} samples; expected MONOCHROME1/2"
        )

    syntax = ds.file_meta.get("TransferSyntaxUID", None) if hasattr(ds, "file_meta") else None
    try:
        stored = pixel_array(ds)
    except Exception as exc:
        name = f"{syntax} ({UID(syntax).name})" if syntax else "unknown"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageReadError(
            path, f"cannot decode pixel data with transfer syntax {name}: {detail[:300]}"
        ) from None
    if stored.shape != (rows, columns):
        raise ImageReadError(path, f"decoded shape {stored.shape} does not match header {rows} x {columns}")

    spacing, source = _spacing(ds, path, spacing_mm)
    image = _to_float32(stored, ds)
    if photometric == "MONOCHROME1":
        # Invert about the range the stored values can take, so that the result is
        # exactly the MONOCHROME2 rendering of the same data, independent of content.
        lo, hi = _stored_range(ds)
        lo_out, hi_out = _to_float32(np.array([lo, hi]), ds)
        image = np.subtract(lo_out + hi_out, image, out=image)
    if not np.isfinite(image).all():
        raise ImageReadError(path, "pixel values are not all finite")

    return Mammogram(
        image=image,
        spacing=spacing,
        spacing_source=source,
        laterality=_laterality(ds),
        view=_text(ds, "ViewPosition"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        bits_stored=int(ds.BitsStored) if "BitsStored" in ds else None,
        metadata={
            "transfer_syntax": str(syntax) if syntax else None,
            "photometric": photometric,
            "modality": _text(ds, "Modality"),
        },
    )


def _spacing(ds: Dataset, path, spacing_mm) -> tuple[tuple[float, float], SpacingSource]:
    for keyword, source in (
        ("PixelSpacing", SpacingSource.PIXEL_SPACING),
        ("ImagerPixelSpacing", SpacingSource.IMAGER_PIXEL_SPACING),
    ):
        value = ds.get(keyword)
        if value is not None and len(value) == 2:
            row_mm, col_mm = float(value[0]), float(value[1])
            if row_mm > 0 and col_mm > 0:
                return (row_mm, col_mm), source
    if spacing_mm is not None:
        return _as_spacing(spacing_mm), SpacingSource.USER
    raise ImageReadError(
        path, "no PixelSpacing or ImagerPixelSpacing in the header; give the spacing (e.g. --spacing-mm 0.05)"
    )


def _as_spacing(spacing_mm) -> tuple[float, float]:
    values = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (2,))
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"spacing_mm must be one or two positive numbers; got {spacing_mm!r}")
    return float(values[0]), float(values[1])


def _to_float32(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Apply the modality LUT without a float64 copy of a full image."""
    if "ModalityLUTSequence" in ds:
        return apply_modality_lut(stored, ds).astype(np.float32)
    image = stored.astype(np.float32)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if slope != 1:
        image *= slope
    if intercept != 0:
        image += intercept
    return image


def _stored_range(ds: Dataset) -> tuple[int, int]:
    bits = int(ds.get("BitsStored", 16))
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return str(value).strip() or None if value is not None else None


def _laterality(ds: Dataset) -> str | None:
    return _text(ds, "ImageLaterality") or _text(ds, "Laterality")


def write_mammogram(
    path,
    pixels: np.ndarray,
    *,
    spacing: tuple[float, float],
    bits_stored: int = 14,
    laterality: str | None = None,
    view: str | None = None,
    photometric: str = "MONOCHROME2",
    compress: bool = True,
    uid_seed: str | None = None,
    content_date: datetime.date | None = None,
) -> Path:
    """Write a grey-scale image as a Digital Mammography X-Ray (For Presentation) DICOM file.

    Used for synthetic test data; the patient module holds only placeholder values.

    Parameters
    ----------
    path : str or PathLike
        Destination; written to a temporary file beside it, then renamed.
    pixels : (M, N) ndarray of unsigned integers
        Stored values, all below ``2**bits_stored``.
    spacing : tuple of 2 floats
        Detector pixel spacing (row_mm, col_mm), written as ImagerPixelSpacing.
    bits_stored : int
        12 to 16.
    laterality, view : str, optional
        ImageLaterality (``"L"``/``"R"``) and ViewPosition (``"CC"``/``"MLO"``).
    photometric : {"MONOCHROME2", "MONOCHROME1"}
    compress : bool
        JPEG-LS lossless (needs pyjpegls) instead of uncompressed little endian.
    uid_seed : str, optional
        Makes the generated UIDs reproducible.
    content_date : datetime.date, optional
        ContentDate; today by default. Fix it (with `uid_seed`) for byte-identical files.

    Returns
    -------
    Path
    """
    path = Path(path)
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype.kind != "u":
        raise ValueError(f"pixels must be a 2-D unsigned integer array; got {pixels.dtype} {pixels.shape}")
    if not 8 <= bits_stored <= 16:
        raise ValueError(f"bits_stored must be in [8, 16]; got {bits_stored}")
    if pixels.size and int(pixels.max()) >= 2**bits_stored:
        raise ValueError(f"pixel values exceed bits_stored={bits_stored}")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"photometric must be MONOCHROME1 or MONOCHROME2; got {photometric!r}")

    def uid(kind: str) -> UID:
        return generate_uid(entropy_srcs=[uid_seed, kind]) if uid_seed is not None else generate_uid()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MAMMOGRAPHY_PRESENTATION_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.PatientName = "SYNTHETIC^PHANTOM"
    ds.PatientID = "SYNTHETIC"
    ds.Modality = "MG"
    ds.BodyPartExamined = "BREAST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ContentDate = (content_date or datetime.date.today()).strftime("%Y%m%d")
    ds.ImageLaterality = laterality or ""
    ds.ViewPosition = view or ""
    ds.ImagerPixelSpacing = [float(spacing[0]), float(spacing[1])]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    ds.RescaleType = "US"
    ds.set_pixel_data(pixels.astype(np.uint16), photometric, bits_stored, generate_instance_uid=False)
    if compress:
        ds.compress(JPEGLSLossless, generate_instance_uid=False)  # keep the (reproducible) UID
    with atomic_open(path, "wb") as fh:
        ds.save_as(fh, enforce_file_format=True)
    return path
