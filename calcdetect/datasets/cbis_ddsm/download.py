"""A CBIS-DDSM download: the files of each abnormality, and its ROI mask on the full image.

TCIA's NBIA Data Retriever lays a download out as
``CBIS-DDSM/<Subject ID>/<date>-DDSM-<n>/<n>.000000-<series description>-<n>/1-1.dcm``
with a ``metadata.csv`` (Series UID, Subject ID, Series Description, File Location)
at its root; older downloads are ``<Subject ID>/<Study UID>/<Series UID>/000000.dcm``,
as the case-description CSVs still name them. Neither the file names nor the
folder names of today's layout match the CSVs, so files are found through the Series
UIDs: from ``metadata.csv`` where there is one, else from folders named by a UID,
else from the headers of the DICOM files themselves.

An abnormality's cropped image and ROI mask are two files of one series (``1-1.dcm``
and ``1-2.dcm``, in either order) or of two series, and the CSVs swap them: they are
told apart by content, the mask being the one the size of the full image. Some masks
are a few pixels larger or smaller than their image (4688 x 3088 for a 4624 x 3056
image): :func:`read_roi_mask` rescales those whose aspect ratio agrees within
:data:`MASK_ASPECT_TOLERANCE`, and :func:`open_cbis_ddsm` counts them. Pixel spacing is
in no header: DDSM's digitisers scanned at 0.042, 0.0435 and 0.05 mm;
:data:`DEFAULT_SPACING_MM` unless the user gives another.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from calcdetect.datasets.cbis_ddsm.cases import Abnormality, read_case_descriptions
from calcdetect.errors import DatasetError, ImageReadError
from calcdetect.io.dicom import read_dicom_pixels
from calcdetect.io.peek import peek_series

#: Pixel spacing (mm) of the Lumisys scanner, the usual default for CBIS-DDSM (the
#: headers carry none; DDSM's Howtek and DBA scanners were 0.0435 and 0.042 mm).
DEFAULT_SPACING_MM = 0.05
#: A mask whose size differs from its image's by at most this fraction in each
#: dimension is the image's mask, rescaled ...
MASK_SIZE_TOLERANCE = 0.05
#: ... when the two aspect ratios agree within this fraction; otherwise it is skipped.
MASK_ASPECT_TOLERANCE = 0.01
_UID = re.compile(r"^[0-9]+(\.[0-9]+)+$")


@dataclass(frozen=True)
class CaseFiles:
    """The files of one abnormality in a download.

    Attributes
    ----------
    image, mask, crop : Path or None
        The full mammogram, its ROI mask and the cropped ROI; None where not found.
    image_shape, mask_shape : tuple of 2 ints or None
        (rows, columns) from the headers.
    problem : str or None
        Why the abnormality cannot be scored on its mask (None when it can).
    """

    image: Path | None
    mask: Path | None
    crop: Path | None
    image_shape: tuple[int, int] | None = None
    mask_shape: tuple[int, int] | None = None
    problem: str | None = None

    @property
    def mask_resized(self) -> bool:
        """The mask's size differs from the image's (it is rescaled when read)."""
        return self.mask_shape is not None and self.mask_shape != self.image_shape


@dataclass(frozen=True)
class DownloadReport:
    """What :func:`open_cbis_ddsm` matched, repaired and skipped.

    Attributes
    ----------
    n_rows : int
        Abnormalities in the case-description files read (of the kinds asked for).
    n_images : int
        Distinct full mammograms they are on.
    n_images_found, n_masks_found : int
        Full mammograms and ROI masks found in the download.
    n_told_apart : int
        Abnormalities whose ROI files (in one series or two) were told apart, crop from
        mask, by their size.
    n_swapped : int
        Of those, where the CSV's ``ROI mask file path`` names the crop (old layout,
        where the files keep the names the CSV gives).
    n_masks_resized : int
        Masks of another size than their image, rescaled when read.
    skipped : tuple of (str, str)
        (abnormality, reason) for each one that cannot be scored on its mask.
    spacing_mm : float
    counts : dict
        ``skipped`` counted by reason.
    """

    n_rows: int
    n_images: int
    n_images_found: int
    n_masks_found: int
    n_told_apart: int
    n_swapped: int
    n_masks_resized: int
    skipped: tuple[tuple[str, str], ...]
    spacing_mm: float
    counts: dict = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines for a person."""
        lines = [
            f"{self.n_rows} abnormalities on {self.n_images} images; found {self.n_images_found} images and "
            f"{self.n_masks_found} ROI masks",
            f"crop and mask told apart by size for {self.n_told_apart} abnormalities ({self.n_swapped} swapped in the "
            f"CSV); {self.n_masks_resized} masks of another size than their image, rescaled",
            f"pixel spacing {self.spacing_mm} mm (in no header: DDSM's scanners were 0.042, 0.0435 and 0.05 mm)",
        ]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: " + "; ".join(f"{n} {reason}" for reason, n in self.counts.items()))
        return "\n".join(lines)


