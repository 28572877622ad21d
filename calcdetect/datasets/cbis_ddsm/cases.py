"""The CBIS-DDSM case-description CSVs: one :class:`Abnormality` per row.

The four files TCIA publishes (``calc_case_description_{train,test}_set.csv``,
``mass_case_description_{train,test}_set.csv``) describe each annotated abnormality
of a full mammogram. Read as their users found them (Lee et al., Sci Data 4:170177,
2017; the traps listed in ``../shared/data/cbis-ddsm/README.md``):

- cells end in stray whitespace, the cropped-image path in a newline inside its quotes:
  every cell is stripped;
- the header says ``breast density`` in the calcification files and ``breast_density``
  in the mass files: headers are matched without case, underscores or extra spaces;
- ``calc type`` and ``calc distribution`` join several terms with hyphens and say
  ``NA`` or ``N/A`` for none (see :mod:`~calcdetect.datasets.cbis_ddsm.vocabulary`);
- the file paths name ``<Subject ID>/<Study UID>/<Series UID>/<file>``, which a download
  made today does not hold: they are kept only for their Subject ID and Series UIDs,
  through which :func:`~calcdetect.datasets.cbis_ddsm.download.open_cbis_ddsm` finds
  the files.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, overload

from calcdetect.datasets.cbis_ddsm.vocabulary import primary_distribution, primary_morphology
from calcdetect.errors import DatasetError
from calcdetect.lexicon import Distribution, Morphology


class Pathology(StrEnum):
    """Outcome of an abnormality (``pathology`` column)."""

    MALIGNANT = "MALIGNANT"
    BENIGN = "BENIGN"
    #: Benign without a biopsy: judged benign on imaging and not recalled.
    BENIGN_WITHOUT_CALLBACK = "BENIGN_WITHOUT_CALLBACK"


class Split(StrEnum):
    """The data set's split by patient (no patient is in both)."""

    TRAIN = "train"
    TEST = "test"


#: The columns every case-description file has (normalised: lower case, single spaces).
REQUIRED_COLUMNS = ("patient_id", "breast density", "left or right breast", "image view", "abnormality id",
                    "abnormality type", "assessment", "pathology", "subtlety", "image file path",
                    "cropped image file path", "roi mask file path")
_LATERALITY = {"LEFT": "L", "RIGHT": "R"}
_VIEWS = frozenset({"CC", "MLO"})
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class Abnormality:
    """One row of a case-description file.

    Attributes
    ----------
    subject_id : str
        The full mammogram's Subject ID, e.g. ``Calc-Training_P_00005_RIGHT_CC`` (the
        first part of ``image file path``); its ROI's is this plus ``_<abnormality_id>``.
    patient_id : str
        E.g. ``P_00005``.
    laterality : {"L", "R"}
    view : {"CC", "MLO"}
    abnormality_id : int
        1, 2, ... within the image.
    abnormality_type : {"calcification", "mass"}
    calc_type, calc_distribution : str or None
        The cells as written (stripped); None for mass rows.
    morphology : Morphology or None
        The most suspicious morphology the ``calc type`` names (None for NA or a mass).
    distribution : Distribution or None
        Likewise of ``calc distribution``.
    assessment : int or None
        BI-RADS assessment category, 0-6 (the files hold 0 and 2-5).
    pathology : Pathology
    subtlety : int or None
        1 (subtle) to 5 (obvious); 0 is accepted as written.
    breast_density : int or None
        BI-RADS density 1-4; None where the file says 0 or nothing.
    split : Split
    image_series_uid : str
        Series Instance UID of the full mammogram.
    roi_series_uids : tuple of str
        Series Instance UIDs named by the cropped-image and ROI-mask cells (one when
        both name the same series, as they mostly do).
    source : str
        ``<file name>:<row>`` (rows numbered from 1 after the header).
    mask_file_name : str
        The file name the ``ROI mask file path`` cell ends in (``000000.dcm``, ...).
    """

    subject_id: str
    patient_id: str
    laterality: str
    view: str
    abnormality_id: int
    abnormality_type: str
    calc_type: str | None
    calc_distribution: str | None
    morphology: Morphology | None
    distribution: Distribution | None
    assessment: int | None
    pathology: Pathology
    subtlety: int | None
    breast_density: int | None
    split: Split
    image_series_uid: str
    roi_series_uids: tuple[str, ...]
    source: str
    mask_file_name: str

    @property
    def roi_subject_id(self) -> str:
        """Subject ID of the abnormality's cropped image and ROI mask."""
        return f"{self.subject_id}_{self.abnormality_id}"

    @property
    def key(self) -> tuple[str, int]:
        """(subject_id, abnormality_id): unique within the data set."""
        return self.subject_id, self.abnormality_id


