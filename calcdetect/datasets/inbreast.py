"""INbreast (Moreira et al., Academic Radiology 19:236-248, 2012): full-field digital
mammograms at 0.07 mm with every calcification outlined.

A copy holds the images as ``AllDICOMs/<file id>_<hash>_MG_<L|R>_<CC|MLO|...>_ANON.dcm`` and
the annotations as ``AllXML/<file id>.xml``: Apple property lists (read with
:mod:`plistlib`) whose ``Images[0].ROIs`` each have a ``Name``, ``NumberOfPoints`` and
``Point_px``, a list of ``"(x, y)"`` strings with x the column. As users find them:

- a single calcification is often one point (``Area`` 0), others a small contour;
- clusters are outlined as ROIs named ``Cluster``, ``Clusters``, ``Calcifications``,
  ... (:data:`ROI_NAMES` maps the spellings; the name is kept as written);
- ``NumberOfPoints`` can disagree with the points listed (the points are what count),
  and some points lie outside the image (they are dropped; an ROI left with none is
  skipped); both are counted.
"""

from __future__ import annotations

import csv
import plistlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from xml.parsers.expat import ExpatError

import numpy as np

from calcdetect.errors import DatasetError
from calcdetect.io.peek import peek_shape

#: Pixel size of INbreast's detector (MammoNovation, Siemens).
SPACING_MM = 0.07
_POINT = re.compile(r"^\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*(?:,\s*[-+0-9.eE]+\s*)?\)$")
_FILE = re.compile(r"^(\d+)_([0-9a-fA-F]+)_MG_([LR])_([A-Z]+)_ANON$", re.IGNORECASE)


class RoiKind(StrEnum):
    """What an INbreast ROI outlines."""

    CALCIFICATION = "calcification"
    CLUSTER = "cluster"
    MASS = "mass"
    OTHER = "other"


#: ROI names (lower case, without spaces or a plural s) and what they outline.
ROI_NAMES: dict[str, RoiKind] = {
    "calcification": RoiKind.CALCIFICATION,
    "microcalcification": RoiKind.CALCIFICATION,
    "cluster": RoiKind.CLUSTER,
    "calcificationcluster": RoiKind.CLUSTER,
    "clustercalcification": RoiKind.CLUSTER,
    "mass": RoiKind.MASS,
}


def roi_kind(name: str, n_points: int) -> RoiKind:
    """The kind of an ROI named `name`: any name holding "cluster" is a cluster, else a name in
    :data:`ROI_NAMES` (case, spaces and a plural s aside); "Calcifications" with a contour of
    several points outlines a cluster."""
    key = re.sub(r"[^a-z]", "", name.lower())
    if "cluster" in key:
        return RoiKind.CLUSTER
    plural = key.endswith("s") and key[:-1] in ROI_NAMES
    kind = ROI_NAMES.get(key[:-1] if plural else key, RoiKind.OTHER)
    if kind is RoiKind.CALCIFICATION and plural and n_points > 2:
        return RoiKind.CLUSTER
    return kind


@dataclass(frozen=True)
class InbreastRoi:
    """One annotated region.

    Attributes
    ----------
    kind : RoiKind
    name : str
        As written.
    points_rc : (K, 2) ndarray of float
        (row, col) in pixels, K >= 1: a single point inside the image; an outline as
        drawn (it may run past the image's edge).
    declared_points : int
        ``NumberOfPoints`` as written.
    """

    kind: RoiKind
    name: str
    points_rc: np.ndarray
    declared_points: int

    @property
    def centre_rc(self) -> tuple[float, float]:
        """Mean of the points (row, col)."""
        row, col = self.points_rc.mean(axis=0)
        return float(row), float(col)


@dataclass(frozen=True)
class InbreastImage:
    """One image with its annotations.

    Attributes
    ----------
    file_id : str
    dicom : Path
    xml : Path or None
        None for an image without annotations (a normal one).
    laterality : {"L", "R"} or None
    view : str or None
    shape : tuple of 2 ints or None
        (rows, cols) from the DICOM header.
    rois : tuple of InbreastRoi
    patient_id : str
        The patient: the file name's second field (a patient's images share it), unless
        ``INbreast.csv`` says otherwise.
    """

    file_id: str
    dicom: Path
    xml: Path | None
    laterality: str | None
    view: str | None
    shape: tuple[int, int] | None
    rois: tuple[InbreastRoi, ...]
    patient_id: str = ""

    def of_kind(self, kind: RoiKind) -> tuple[InbreastRoi, ...]:
        return tuple(r for r in self.rois if r.kind is kind)


