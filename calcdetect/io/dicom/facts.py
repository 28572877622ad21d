"""Facts a header gives about the image: pixel spacing, laterality and view, also from the
functional groups of enhanced multi-frame objects."""

from __future__ import annotations

import math
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from calcdetect.io.dicom._elements import _codes, _pair, _raw, _shared, _text
from calcdetect.io.mammogram import SpacingSource


#: ViewCodeSequence codes of DICOM CID 4014 "View for Mammography" (SNOMED CT and
#: the retired SNOMED RT codes of older files), as the ACR abbreviations of ViewPosition.
VIEW_CODES = {
    "399162004": "CC", "399368009": "MLO", "399260004": "ML", "399352003": "LM", "399099002": "LMO",
    "399196006": "FB", "399188001": "SIO", "441555000": "ISO", "399192008": "XCCL", "399101009": "XCCM",
    "R-10242": "CC", "R-10226": "MLO", "R-10224": "ML", "R-10228": "LM", "R-10230": "LMO", "R-10244": "FB",
    "R-102D0": "SIO", "R-40AAA": "ISO", "R-102CF": "XCC", "R-1024A": "XCCL", "R-1024B": "XCCM",
    "Y-X1770": "XCCL", "Y-X1771": "XCCM",
}


def _functional(ds: Dataset, *keywords: str, frame: int | None = None, notes: list[str] | None = None):
    """A value of the functional groups of an enhanced (multi-frame) object: the shared groups',
    else the per-frame groups' of `frame`, or when `frame` is None (all frames used) the value
    every frame agrees on (a note when they differ); None when absent."""
    value = _shared(ds, "SharedFunctionalGroupsSequence", *keywords)
    if value is not None:
        return value
    try:
        items = list(_raw(ds, "PerFrameFunctionalGroupsSequence") or ())
    except Exception:
        return None
    if not items:
        return None
    if frame is not None:
        return _shared(items[frame], *keywords) if 0 <= frame < len(items) else None
    values = [_shared(item, *keywords) for item in items]
    if values[0] is not None and all(_plain_value(v) == _plain_value(values[0]) for v in values):
        return values[0]
    if notes is not None and any(v is not None for v in values):
        notes.append(f"{keywords[-1]} differs between frames (per-frame functional groups); ignored")
    return None


def _plain_value(value):
    """A DICOM value as a comparable plain object (MultiValue as a tuple of strings)."""
    if isinstance(value, (list, tuple, MultiValue)):
        return tuple(str(v) for v in value)
    return None if value is None else str(value)


def _laterality(ds: Dataset, *, frame: int | None = None, notes: list[str] | None = None) -> str | None:
    for value in (_text(ds, "ImageLaterality"), _text(ds, "Laterality"),
                  _functional(ds, "FrameAnatomySequence", "FrameLaterality", frame=frame, notes=notes)):
        text = str(value or "").strip().upper()
        if text in ("L", "R"):
            return text
    return None


def _view(ds: Dataset) -> str:
    """ViewPosition, else the view of ViewCodeSequence as its ACR abbreviation; "" when neither."""
    position = (_text(ds, "ViewPosition") or "").upper()
    if position:
        return position
    for code in _codes(ds, "ViewCodeSequence"):
        if code in VIEW_CODES:
            return VIEW_CODES[code]
    return ""


def _header_spacing(ds: Dataset, path: Path, notes: list[str], *,
                    frame: int | None = None) -> tuple[tuple[float, float], SpacingSource] | None:
    """Spacing from the header by precedence (see :class:`SpacingSource`), or None; an enhanced
    object's from its functional groups (:func:`_functional`) for `frame` (None: all frames)."""
    grouped = _functional(ds, "PixelMeasuresSequence", "PixelSpacing", frame=frame, notes=notes)
    for value in (_raw(ds, "PixelSpacing"), grouped):
        if value is not None:
            spacing = _pair(value)
            if spacing is not None:
                return spacing, SpacingSource.PIXEL_SPACING
            notes.append("PixelSpacing is not two positive numbers; ignored")
    value = _raw(ds, "ImagerPixelSpacing")
    if value is not None:
        spacing = _pair(value)
        if spacing is None:
            notes.append("ImagerPixelSpacing is not two positive numbers; ignored")
        else:
            magnification = _raw(ds, "EstimatedRadiographicMagnificationFactor")
            try:
                factor = float(magnification) if magnification not in (None, "") else 1.0
            except (TypeError, ValueError):
                factor = float("nan")
            if not (math.isfinite(factor) and 0.5 <= factor <= 5):
                notes.append("EstimatedRadiographicMagnificationFactor is not in [0.5, 5]; ignored")
                factor = 1.0
            return (spacing[0] / factor, spacing[1] / factor), SpacingSource.IMAGER_PIXEL_SPACING
    value = _raw(ds, "NominalScannedPixelSpacing")
    if value is not None:
        spacing = _pair(value)
        if spacing is not None:
            return spacing, SpacingSource.NOMINAL_SCANNED_PIXEL_SPACING
        notes.append("NominalScannedPixelSpacing is not two positive numbers; ignored")
    return None
