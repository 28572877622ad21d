"""mini-MIAS (Suckling et al., 1994; the Mammographic Image Analysis Society's database
reduced to 200 um): its ``Info.txt`` and 1024 x 1024 8-bit PGM images.

Each line of ``Info.txt`` is ``<id> <tissue> <class> [<severity> [<x> <y> <radius>]]``:

- ``id`` the image (``mdb001``, its file ``mdb001.pgm``); an image with several
  abnormalities has several lines;
- tissue ``F`` fatty, ``G`` fatty-glandular, ``D`` dense-glandular;
- class ``CALC`` calcification, ``CIRC`` / ``SPIC`` / ``MISC`` masses, ``ARCH``
  architectural distortion, ``ASYM`` asymmetry, ``NORM`` normal;
- severity ``B`` benign, ``M`` malignant;
- ``x``, ``y`` the centre in pixels with the origin at the image's **bottom-left**
  corner (``y`` upwards: row ``rows - 1 - y``), and the radius in pixels of a circle
  enclosing the abnormality. Some calcification lines give no centre: the
  calcifications are spread over the breast, and the image counts as found when any
  cluster is reported on it (:attr:`MiasRow.widespread`).

Text before the first ``mdb`` line (a title, column names) is passed over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from calcdetect.errors import DatasetError
from calcdetect.io.raster import raster_shape

#: Pixel size of mini-MIAS (the 50 um originals reduced to 200 um).
SPACING_MM = 0.2
_LINE = re.compile(r"^(mdb\d{3})\s+(\S+)\s+(\S+)(.*)$", re.IGNORECASE)


class Tissue(StrEnum):
    """Background tissue of a mini-MIAS image."""

    FATTY = "F"
    FATTY_GLANDULAR = "G"
    DENSE_GLANDULAR = "D"


class MiasClass(StrEnum):
    """Class of abnormality of a mini-MIAS line."""

    CALCIFICATION = "CALC"
    CIRCUMSCRIBED_MASS = "CIRC"
    SPICULATED_MASS = "SPIC"
    ILL_DEFINED_MASS = "MISC"
    ARCHITECTURAL_DISTORTION = "ARCH"
    ASYMMETRY = "ASYM"
    NORMAL = "NORM"


class Severity(StrEnum):
    BENIGN = "B"
    MALIGNANT = "M"


@dataclass(frozen=True)
class MiasRow:
    """One line of ``Info.txt``.

    Attributes
    ----------
    image_id : str
        ``mdb001`` ...
    tissue : Tissue
    kind : MiasClass
    severity : Severity or None
        None for normal images.
    x, y : float or None
        Centre in pixels, origin at the bottom-left corner; None where not given.
    radius_px : float or None
    line : int
        Line number in ``Info.txt`` (from 1).
    """

    image_id: str
    tissue: Tissue
    kind: MiasClass
    severity: Severity | None
    x: float | None
    y: float | None
    radius_px: float | None
    line: int

    @property
    def patient_id(self) -> str:
        """The patient: MIAS lists its films in pairs, left (even number) and right (odd) of one
        patient (mdb001 and mdb002 are patient 1)."""
        return str((int(self.image_id[3:]) + 1) // 2)

    @property
    def widespread(self) -> bool:
        """An abnormality given no centre (calcifications spread over the breast)."""
        return self.kind is not MiasClass.NORMAL and self.x is None

    def centre_rc(self, rows: int) -> tuple[float, float] | None:
        """Centre (row, col) in pixels of an image `rows` high (rows counted from the top);
        None where no centre is given."""
        if self.x is None or self.y is None:  # both given, or neither
            return None
        return rows - 1 - self.y, self.x

    def radius_mm(self, spacing_mm: float = SPACING_MM) -> float | None:
        return None if self.radius_px is None else self.radius_px * spacing_mm


@dataclass(frozen=True)
class MiniMias:
    """A mini-MIAS folder read with its ``Info.txt``.

    Attributes
    ----------
    root : Path
    rows : tuple of MiasRow
        Every line, all classes.
    images : dict
        Image id -> its PGM file (None when missing).
    shapes : dict
        Image id -> (rows, cols) from the file's header (None when missing or unreadable).
    skipped : tuple of (str, str)
        (image id or ``<image id> line <n>``, reason) for the images and lines that
        cannot be used: a missing or unreadable file, a centre outside its image.
    spacing_mm : float
    unusable_lines : frozenset of int
        The ``Info.txt`` lines left out (those of the skipped images too).
    """

    root: Path
    rows: tuple[MiasRow, ...]
    images: dict[str, Path | None]
    shapes: dict[str, tuple[int, int] | None]
    skipped: tuple[tuple[str, str], ...]
    spacing_mm: float = SPACING_MM
    unusable_lines: frozenset[int] = frozenset()

    def calcifications(self) -> tuple[MiasRow, ...]:
        """The calcification lines that can be used."""
        return tuple(r for r in self.rows if r.kind is MiasClass.CALCIFICATION and r.line not in self.unusable_lines)

    def summary(self) -> str:
        calc = self.calcifications()
        lines = [f"{len(self.images)} images ({sum(p is not None for p in self.images.values())} found), "
                 f"{len(calc)} calcification lines on {len({r.image_id for r in calc})} images, "
                 f"{sum(r.widespread for r in calc)} of them widespread (no centre); "
                 f"pixel spacing {self.spacing_mm} mm"]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: " + "; ".join(f"{i} ({why})" for i, why in self.skipped))
        return "\n".join(lines)


def read_info(path) -> tuple[MiasRow, ...]:
    """Read mini-MIAS's ``Info.txt``.

    Raises
    ------
    DatasetError
        Naming the file and line, for a line of another form, an unknown tissue,
        class or severity, or a centre given without its radius; or when the file
        holds no ``mdb`` line.
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder; give mini-MIAS's Info.txt")
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    out: list[MiasRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line.strip())
        if match is None:
            if out and line.strip():
                raise DatasetError(f"{path}: line {number} {line.strip()!r} is not '<mdbNNN> <tissue> <class> ...'")
            continue  # a title or column names before the first image
        try:
            out.append(_row(match, number))
        except ValueError as exc:
            raise DatasetError(f"{path}: line {number} {line.strip()!r}: {exc}") from exc
    if not out:
        raise DatasetError(f"{path}: holds no 'mdbNNN ...' line; is it mini-MIAS's Info.txt?")
    return tuple(out)


