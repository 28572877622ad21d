"""One entry point for every input format: :func:`read_mammogram`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from calcdetect.errors import ImageReadError
from calcdetect.io.ddsm import LJPEG_SUFFIX, read_ljpeg
from calcdetect.io.dicom import DICOM_SUFFIXES, read_dicom
from calcdetect.io.mammogram import LoadOptions, Mammogram
from calcdetect.io.raster import RASTER_SUFFIXES, raster_format, read_raster


def read_mammogram(path, options: LoadOptions | None = None, **changes) -> Mammogram:
    """Load a mammogram from a DICOM, PNG, TIFF, PGM / PNM, JPEG or DDSM ``.LJPEG`` file.

    The format is recognised by the file's first bytes (``DICM`` at byte 128,
    or the PNG / TIFF / PNM / JPEG signature), else by its suffix; a ``.LJPEG``
    file by its suffix (DDSM, read with its ``.ics`` case file by
    :func:`calcdetect.io.ddsm.read_ljpeg`).

    Parameters
    ----------
    path : str or PathLike
    options : LoadOptions, optional
        Every option of loading; defaults when omitted.
    **changes
        Fields of :class:`LoadOptions` to change, e.g. ``spacing_mm=0.05``.

    Returns
    -------
    Mammogram

    Raises
    ------
    ImageReadError
        One line naming the file and the reason (subclasses:
        :class:`~calcdetect.errors.NotAnImageError` for files to skip,
        :class:`~calcdetect.errors.NotABreastError`,
        :class:`~calcdetect.errors.UnsupportedFormatError`).

    Examples
    --------
    >>> mammogram = read_mammogram("image.dcm", spacing_mm=0.05)  # doctest: +SKIP
    >>> mammogram.image.dtype, mammogram.spacing_source  # doctest: +SKIP
    (dtype('float32'), <SpacingSource.PIXEL_SPACING: 'PixelSpacing'>)
    """
    options = LoadOptions() if options is None else options
    if changes:
        options = dataclasses.replace(options, **changes)
    path = Path(path)
    kind = _sniff(path)
    if path.suffix.lower() == LJPEG_SUFFIX and kind != "dicom":
        return read_ljpeg(path, options)
    if path.suffix.lower() == ".ics" and kind is None:
        raise ImageReadError(path, "a DDSM .ics case file, not an image: give its .LJPEG images (read with it)")
    if kind == "raster" or (kind is None and path.suffix.lower() in RASTER_SUFFIXES):
        return read_raster(path, options)
    return read_dicom(path, options)


def is_image_file(path) -> bool:
    """Whether a file found in a folder is an input: a DICOM, raster or ``.LJPEG`` suffix, or the
    ``DICM`` magic.

    Sidecar ``.json`` files, DDSM ``.ics`` case files and anything else are not.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES or suffix in RASTER_SUFFIXES or suffix == LJPEG_SUFFIX:
        return True
    return _sniff(path) == "dicom"


def _sniff(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return None
    if head[128:132] == b"DICM":
        return "dicom"
    if raster_format(head[:16]) is not None:
        return "raster"
    return None


__all__ = ["is_image_file", "read_mammogram"]
