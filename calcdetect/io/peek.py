"""Image sizes from file headers, without decoding pixels (for memory planning)."""

from __future__ import annotations

import pydicom

from calcdetect.io.raster import raster_shape


def peek_shape(path) -> tuple[int, int] | None:
    """(rows, columns x frames) of a DICOM file from its header, or (rows, cols) of a PNG or
    PGM / PNM file; None when unknown."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Rows", "Columns", "NumberOfFrames"])
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception:  # any unreadable header: a raster's, or the caller falls back to an estimate
        return raster_shape(path)
    return rows, cols * frames


def peek_series(path) -> tuple[str | None, int, int] | None:
    """(SeriesInstanceUID or None, rows, columns) of a single-frame DICOM file from its header;
    None when unreadable or not DICOM."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SeriesInstanceUID", "Rows", "Columns"])
        rows, cols = int(ds.Rows), int(ds.Columns)
    except Exception:  # any unreadable header: the caller reports the file
        return None
    series = ds.get("SeriesInstanceUID")
    return (str(series) if series else None), rows, cols
