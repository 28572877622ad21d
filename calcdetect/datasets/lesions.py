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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy import ndimage as ndi

from calcdetect.datasets.cbis_ddsm import CbisDdsm, Split, read_roi_mask
from calcdetect.datasets.inbreast import Inbreast, RoiKind
from calcdetect.datasets.mini_mias import MiasClass, MiniMias


@dataclass(frozen=True)
class CircleRegion:
    """A circle: centre (row, col) and radius in pixels."""

    centre_rc: tuple[float, float]
    radius_px: float

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        """Distance (mm) of (P, 2) points (row, col) from the circle (0 inside); a radius in
        pixels is taken at the geometric mean of the two spacings."""
        d = np.hypot((points_rc[:, 0] - self.centre_rc[0]) * spacing[0], (points_rc[:, 1] - self.centre_rc[1]) * spacing[1])
        return np.maximum(d - self.radius_px * math.sqrt(spacing[0] * spacing[1]), 0.0)


@dataclass(frozen=True, eq=False)
class PolygonRegion:
    """A closed outline, (K, 2) points (row, col) in pixels; one or two points are a point or a segment."""

    points_rc: np.ndarray

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        """Distance (mm) of (P, 2) points (row, col) from the outline (0 inside)."""
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
    """A binary mask on the image, read by `load` ((rows, cols) bool) each time it is measured
    (once per scoring: a data set's masks are not all held in memory)."""

    load: Callable[[], np.ndarray]

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        """Distance (mm) of (P, 2) points (row, col) from the mask (0 inside), measured out to
        `reach_mm` beyond the mask's bounding box (inf farther)."""
        out = np.full(len(points_rc), math.inf)
        if len(points_rc) == 0:
            return out  # no cluster on the image: the mask need not be read
        mask = np.asarray(self.load(), bool)
        if not mask.any():
            return out
        rows, cols = np.nonzero(mask)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        pad_r, pad_c = (math.ceil(max(reach_mm, 1.0) / s) + 1 for s in spacing)
        r0, c0 = max(r0 - pad_r, 0), max(c0 - pad_c, 0)
        r1, c1 = min(r1 + pad_r, mask.shape[0]), min(c1 + pad_c, mask.shape[1])
        distance = ndi.distance_transform_edt(~mask[r0:r1, c0:c1], sampling=spacing)
        r = np.round(points_rc[:, 0]).astype(int) - r0
        c = np.round(points_rc[:, 1]).astype(int) - c0
        inside = (r >= 0) & (r < r1 - r0) & (c >= 0) & (c < c1 - c0)
        out[inside] = distance[r[inside], c[inside]]
        return out


