"""Lesion-level truth of the public data sets: one region per annotated calcification cluster.

A detected cluster finds a truth lesion when its centre lies inside the lesion's region
grown by a margin in mm (the evaluation literature's rule: docs/birads.md). The regions:

- :class:`MaskRegion`, CBIS-DDSM's ROI masks (read when first needed);
- :class:`PolygonRegion`, INbreast's cluster outlines;
- :class:`CircleRegion`, mini-MIAS's centre and radius;
- :class:`WholeImage`, mini-MIAS's calcifications given no centre: found by any cluster
  on the image.

:func:`cbis_ddsm_lesions`, :func:`inbreast_lesions` and :func:`mini_mias_lesions` turn the
adapters' records into :class:`LesionImage` objects, the images to score, each with its
patient (bootstrap intervals resample patients) and its lesions' attributes (the
breakdowns).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import shapely

from calcdetect.datasets.cbis_ddsm import CbisDdsm, Split, read_roi_mask
from calcdetect.datasets.inbreast import Inbreast, RoiKind
from calcdetect.datasets.mini_mias import MiniMias


@dataclass(frozen=True)
class CircleRegion:
    """A circle: centre (row, col) and radius in pixels."""

    centre_rc: tuple[float, float]
    radius_px: float

    def distance_mm(self, points_rc: np.ndarray, spacing) -> np.ndarray:
        d = np.hypot((points_rc[:, 0] - self.centre_rc[0]) * spacing[0], (points_rc[:, 1] - self.centre_rc[1]) * spacing[1])
        return np.maximum(d - self.radius_px * min(spacing), 0.0)


@dataclass(frozen=True, eq=False)
class PolygonRegion:
    """A closed outline, (K, 2) points (row, col) in pixels; one or two points are a point or a segment."""

    points_rc: np.ndarray

    def distance_mm(self, points_rc: np.ndarray, spacing) -> np.ndarray:
        scale = np.asarray(spacing, float)
        vertices = np.asarray(self.points_rc, float) * scale
        if len(vertices) >= 3:
            outline = shapely.make_valid(shapely.Polygon(vertices))  # drawn outlines may cross themselves
        elif len(vertices) == 2:
            outline = shapely.LineString(vertices)
        else:
            outline = shapely.Point(vertices[0])
        return shapely.distance(outline, shapely.points(np.asarray(points_rc, float) * scale))


@dataclass(frozen=True, eq=False)
class MaskRegion:
    """A binary mask on the image, read by `load` when first needed ((rows, cols) bool)."""

    load: Callable[[], np.ndarray]
    _cache: dict = field(default_factory=dict, repr=False)

    def distance_mm(self, points_rc: np.ndarray, spacing) -> np.ndarray:
        if "mask" not in self._cache:
            self._cache["mask"] = np.asarray(self.load(), bool)
        mask = self._cache["mask"]
        out = np.full(len(points_rc), math.inf)
        if not mask.any() or len(points_rc) == 0:
            return out
        rows, cols = np.nonzero(mask)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        # Distance to the mask within its bounding box grown by 20 mm; farther points stay inf.
        pad_r, pad_c = (math.ceil(20.0 / s) for s in spacing)
        r0, c0 = max(r0 - pad_r, 0), max(c0 - pad_c, 0)
        r1, c1 = min(r1 + pad_r, mask.shape[0]), min(c1 + pad_c, mask.shape[1])
        crop = (~mask[r0:r1, c0:c1]).astype(np.uint8)
        distance = cv2.distanceTransform(crop, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * float(min(spacing))
        r = np.round(points_rc[:, 0]).astype(int) - r0
        c = np.round(points_rc[:, 1]).astype(int) - c0
        inside = (r >= 0) & (r < r1 - r0) & (c >= 0) & (c < c1 - c0)
        out[inside] = distance[r[inside], c[inside]]
        return out


@dataclass(frozen=True)
class WholeImage:
    """Calcifications spread over the image (no region given): any cluster finds them."""

    def distance_mm(self, points_rc: np.ndarray, spacing) -> np.ndarray:
        return np.zeros(len(points_rc))


@dataclass(frozen=True, eq=False)
class Lesion:
    """One truth lesion.

    Attributes
    ----------
    lesion_id : str
    region : CircleRegion, PolygonRegion, MaskRegion or WholeImage
    attributes : dict
        What the data set says of it (``pathology``, ``subtlety``, ``breast_density``,
        ``morphology``, ``distribution``, ``assessment``, ...), as text; the breakdowns.
    """

    lesion_id: str
    region: object
    attributes: dict


@dataclass(frozen=True, eq=False)
class LesionImage:
    """One image of a data set to score.

    Attributes
    ----------
    image_id : str
        Its path relative to the data set's root, with "/" (what ``calcdetect detect
        ROOT`` calls it).
    path : Path
    patient_id : str
    spacing : tuple of 2 floats
        (row_mm, col_mm).
    lesions : tuple of Lesion
        Empty for a normal image.
    split : str or None
    """

    image_id: str
    path: Path
    patient_id: str
    spacing: tuple[float, float]
    lesions: tuple[Lesion, ...]
    split: str | None = None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def cbis_ddsm_lesions(dataset: CbisDdsm, *, split: Split | str | None = None) -> tuple[LesionImage, ...]:
    """The images of a CBIS-DDSM download with their abnormalities' masks; skipped abnormalities
    (``dataset.report.skipped``) are left out, and images none of whose abnormalities is left."""
    split = Split(split) if split is not None else None
    by_image: dict[str, list] = {}
    for a in dataset.abnormalities:
        found = dataset.files[a.key]
        if found.skip is not None or (split is not None and a.split != split):
            continue
        attributes = {"pathology": str(a.pathology), "subtlety": _text(a.subtlety),
                      "breast_density": _text(a.breast_density), "assessment": _text(a.assessment),
                      "morphology": _text(a.morphology), "distribution": _text(a.distribution),
                      "calc_type": a.calc_type or "", "calc_distribution": a.calc_distribution or ""}
        lesion = Lesion(a.roi_subject_id, MaskRegion(lambda a=a: read_roi_mask(dataset, a)), attributes)
        by_image.setdefault(a.subject_id, []).append((a, found.image, lesion))
    return tuple(
        LesionImage(image_id=_relative(entries[0][1], dataset.root), path=entries[0][1], patient_id=entries[0][0].patient_id,
                    spacing=dataset.spacing, lesions=tuple(e[2] for e in entries), split=str(entries[0][0].split))
        for entries in by_image.values()
    )


def inbreast_lesions(inbreast: Inbreast) -> tuple[LesionImage, ...]:
    """INbreast's images with their cluster outlines as lesions (normal images too); patients
    from ``INbreast.csv`` (``inbreast.patients``), else each image its own patient."""
    out = []
    for image in inbreast.images:
        lesions = tuple(Lesion(f"{image.file_id}:{k}", PolygonRegion(roi.points_rc), {"name": roi.name})
                        for k, roi in enumerate(image.of_kind(RoiKind.CLUSTER)))
        out.append(LesionImage(image_id=_relative(image.dicom, inbreast.root), path=image.dicom,
                               patient_id=inbreast.patients.get(image.file_id, image.file_id),
                               spacing=(inbreast.spacing_mm, inbreast.spacing_mm), lesions=lesions))
    return tuple(out)


def mini_mias_lesions(mias: MiniMias) -> tuple[LesionImage, ...]:
    """mini-MIAS's images (each its own patient) with their calcification circles; normal
    images and those with other abnormalities only count toward false positives."""
    out = []
    for image_id, path in mias.images.items():
        if path is None or mias.shapes[image_id] is None:
            continue
        rows = mias.shapes[image_id][0]
        lesions = tuple(
            Lesion(f"{image_id}:{line.line}",
                   WholeImage() if line.widespread else CircleRegion(line.centre_rc(rows), line.radius_px),
                   {"severity": _text(line.severity), "tissue": str(line.tissue)})
            for line in mias.calcifications() if line.image_id == image_id)
        out.append(LesionImage(image_id=_relative(path, mias.root), path=path, patient_id=image_id,
                               spacing=(mias.spacing_mm, mias.spacing_mm), lesions=lesions))
    return tuple(out)


def _text(value) -> str:
    return "" if value is None else str(value)
