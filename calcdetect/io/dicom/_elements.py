"""Header elements read defensively (values of any VR, or None; never an exception) and
pydicom's warnings kept without their values."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Literal, overload

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from calcdetect.errors import ImageReadError


# --------------------------------------------------------------------------------------
# Header values: every access guarded, since pydicom converts values lazily and a
# corrupt element raises on first use.


def _raw(ds: Dataset, keyword: str):
    try:
        return ds.get(keyword)
    except Exception:
        return None


def _text(ds: Dataset, keyword: str) -> str | None:
    value = _raw(ds, keyword)
    if value is None:
        return None
    try:
        if isinstance(value, (list, tuple, MultiValue)):
            value = "\\".join(str(v) for v in value)
        text = str(value).strip()
    except Exception:
        return None
    return text or None


@overload
def _int(ds: Dataset, keyword: str, path: Path, *, default: int, required: bool = ...) -> int: ...
@overload
def _int(ds: Dataset, keyword: str, path: Path, *, default: None = ..., required: Literal[True]) -> int: ...
@overload
def _int(ds: Dataset, keyword: str, path: Path, *, default: None = ..., required: bool = ...) -> int | None: ...
def _int(ds: Dataset, keyword: str, path: Path, *, default: int | None = None, required: bool = False) -> int | None:
    value = _raw(ds, keyword)
    if value is None or value == "":
        if required:
            raise ImageReadError(path, f"no {keyword} in the header")
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(path, f"{keyword} must be an integer; got {_clip(value, 40)!r}") from None
    return number


def _float(ds: Dataset, keyword: str, path: Path, *, default: float) -> float:
    value = _raw(ds, keyword)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(path, f"{keyword} must be a number; got {_clip(value, 40)!r}") from None
    if not math.isfinite(number):
        raise ImageReadError(path, f"{keyword} must be finite; got {number}")
    return number


def _pair(value) -> tuple[float, float] | None:
    """A valid (row_mm, col_mm) from a 2-valued DS element, else None."""
    try:
        row_mm, col_mm = (float(v) for v in value)
    except Exception:
        return None
    if math.isfinite(row_mm) and math.isfinite(col_mm) and row_mm > 0 and col_mm > 0:
        return row_mm, col_mm
    return None


def _syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    value = _text(meta, "TransferSyntaxUID") if meta is not None else None
    return _uid(value) if value else None


def _uid(value: str) -> UID:
    """A UID without pydicom's validation warning (a corrupt value is reported where it matters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return UID(value)


def _syntax_name(syntax: UID | None) -> str:
    if syntax is None:
        return "none"
    return syntax.name if syntax.is_valid and syntax.name != str(syntax) else "unknown"


def _is_compressed(syntax: UID | None) -> bool:
    try:
        return bool(syntax is not None and syntax.is_compressed)
    except ValueError:  # not a known transfer syntax
        return True


def _pixel_data_length(ds: Dataset, path: Path) -> int:
    try:
        return len(ds.PixelData)
    except Exception as exc:
        raise ImageReadError(path, f"unreadable PixelData ({type(exc).__name__})") from None


def _has_voi(ds: Dataset) -> bool:
    return "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)


def _codes(ds: Dataset, keyword: str) -> list[str]:
    """CodeValue of each item of a code sequence (unreadable items skipped)."""
    out = []
    sequence = _raw(ds, keyword)
    try:
        for item in sequence or ():
            code = _text(item, "CodeValue")
            if code:
                out.append(code)
    except Exception:
        pass
    return out


def _shared(ds: Dataset, *keywords: str):
    """A value in the first item of nested sequences (e.g. shared functional groups), else None."""
    value = ds
    for keyword in keywords:
        value = _raw(value, keyword)
        if value is None:
            return None
        if isinstance(value, pydicom.Sequence):
            if len(value) == 0:
                return None
            value = value[0]
    return value


# --------------------------------------------------------------------------------------
# pydicom's warnings, kept without values (which may be patient data)

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|<[^>]*>")


def _pydicom_notes(caught) -> list[str]:
    notes = []
    for record in caught:
        message = _QUOTED.sub("...", " ".join(str(record.message).split()))
        message = re.sub(r"Please see \.\.\. for allowed values for each VR\.?", "", message).strip()
        source = "DICOM header" if "pydicom" in str(getattr(record, "filename", "")) else "loader"
        notes.append(f"{source}: {message[:160]}")
    return list(dict.fromkeys(notes))


def _clip(value, limit: int = 300) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