@dataclass(frozen=True)
class WholeImage:
    """Calcifications spread over the image (no region given): any cluster finds them."""

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
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
    shape : tuple of 2 ints or None
        (rows, cols) of the image the regions are drawn on.
    ignored : tuple of regions
        Annotated findings that are no lesion to score (single calcifications, masses): a
        cluster on one is neither found nor a false positive.
    excluded : str or None
        Why the image is left out of scoring (part of its truth could not be used), or None.
    calcifications : (K, 2) ndarray or None
        Each marked calcification (row, col) in pixels, where the data set marks them one by
        one (INbreast); None where it does not.
    """

    image_id: str
    path: Path
    patient_id: str
    spacing: tuple[float, float]
    lesions: tuple[Lesion, ...]
    split: str | None = None
    shape: tuple[int, int] | None = None
    ignored: tuple = ()
    excluded: str | None = None
    calcifications: np.ndarray | None = None


def _relative(path: Path, root: Path) -> str:
    """The image id ``calcdetect detect ROOT`` gives `path` (:func:`calcdetect.batch.image_id_for`)."""
    from calcdetect.batch import image_id_for

    return image_id_for(path, root)


def cbis_ddsm_lesions(dataset: CbisDdsm, *, split: Split | str | None = None) -> tuple[LesionImage, ...]:
    """The images of a CBIS-DDSM download with their abnormalities' masks. An image one of whose
    abnormalities was skipped (``dataset.report.skipped``) is excluded from scoring, with the
    reason: a cluster on the skipped one would count as a false positive."""
    split = Split(split) if split is not None else None
    by_image: dict[str, list] = {}
    unusable: dict[str, str] = {}
    for a in dataset.abnormalities:
        found = dataset.files[a.key]
        if split is not None and a.split != split:
            continue
        if found.skip is not None:
            if found.image is not None:
                unusable.setdefault(a.subject_id, f"{a.roi_subject_id}: {found.problem}")
            continue
        attributes = {"pathology": str(a.pathology), "subtlety": _text(a.subtlety),
                      "breast_density": _text(a.breast_density), "assessment": _text(a.assessment),
                      "morphology": _text(a.morphology), "distribution": _text(a.distribution),
                      "calc_type": a.calc_type or "", "calc_distribution": a.calc_distribution or ""}
        lesion = Lesion(a.roi_subject_id, MaskRegion(lambda a=a: read_roi_mask(dataset, a)), attributes)
        by_image.setdefault(a.subject_id, []).append((a, found.image, lesion))
    return tuple(
        LesionImage(image_id=_relative(entries[0][1], dataset.root), path=entries[0][1],
                    patient_id=entries[0][0].patient_id, spacing=dataset.spacing, lesions=tuple(e[2] for e in entries),
                    split=str(entries[0][0].split), shape=dataset.files[entries[0][0].key].image_shape,
                    excluded=unusable.get(subject))
        for subject, entries in by_image.items()
    )


#: Calcifications that make a cluster (the CAD convention: docs/birads.md).
MIN_CALCIFICATIONS = 3


def inbreast_lesions(inbreast: Inbreast) -> tuple[LesionImage, ...]:
    """INbreast's images with their clusters as lesions (normal images too).

    A lesion is an outlined cluster, or a group of individually marked calcifications
    outside every outline that the CAD convention calls a cluster (at least
    :data:`MIN_CALCIFICATIONS` within a disk of 1 cm^2, :func:`calcdetect.cluster.density.cluster_labels`),
    drawn as their convex hull. Calcifications in no group and masses are *ignored*
    regions: a cluster on one is neither found nor a false positive. Patients from
    ``INbreast.csv`` (``inbreast.patients``), else the file name's patient field.
    """
    from calcdetect.cluster.density import cluster_labels

    spacing = (inbreast.spacing_mm, inbreast.spacing_mm)
    out = []
    for image in inbreast.images:
        outlines = [PolygonRegion(roi.points_rc) for roi in image.of_kind(RoiKind.CLUSTER)]
        points = np.array([roi.centre_rc for roi in image.of_kind(RoiKind.CALCIFICATION)]).reshape(-1, 2)
        inside = [o.distance_mm(points, spacing) == 0 for o in outlines]  # one outline, all points at once
        loose = ~np.any(inside, axis=0) if inside else np.ones(len(points), bool)
        groups = cluster_labels(points[loose, 0], points[loose, 1], spacing=spacing,
                                min_specks=MIN_CALCIFICATIONS) if loose.any() else np.zeros(0, int)
        hulls = [PolygonRegion(_hull(points[loose][groups == g])) for g in range(int(groups.max(initial=-1)) + 1)]
        lesions = tuple(Lesion(f"{image.file_id}:{k}", region, {"source": source})
                        for k, (region, source) in enumerate([*((o, "outline") for o in outlines),
                                                              *((h, "marked calcifications") for h in hulls)]))
        ignored = (*(PolygonRegion(p[None]) for p in points[loose][groups < 0]),
                   *(PolygonRegion(roi.points_rc) for roi in image.of_kind(RoiKind.MASS)))
        out.append(LesionImage(image_id=_relative(image.dicom, inbreast.root), path=image.dicom,
                               patient_id=inbreast.patients.get(image.file_id, image.patient_id or image.file_id),
                               spacing=spacing, lesions=lesions, shape=image.shape, ignored=ignored,
                               calcifications=points))
    return tuple(out)


def _hull(points_rc: np.ndarray) -> np.ndarray:
    """Vertices (row, col) of the convex hull of (K, 2) points (the points themselves when fewer than 3
    or collinear)."""
    hull = shapely.convex_hull(shapely.multipoints(points_rc))
    coords = np.asarray(hull.exterior.coords if hull.geom_type == "Polygon" else hull.coords, float)
    return coords[:-1] if hull.geom_type == "Polygon" else coords


def mini_mias_lesions(mias: MiniMias) -> tuple[LesionImage, ...]:
    """mini-MIAS's images with their calcification circles; normal images count toward false
    positives, and other abnormalities are ignored regions. An image with a calcification
    line that cannot be used (its centre outside the image) is excluded, with the reason.
    Patients: the films come in pairs, left and right of one patient."""
    unusable = {r.image_id for r in mias.rows if r.line in mias.unusable_lines}
    out = []
    for image_id, path in mias.images.items():
        if path is None or mias.shapes[image_id] is None:
            continue
        rows = mias.shapes[image_id][0]
        own = [r for r in mias.rows if r.image_id == image_id]
        lesions = tuple(
            Lesion(f"{image_id}:{line.line}",
                   WholeImage() if line.widespread else CircleRegion(line.centre_rc(rows), line.radius_px),
                   {"severity": _text(line.severity), "tissue": str(line.tissue)})
            for line in mias.calcifications() if line.image_id == image_id)
        ignored = tuple(WholeImage() if r.x is None else CircleRegion(r.centre_rc(rows), r.radius_px)
                        for r in own if r.kind not in (MiasClass.CALCIFICATION, MiasClass.NORMAL))
        out.append(LesionImage(image_id=_relative(path, mias.root), path=path, patient_id=own[0].patient_id,
                               spacing=(mias.spacing_mm, mias.spacing_mm), lesions=lesions,
                               shape=mias.shapes[image_id], ignored=ignored,
                               excluded="a calcification line's centre lies outside the image"
                               if image_id in unusable else None))
    return tuple(out)


def _text(value) -> str:
    return "" if value is None else str(value)