def open_mini_mias(root, *, info=None, spacing_mm: float = SPACING_MM) -> MiniMias:
    """Read a mini-MIAS folder: ``Info.txt`` and the ``mdbNNN.pgm`` files beside it.

    Parameters
    ----------
    root : str or PathLike
        The folder of the PGM files.
    info : str or PathLike, optional
        ``Info.txt``; by default the file of that name (any case) in `root`.
    spacing_mm : float
        :data:`SPACING_MM` unless the user knows better.

    Raises
    ------
    DatasetError
        When `root` is not a folder or holds no ``Info.txt``, or it cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; give the folder of mini-MIAS's mdbNNN.pgm files and Info.txt")
    if info is None:
        found = [p for p in root.iterdir() if p.name.lower() == "info.txt"]
        if not found:
            raise DatasetError(f"{root}: holds no Info.txt; give info= (the list of mini-MIAS's abnormalities)")
        info = found[0]
    rows = read_info(info)
    files = {p.stem.lower(): p for p in root.iterdir() if p.suffix.lower() == ".pgm"}
    images: dict[str, Path | None] = {}
    shapes: dict[str, tuple[int, int] | None] = {}
    skipped: list[tuple[str, str]] = []
    for image_id in dict.fromkeys(r.image_id for r in rows):
        image = images[image_id] = files.get(image_id)
        shapes[image_id] = raster_shape(image) if image is not None else None
        if image is None:
            skipped.append((image_id, f"no {image_id}.pgm in {root}"))
        elif shapes[image_id] is None:
            skipped.append((image_id, f"{image.name} has no readable PGM header"))
    unusable = {r.line for r in rows if shapes[r.image_id] is None}
    for r in rows:
        shape = shapes[r.image_id]
        if (shape is not None and r.x is not None and r.y is not None
                and not (0 <= r.x < shape[1] and 0 <= r.y < shape[0])):
            unusable.add(r.line)
            skipped.append((f"{r.image_id} line {r.line}", f"centre ({r.x:g}, {r.y:g}) outside the "
                                                           f"{shape[1]} x {shape[0]} image"))
    return MiniMias(root=root, rows=rows, images=images, shapes=shapes, skipped=tuple(skipped),
                    spacing_mm=float(spacing_mm), unusable_lines=frozenset(unusable))


def _row(match: re.Match, number: int) -> MiasRow:
    image_id, tissue, kind, rest = match.group(1).lower(), match.group(2).upper(), match.group(3).upper(), \
        match.group(4).split()
    severity = None
    if rest and rest[0].upper() in ("B", "M"):
        severity = Severity(rest.pop(0).upper())
    numbers = []
    for field in rest[:3]:
        try:
            numbers.append(float(field))
        except ValueError:
            break  # a note instead of a centre
    if kind == MiasClass.NORMAL:
        numbers = []
    elif len(numbers) in (1, 2):
        raise ValueError("a centre needs x, y and a radius")
    try:
        return MiasRow(image_id=image_id, tissue=Tissue(tissue), kind=MiasClass(kind), severity=severity,
                       x=numbers[0] if numbers else None, y=numbers[1] if numbers else None,
                       radius_px=numbers[2] if numbers else None, line=number)
    except ValueError:
        raise ValueError(f"tissue {tissue!r} must be one of {[str(t) for t in Tissue]} and class {kind!r} one of "
                         f"{[str(c) for c in MiasClass]}") from None
