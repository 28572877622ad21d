"""Image sizes from file headers, without decoding pixels (for memory planning)."""

from __future__ import annotations

import pydicom


def peek_shape(path) -> tuple[int, int] | None:
    """(rows, columns x frames) of a DICOM file from its header; None when unknown or not DICOM."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Rows", "Columns", "NumberOfFrames"])
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception:  # any unreadable header: the caller falls back to an estimate
        return None
    return rows, cols * frames
