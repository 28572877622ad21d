"""Ground truth of calcifications marked one by one: calcifications, clusters, artefacts, images.

:mod:`calcdetect.synth` makes these as it plants calcifications, :mod:`calcdetect.truth.file`
reads and writes them as ``truth.json`` (``docs/truth-format.md``), and
:mod:`calcdetect.evaluate` scores a run against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from calcdetect.lexicon import Category, Distribution, Morphology

#: The ``format_version`` of ``truth.json`` this calcdetect writes and reads.
FORMAT_VERSION = 1


class ArtefactKind(StrEnum):
    """Kinds of artefact a truth lists (``truth.json``: ``artefacts[].kind``)."""

    DUST = "dust"
    HOT_PIXEL = "hot_pixel"
    FIBER = "fiber"
    LABEL = "label"
    FILM_BORDER = "film_border"
    MARKER = "marker"


@dataclass(frozen=True)
class Artefact:
    """One artefact: not a calcification, so a detection on it is a false positive.

    Attributes
    ----------
    kind : ArtefactKind
    row, col : float
        Position, px: the centroid of a dust speck or hot pixel, a pixel on the
        middle of a fibre, the centre of a label's text box, of a border
        strip or of a skin marker.
    """

    kind: ArtefactKind
    row: float
    col: float


@dataclass(frozen=True)
class TruthCalcification:
    """One marked (or planted) calcification.

    Attributes
    ----------
    row, col : float
        Centroid, px (of the rendered projected thickness, for a planted one).
    diameter_mm : float or None
        Equivalent-circle diameter of the projected area.
    length_mm, width_mm : float or None
        Major and minor axes of the ellipse with the same second moments as the
        projected area (as ``skimage.measure.regionprops`` axis lengths).
    contrast : float or None
        Peak added value after the detector blur, in stored pixel units.
    """

    row: float
    col: float
    diameter_mm: float | None = None
    length_mm: float | None = None
    width_mm: float | None = None
    contrast: float | None = None


@dataclass(frozen=True)
class TruthCluster:
    """One cluster of calcifications (suspicious or benign).

    Attributes
    ----------
    cluster_id : int
        Id of the cluster within its image.
    category : Category
        Suspicious or benign.
    distribution : Distribution or None
        None for benign calcifications judged one by one (a popcorn, a few secretory rods).
    morphology : Morphology or None
    extent_mm : float or None
        Greatest distance between member centroids plus mean member diameter.
    cnr : float or None
        Median over members of peak contrast / local noise standard deviation.
    row, col : float
        Mean of member centroids, px.
    calcifications : tuple of TruthCalcification
        The members.
    """

    cluster_id: int
    category: Category
    distribution: Distribution | None
    morphology: Morphology | None
    extent_mm: float | None
    cnr: float | None
    row: float
    col: float
    calcifications: tuple[TruthCalcification, ...] = ()

    def member_centroids(self) -> np.ndarray:
        """(K, 2) centroids (row, col) of the members, px; the cluster's own (row, col) when it
        lists none (K = 1): the points whose convex hull is the cluster's region."""
        if not self.calcifications:
            return np.array([[self.row, self.col]], float)
        return np.array([(c.row, c.col) for c in self.calcifications], float)


@dataclass(frozen=True)
class TruthImage:
    """Ground truth of one image.

    Attributes
    ----------
    image_id : str
        File name relative to the set folder (detect's ``image_id``).
    spacing_mm : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    rows, columns : int or None
        Image size in pixels.
    laterality, view : str or None
    density : str or None
        Breast density (``fatty``, ``scattered``, ``heterogeneous``, ``dense``: BI-RADS a-d), where recorded.
    nipple : tuple of 2 floats or None
        (row, col) of the nipple on the skin line, px.
    chest_wall : {"left", "right"} or None
        Image side of the chest wall.
    source : str or None
        ``"ffdm"`` or ``"film"``, where recorded (wide-domain sets).
    acquisition : mapping or None
        How the image was acquired, processed and stored, as recorded
        (:class:`calcdetect.synth.Acquisition` as a dict). Not compared: two truths of one
        image are equal whatever their records of the acquisition.
    clusters : tuple of TruthCluster
        Empty for a normal image.
    isolated : tuple of TruthCalcification
        Isolated benign specks, not part of any cluster.
    artefacts : tuple of Artefact or None
        Dust, hot pixels, fibres, labels, film borders and skin markers; None where
        the truth does not list them (classic synthetic sets).
    """

    image_id: str
    spacing_mm: tuple[float, float]
    rows: int | None = None
    columns: int | None = None
    laterality: str | None = None
    view: str | None = None
    density: str | None = None
    nipple: tuple[float, float] | None = None
    chest_wall: str | None = None
    source: str | None = None
    acquisition: Mapping | None = field(default=None, compare=False)
    clusters: tuple[TruthCluster, ...] = ()
    isolated: tuple[TruthCalcification, ...] = ()
    artefacts: tuple[Artefact, ...] | None = None

    @property
    def is_normal(self) -> bool:
        """True when the image holds no cluster."""
        return not self.clusters


@dataclass(frozen=True)
class Truth:
    """A ground-truth set (the contents of a ``truth.json``).

    Attributes
    ----------
    images : tuple of TruthImage
    path : str or None
        The file it was read from (not compared: a truth equals its copy).
    format_version : int
    seed : int or None
        The generator's seed, where recorded.
    generator : str or None
        What made the set (``"calcdetect.synth"``).
    calcdetect_version : str or None
        The calcdetect that made it.
    settings : mapping or None
        The generator's settings, as recorded (not compared, like `path`).
    """

    images: tuple[TruthImage, ...]
    path: str | None = field(default=None, compare=False)
    format_version: int = FORMAT_VERSION
    seed: int | None = None
    generator: str | None = None
    calcdetect_version: str | None = None
    settings: Mapping | None = field(default=None, compare=False)
