"""Truth given as regions: the lesions of the public data sets, one region per annotated finding.

A detected cluster finds a truth lesion when its centre lies inside the lesion's region
grown by a margin in mm (the evaluation literature's rule: docs/birads.md). The regions:

- :class:`MaskRegion`, a binary mask (CBIS-DDSM's ROI masks, read when first needed);
- :class:`PolygonRegion`, an outline (INbreast's cluster outlines; the hull of a marked
  group of calcifications);
- :class:`CircleRegion`, a centre and radius (mini-MIAS);
- :class:`WholeImage`, calcifications given no place (mini-MIAS): found by any cluster on
  the image.

The adapters of :mod:`calcdetect.datasets` make :class:`LesionImage` objects, the images
to score, each with its patient (bootstrap intervals resample patients) and its lesions'
attributes (the breakdowns); :func:`calcdetect.truth.lesions_from_truth` makes them from a
``truth.json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy import ndimage as ndi


@dataclass(frozen=True)
class CircleRegion:
    """A circle: centre (row, col) and radius in pixels."""

    centre_rc: tuple[float, float]
    radius_px: float

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        """Distance (mm) of (P, 2) points (row, col) from the circle (0 inside); a radius in
        pixels is taken at the geometric mean of the two spacings."""
        d = np.hypot((points_rc[:, 0] - self.centre_rc[0]) * spacing[0],
                     (points_rc[:, 1] - self.centre_rc[1]) * spacing[1])
        return np.maximum(d - self.radius_px * math.sqrt(spacing[0] * spacing[1]), 0.0)

    def centroid_rc(self) -> tuple[float, float]:
        """The centre (row, col), px."""
        return (float(self.centre_rc[0]), float(self.centre_rc[1]))


@dataclass(frozen=True, eq=False)
class PolygonRegion:
    """A closed outline, (K, 2) points (row, col) in pixels; one or two points are a point or a segment."""

    points_rc: np.ndarray

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        """Distance (mm) of (P, 2) points (row, col) from the outline (0 inside)."""
        return shapely.distance(self._shape_mm(spacing), shapely.points(np.asarray(points_rc, float) * spacing))

    def centroid_rc(self) -> tuple[float, float]:
        """The centroid (row, col) of the outlined area (of the point or segment), px."""
        centroid = self._shape_mm((1.0, 1.0)).centroid
        return (float(centroid.x), float(centroid.y))

    def _shape_mm(self, spacing):
        vertices = np.asarray(self.points_rc, float) * np.asarray(spacing, float)
        if len(vertices) >= 3:
            return shapely.make_valid(shapely.Polygon(vertices))  # drawn outlines may cross themselves
        if len(vertices) == 2:
            return shapely.LineString(vertices)
        return shapely.Point(vertices[0])


@dataclass(frozen=True, eq=False)
class MaskRegion:
    """A binary mask on the image, read by `load` ((rows, cols) bool) each time it is measured
    (a data set's masks are not all held in memory): once per scoring, twice where the
    lesion overlaps another (:meth:`centroid_rc`)."""

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

    def centroid_rc(self) -> tuple[float, float] | None:
        """The centroid (row, col) of the mask, px (reads it); None for an empty mask."""
        rows, cols = np.nonzero(np.asarray(self.load(), bool))
        return (float(rows.mean()), float(cols.mean())) if rows.size else None


@dataclass(frozen=True)
class WholeImage:
    """Calcifications spread over the image (no region given): any cluster finds them."""

    def distance_mm(self, points_rc: np.ndarray, spacing, *, reach_mm: float = 20.0) -> np.ndarray:
        return np.zeros(len(points_rc))

    def centroid_rc(self) -> None:
        """None: the calcifications have no place."""
        return None


#: A lesion's region (or an ignored finding's).
Region = CircleRegion | PolygonRegion | MaskRegion | WholeImage


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
    region: Region
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
    ignored: tuple[Region, ...] = ()
    excluded: str | None = None
    calcifications: np.ndarray | None = None


def lesions_from_truth(truth, *, min_calcifications: int = 3) -> tuple[LesionImage, ...]:
    """A ``truth.json``'s clusters as lesions, for the lesion-level scoring of the public data sets.

    Each cluster of at least `min_calcifications` members is a lesion whose region is the
    convex hull of its members' centroids (:class:`PolygonRegion`; the rule of
    :func:`calcdetect.evaluate.evaluate`, so both score a run alike); smaller groups are
    ignored regions, as :func:`~calcdetect.evaluate.evaluate` neither counts them nor calls
    a detection on them false. Each image is its own patient.

    Parameters
    ----------
    truth : Truth
        As :func:`calcdetect.truth.read_truth` returns it.
    min_calcifications : int
        The least cluster (the CAD convention: 3).

    Returns
    -------
    tuple of LesionImage
        One per image, in the truth's order; ``attributes`` hold the cluster's
        ``category``, ``morphology``, ``distribution`` and ``cnr`` as text.
    """
    from calcdetect.geometry import convex_hull

    folder = Path(truth.path).parent if truth.path else Path()
    out = []
    for image in truth.images:
        lesions, ignored = [], []
        for cluster in image.clusters:
            region = PolygonRegion(convex_hull(cluster.member_centroids()))
            if len(cluster.calcifications) < min_calcifications:
                ignored.append(region)
                continue
            attributes = {"category": cluster.category, "morphology": cluster.morphology,
                          "distribution": cluster.distribution, "cnr": cluster.cnr}
            lesions.append(Lesion(f"{image.image_id}:{cluster.cluster_id}", region,
                                  {k: str(v) for k, v in attributes.items() if v is not None}))
        out.append(LesionImage(
            image_id=image.image_id, path=folder / image.image_id, patient_id=image.image_id,
            spacing=tuple(image.spacing_mm), lesions=tuple(lesions),
            shape=(image.rows, image.columns) if image.rows and image.columns else None, ignored=tuple(ignored)))
    return tuple(out)