@dataclass(frozen=True)
class InbreastCase:
    """One row of INbreast's image table (``INbreast.csv``).

    Attributes
    ----------
    patient_id : str or None
        None where the table leaves it blank (the published table blanks the ids).
    breast_density : str or None
        The ACR density category, ``"1"`` to ``"4"``.
    assessment : str or None
        The image's BI-RADS assessment as the table writes it (``"2"``, ``"4a"``, ...).
    """

    patient_id: str | None = None
    breast_density: str | None = None
    assessment: str | None = None


@dataclass(frozen=True)
class Inbreast:
    """An INbreast copy.

    Attributes
    ----------
    root : Path
    images : tuple of InbreastImage
    counts : tuple of (str, int)
        ``images``, ``annotated``, ``calcifications``, ``clusters``, ``point_count_mismatches``
        (NumberOfPoints against the points listed), ``points_outside`` (dropped),
        ``rois_outside`` (skipped: no point inside).
    skipped : tuple of (str, str)
        (file, reason): annotation files without their image, and unreadable ones.
    spacing_mm : float
    cases : Mapping
        File id -> its row of ``INbreast.csv`` (:class:`InbreastCase`) where the copy has
        the table (empty otherwise): the patient where the table gives it (else each
        image's own ``patient_id``), the ACR density and the BI-RADS assessment.
    """

    root: Path
    images: tuple[InbreastImage, ...]
    counts: tuple[tuple[str, int], ...]
    skipped: tuple[tuple[str, str], ...]
    spacing_mm: float = SPACING_MM
    cases: Mapping[str, InbreastCase] = field(default_factory=lambda: MappingProxyType({}))

    def summary(self) -> str:
        text = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in self.counts)
        lines = [f"{text}; pixel spacing {self.spacing_mm} mm"]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: " + "; ".join(f"{f} ({why})" for f, why in self.skipped))
        return "\n".join(lines)


def read_inbreast_xml(path, *, shape: tuple[int, int] | None = None) -> tuple[tuple[InbreastRoi, ...], Counter]:
    """Read one INbreast annotation file.

    Parameters
    ----------
    path : str or PathLike
        ``<file id>.xml``.
    shape : tuple of 2 ints, optional
        (rows, cols) of the image: points outside it are dropped.

    Returns
    -------
    rois : tuple of InbreastRoi
    counts : collections.Counter
        ``point_count_mismatches``, ``points_outside`` (of single points, dropped; of
        outlines, kept), ``rois_outside`` (no point inside: skipped), ``rois_without_points``,
        ``other_rois`` (names of no known kind).

    Raises
    ------
    DatasetError
        When the file is no property list of INbreast's form, or a point is not ``(x, y)``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            plist = plistlib.load(fh)
        entries = plist["Images"][0]["ROIs"]
    except (OSError, plistlib.InvalidFileException, ExpatError, ValueError) as exc:
        raise DatasetError(f"{path}: not an INbreast annotation file ({exc})") from exc
    except (KeyError, IndexError, TypeError):
        raise DatasetError(f"{path}: not an INbreast annotation file (no Images[0].ROIs)") from None
    counts: Counter = Counter()
    rois = []
    for number, entry in enumerate(entries):
        name = str(entry.get("Name", ""))
        listed = []
        for text in entry.get("Point_px", []):
            match = _POINT.match(str(text).strip())
            if match is None:
                raise DatasetError(f"{path}: ROI {number} ({name!r}): point {text!r} is not '(x, y)'")
            x, y = float(match.group(1)), float(match.group(2))
            listed.append((y, x))
        declared = int(entry.get("NumberOfPoints", len(listed)))
        counts["point_count_mismatches"] += declared != len(listed)
        points = np.asarray(listed, float).reshape(-1, 2)
        kind = roi_kind(name, len(points))
        counts["other_rois"] += kind is RoiKind.OTHER
        if len(points) == 0:
            counts["rois_without_points"] += 1
            continue
        if shape is not None:
            inside = (points[:, 0] >= 0) & (points[:, 0] <= shape[0] - 1) & (points[:, 1] >= 0) & \
                (points[:, 1] <= shape[1] - 1)
            counts["points_outside"] += int(np.count_nonzero(~inside))
            if not inside.any():
                counts["rois_outside"] += 1
                continue
            if len(points) < 3:
                points = points[inside]  # an outline keeps its points: its part inside still counts
        rois.append(InbreastRoi(kind=kind, name=name, points_rc=points, declared_points=declared))
    return tuple(rois), counts


def read_inbreast_table(path) -> dict[str, InbreastCase]:
    """File id -> its row of INbreast's image table (``INbreast.csv``, exported from its
    ``INbreast.xls``; comma- or semicolon-separated, with ``File Name`` and ``Patient ID``
    columns, and ``ACR`` and ``Bi-Rads`` where the copy has them).

    Raises
    ------
    DatasetError
        When the file cannot be read or lacks the file name or patient column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
    columns = {" ".join(name.lower().split()): name for name in (rows[0] if rows else {})}
    if "file name" not in columns or "patient id" not in columns:
        raise DatasetError(f"{path}: lacks the 'File Name' and 'Patient ID' columns of INbreast's image table "
                           f"(it has {', '.join(map(repr, columns.values())) or 'none'})")

    def cell(row, name):
        value = (row.get(columns[name]) or "").strip() if name in columns else ""
        return value or None

    return {cell(row, "file name"): InbreastCase(cell(row, "patient id"), cell(row, "acr"), cell(row, "bi-rads"))
            for row in rows if cell(row, "file name")}


