"""The public data sets' truth as lesions: each adapter's records turned into
:class:`~calcdetect.truth.LesionImage` objects (regions: :mod:`calcdetect.truth.regions`).

:func:`cbis_ddsm_lesions` (ROI masks), :func:`inbreast_lesions` (cluster outlines and groups
of marked calcifications) and :func:`mini_mias_lesions` (circles, or the whole image) give
the images to score, each with its patient (bootstrap intervals resample patients) and its
lesions' attributes (the breakdowns).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np

from calcdetect.datasets.cbis_ddsm import CbisDdsm, Split, read_roi_mask
from calcdetect.datasets.inbreast import Inbreast, InbreastCase, RoiKind
from calcdetect.datasets.mini_mias import MiasClass, MiniMias
from calcdetect.geometry import convex_hull
from calcdetect.truth.regions import (
    CircleRegion,
    Lesion,
    LesionImage,
    MaskRegion,
    PolygonRegion,
    WholeImage,
)


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
        lesion = Lesion(a.roi_subject_id, MaskRegion(partial(read_roi_mask, dataset, a)), attributes)
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
    ``INbreast.csv`` (``inbreast.cases``) where it gives them, else the file name's patient
    field; the table's ACR density and BI-RADS assessment (the image's, so each of its
    lesions') become the lesions' ``breast_density`` and ``assessment`` (4a-4c as 4).
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
        hulls = [PolygonRegion(convex_hull(points[loose][groups == g])) for g in range(int(groups.max(initial=-1)) + 1)]
        case = inbreast.cases.get(image.file_id, InbreastCase())
        category = re.search(r"[0-6]", case.assessment or "")  # "4a" -> "4": the data sets' scale
        described = {"breast_density": case.breast_density, "assessment": category and category.group()}
        lesions = tuple(Lesion(f"{image.file_id}:{k}", region,
                               {"source": source, **{name: value for name, value in described.items() if value}})
                        for k, (region, source) in enumerate([*((o, "outline") for o in outlines),
                                                              *((h, "marked calcifications") for h in hulls)]))
        ignored = (*(PolygonRegion(p[None]) for p in points[loose][groups < 0]),
                   *(PolygonRegion(roi.points_rc) for roi in image.of_kind(RoiKind.MASS)))
        out.append(LesionImage(image_id=_relative(image.dicom, inbreast.root), path=image.dicom,
                               patient_id=case.patient_id or image.patient_id or image.file_id,
                               spacing=spacing, lesions=lesions, shape=image.shape, ignored=ignored,
                               calcifications=points))
    return tuple(out)


def mini_mias_lesions(mias: MiniMias) -> tuple[LesionImage, ...]:
    """mini-MIAS's images with their calcification circles; normal images count toward false
    positives, and other abnormalities are ignored regions. An image with a calcification
    line that cannot be used (its centre outside the image) is excluded, with the reason.
    Patients: the films come in pairs, left and right of one patient."""
    unusable = {r.image_id for r in mias.rows if r.line in mias.unusable_lines}
    out = []
    for image_id, path in mias.images.items():
        shape = mias.shapes[image_id]
        if path is None or shape is None:
            continue
        rows = shape[0]
        own = [r for r in mias.rows if r.image_id == image_id]
        lesions = tuple(Lesion(f"{image_id}:{line.line}", _mias_region(line, rows),
                               {"severity": _text(line.severity), "tissue": str(line.tissue)})
                        for line in mias.calcifications() if line.image_id == image_id)
        ignored = tuple(_mias_region(r, rows) for r in own if r.kind not in (MiasClass.CALCIFICATION, MiasClass.NORMAL))
        out.append(LesionImage(image_id=_relative(path, mias.root), path=path, patient_id=own[0].patient_id,
                               spacing=(mias.spacing_mm, mias.spacing_mm), lesions=lesions,
                               shape=mias.shapes[image_id], ignored=ignored,
                               excluded="a calcification line's centre lies outside the image"
                               if image_id in unusable else None))
    return tuple(out)


def _mias_region(line, rows: int):
    """A mini-MIAS abnormality's region: its circle, or the whole image when it has no centre."""
    return WholeImage() if line.widespread else CircleRegion(line.centre_rc(rows), line.radius_px)


def _text(value) -> str:
    return "" if value is None else str(value)
