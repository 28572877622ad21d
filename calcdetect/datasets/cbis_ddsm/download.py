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
told apart by content: the mask is the file about the size of the full image (at least
:data:`MASK_MIN_FRACTION` of it), and of two such the two-valued one. Some masks are a
few pixels larger or smaller than their image (4688 x 3088 for a 4624 x 3056 image),
some mass masks 0.87 times it: :func:`read_roi_mask` rescales those whose aspect ratio
agrees within :data:`MASK_ASPECT_TOLERANCE`, and :func:`open_cbis_ddsm` counts them. Pixel spacing is
in no header: DDSM's digitisers scanned at 0.042, 0.0435 and 0.05 mm;
:data:`DEFAULT_SPACING_MM` unless the user gives another.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np

from calcdetect.datasets.cbis_ddsm.cases import Abnormality, read_case_descriptions
from calcdetect.errors import DatasetError, ImageReadError
from calcdetect.io.dicom import read_dicom_pixels
from calcdetect.io.mammogram import DEFAULT_SPACING_MM
from calcdetect.io.peek import peek_series

#: A ROI file is a candidate for the mask when it is at least this fraction of the full
#: image in each dimension (a crop of a calcification is far smaller); of several, the
#: two-valued one, then the one closest in size.
MASK_MIN_FRACTION = 0.5
#: A mask is rescaled to its image when the two aspect ratios agree within this fraction
#: (4688 x 3088 on 4624 x 3056: 0.3 %; mass masks 0.87 times their image); otherwise skipped.
MASK_ASPECT_TOLERANCE = 0.01
_UID = re.compile(r"^[0-9]+(\.[0-9]+)+$")
_KIND_PREFIX = {"calcification": "calc", "mass": "mass"}


class SkipReason(StrEnum):
    """Why an abnormality cannot be scored on its mask."""

    IMAGE_MISSING = "full mammogram not in the download"
    IMAGE_UNREADABLE = "full mammogram unreadable"
    ROI_MISSING = "ROI files not in the download"
    NO_MASK = "no ROI file large enough to be the image's mask"
    MASK_ASPECT = "ROI mask of another aspect ratio than its image"


