"""Files in, mammograms out: the only package that sees a pydicom Dataset.

:func:`read_mammogram` reads DICOM (every transfer syntax pydicom 3 and its
plugins decode), PNG, TIFF, PGM / PNM, JPEG (lossless too) and DDSM ``.LJPEG``
with its ``.ics`` case file; :class:`LoadOptions` holds
every option of loading; :class:`Mammogram` is what comes out.
"""

from calcdetect.io.ddsm import read_ljpeg
from calcdetect.io.dicom import breast_evidence, iter_frames, read_dicom, read_dicom_pixels, write_mammogram
from calcdetect.io.hints import Sidecar, read_sidecar
from calcdetect.io.mammogram import (
    DEFAULT_SPACING_MM,
    MAX_PIXELS,
    Intensity,
    LoadOptions,
    Mammogram,
    SpacingSource,
)
from calcdetect.io.raster import read_raster
from calcdetect.io.reader import is_image_file, read_mammogram

__all__ = [
    "DEFAULT_SPACING_MM",
    "MAX_PIXELS",
    "Intensity",
    "LoadOptions",
    "Mammogram",
    "Sidecar",
    "SpacingSource",
    "breast_evidence",
    "is_image_file",
    "iter_frames",
    "read_dicom",
    "read_dicom_pixels",
    "read_ljpeg",
    "read_mammogram",
    "read_raster",
    "read_sidecar",
    "write_mammogram",
]
