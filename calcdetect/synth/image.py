"""A synthetic mammogram and its ground truth (results of :func:`~calcdetect.synth.synthesize`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from calcdetect.lexicon import Category, Distribution, Morphology
from calcdetect.synth.settings import Density, Domain


class Source(StrEnum):
    """Where a synthetic image comes from: full-field digital or digitised film."""

    FFDM = "ffdm"
    FILM = "film"


class ArtefactKind(StrEnum):
    """Kinds of artefact of the wide domain (``truth.json``: ``artefacts[].kind``)."""

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


@dataclass(frozen=True, kw_only=True)
class Acquisition:
    """How a wide-domain image was acquired, processed and stored (drawn per image).

    Attributes
    ----------
    source : Source
        ``"ffdm"`` (digital) or ``"film"`` (screen-film, digitised).
    blur_px : float
        Gaussian sigma of the detector (digital) or screen (film) blur, px.
    film_gamma : float or None
        Greatest slope of the film's characteristic (H&D) curve, optical
        density per decade of exposure (film only, as the other ``film_``
        attributes).
    film_base_fog : float or None
        Optical density of unexposed film (the toe's floor).
    film_d_max : float or None
        Optical density the curve saturates to (the shoulder's ceiling).
    film_asymmetry : float or None
        Richards exponent of the curve (1 = symmetric logistic; below 1 a
        longer toe, above 1 a longer shoulder).
    film_scan_d_max : float or None
        Optical density that the digitiser stores as 0 (it stores values
        linear in optical density, 0 to this).
    film_grain : float or None
        RMS film grain (optical density) at mid-curve; larger in the toe.
    banding : {"rows", "cols"} or None
        Direction of the digitiser's stripes.
    equalisation : float or None
        Strength of the peripheral (thickness) equalisation of a processed
        digital image; 1 flattens fat up to the skin line, more makes a
        bright band along it. None: not applied.
    unsharp_radius_mm, unsharp_amount : float or None
        Unsharp masking: Gaussian sigma of the low-pass (mm) and the gain of
        the detail added back. None: not applied.
    clip_fraction : float
        Fraction of the breast's grey levels (the brightest) clipped flat by
        the export window; 0: none.
    export_bits : int
        Bits of the stored values (8 for 8-bit exports).
    export_gamma : float
        Exponent of the export window's tone curve (1: linear).
    """

    source: Source
    blur_px: float
    film_gamma: float | None = None
    film_base_fog: float | None = None
    film_d_max: float | None = None
    film_asymmetry: float | None = None
    film_scan_d_max: float | None = None
    film_grain: float | None = None
    banding: str | None = None
    equalisation: float | None = None
    unsharp_radius_mm: float | None = None
    unsharp_amount: float | None = None
    clip_fraction: float = 0.0
    export_bits: int = 14
    export_gamma: float = 1.0

    @property
    def processed(self) -> bool:
        """True for a digital image with display processing (equalisation, unsharp masking, a window)."""
        return self.source == Source.FFDM and (
            self.equalisation is not None
            or self.unsharp_amount is not None
            or self.clip_fraction > 0
            or self.export_bits == 8
        )

    def to_dict(self) -> dict:
        """Return the record as JSON-ready values (floats rounded to 4 decimals)."""
        out = {}
        for k, v in dataclasses.asdict(self).items():
            out[k] = round(v, 4) if isinstance(v, float) else (str(v) if isinstance(v, StrEnum) else v)
        return out


@dataclass(frozen=True)
class Calcification:
    """One planted calcification as rendered.

    Attributes
    ----------
    row, col : float
        Centroid of the rendered (antialiased) projected thickness, px.
    diameter_mm : float
        Equivalent-circle diameter of the projected area.
    length_mm, width_mm : float
        Major and minor axes of the ellipse with the same second moments as the
        projected area (as ``skimage.measure.regionprops`` axis lengths).
    contrast : float
        Peak added value after the detector blur, in stored pixel units.
    """

    row: float
    col: float
    diameter_mm: float
    length_mm: float
    width_mm: float
    contrast: float


@dataclass(frozen=True)
class Cluster:
    """One planted cluster (suspicious or benign).

    Attributes
    ----------
    cluster_id : int
    category : Category
    distribution : Distribution
    morphology : Morphology
    extent_mm : float
        Greatest distance between member centroids plus mean member diameter.
    cnr : float
        Median over members of peak contrast / local noise sigma.
    row, col : float
        Mean of member centroids, px.
    calcifications : tuple of Calcification
    """

    cluster_id: int
    category: Category
    distribution: Distribution
    morphology: Morphology
    extent_mm: float
    cnr: float
    row: float
    col: float
    calcifications: tuple[Calcification, ...]


@dataclass(frozen=True, eq=False)
class SynthImage:
    """A synthetic mammogram and its ground truth.

    Attributes
    ----------
    pixels : (M, N) ndarray of uint16
        Stored values (MONOCHROME2: calcium bright), all below ``2**bits_stored``.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    laterality : {"L", "R"}
    view : {"CC", "MLO"}
    density : Density
    nipple : tuple of 2 floats
        (row, col) of the nipple on the skin line, px.
    chest_wall : {"left", "right"}
        Image side of the chest wall.
    clusters : tuple of Cluster
    isolated : tuple of Calcification
        Isolated benign specks (not a cluster).
    bits_stored : int
    breast_mask : (M, N) ndarray of bool
        Inside the skin line.
    pectoral_mask : (M, N) ndarray of bool or None
        Pectoral muscle (MLO only).
    domain : Domain
        The domain the image was drawn from.
    acquisition : Acquisition or None
        The drawn source, processing and storage (wide domain only).
    artefacts : tuple of Artefact
        Dust, hot pixels, fibres, labels, film borders, skin markers (wide
        domain only; empty in the classic domain).
    """

    pixels: np.ndarray
    spacing: tuple[float, float]
    laterality: str
    view: str
    density: Density
    nipple: tuple[float, float]
    chest_wall: str
    clusters: tuple[Cluster, ...]
    isolated: tuple[Calcification, ...]
    bits_stored: int
    breast_mask: np.ndarray
    pectoral_mask: np.ndarray | None = None
    domain: Domain = Domain.CLASSIC
    acquisition: Acquisition | None = None
    artefacts: tuple[Artefact, ...] = ()

    @property
    def is_normal(self) -> bool:
        """True when the image holds no cluster."""
        return not self.clusters

    @property
    def source(self) -> Source:
        """``"ffdm"`` or ``"film"`` (always ``"ffdm"`` in the classic domain)."""
        return Source.FFDM if self.acquisition is None else self.acquisition.source
