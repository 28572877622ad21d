"""Facts about an image from outside its pixels: a sidecar JSON file and the file name.

A sidecar is a small JSON object beside the image, named after it with
``.json`` appended (``mdb001.pgm.json``) or in place of its suffix
(``mdb001.json``)::

    {"spacing_mm": 0.2, "laterality": "L", "view": "MLO"}

``spacing_mm`` is one number or ``[row_mm, col_mm]``; every key is optional.
The file name gives laterality and view only when nothing else does, from
tokens such as ``LEFT``, ``RIGHT``, ``CC``, ``MLO``, ``L_CC`` or ``RMLO``
(as in CBIS-DDSM and INbreast names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from calcdetect.errors import ImageReadError
from calcdetect.io.mammogram import (
    DEFAULT_SPACING_MM,
    LoadOptions,
    Mammogram,
    SpacingSource,
    as_spacing,
    spacing_warnings,
)

#: Keys a sidecar may hold.
SIDECAR_KEYS = ("spacing_mm", "laterality", "view")

#: Mammographic views (ACR / DICOM CID 4014 abbreviations) accepted in a sidecar and
#: recognised in file names.
MAMMOGRAPHY_VIEWS = frozenset(
    {"CC", "MLO", "ML", "LM", "LMO", "FB", "SIO", "ISO", "XCC", "XCCL", "XCCM", "AT", "CV", "TAN", "RL", "RM"}
)

#: A sidecar larger than this is not a sidecar.
_MAX_SIDECAR_BYTES = 1_000_000

_LATERALITY_WORDS = {"L": "L", "R": "R", "LEFT": "L", "RIGHT": "R"}


@dataclass(frozen=True)
class Sidecar:
    """What a sidecar file says (None where it says nothing)."""

    path: Path
    spacing: tuple[float, float] | None = None
    laterality: str | None = None
    view: str | None = None
    warnings: tuple[str, ...] = ()


def sidecar_path(path) -> Path | None:
    """The sidecar of `path` (``name.ext.json``, else ``name.json``), or None."""
    path = Path(path)
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate != path and candidate.is_file():
            return candidate
    return None


def read_sidecar(path) -> Sidecar | None:
    """Read the sidecar of image `path`, if it has one.

    Raises
    ------
    ImageReadError
        Naming the image and the sidecar, when the sidecar is not a JSON object
        or holds an invalid value. Unknown keys are ignored with a warning.
    """
    found = sidecar_path(path)
    if found is None:
        return None
    where = f"sidecar {found.name}"
    try:
        if found.stat().st_size > _MAX_SIDECAR_BYTES:
            raise ImageReadError(path, f"{where} is larger than {_MAX_SIDECAR_BYTES} bytes; not a sidecar")
        content = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImageReadError(path, f"{where} is not readable JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(content, dict):
        raise ImageReadError(path, f"{where} must hold a JSON object with keys {', '.join(SIDECAR_KEYS)}; "
                                   f"got {type(content).__name__}")
    warnings = tuple(f"{where}: key {key!r} ignored (known: {', '.join(SIDECAR_KEYS)})"
                     for key in content if key not in SIDECAR_KEYS)
    spacing = laterality = view = None
    if content.get("spacing_mm") is not None:
        try:
            spacing = as_spacing(content["spacing_mm"], name=f"{where}: spacing_mm")
        except ValueError as exc:
            raise ImageReadError(path, str(exc)) from None
    if content.get("laterality") is not None:
        laterality = _LATERALITY_WORDS.get(str(content["laterality"]).strip().upper())
        if laterality is None:
            raise ImageReadError(path, f"{where}: laterality must be 'L' or 'R'; got {content['laterality']!r}")
    if content.get("view") is not None:
        view = str(content["view"]).strip().upper()
        if view not in MAMMOGRAPHY_VIEWS:
            raise ImageReadError(path, f"{where}: view must be one of {', '.join(sorted(MAMMOGRAPHY_VIEWS))}; "
                                       f"got {content['view']!r}")
    return Sidecar(path=found, spacing=spacing, laterality=laterality, view=view, warnings=warnings)


def hints_from_name(path) -> tuple[str | None, str | None]:
    """(laterality, view) from the tokens of a file name; None where absent or ambiguous.

    Examples
    --------
    >>> hints_from_name("Calc-Training_P_00005_RIGHT_CC.png")
    ('R', 'CC')
    >>> hints_from_name("22678622_61b13c59_MG_L_MLO_ANON.dcm")
    ('L', 'MLO')
    >>> hints_from_name("mdb001.pgm")
    (None, None)
    """
    name = Path(path).name
    for suffix in Path(name).suffixes[::-1]:  # drop .png, .dcm, .tif (not ".5" in a number)
        if re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{0,4}", suffix) and name.endswith(suffix):
            name = name[: -len(suffix)]
    tokens = [t for t in re.split(r"[^A-Z0-9]+", name.upper()) if t]
    lateralities, views = set(), set()
    for i, token in enumerate(tokens):
        if token in ("LEFT", "RIGHT"):
            lateralities.add(_LATERALITY_WORDS[token])
        elif token in MAMMOGRAPHY_VIEWS:
            views.add(token)
            if i > 0 and tokens[i - 1] in ("L", "R"):
                lateralities.add(tokens[i - 1])
        elif token[:1] in ("L", "R") and token[1:] in MAMMOGRAPHY_VIEWS - {"L", "R"}:
            lateralities.add(token[0])
            views.add(token[1:])
    laterality = lateralities.pop() if len(lateralities) == 1 else None
    view = views.pop() if len(views) == 1 else None
    return laterality, view


@dataclass(frozen=True)
class Facts:
    """Spacing, laterality and view of an image, each from the best source there is."""

    spacing: tuple[float, float]
    spacing_source: SpacingSource
    laterality: str | None
    view: str | None
    warnings: tuple[str, ...]

    def mammogram(self, image, *, notes=(), **fields) -> Mammogram:
        """A :class:`Mammogram` of `image` with these facts; the reader's `notes` come first among its warnings."""
        return Mammogram(
            image=image,
            spacing=self.spacing,
            spacing_source=self.spacing_source,
            laterality=self.laterality,
            view=self.view,
            warnings=tuple(dict.fromkeys([*notes, *self.warnings])),
            **fields,
        )