@dataclass(frozen=True)
class CbisDdsm:
    """A CBIS-DDSM download read with its case descriptions.

    Attributes
    ----------
    root : Path
    abnormalities : tuple of Abnormality
    files : dict
        (subject_id, abnormality_id) -> :class:`CaseFiles`.
    report : DownloadReport
    """

    root: Path
    abnormalities: tuple[Abnormality, ...]
    files: dict[tuple[str, int], CaseFiles]
    report: DownloadReport

    @property
    def spacing(self) -> tuple[float, float]:
        """(row_mm, col_mm) assumed for every image."""
        return self.report.spacing_mm, self.report.spacing_mm


def open_cbis_ddsm(root, *, case_descriptions=None, kinds=("calcification",),
                   spacing_mm: float = DEFAULT_SPACING_MM) -> CbisDdsm:
    """Find the files of every abnormality of a CBIS-DDSM download.

    Parameters
    ----------
    root : str or PathLike
        The download's folder (the one holding ``metadata.csv``, or the
        ``CBIS-DDSM`` folder of Subject IDs).
    case_descriptions : sequence of str or PathLike, optional
        The case-description CSVs; by default every ``*case_description*.csv`` in
        `root`.
    kinds : sequence of {"calcification", "mass"}
        The abnormality types kept.
    spacing_mm : float
        Pixel spacing assumed for every image (:data:`DEFAULT_SPACING_MM`).

    Returns
    -------
    CbisDdsm
        Every abnormality of the CSVs, found or not; the report says what was found,
        repaired and skipped, and why.

    Raises
    ------
    DatasetError
        When `root` is not a folder, no case-description CSV is given or found, or
        a CSV cannot be read (see :func:`read_case_descriptions`).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; give the folder of a CBIS-DDSM download (the one holding "
                           f"metadata.csv)")
    if not (isinstance(spacing_mm, (int, float)) and spacing_mm > 0):
        raise ValueError(f"spacing_mm must be a positive number of mm; got {spacing_mm!r}")
    kinds = tuple(kinds)
    unknown = set(kinds) - {"calcification", "mass"}
    if unknown:
        raise ValueError(f"kinds must be among 'calcification', 'mass'; got {sorted(unknown)}")
    paths = sorted(root.glob("*case_description*.csv")) if case_descriptions is None else \
        [Path(p) for p in case_descriptions]
    if not paths:
        raise DatasetError(f"{root}: holds no *case_description*.csv; give case_descriptions= (TCIA publishes "
                           f"calc_case_description_train_set.csv and three more beside the images)")
    abnormalities = tuple(a for path in paths for a in read_case_descriptions(path) if a.abnormality_type in kinds)
    series = _SeriesIndex(root)
    files: dict[tuple[str, int], CaseFiles] = {}
    told_apart = swapped = 0
    for abnormality in abnormalities:
        found, was_told_apart, was_swapped = _case_files(abnormality, series)
        files[abnormality.key] = found
        told_apart += was_told_apart
        swapped += was_swapped
    skipped = tuple((f"{a.roi_subject_id} ({a.source})", files[a.key].problem) for a in abnormalities
                    if files[a.key].problem)
    images = {a.subject_id: files[a.key].image for a in abnormalities}
    report = DownloadReport(
        n_rows=len(abnormalities), n_images=len(images),
        n_images_found=sum(path is not None for path in images.values()),
        n_masks_found=sum(f.mask is not None for f in files.values()), n_told_apart=told_apart, n_swapped=swapped,
        n_masks_resized=sum(f.mask_resized and f.problem is None for f in files.values()),
        skipped=skipped, spacing_mm=float(spacing_mm), counts=dict(Counter(reason for _, reason in skipped)),
    )
    return CbisDdsm(root=root, abnormalities=abnormalities, files=files, report=report)


def read_roi_mask(dataset: CbisDdsm, abnormality: Abnormality) -> np.ndarray:
    """The abnormality's ROI mask on its full mammogram.

    Parameters
    ----------
    dataset : CbisDdsm
    abnormality : Abnormality
        One of ``dataset.abnormalities``.

    Returns
    -------
    (rows, cols) ndarray of bool
        The full image's shape; a mask of another size is rescaled (nearest
        neighbour) to it.

    Raises
    ------
    DatasetError
        When the abnormality was skipped (the reason), or the mask file is not
        two-valued (then it is no mask) or cannot be read.
    """
    found = dataset.files.get(abnormality.key)
    if found is None:
        raise DatasetError(f"{abnormality.roi_subject_id}: not an abnormality of this download")
    if found.problem:
        raise DatasetError(f"{abnormality.roi_subject_id} ({abnormality.source}): {found.problem}")
    try:
        pixels = read_dicom_pixels(found.mask)
    except ImageReadError as exc:
        raise DatasetError(f"{found.mask}: the ROI mask of {abnormality.roi_subject_id} cannot be read ({exc.reason})") \
            from exc
    values = np.unique(pixels)
    if len(values) > 2:
        raise DatasetError(f"{found.mask}: the ROI mask of {abnormality.roi_subject_id} holds {len(values)} grey "
                           f"levels, not two; it is no mask")
    mask = pixels == values.max() if len(values) == 2 else np.zeros(pixels.shape, bool)
    if mask.shape != found.image_shape:
        rows, cols = found.image_shape
        mask = cv2.resize(mask.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST).astype(bool)
    return mask


class _SeriesIndex:
    """Folder of each Series UID in a download: from metadata.csv, folders named by a UID,
    and (only when asked for one not found so) the files' own headers."""

    def __init__(self, root: Path):
        self.root = root
        self.folders: dict[str, Path] = {}
        self._headers_read = False
        metadata = root / "metadata.csv"
        if metadata.is_file():
            self._read_metadata(metadata)
        for folder in root.rglob("*"):
            if folder.is_dir() and _UID.match(folder.name) and folder.name not in self.folders:
                self.folders[folder.name] = folder

    def _read_metadata(self, path: Path) -> None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}: cannot be read as TCIA's metadata.csv ({exc})") from exc
        for row in rows:
            uid, location = (row.get("Series UID") or "").strip(), (row.get("File Location") or "").strip()
            if uid and location:
                self.folders[uid] = self.root / Path(*[p for p in location.replace("\\", "/").split("/")
                                                        if p not in ("", ".")])

    def folder(self, uid: str) -> Path | None:
        if uid not in self.folders and not self._headers_read:
            self._headers_read = True
            for path in sorted(self.root.rglob("*.dcm")):
                peeked = peek_series(path)
                if peeked and peeked[0] and peeked[0] not in self.folders:
                    self.folders[peeked[0]] = path.parent
        return self.folders.get(uid)


