"""A synthetic mammogram and its ground truth (results of :func:`~calcdetect.synth.synthesize`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from calcdetect.synth.settings import Density, Domain
from calcdetect.truth import Artefact, TruthCalcification, TruthCluster, TruthImage


class Source(StrEnum):
    """Where a synthetic image comes from: full-field digital or digitised film."""

    FFDM = "ffdm"
    FILM = "film"


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
    clusters : tuple of TruthCluster
    isolated : tuple of TruthCalcification
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
    clusters: tuple[TruthCluster, ...]
    isolated: tuple[TruthCalcification, ...]
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

    def to_truth(self, image_id: str) -> TruthImage:
        """The image's ground truth, as ``truth.json`` records it under `image_id`.

        Classic-domain images record no source, acquisition or artefacts (their
        entries are as before the wide domain existed).
        """
        wide = self.domain != Domain.CLASSIC
        rows, columns = self.pixels.shape
        return TruthImage(
            image_id=image_id,
            spacing_mm=(float(self.spacing[0]), float(self.spacing[1])),
            rows=int(rows),
            columns=int(columns),
            laterality=self.laterality,
            view=self.view,
            density=str(self.density),
            nipple=(float(self.nipple[0]), float(self.nipple[1])),
            chest_wall=self.chest_wall,
            source=str(self.source) if wide else None,
            acquisition=self.acquisition.to_dict() if wide and self.acquisition is not None else None,
            clusters=self.clusters,
            isolated=self.isolated,
            artefacts=self.artefacts if wide else None,
        )
