"""Writing mammograms as Digital Mammography X-Ray Image DICOM."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless, generate_uid

from calcdetect.atomic import atomic_open
from calcdetect.io.dicom.screening import MAMMOGRAPHY_PRESENTATION_SOP_CLASS


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
        8 to 16.
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