def resolve_facts(path, options: LoadOptions, *, header_spacing=None, laterality=None, view=None) -> Facts:
    """Combine what the file's header says with its sidecar, the options and its name.

    Spacing: the header's (`header_spacing`, a ``(spacing, SpacingSource)`` pair),
    else the sidecar's, else ``options.spacing_mm``, else
    :data:`~calcdetect.io.mammogram.DEFAULT_SPACING_MM` with a warning.
    Laterality and view: the header's, else the sidecar's, else the file name's
    (with a warning).
    """
    sidecar = read_sidecar(path)
    warnings = list(sidecar.warnings) if sidecar else []
    if header_spacing is not None:
        spacing, source = header_spacing
    elif sidecar is not None and sidecar.spacing is not None:
        spacing, source = sidecar.spacing, SpacingSource.SIDECAR
    elif options.spacing is not None:
        spacing, source = options.spacing, SpacingSource.USER
    else:
        spacing, source = (DEFAULT_SPACING_MM, DEFAULT_SPACING_MM), SpacingSource.DEFAULT
    warnings += spacing_warnings(spacing, source)
    if sidecar is not None:
        laterality = laterality or sidecar.laterality
        view = view or sidecar.view
    if laterality is None or view is None:
        name_laterality, name_view = hints_from_name(path)
        taken = []
        if laterality is None and name_laterality is not None:
            laterality = name_laterality
            taken.append(f"laterality {laterality}")
        if view is None and name_view is not None:
            view = name_view
            taken.append(f"view {view}")
        if taken:
            warnings.append(f"{' and '.join(taken)} taken from the file name")
    return Facts(spacing, source, laterality, view, tuple(warnings))