def _case_files(abnormality: Abnormality, series: _SeriesIndex) -> tuple[CaseFiles, bool, bool]:
    """The abnormality's files, whether its crop and mask were told apart, and whether the
    CSV had them swapped."""
    image_folder = series.folder(abnormality.image_series_uid)
    images = _dicom_files(image_folder)
    if not images:
        where = "is not in the download" if image_folder is None else f"has no DICOM file in {image_folder}"
        return CaseFiles(None, None, None, problem=f"full mammogram series {where}"), False, False
    image = images[0]
    image_header = peek_series(image)
    if image_header is None:
        return CaseFiles(image, None, None, problem=f"full mammogram {image.name} is no readable DICOM"), False, False
    image_shape = image_header[1:]
    roi = [path for uid in abnormality.roi_series_uids for path in _dicom_files(series.folder(uid))]
    shapes = {path: header[1:] for path in roi if (header := peek_series(path)) is not None}
    if not shapes:
        return CaseFiles(image, None, None, image_shape, problem="ROI series is not in the download"), False, False
    masks = [path for path, shape in shapes.items() if _near(shape, image_shape, MASK_SIZE_TOLERANCE)]
    crops = [path for path in shapes if path not in masks]
    told_apart = len(shapes) >= 2
    crop = crops[0] if crops else None
    if not masks:
        sizes = ", ".join(f"{p.name} {r} x {c}" for p, (r, c) in shapes.items())
        return CaseFiles(image, None, crop, image_shape, problem=f"no ROI file the size of the image "
                         f"({image_shape[0]} x {image_shape[1]}): {sizes}"), told_apart, False
    mask = min(masks, key=lambda p: abs(shapes[p][0] - image_shape[0]) + abs(shapes[p][1] - image_shape[1]))
    swapped = told_apart and _csv_names_the_crop_as_mask(abnormality, mask)
    mask_shape = shapes[mask]
    problem = None
    aspect = (mask_shape[0] / mask_shape[1]) / (image_shape[0] / image_shape[1])
    if abs(aspect - 1.0) > MASK_ASPECT_TOLERANCE:
        problem = (f"ROI mask {mask_shape[0]} x {mask_shape[1]} has another aspect ratio than its image "
                   f"{image_shape[0]} x {image_shape[1]}")
    return CaseFiles(image, mask, crop, image_shape, mask_shape, problem), told_apart, swapped


def _dicom_files(folder: Path | None) -> list[Path]:
    """DICOM files of a series folder, by name (1-1.dcm before 1-2.dcm)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix.lower() == ".dcm" and path.is_file())


def _near(shape: tuple[int, int], target: tuple[int, int], tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance * b for a, b in zip(shape, target))


def _csv_names_the_crop_as_mask(abnormality: Abnormality, mask: Path) -> bool:
    """In the old layout the files keep the CSV's names: does its mask cell name another file?"""
    named = abnormality.mask_file_name
    return mask.name != named and (mask.parent / named).is_file()