@dataclass(frozen=True)
class CaseFiles:
    """The files of one abnormality in a download.

    Attributes
    ----------
    image, mask, crop : Path or None
        The full mammogram, its ROI mask and the cropped ROI; None where not found.
    image_shape, mask_shape : tuple of 2 ints or None
        (rows, columns) from the headers.
    skip : SkipReason or None
        Why the abnormality cannot be scored on its mask (None when it can) ...
    detail : str or None
        ... and the particulars (files, sizes).
    swapped : bool or None
        Whether the CSV's ``ROI mask file path`` names the crop; None where the
        download's file names are not the CSV's (today's layout): unknown.
    """

    image: Path | None
    mask: Path | None
    crop: Path | None
    image_shape: tuple[int, int] | None = None
    mask_shape: tuple[int, int] | None = None
    skip: SkipReason | None = None
    detail: str | None = None
    swapped: bool | None = None

    @property
    def problem(self) -> str | None:
        """The skip reason with its particulars, or None."""
        return None if self.skip is None else f"{self.skip}" + (f" ({self.detail})" if self.detail else "")

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
        mask, by size (and content, where both were large).
    n_swapped : int or None
        Of those, where the CSV's ``ROI mask file path`` names the crop; None when
        unknown (today's layout renames the files ``1-1.dcm``, ``1-2.dcm``).
    n_masks_resized : int
        Masks of another size than their image (same aspect ratio), rescaled when read.
    skipped : tuple of (str, str)
        (abnormality and its CSV row, reason with particulars) for each one that cannot
        be scored on its mask.
    skipped_by_reason : tuple of (SkipReason, int)
        The skipped abnormalities counted by reason.
    spacing_mm : float
        Pixel spacing assumed for every image (mm).
    """

    n_rows: int
    n_images: int
    n_images_found: int
    n_masks_found: int
    n_told_apart: int
    n_swapped: int | None
    n_masks_resized: int
    skipped: tuple[tuple[str, str], ...]
    skipped_by_reason: tuple[tuple[SkipReason, int], ...]
    spacing_mm: float

    def summary(self) -> str:
        """A few lines for a person."""
        swapped = self.n_swapped if self.n_swapped is not None else (
            "unknown: the download renamed the files" if self.n_told_apart else "none found")
        lines = [
            f"{self.n_rows} abnormalities on {self.n_images} images; found {self.n_images_found} images and "
            f"{self.n_masks_found} ROI masks",
            f"crop and mask told apart for {self.n_told_apart} abnormalities (named the other way round in the "
            f"CSV: {swapped}); {self.n_masks_resized} masks of another size than their image, rescaled",
            f"pixel spacing {self.spacing_mm} mm (in no header: DDSM's scanners were 0.042, 0.0435 and 0.05 mm)",
        ]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: " + "; ".join(f"{n} {reason}"
                                                                     for reason, n in self.skipped_by_reason))
        return "\n".join(lines)


@dataclass(frozen=True)
class CbisDdsm:
    """A CBIS-DDSM download read with its case descriptions.

    Attributes
    ----------
    root : Path
    abnormalities : tuple of Abnormality
    files : Mapping
        (subject_id, abnormality_id) -> :class:`CaseFiles` (read-only).
    report : DownloadReport
    """

    root: Path
    abnormalities: tuple[Abnormality, ...]
    files: Mapping[tuple[str, int], CaseFiles]
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
        The case-description CSVs (downloaded from the collection's page, apart
        from the images); by default the ``calc_case_description*.csv`` (and, with
        masses, ``mass_case_description*.csv``) files in `root`.
    kinds : sequence of {"calcification", "mass"}
        The abnormality types kept.
    spacing_mm : float
        Pixel spacing assumed for every image (:data:`DEFAULT_SPACING_MM`, 0.05 mm).

    Returns
    -------
    CbisDdsm
        Every abnormality of the CSVs, found or not; the report says what was found,
        repaired and skipped, and why.

    Raises
    ------
    DatasetError
        When `root` is not a folder, no case-description CSV is given or found, a CSV
        cannot be read (see :func:`read_case_descriptions`), or two rows describe
        the same abnormality.
    ValueError
        When `kinds` or `spacing_mm` is not allowed.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; give the folder of a CBIS-DDSM download (the one holding "
                           f"metadata.csv)")
    if isinstance(spacing_mm, bool) or not (isinstance(spacing_mm, (int, float)) and spacing_mm > 0):
        raise ValueError(f"spacing_mm must be a positive number of mm; got {spacing_mm!r}")
    if isinstance(kinds, str) or not set(kinds) or not set(kinds) <= set(_KIND_PREFIX):
        raise ValueError(f"kinds must be a sequence of 'calcification' and / or 'mass'; got {kinds!r}")
    kinds = tuple(kinds)
    if case_descriptions is None:
        paths = sorted(p for kind in kinds for p in root.glob(f"{_KIND_PREFIX[kind]}_case_description*.csv"))
        if not paths:
            wanted = " or ".join(f"{_KIND_PREFIX[k]}_case_description*.csv" for k in kinds)
            raise DatasetError(f"{root}: holds no {wanted}; "
                               f"give case_descriptions= (the CSVs are downloaded from the collection's page)")
    else:
        paths = [Path(p) for p in case_descriptions]
    abnormalities = tuple(a for path in paths for a in read_case_descriptions(path) if a.abnormality_type in kinds)
    seen: dict[tuple[str, int], str] = {}
    for a in abnormalities:
        if a.key in seen:
            raise DatasetError(f"{a.source}: describes {a.roi_subject_id} again (first at {seen[a.key]}); "
                               f"give each case-description file once")
        seen[a.key] = a.source
    index = _SeriesIndex(root)
    files = {a.key: _case_files(a, index) for a in abnormalities}
    skipped = tuple((f"{a.roi_subject_id} ({a.source})", problem) for a in abnormalities
                    if (problem := files[a.key].problem) is not None)
    by_reason = Counter(files[a.key].skip for a in abnormalities if files[a.key].skip is not None)
    images = {a.subject_id: files[a.key].image for a in abnormalities}
    known_swaps = [f.swapped for f in files.values() if f.swapped is not None]
    report = DownloadReport(
        n_rows=len(abnormalities), n_images=len(images),
        n_images_found=sum(path is not None for path in images.values()),
        n_masks_found=sum(f.mask is not None for f in files.values()),
        n_told_apart=sum(f.mask is not None and f.crop is not None for f in files.values()),
        n_swapped=sum(known_swaps) if known_swaps else None,
        n_masks_resized=sum(f.mask_resized and f.skip is None for f in files.values()),
        skipped=skipped, skipped_by_reason=tuple((r, by_reason[r]) for r in SkipReason if by_reason[r]),
        spacing_mm=float(spacing_mm),
    )
    return CbisDdsm(root=root, abnormalities=abnormalities, files=MappingProxyType(files), report=report)


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
        The full image's shape: the mask's brighter value (MONOCHROME1 inverted); a
        mask of another size is rescaled (nearest neighbour) to it.

    Raises
    ------
    DatasetError
        When the abnormality was skipped (the reason), or the mask file cannot be
        read or is not two-valued (then it is no mask).
    """
    found = dataset.files.get(abnormality.key)
    if found is None:
        raise DatasetError(f"{abnormality.roi_subject_id}: not an abnormality of this download")
    if found.skip is not None:
        raise DatasetError(f"{abnormality.roi_subject_id} ({abnormality.source}): {found.problem}")
    assert found.mask is not None and found.image_shape is not None  # not skipped: image and mask found
    try:
        pixels = read_dicom_pixels(found.mask)
    except ImageReadError as exc:
        raise DatasetError(f"{found.mask}: the ROI mask of {abnormality.roi_subject_id} cannot be read "
                           f"({exc.reason})") from exc
    inside = _two_levels(pixels)
    if inside is None:
        n = len(np.unique(pixels))
        raise DatasetError(f"{found.mask}: the ROI mask of {abnormality.roi_subject_id} holds {n} grey "
                           f"level{'s' if n != 1 else ''}, not two; it is no mask")
    mask = pixels == inside
    if mask.shape != found.image_shape:
        rows, cols = found.image_shape
        mask = cv2.resize(mask.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST).astype(bool)
    return mask


class _SeriesIndex:
    """The files of each Series UID in a download, each checked against its own header.

    Where to look: the folders TCIA's ``metadata.csv`` files name (in `root`, its
    sub-folders or its parent; stale or foreign paths are tried from their ``CBIS-DDSM``
    part on, and passed over when still not found), folders named by a UID, and, for
    a UID found in neither, every DICOM header of the download (read once).
    """

    def __init__(self, root: Path):
        self.root = root
        self.folders: dict[str, Path] = {}
        self._headers: dict[Path, tuple[str | None, int, int] | None] = {}
        self._by_header: dict[str, list[Path]] | None = None
        for metadata in (root / "metadata.csv", *sorted(root.glob("*/metadata.csv")), root.parent / "metadata.csv"):
            if metadata.is_file():
                self._read_metadata(metadata)
        for folder in root.rglob("*"):
            if _UID.match(folder.name) and folder.name not in self.folders and folder.is_dir():
                self.folders[folder.name] = folder

    def header(self, path: Path) -> tuple[str | None, int, int] | None:
        """(Series UID, rows, columns) of a file, read once."""
        if path not in self._headers:
            self._headers[path] = peek_series(path)
        return self._headers[path]

    def shape(self, path: Path) -> tuple[int, int]:
        """(rows, columns) of a file :meth:`files` returned (so one with a readable header)."""
        header = self.header(path)
        assert header is not None  # files() returns only files whose header was read
        return header[1], header[2]

    def files(self, uid: str) -> list[Path]:
        """The readable DICOM files of series `uid`, by name."""
        found = [p for p in _dicom_files(self.folders.get(uid)) if self._belongs(p, uid)]
        if found:
            return found
        if self._by_header is None:
            self._by_header = {}
            for path in sorted(self.root.rglob("*.dcm")):
                header = None if path.name.startswith(".") else self.header(path)
                if header is not None and header[0]:
                    self._by_header.setdefault(header[0], []).append(path)
        return self._by_header.get(uid, [])

    def _belongs(self, path: Path, uid: str) -> bool:
        header = self.header(path)
        return header is not None and header[0] in (uid, None)  # a file without a Series UID is taken as placed

    def _read_metadata(self, path: Path) -> None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}: cannot be read as TCIA's metadata.csv ({exc})") from exc
        for row in rows:
            uid, location = (row.get("Series UID") or "").strip(), (row.get("File Location") or "").strip()
            if uid and location and uid not in self.folders:
                folder = _located(path.parent, location)
                if folder is not None:
                    self.folders[uid] = folder