def open_inbreast(root, *, dicom_dir=None, xml_dir=None, spacing_mm: float = SPACING_MM) -> Inbreast:
    """Read an INbreast copy: its DICOM images and their annotation files.

    Parameters
    ----------
    root : str or PathLike
        The folder holding ``AllDICOMs`` and ``AllXML`` (or the files themselves), and
        ``INbreast.csv`` (the images' patients, densities and assessments) where the copy has it.
    dicom_dir, xml_dir : str or PathLike, optional
        Where the images and the annotations are, when not those folders of `root`.
    spacing_mm : float
        :data:`SPACING_MM` unless the user knows better.

    Raises
    ------
    DatasetError
        When `root` is not a folder or holds no INbreast image (``<id>_<hash>_MG_<side>_<view>_ANON.dcm``),
        or an annotation file cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; give the folder of INbreast's AllDICOMs and AllXML")
    dicom_dir = Path(dicom_dir) if dicom_dir is not None else _sub(root, "AllDICOMs")
    xml_dir = Path(xml_dir) if xml_dir is not None else _sub(root, "AllXML")
    dicoms = {}
    for path in sorted(dicom_dir.glob("*.dcm")):
        match = _FILE.match(path.stem)
        if match and not path.name.startswith("."):
            dicoms[match.group(1)] = (path, match.group(2).lower(), match.group(3).upper(), match.group(4).upper())
    if not dicoms:
        raise DatasetError(f"{dicom_dir}: holds no INbreast image (<file id>_<hash>_MG_<L|R>_<view>_ANON.dcm); "
                           f"give dicom_dir=")
    xmls = {p.stem: p for p in sorted(xml_dir.glob("*.xml")) if not p.name.startswith(".")}
    counts: Counter = Counter()
    images, skipped = [], []
    for file_id, (dicom, patient, laterality, view) in dicoms.items():
        shape = peek_shape(dicom)
        xml = xmls.get(file_id)
        rois: tuple[InbreastRoi, ...] = ()
        if xml is not None:
            rois, found = read_inbreast_xml(xml, shape=shape)
            counts.update(found)
        images.append(InbreastImage(file_id=file_id, dicom=dicom, xml=xml, laterality=laterality, view=view,
                                    shape=shape, rois=rois, patient_id=patient))
    skipped += [(p.name, "no image with its file id") for file_id, p in xmls.items() if file_id not in dicoms]
    summary = [("images", len(images)), ("annotated", sum(i.xml is not None for i in images)),
               ("calcifications", sum(len(i.of_kind(RoiKind.CALCIFICATION)) for i in images)),
               ("clusters", sum(len(i.of_kind(RoiKind.CLUSTER)) for i in images)),
               *((name, counts[name]) for name in ("point_count_mismatches", "points_outside", "rois_outside",
                                                   "rois_without_points", "other_rois"))]
    table = [p for p in root.iterdir() if p.name.lower() == "inbreast.csv"]
    cases = read_inbreast_table(table[0]) if table else {}
    return Inbreast(root=root, images=tuple(images), counts=tuple(summary), skipped=tuple(skipped),
                    spacing_mm=float(spacing_mm), cases=MappingProxyType(cases))


def _sub(root: Path, name: str) -> Path:
    """`root`/`name` in any letter case, else `root` itself."""
    for child in root.iterdir():
        if child.is_dir() and child.name.lower() == name.lower():
            return child
    return root