def read_case_descriptions(path, *, split: Split | str | None = None) -> tuple[Abnormality, ...]:
    """Read one CBIS-DDSM case-description CSV.

    Parameters
    ----------
    path : str or PathLike
        A ``{calc,mass}_case_description_{train,test}_set.csv`` file.
    split : Split or str, optional
        The split its rows belong to; by default each row's Subject ID says it
        (``Calc-Training_...``, ``Mass-Test_...``), else the file name (``train`` or
        ``test`` in it).

    Returns
    -------
    tuple of Abnormality
        In file order.

    Raises
    ------
    DatasetError
        Naming the file (and row and column) when it is not a case-description
        file, lacks a column, holds a short row or a value outside the data set's
        vocabulary, or when a row's Subject ID and the file name disagree on the split.
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder; give a case-description CSV such as "
                           f"calc_case_description_train_set.csv")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot be read as a CSV file ({exc})") from exc
    if header is None:
        raise DatasetError(f"{path}: is empty; expected a CBIS-DDSM case-description CSV")
    columns = [_column_name(name) for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise DatasetError(f"{path}: lacks the column(s) {', '.join(map(repr, missing))} of a CBIS-DDSM "
                           f"case-description CSV (it has {', '.join(map(repr, header))})")
    given = Split(split) if split is not None else None
    named = _split_of_name(path.name)
    out = []
    for number, cells in enumerate(rows, start=1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(columns):
            raise DatasetError(f"{path}: row {number} has {len(cells)} cells, the header {len(columns)}")
        record = dict(zip(columns, (cell.strip() for cell in cells)))
        try:
            out.append(_abnormality(record, given, named, f"{path.name}:{number}", columns))
        except ValueError as exc:
            raise DatasetError(f"{path}: row {number}: {exc}") from exc
    return tuple(out)


def _column_name(name: str) -> str:
    """Header as matched: lower case, underscores as spaces, single spaces (``patient_id`` kept)."""
    name = " ".join(name.strip().lower().replace("_", " ").split())
    return "patient_id" if name == "patient id" else name


def _split_of_name(name: str) -> Split | None:
    lower = name.lower()
    if "train" in lower:
        return Split.TRAIN
    if "test" in lower:
        return Split.TEST
    return None


def _abnormality(record: dict[str, str], given: Split | None, named: Split | None, source: str,
                 columns: list[str]) -> Abnormality:
    subject_id, image_series = _subject_and_series(record["image file path"], "image file path")
    roi_series = []
    for column in ("cropped image file path", "roi mask file path"):
        series = _subject_and_series(record[column], column)[1]
        if series not in roi_series:
            roi_series.append(series)
    own = Split.TRAIN if "-Training_" in subject_id else Split.TEST if "-Test_" in subject_id else None
    if own is not None and named is not None and own != named and given is None:
        raise ValueError(f"Subject ID {subject_id!r} is of the {own} split, the file name says {named}; "
                         f"give split= to decide")
    split = given or own or named
    if split is None:
        raise ValueError(f"the split is neither in Subject ID {subject_id!r} nor in the file name; give split=")
    kind = record["abnormality type"].lower()
    if kind not in ("calcification", "mass"):
        raise ValueError(f"abnormality type {record['abnormality type']!r} is not 'calcification' or 'mass'")
    missing = [c for c in ("calc type", "calc distribution") if kind == "calcification" and c not in columns]
    if missing:
        raise ValueError(f"a calcification row, but the file has no {' or '.join(map(repr, missing))} column")
    calc_type = record.get("calc type") if kind == "calcification" else None
    calc_distribution = record.get("calc distribution") if kind == "calcification" else None
    laterality = _LATERALITY.get(record["left or right breast"].upper())
    if laterality is None:
        raise ValueError(f"left or right breast {record['left or right breast']!r} is not LEFT or RIGHT")
    view = record["image view"].upper()
    if view not in _VIEWS:
        raise ValueError(f"image view {record['image view']!r} is not one of {sorted(_VIEWS)}")
    pathology = record["pathology"].upper()
    if pathology not in Pathology.__members__:
        raise ValueError(f"pathology {record['pathology']!r} is not one of {[str(p) for p in Pathology]}")
    density = _integer(record, "breast density", 0, 4)
    return Abnormality(
        subject_id=subject_id, patient_id=record["patient_id"], laterality=laterality, view=view,
        abnormality_id=_integer(record, "abnormality id", 1, None, required=True), abnormality_type=kind,
        calc_type=calc_type, calc_distribution=calc_distribution,
        morphology=primary_morphology(calc_type) if calc_type is not None else None,
        distribution=primary_distribution(calc_distribution) if calc_distribution is not None else None,
        assessment=_integer(record, "assessment", 0, 6), pathology=Pathology[pathology],
        subtlety=_integer(record, "subtlety", 0, 5), breast_density=density or None, split=split,
        image_series_uid=image_series, roi_series_uids=tuple(roi_series), source=source,
        mask_file_name=record["roi mask file path"].replace("\\", "/").rstrip("/").rsplit("/", 1)[-1],
    )


def _subject_and_series(cell: str, column: str) -> tuple[str, str]:
    """(Subject ID, Series UID) of a path cell ``<Subject ID>/<Study UID>/<Series UID>/<file>``."""
    parts = [part for part in cell.replace("\\", "/").split("/") if part]
    if len(parts) < 3 or not _UID.match(parts[-2]):
        raise ValueError(f"{column} {cell!r} is not <Subject ID>/<Study UID>/<Series UID>/<file>")
    return parts[0], parts[-2]


@overload
def _integer(record: dict[str, str], column: str, lo: int, hi: int | None, *, required: Literal[True]) -> int: ...
@overload
def _integer(record: dict[str, str], column: str, lo: int, hi: int | None, *, required: bool = ...) -> int | None: ...
def _integer(record: dict[str, str], column: str, lo: int, hi: int | None, *, required: bool = False) -> int | None:
    text = record.get(column, "")
    if text.upper() in ("", "NA", "N/A", "NAN"):
        if required:
            raise ValueError(f"{column} is empty")
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a whole number") from None
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{column} {value} is outside {lo}-{hi if hi is not None else '...'}")
    return value