def _located(base: Path, location: str) -> Path | None:
    """The folder a metadata.csv ``File Location`` names, relative to `base`; from its
    ``CBIS-DDSM`` part on when the path as written is not there (another machine's)."""
    parts = [p for p in location.replace("\\", "/").split("/") if p not in ("", ".")]
    tries = [parts]
    if "CBIS-DDSM" in parts:
        tries.append(parts[parts.index("CBIS-DDSM"):])
    for attempt in tries:
        if attempt and not attempt[0].endswith(":"):
            folder = base.joinpath(*attempt)
            if folder.is_dir():
                return folder
    return None


def _case_files(abnormality: Abnormality, index: _SeriesIndex) -> CaseFiles:
    """The abnormality's image, mask and crop (see the module docstring)."""
    images = index.files(abnormality.image_series_uid)
    if not images:
        return CaseFiles(None, None, None, skip=SkipReason.IMAGE_MISSING,
                         detail=f"series {abnormality.image_series_uid}")
    image = images[0]
    image_shape = index.shape(image)
    roi = list(dict.fromkeys(p for uid in abnormality.roi_series_uids for p in index.files(uid)))
    if not roi:
        return CaseFiles(image, None, None, image_shape, skip=SkipReason.ROI_MISSING,
                         detail=f"series {', '.join(abnormality.roi_series_uids)}")
    shapes = {path: index.shape(path) for path in roi}
    large = [p for p, shape in shapes.items()
             if all(n >= MASK_MIN_FRACTION * m for n, m in zip(shape, image_shape))]
    if len(large) > 1:
        large = [p for p in large if _two_valued(p)] or large
    if not large:
        sizes = ", ".join(f"{p.name} {r} x {c}" for p, (r, c) in shapes.items())
        return CaseFiles(image, None, roi[0], image_shape, skip=SkipReason.NO_MASK,
                         detail=f"image {image_shape[0]} x {image_shape[1]}; {sizes}")
    mask = min(large, key=lambda p: sum(abs(n - m) for n, m in zip(shapes[p], image_shape)))
    crops = [p for p in roi if p != mask]
    crop = crops[0] if crops else None
    named = mask.parent / abnormality.mask_file_name
    swapped = (mask.name != named.name) if crop is not None and named.is_file() else None
    mask_shape = shapes[mask]
    aspect = (mask_shape[0] / mask_shape[1]) / (image_shape[0] / image_shape[1])
    if abs(aspect - 1.0) > MASK_ASPECT_TOLERANCE:
        return CaseFiles(image, mask, crop, image_shape, mask_shape, SkipReason.MASK_ASPECT,
                         f"mask {mask_shape[0]} x {mask_shape[1]}, image {image_shape[0]} x {image_shape[1]}", swapped)
    return CaseFiles(image, mask, crop, image_shape, mask_shape, swapped=swapped)


def _dicom_files(folder: Path | None) -> list[Path]:
    """DICOM files of a folder by name (1-1.dcm before 1-2.dcm), without hidden ones (._1-1.dcm)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() == ".dcm" and not p.name.startswith(".") and p.is_file())


def _two_levels(pixels: np.ndarray):
    """The higher of a two-valued image's two values; None when it holds one value or more than two
    (a min / max pass and one comparison, not a sort of every pixel)."""
    lo, hi = pixels.min(), pixels.max()
    if lo == hi or not np.all((pixels == lo) | (pixels == hi)):
        return None
    return hi


def _two_valued(path: Path) -> bool:
    try:
        return _two_levels(read_dicom_pixels(path)) is not None
    except ImageReadError:
        return False
