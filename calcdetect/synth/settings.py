"""Options of the synthetic-mammogram generator."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

#: Detector pixel spacings (mm) drawn when :attr:`SynthSettings.spacing_mm` is None.
SPACINGS_MM = (0.065, 0.07, 0.085, 0.1)

#: Bits stored drawn when :attr:`SynthSettings.bits_stored` is None.
BITS_STORED_CHOICES = (12, 14)


class Density(StrEnum):
    """BI-RADS breast composition (a-d) of a synthetic image."""

    FATTY = "fatty"
    SCATTERED = "scattered"
    HETEROGENEOUS = "heterogeneous"
    DENSE = "dense"


class Domain(StrEnum):
    """What a synthetic set covers (:attr:`SynthSettings.domain`).

    ``CLASSIC`` is the original generator: one full-field digital look, exactly
    as before the wide domain existed (same seed, same pixels and truth).
    ``WIDE`` draws, per image, what real mammograms hold over a wide range
    (domain randomisation): digitised film or display-processed digital
    images, more anatomy, benign calcifications and artefacts (see
    :mod:`calcdetect.synth`).
    """

    CLASSIC = "classic"
    WIDE = "wide"


#: Options whose default depends on the domain: name -> {domain: default}.
_DOMAIN_DEFAULTS = {
    "normal_fraction": {Domain.CLASSIC: 0.2, Domain.WIDE: 0.5},  # most screening images are normal
    "benign_fraction": {Domain.CLASSIC: 0.35, Domain.WIDE: 0.6},
}


@dataclass(frozen=True, kw_only=True)
class SynthSettings:
    """Every option of the generator.

    Attributes
    ----------
    shape : tuple of 2 ints
        Full-size image (rows, cols) at ``scale`` 1.
    spacing_mm : float or None
        Isotropic detector pixel spacing in mm; None draws one per image from
        :data:`SPACINGS_MM`.
    scale : float
        Shrinks the field of view to ``round(shape * scale)`` pixels, keeping the
        pixel spacing and the physical sizes of calcifications (breast anatomy
        shrinks with the field; cluster extents are capped to fit). In (0, 1];
        0.25 for quick tests. Digitised film (wide domain) has finer pixels
        (0.04-0.05 mm), so the same pixel count covers a smaller field: large
        forced clusters on film need a scale of 0.5 or more.
    bits_stored : int or None
        12 to 16; None draws 12 or 14 per image. Values use most of that range.
    balanced : bool
        Instead of the random mix, image i of a set holds two clusters chosen
        in turn: one cycling through the morphologies (benign ones included),
        one through the distributions, so that 9 x k images show every
        morphology and every distribution at least k times (for scoring the
        description stage); no image is normal.
    normal_fraction : float or None
        Fraction of images with no cluster at all; None gives the domain's
        default: 0.2 (classic) or 0.5 (wide: most screening images are normal).
    compress : bool
        Write JPEG-LS lossless DICOM (else uncompressed little endian).
    benign_fraction : float or None
        Probability that an image with clusters also gets benign distractor
        clusters (vascular tram-tracks, popcorn, skin calcifications; in the
        wide domain also rim and secretory calcifications); None gives the
        domain's default: 0.35 (classic) or 0.6 (wide).
    isolated_fraction : float
        Probability that an image gets 1-4 isolated benign specks.
    max_clusters : int
        Most suspicious-or-punctate clusters in one image (at least 1).
    cnr_range : tuple of 2 floats
        Range of the drawn cluster contrast-to-noise ratios (near-threshold,
        obvious); most clusters are drawn near the upper end, amorphous ones near
        the lower end. Calcium attenuates at least 0.8 / mm more than tissue,
        so clusters of large specks (round, coarse, skin, vascular) reach a
        higher CNR than drawn; the truth records the CNR achieved.
    cluster_gap_mm : float
        Least distance between calcifications of different clusters (and from
        isolated specks).
    texture : bool
        Fibroglandular texture and vessels; False gives a flat (uniform) breast,
        useful to measure noise.
    photometric : {"MONOCHROME2", "MONOCHROME1"}
        Photometric interpretation of the written DICOM (MONOCHROME1 stores the
        inverted values; read back, both give the same image).
    domain : Domain or {"classic", "wide"}
        ``"classic"`` (the default) keeps the original generator bit for bit;
        ``"wide"`` draws the source (digital or digitised film), the display
        processing, extra anatomy, more benign calcifications and artefacts
        per image (see :mod:`calcdetect.synth`). A fixed `spacing_mm` or
        `bits_stored` is kept in the wide domain too (film then uses it, and
        no 8-bit export is drawn).

    Notes
    -----
    The resolved values (defaults filled in) are what the object holds and
    what :meth:`to_dict` returns, so ``SynthSettings().normal_fraction`` is 0.2.
    """

    shape: tuple[int, int] = (4096, 3328)
    spacing_mm: float | None = None
    scale: float = 1.0
    bits_stored: int | None = None
    normal_fraction: float | None = None
    balanced: bool = False
    compress: bool = True
    benign_fraction: float | None = None
    isolated_fraction: float = 0.5
    max_clusters: int = 3
    cnr_range: tuple[float, float] = (3.0, 15.0)
    cluster_gap_mm: float = 10.0
    texture: bool = True
    photometric: str = "MONOCHROME2"
    domain: Domain = Domain.CLASSIC

    def __post_init__(self):
        try:
            domain = Domain(self.domain)
        except ValueError:
            allowed = ", ".join(Domain)
            raise ValueError(f"domain must be one of {allowed}; got {self.domain!r}") from None
        object.__setattr__(self, "domain", domain)
        for name, defaults in _DOMAIN_DEFAULTS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, defaults[domain])
        shape = tuple(self.shape)
        if len(shape) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in shape):
            raise ValueError(f"shape must be two positive integers (rows, cols); got {self.shape!r}")
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1]; got {self.scale!r}")
        rows, cols = self.image_shape
        if min(rows, cols) < 256:
            raise ValueError(
                f"shape * scale must be at least 256 px on each side; got {rows} x {cols} "
                f"(use a larger scale)"
            )
        if self.spacing_mm is not None and not (math.isfinite(self.spacing_mm) and 0.02 <= self.spacing_mm <= 0.2):
            raise ValueError(f"spacing_mm must be None or in [0.02, 0.2] mm; got {self.spacing_mm!r}")
        if self.bits_stored is not None and self.bits_stored not in range(12, 17):
            raise ValueError(f"bits_stored must be None or 12..16; got {self.bits_stored!r}")
        for name in ("normal_fraction", "benign_fraction", "isolated_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
        if int(self.max_clusters) != self.max_clusters or self.max_clusters < 1:
            raise ValueError(f"max_clusters must be an integer >= 1; got {self.max_clusters!r}")
        lo, hi = (float(v) for v in self.cnr_range)
        if not 0 < lo <= hi:
            raise ValueError(f"cnr_range must be (low, high) with 0 < low <= high; got {self.cnr_range!r}")
        object.__setattr__(self, "cnr_range", (lo, hi))
        if not self.cluster_gap_mm >= 0:
            raise ValueError(f"cluster_gap_mm must be >= 0; got {self.cluster_gap_mm!r}")
        if self.photometric not in ("MONOCHROME2", "MONOCHROME1"):
            raise ValueError(f"photometric must be MONOCHROME2 or MONOCHROME1; got {self.photometric!r}")

    @property
    def image_shape(self) -> tuple[int, int]:
        """(rows, cols) of the generated images: ``round(shape * scale)``."""
        return round(self.shape[0] * self.scale), round(self.shape[1] * self.scale)

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready values (tuples as lists).

        ``domain`` is left out when it is ``"classic"``, so that a classic set's
        ``truth.json`` (and the file UIDs derived from it) stay as they were
        before the wide domain existed.
        """
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        if self.domain == Domain.CLASSIC:
            del out["domain"]
        else:
            out["domain"] = str(self.domain)
        return out
