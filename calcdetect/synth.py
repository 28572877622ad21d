"""Synthetic mammograms with ground truth: the project's ruler.

Each image is a small physical model of a for-presentation (log) mammogram, built
in this order:

1. **Anatomy.** A compressed breast of thickness ``H`` (35-70 mm) whose outline is
   a perturbed half super-ellipse against the chest wall (image left edge for
   laterality ``"L"``, right edge for ``"R"``); MLO views add the axillary tail and
   the pectoral muscle as a bright curved wedge in the upper chest-wall corner.
   Near the skin line the thickness falls to zero over 10-20 mm with an
   elliptical (semicircular) profile, so brightness falls off towards the skin,
   and a 1-2 mm skin shell, seen edge-on, gives the thin bright rim.
   Fibroglandular tissue is a soft-thresholded 1/f^beta Gaussian field
   (beta about 3 between about 40 mm and 1 mm, isotropic plus a component
   streaming towards the nipple), whose glandular area sets the density class; a
   subcutaneous fat layer and a few soft-tissue vessels complete it. Everything
   is expressed as attenuation ``A`` (optical depth, dimensionless) with
   effective coefficients of fat, gland, skin, blood and muscle at about 20 keV.
   The presentation image subtracts a fat-equivalent of the local thickness (a
   linear, display-only offset, as vendors' processing flattens fat), so fat is
   mid-grey; the photon count, and so the noise, follows the physical ``A``.
2. **Calcifications.** Each is a small 3-D object (ellipsoids, prisms, spherical
   shells, capsule chains, unions of those) whose projected thickness is computed
   with 4 x 4 supersampling in a small patch; its attenuation is that thickness
   times a per-cluster coefficient chosen so that the cluster's median peak
   contrast over the local quantum noise equals a drawn contrast-to-noise ratio.
3. **Detector.** Stored value ``lo + gain * A`` (log image, dense = bright; the
   gain maps the 99.5th percentile of the breast to about 80 % of the range), with
   signal-dependent quantum noise (``N = N0 exp(-A)`` photons per pixel, ``N0``
   set by automatic exposure control) and electronic noise, then a Gaussian
   detector blur (sigma 0.5-0.7 px) that correlates the noise, then
   quantisation to 12 or 14 bits.

Everything is drawn from a :class:`numpy.random.Generator`, so one seed gives
one image; :func:`make_set` derives image ``i`` of a set from ``(seed, i)`` alone.
The ground truth follows ``docs/truth-format.md`` (format version 1).
"""

from __future__ import annotations

import datetime

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from calcdetect import __version__
from calcdetect.atomic import atomic_write_text
from calcdetect.io.dicom import write_mammogram
from calcdetect.lexicon import Category, Distribution, Morphology, category_of
from calcdetect.truthfile import FORMAT_VERSION, read_truth

__all__ = [
    "balanced_specs",
    "FORMAT_VERSION",
    "Calcification",
    "Cluster",
    "ClusterSpec",
    "Density",
    "SynthImage",
    "SynthSettings",
    "allowed_pairs",
    "image_rng",
    "make_set",
    "read_truth",
    "synthesize",
    "truth_to_dict",
]

#: Version of the ``truth.json`` layout written by :func:`make_set`.
#: ContentDate of every synthetic file, so that a set is byte-identical whenever it is made.
_CONTENT_DATE = datetime.date(2000, 1, 1)


#: Detector pixel spacings (mm) drawn when :attr:`SynthSettings.spacing_mm` is None.
SPACINGS_MM = (0.065, 0.07, 0.085, 0.1)

#: Bits stored drawn when :attr:`SynthSettings.bits_stored` is None.
BITS_STORED_CHOICES = (12, 14)

_G = Distribution
_M = Morphology

# Effective linear attenuation coefficients (1/mm) near 20 keV.
_MU_FAT = 0.048
_MU_GLAND = 0.080
_MU_SKIN = 0.078
_MU_MUSCLE = 0.088
_MU_BLOOD = 0.075
# Least attenuation of a calcification over tissue (1/mm), so that contrast
# grows with size as it does for real calcium (about 1-2.5 / mm near 20 keV);
# amorphous calcifications are exempt, being faint and hazy by definition.
_MU_CALCIUM_MIN = 0.8

_COARSE = 4  # anatomy is computed on a grid 4 x coarser per axis, then upsampled
_SS = 4  # calcification supersampling per axis
_BORDER_MM = 5.0  # calcifications stay this far from the image border
_SKIN_MARGIN_MM = 3.0  # ... and this far inside the skin line (skin calcifications excepted)


class Density(StrEnum):
    """BI-RADS breast composition (a-d) of a synthetic image."""

    FATTY = "fatty"
    SCATTERED = "scattered"
    HETEROGENEOUS = "heterogeneous"
    DENSE = "dense"


# Fraction of the breast area that is glandular, by density class.
_GLAND_AREA = {
    Density.FATTY: (0.03, 0.12),
    Density.SCATTERED: (0.12, 0.30),
    Density.HETEROGENEOUS: (0.30, 0.55),
    Density.DENSE: (0.55, 0.80),
}
_DENSITY_P = (0.1, 0.4, 0.4, 0.1)

#: Which distributions each morphology can be planted in (forced content).
_ALLOWED: dict[Morphology, tuple[Distribution, ...]] = {
    _M.PUNCTATE: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.ROUND: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.AMORPHOUS: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.COARSE_HETEROGENEOUS: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL),
    _M.FINE_PLEOMORPHIC: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL),
    _M.FINE_LINEAR_BRANCHING: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL),
    _M.VASCULAR: (_G.LINEAR,),
    _M.COARSE: (_G.GROUPED,),
    _M.RIM: (_G.GROUPED, _G.REGIONAL, _G.DIFFUSE),
    _M.SKIN: (_G.GROUPED,),
    _M.LARGE_RODLIKE: (_G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
}

# The random mix: suspicious-or-punctate (distribution, morphology) pairs and their
# weights, balanced so that every distribution (0.2 each) and every morphology
# (0.16-0.23; round 0.08) is common, so that a few dozen images show every class.
_MIX = {
    (_G.GROUPED, _M.PUNCTATE): 0.03, (_G.GROUPED, _M.ROUND): 0.02, (_G.GROUPED, _M.AMORPHOUS): 0.03,
    (_G.GROUPED, _M.COARSE_HETEROGENEOUS): 0.05, (_G.GROUPED, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.GROUPED, _M.FINE_LINEAR_BRANCHING): 0.03,
    (_G.LINEAR, _M.PUNCTATE): 0.03, (_G.LINEAR, _M.AMORPHOUS): 0.04,
    (_G.LINEAR, _M.FINE_PLEOMORPHIC): 0.05, (_G.LINEAR, _M.FINE_LINEAR_BRANCHING): 0.08,
    (_G.SEGMENTAL, _M.PUNCTATE): 0.03, (_G.SEGMENTAL, _M.AMORPHOUS): 0.04,
    (_G.SEGMENTAL, _M.COARSE_HETEROGENEOUS): 0.04, (_G.SEGMENTAL, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.SEGMENTAL, _M.FINE_LINEAR_BRANCHING): 0.05,
    (_G.REGIONAL, _M.PUNCTATE): 0.03, (_G.REGIONAL, _M.ROUND): 0.02, (_G.REGIONAL, _M.AMORPHOUS): 0.03,
    (_G.REGIONAL, _M.COARSE_HETEROGENEOUS): 0.08, (_G.REGIONAL, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.DIFFUSE, _M.PUNCTATE): 0.07, (_G.DIFFUSE, _M.ROUND): 0.04, (_G.DIFFUSE, _M.AMORPHOUS): 0.09,
}
# Benign distractor clusters: vascular tram-tracks, popcorn, skin calcifications.
_DISTRACTORS = {(_G.LINEAR, _M.VASCULAR): 0.4, (_G.GROUPED, _M.COARSE): 0.25, (_G.GROUPED, _M.SKIN): 0.35}
_MIN_MEMBERS = {_G.GROUPED: 3, _G.LINEAR: 3, _G.SEGMENTAL: 5, _G.REGIONAL: 8, _G.DIFFUSE: 10}
_MIN_MEMBERS_BY_MORPHOLOGY = {_M.COARSE: 2, _M.VASCULAR: 3}


def allowed_pairs() -> dict[Morphology, tuple[Distribution, ...]]:
    """Return the distributions each morphology can be planted in.

    Returns
    -------
    dict
        Morphology -> tuple of Distribution accepted by :class:`ClusterSpec`.
    """
    return dict(_ALLOWED)


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
        0.25 for quick tests.
    bits_stored : int or None
        12 to 16; None draws 12 or 14 per image. Values use most of that range.
    balanced : bool
        Instead of the random mix, image i of a set holds two clusters chosen
        in turn: one cycling through the morphologies (benign ones included),
        one through the distributions, so that 9 x k images show every
        morphology and every distribution at least k times (for scoring the
        description stage); no image is normal.
    normal_fraction : float
        Fraction of images with no cluster at all.
    compress : bool
        Write JPEG-LS lossless DICOM (else uncompressed little endian).
    benign_fraction : float
        Probability that an image with clusters also gets benign distractor
        clusters (vascular tram-tracks, popcorn, skin calcifications).
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
    """

    shape: tuple[int, int] = (4096, 3328)
    spacing_mm: float | None = None
    scale: float = 1.0
    bits_stored: int | None = None
    normal_fraction: float = 0.2
    balanced: bool = False
    compress: bool = True
    benign_fraction: float = 0.35
    isolated_fraction: float = 0.5
    max_clusters: int = 3
    cnr_range: tuple[float, float] = (3.0, 15.0)
    cluster_gap_mm: float = 10.0
    texture: bool = True
    photometric: str = "MONOCHROME2"

    def __post_init__(self):
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
        """Return the settings as JSON-ready values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster to plant: ``synthesize(clusters=[ClusterSpec(...)])``.

    Attributes
    ----------
    distribution : Distribution
    morphology : Morphology
        Must be a pair listed by :func:`allowed_pairs`.
    cnr : float, optional
        Target median peak contrast over local noise sigma; None draws one.
    """

    distribution: Distribution
    morphology: Morphology
    cnr: float | None = None

    def __post_init__(self):
        try:
            dist = Distribution(self.distribution)
            morph = Morphology(self.morphology)
        except ValueError as exc:
            raise ValueError(f"unknown distribution or morphology in {self!r}: {exc}") from None
        if dist not in _ALLOWED[morph]:
            allowed = ", ".join(_ALLOWED[morph])
            raise ValueError(f"morphology {morph} cannot be planted as {dist}; allowed: {allowed}")
        if self.cnr is not None and not (math.isfinite(self.cnr) and self.cnr > 0):
            raise ValueError(f"cnr must be None or > 0; got {self.cnr!r}")
        object.__setattr__(self, "distribution", dist)
        object.__setattr__(self, "morphology", morph)


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

    @property
    def is_normal(self) -> bool:
        """True when the image holds no cluster."""
        return not self.clusters


# --------------------------------------------------------------------------------------
# Public entry points


def image_rng(seed: int, index: int) -> np.random.Generator:
    """Return the generator of image `index` of the set made with `seed`.

    ``make_set(..., seed=s)`` writes image ``i`` as
    ``synthesize(rng=image_rng(s, i), settings=...)``.
    """
    if int(seed) != seed or seed < 0 or int(index) != index or index < 0:
        raise ValueError(f"seed and index must be integers >= 0; got seed={seed!r}, index={index!r}")
    return np.random.default_rng([int(seed), int(index)])


def synthesize(
    *,
    rng: np.random.Generator,
    settings: SynthSettings = SynthSettings(),
    clusters: Sequence[ClusterSpec | tuple] | None = None,
    normal: bool | None = None,
    isolated: int | None = None,
    laterality: str | None = None,
    view: str | None = None,
    density: Density | str | None = None,
) -> SynthImage:
    """Generate one synthetic mammogram with its ground truth.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    settings : SynthSettings
    clusters : sequence of ClusterSpec or (distribution, morphology[, cnr]) tuples, optional
        Plant exactly these clusters (and no others). None draws the content.
    normal : bool, optional
        True plants no cluster; False forces at least one. None draws it
        (probability ``settings.normal_fraction`` of a normal image).
    isolated : int, optional
        Number of isolated benign specks; None draws it.
    laterality : {"L", "R"}, optional
    view : {"CC", "MLO"}, optional
    density : Density or str, optional
        Force these; None draws them.

    Returns
    -------
    SynthImage

    Raises
    ------
    ValueError
        On an invalid option, or when a forced cluster cannot be placed in the
        breast (field of view too small: use a larger ``scale``).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if not isinstance(settings, SynthSettings):
        raise TypeError(f"settings must be a SynthSettings; got {type(settings).__name__}")
    specs = None if clusters is None else [_as_spec(c) for c in clusters]
    if specs is not None and normal:
        raise ValueError("normal=True cannot be combined with forced clusters")
    if isolated is not None and (int(isolated) != isolated or isolated < 0):
        raise ValueError(f"isolated must be None or an integer >= 0; got {isolated!r}")
    if laterality is not None and laterality not in ("L", "R"):
        raise ValueError(f"laterality must be 'L' or 'R'; got {laterality!r}")
    if view is not None and view not in ("CC", "MLO"):
        raise ValueError(f"view must be 'CC' or 'MLO'; got {view!r}")
    if density is not None:
        try:
            density = Density(density)
        except ValueError:
            raise ValueError(f"density must be one of {', '.join(Density)}; got {density!r}") from None

    # Acquisition parameters (always drawn, then overridden, so that forcing one
    # thing leaves the rest of the stream unchanged).
    rows, cols = settings.image_shape
    drawn_view = "CC" if rng.random() < 0.5 else "MLO"
    drawn_lat = "L" if rng.random() < 0.5 else "R"
    drawn_spacing = float(rng.choice(SPACINGS_MM))
    drawn_bits = int(rng.choice(BITS_STORED_CHOICES))
    drawn_density = Density(list(Density)[rng.choice(4, p=_DENSITY_P)])
    view = view or drawn_view
    laterality = laterality or drawn_lat
    density = density or drawn_density
    pixel_mm = float(settings.spacing_mm) if settings.spacing_mm is not None else drawn_spacing
    spacing = (pixel_mm, pixel_mm)
    bits = int(settings.bits_stored) if settings.bits_stored is not None else drawn_bits

    anatomy = _anatomy(rng, rows=rows, cols=cols, spacing=spacing, view=view, density=density, settings=settings)
    detector = _detector(rng, anatomy, spacing=spacing, bits=bits)

    drawn_specs, drawn_isolated = _draw_content(rng, settings)
    if specs is None:
        if normal is True:
            specs = []
        elif normal is False and not drawn_specs:
            specs = [_draw_pair(rng, _MIX)]
        else:
            specs = drawn_specs
    n_isolated = drawn_isolated if isolated is None else int(isolated)

    scene = _Scene(anatomy=anatomy, spacing=spacing, settings=settings)
    planned = []
    # Large footprints first; diffuse (whole breast) after the compact clusters.
    order = sorted(range(len(specs)), key=lambda i: _PLACEMENT_ORDER[specs[i].distribution])
    for i in order:
        spec = specs[i]
        cnr = spec.cnr if spec.cnr is not None else _draw_cnr(rng, spec.morphology, settings.cnr_range)
        members = _place_cluster(rng, scene, spec)
        if members is None:
            if clusters is not None:
                raise ValueError(
                    f"cannot place a {spec.distribution} {spec.morphology} cluster in this "
                    f"{rows} x {cols} px image; use a larger scale"
                )
            continue  # a drawn cluster that does not fit is left out
        scene.occupy(members)
        planned.append((i, spec, cnr, members))
    if normal is False and not planned:
        spec = ClusterSpec(_G.GROUPED, _M.PUNCTATE)  # fits any breast
        members = _place_cluster(rng, scene, spec)
        if members is None:
            raise ValueError(f"cannot place any cluster in this {rows} x {cols} px image; use a larger scale")
        scene.occupy(members)
        planned.append((0, spec, _draw_cnr(rng, spec.morphology, settings.cnr_range), members))
    planned.sort(key=lambda p: p[0])
    singles = _place_isolated(rng, scene, n_isolated, settings.cnr_range)

    pixels, truth_clusters, truth_isolated = _render_image(rng, anatomy, detector, planned, singles, spacing)

    breast, pectoral, nipple = anatomy.breast, anatomy.pectoral, anatomy.nipple
    chest_wall = "left"
    if laterality == "R":
        chest_wall = "right"
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        breast = np.ascontiguousarray(breast[:, ::-1])
        pectoral = None if pectoral is None else np.ascontiguousarray(pectoral[:, ::-1])
        nipple = (nipple[0], cols - 1 - nipple[1])
        truth_clusters = [_mirror_cluster(c, cols) for c in truth_clusters]
        truth_isolated = [_mirror_calc(c, cols) for c in truth_isolated]

    return SynthImage(
        pixels=pixels,
        spacing=spacing,
        laterality=laterality,
        view=view,
        density=density,
        nipple=(round(float(nipple[0]), 2), round(float(nipple[1]), 2)),
        chest_wall=chest_wall,
        clusters=tuple(truth_clusters),
        isolated=tuple(truth_isolated),
        bits_stored=bits,
        breast_mask=breast,
        pectoral_mask=pectoral,
    )


def truth_to_dict(image: SynthImage, *, image_id: str) -> dict:
    """Return the ``truth.json`` entry of one image.

    Parameters
    ----------
    image : SynthImage
    image_id : str
        File name relative to the set folder (e.g. ``"synth_0000.dcm"``).

    Returns
    -------
    dict
        JSON-ready, as in ``docs/truth-format.md``.
    """
    rows, cols = image.pixels.shape
    return {
        "image_id": image_id,
        "rows": int(rows),
        "columns": int(cols),
        "spacing_mm": [float(image.spacing[0]), float(image.spacing[1])],
        "laterality": image.laterality,
        "view": image.view,
        "density": str(image.density),
        "nipple": [float(image.nipple[0]), float(image.nipple[1])],
        "chest_wall": image.chest_wall,
        "clusters": [
            {
                "cluster_id": c.cluster_id,
                "category": str(c.category),
                "distribution": str(c.distribution),
                "morphology": str(c.morphology),
                "extent_mm": c.extent_mm,
                "cnr": c.cnr,
                "row": c.row,
                "col": c.col,
                "calcifications": [_calc_dict(m) for m in c.calcifications],
            }
            for c in image.clusters
        ],
        "isolated": [_calc_dict(m) for m in image.isolated],
    }


def make_set(
    out_dir,
    *,
    n: int,
    seed: int,
    settings: SynthSettings = SynthSettings(),
    start: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a synthetic set: ``synth_0000.dcm``, ... and ``truth.json``.

    Image ``i`` is ``synthesize(rng=image_rng(seed, i), settings=settings)``,
    so a set is the same whether made at once or in parts (``start``).

    Parameters
    ----------
    out_dir : str or PathLike
        Folder, created if needed.
    n : int
        Number of images to make (>= 1).
    seed : int
        Seed of the set (>= 0).
    settings : SynthSettings
    start : int
        Index of the first image. When ``truth.json`` already exists in `out_dir`
        for the same seed and settings, the new images are merged into it
        (images with the same id are replaced); otherwise it is an error.
    progress : callable, optional
        Called as ``progress(done, n)`` after each image.

    Returns
    -------
    Path
        The ``truth.json`` written (atomically).

    Raises
    ------
    ValueError
        On invalid arguments or when `out_dir` holds the truth of another set.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    if int(start) != start or start < 0:
        raise ValueError(f"start must be an integer >= 0; got {start!r}")
    out_dir = Path(out_dir)
    truth_path = out_dir / "truth.json"
    settings_dict = settings.to_dict()
    images = {}
    if truth_path.exists():
        old = read_truth(truth_path)
        old_settings = {k: v for k, v in old.get("settings", {}).items() if k != "n"}
        if old.get("seed") != seed or old_settings != settings_dict:
            raise ValueError(
                f"{truth_path} holds a set made with another seed or settings; "
                f"use an empty folder or the same seed and settings"
            )
        images = {entry["image_id"]: entry for entry in old["images"]}
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps(settings_dict, sort_keys=True).encode()).hexdigest()[:16]
    for done, i in enumerate(range(int(start), int(start) + int(n)), start=1):
        forced = balanced_specs(i) if settings.balanced else None
        image = synthesize(rng=image_rng(seed, i), settings=settings, clusters=forced)
        image_id = f"synth_{i:04d}.dcm"
        stored = image.pixels
        if settings.photometric == "MONOCHROME1":
            stored = (2**image.bits_stored - 1 - stored.astype(np.int32)).astype(np.uint16)
        write_mammogram(
            out_dir / image_id,
            stored,
            spacing=image.spacing,
            bits_stored=image.bits_stored,
            laterality=image.laterality,
            view=image.view,
            photometric=settings.photometric,
            compress=settings.compress,
            uid_seed=f"calcdetect.synth:{seed}:{i}:{digest}",
            content_date=_CONTENT_DATE,
        )
        images[image_id] = truth_to_dict(image, image_id=image_id)
        if progress is not None:
            progress(done, int(n))
    truth = {
        "format_version": FORMAT_VERSION,
        "generator": "calcdetect.synth",
        "calcdetect_version": __version__,
        "seed": int(seed),
        "settings": {"n": len(images), **settings_dict},
        "images": [images[k] for k in sorted(images)],
    }
    atomic_write_text(truth_path, json.dumps(truth, indent=1) + "\n")
    return truth_path


# --------------------------------------------------------------------------------------
# Small helpers


def _as_spec(value) -> ClusterSpec:
    if isinstance(value, ClusterSpec):
        return value
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return ClusterSpec(*value)
    raise ValueError(f"a cluster must be a ClusterSpec or (distribution, morphology[, cnr]); got {value!r}")


def _calc_dict(c: Calcification) -> dict:
    return {
        "row": c.row,
        "col": c.col,
        "diameter_mm": c.diameter_mm,
        "length_mm": c.length_mm,
        "width_mm": c.width_mm,
        "contrast": c.contrast,
    }


def _mirror_calc(c: Calcification, cols: int) -> Calcification:
    return dataclasses.replace(c, col=round(cols - 1 - c.col, 3))


def _mirror_cluster(c: Cluster, cols: int) -> Cluster:
    return dataclasses.replace(
        c,
        col=round(cols - 1 - c.col, 3),
        calcifications=tuple(_mirror_calc(m, cols) for m in c.calcifications),
    )


def _smoothstep(x, lo: float, hi: float):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _unit(theta: float) -> np.ndarray:
    """Unit vector (dy, dx) at angle `theta` (rad, from +col towards +row)."""
    return np.array([math.sin(theta), math.cos(theta)])


def _power_law_noise(rng, shape, *, beta: float, cutoff: float, stretch=(1.0, 1.0), top=None) -> np.ndarray:
    """Periodic Gaussian field with power spectrum (f^2 + cutoff^2)^(-beta/2), unit variance.

    `cutoff` in cycles per sample; `stretch` multiplies the frequencies of each axis
    (a larger value gives longer correlation along that axis); `top` (cycles per
    sample) rolls the spectrum off with a Gaussian above it.
    """
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None] * stretch[0]
    fx = np.fft.rfftfreq(w)[None, :] * stretch[1]
    f2 = fy * fy + fx * fx
    amp = (f2 + cutoff * cutoff) ** (-beta / 4.0)
    if top is not None:
        amp *= np.exp(-f2 / (4.0 * top * top))
    amp[0, 0] = 0.0
    spec = (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) * amp
    out = np.fft.irfft2(spec, s=(h, w))
    out -= out.mean()
    out /= out.std()
    return out.astype(np.float32)


def _gauss_kernel(sigma_px: float) -> np.ndarray:
    half = max(1, math.ceil(3 * sigma_px))
    return cv2.getGaussianKernel(2 * half + 1, sigma_px, cv2.CV_32F)


# --------------------------------------------------------------------------------------
# Anatomy


@dataclass(eq=False)
class _Anatomy:
    a_phys: np.ndarray  # (M, N) float32 attenuation (optical depth) that sets the photon count
    a_eq: np.ndarray  # (M, N) float32 display-only offset (presentation processing), added to a_phys
    sdf: np.ndarray  # (M, N) float32 signed distance to the skin line, mm (> 0 inside)
    breast: np.ndarray  # (M, N) bool
    pectoral: np.ndarray | None  # (M, N) bool, MLO only
    nipple: tuple[float, float]  # (row, col) px, left frame
    coarse_shape: tuple[int, int]
    coarse_mm: tuple[float, float]  # size of a coarse pixel (row_mm, col_mm)
    clear: np.ndarray  # coarse: distance (mm) to the nearest place a calcification may not be
    skin_clear: np.ndarray  # coarse: same, for skin calcifications (no skin margin)
    dskin: np.ndarray  # coarse: signed distance to the skin line, mm
    breast_area_mm2: float


def _anatomy(rng, *, rows, cols, spacing, view, density, settings) -> _Anatomy:
    """Build the attenuation maps of a breast (chest wall at the left edge)."""
    sr, sc = spacing
    k = float(settings.scale)  # anatomy shrinks with the field of view
    rc, cc = math.ceil(rows / _COARSE), math.ceil(cols / _COARSE)
    cy_mm, cx_mm = rows / rc * sr, cols / cc * sc  # coarse pixel size
    yc = (((np.arange(rc) + 0.5) * rows / rc - 0.5) * sr)[:, None]
    xc = (((np.arange(cc) + 0.5) * cols / cc - 0.5) * sc)[None, :]
    height_mm, width_mm = rows * sr, cols * sc

    # Outline: a perturbed super-ellipse against the chest wall (x = 0).
    p_exp = rng.uniform(1.8, 2.3)
    harm = rng.normal(0.0, 1.0, 4) * 0.025 / np.arange(2, 6)
    phase = rng.uniform(0, 2 * np.pi, 4)
    rho_max = 1.0 + np.abs(harm).sum()
    if view == "CC":
        depth = rng.uniform(0.62, 0.86) * width_mm
        half_h = rng.uniform(0.30, 0.45) * height_mm
        centre = rng.uniform(0.45, 0.55) * height_mm
        tilt = rng.uniform(-0.12, 0.12)
    else:
        depth = rng.uniform(0.60, 0.84) * width_mm
        half_h = rng.uniform(0.38, 0.47) * height_mm
        centre = rng.uniform(0.50, 0.58) * height_mm
        tilt = rng.uniform(0.10, 0.30)
    depth = min(depth, 0.92 * width_mm / rho_max)
    xr = xc * math.cos(tilt) + (yc - centre) * math.sin(tilt)
    yr = -xc * math.sin(tilt) + (yc - centre) * math.cos(tilt)
    q = (np.abs(xr / depth) ** p_exp + np.abs(yr / half_h) ** p_exp) ** (1.0 / p_exp)
    theta = np.arctan2(yr / half_h, xr / depth)
    rho = 1.0 + sum(h * np.cos((i + 2) * theta + ph) for i, (h, ph) in enumerate(zip(harm, phase)))
    f = (rho - q) * min(depth, half_h)
    ax_w = ax_h = 0.0
    if view == "MLO":
        # Axillary tail: the breast reaches the top edge near the chest wall.
        ax_w = rng.uniform(0.30, 0.45) * width_mm
        ax_h = rng.uniform(0.55, 0.80) * height_mm
        f_ax = (1.0 - (xc / ax_w + yc / ax_h)) * 0.5 * min(ax_w, ax_h)
        soft = 0.04 * width_mm
        f = 0.5 * (f + f_ax + np.sqrt((f - f_ax) ** 2 + soft * soft))
    f = f.astype(np.float32)
    inside_c = f > 0

    # Signed distance to the skin line: f / |grad f| near the boundary (exact zero set,
    # sub-pixel), a distance transform further in; the chest wall is not skin.
    gy, gx = np.gradient(f, cy_mm, cx_mm)
    d_near = f / np.maximum(np.hypot(gy, gx), 1e-6)
    pad = max(2, math.ceil(40.0 / cy_mm))
    m = cv2.copyMakeBorder(inside_c.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    din = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pad:-pad, pad:-pad]
    dout = cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pad:-pad, pad:-pad]
    px_c = 0.5 * (cy_mm + cx_mm)
    d_far = np.where(inside_c, (din - 0.5) * px_c, -(dout - 0.5) * px_c)
    w = _smoothstep(np.abs(d_far), 1.0, 3.0)
    dskin_c = ((1 - w) * d_near + w * d_far).astype(np.float32)
    sdf = cv2.resize(dskin_c, (cols, rows), interpolation=cv2.INTER_LINEAR)
    breast = sdf > 0

    # Nipple: the point of the outline farthest from the chest wall.
    reach = np.where(inside_c, xc, -1.0).max(axis=1)
    best = np.flatnonzero(reach >= reach.max() - 0.5 * cx_mm)
    nip_row = float(np.mean((best + 0.5) * rows / rc - 0.5))
    r_i = int(round(nip_row))
    cols_in = np.flatnonzero(breast[r_i])
    nip_col = float(cols_in.max()) if cols_in.size else float(reach.max() / sc)
    nipple = (nip_row, nip_col)

    # Pectoral muscle (MLO): from (0, w_p) to (h_p, 0), a curved edge.
    pect = None
    muscle_c = np.zeros((rc, cc), np.float32)
    pect_w = pect_h = pect_g = 0.0
    if view == "MLO":
        top = np.flatnonzero(inside_c[0])
        x_top = float(xc[0, top.max()]) if top.size else ax_w
        pect_w = rng.uniform(0.45, 0.75) * x_top
        pect_h = rng.uniform(0.35, 0.60) * height_mm
        pect_g = rng.uniform(0.7, 1.2)

        def muscle_fraction(y_mm, x_mm):
            edge = pect_w * np.clip(1.0 - y_mm / pect_h, 0.0, None) ** pect_g
            delta = edge - x_mm  # horizontal depth into the muscle, mm
            return np.clip(delta / 1.0, 0, 1) * (0.6 + 0.4 * np.clip(delta / (0.5 * pect_w), 0, 1))

        muscle_c = (muscle_fraction(yc, xc) * inside_c).astype(np.float32)

    # Fibroglandular tissue: soft-thresholded power-law texture, less near the skin.
    gland_area = rng.uniform(*_GLAND_AREA[density])
    g_max = rng.uniform(0.55, 0.85)
    width_f = rng.uniform(0.4, 0.7)
    beta = rng.uniform(2.8, 3.2)
    fat0 = rng.uniform(2.0, 6.0) * k
    fat1 = fat0 + rng.uniform(8.0, 20.0) * k
    # 1/f^beta between about 40 mm and 1 mm (finer detail is lost in the projection
    # of overlapping structures; quantum noise dominates there).
    iso = _power_law_noise(rng, (rc, cc), beta=beta, cutoff=cy_mm / 40.0, top=cy_mm / 1.0)
    radial = _radial_texture(rng, yc, xc, nipple=(nipple[0] * sr, nipple[1] * sc), beta=beta, k=k)
    tex = 0.85 * iso + 0.4 * radial
    # No detail at the scale of the coarse grid (it would show as blocks once upsampled).
    tex = cv2.GaussianBlur(tex.astype(np.float32), (0, 0), 0.8)
    envelope = _smoothstep(dskin_c, fat0, fat1) * (1.0 - 0.8 * muscle_c)
    region = inside_c & (muscle_c < 0.5)
    thr = float(np.quantile(tex[region], 1.0 - gland_area)) if region.any() else 0.0
    envelope = envelope.astype(np.float32)

    vessels_c = np.zeros((rc, cc), np.float32)
    n_vessels = int(rng.integers(2, 6))
    if settings.texture:
        for _ in range(n_vessels):
            vessels_c += _vessel(
                rng, inside_c, dskin_c, yc, xc, (cy_mm, cx_mm),
                nipple_mm=(nipple[0] * sr, nipple[1] * sc), depth=depth, k=k,
            )
        vessels_c *= _smoothstep(dskin_c, 0.0, 2.0)

    # Full-resolution attenuation.
    thick = rng.uniform(35.0, 70.0)  # compressed thickness H, mm
    roll = rng.uniform(10.0, 20.0) * max(k, 0.5)  # edge roll-off width, mm
    skin = min(rng.uniform(1.0, 2.0), 0.4 * roll)
    fat_sub = rng.uniform(0.5, 0.7)  # presentation processing: fat-equivalent thickness subtracted
    d = np.maximum(sdf, 0.0)
    u = np.minimum(d * (1.0 / roll), 1.0)
    t_out = thick * np.sqrt(u * (2.0 - u))
    v = np.clip((d - skin) * (1.0 / (roll - skin)), 0.0, 1.0)
    t_in = (thick - 2 * skin) * np.sqrt(v * (2.0 - v))
    # Glandular fraction of the tissue path: the texture is upsampled before the soft
    # threshold, so that gland boundaries are smooth at full resolution.
    if settings.texture:
        gland = cv2.resize(tex, (cols, rows), interpolation=cv2.INTER_CUBIC)
        gland -= np.float32(thr)
        gland *= np.float32(-1.0 / width_f)
        np.exp(gland, out=gland)
        gland += np.float32(1.0)
        np.divide(np.float32(g_max), gland, out=gland)
    else:
        gland = np.full((rows, cols), g_max * gland_area, np.float32)
    gland *= cv2.resize(envelope, (cols, rows), interpolation=cv2.INTER_LINEAR)
    mu = gland
    mu *= np.float32(_MU_GLAND - _MU_FAT)
    mu += np.float32(_MU_FAT)
    if view == "MLO":
        r_end = min(rows, math.ceil(pect_h / sr) + 2)
        c_end = min(cols, math.ceil(pect_w / sc) + 2)
        ys = (np.arange(r_end) * sr)[:, None]
        xs = (np.arange(c_end) * sc)[None, :]
        mfrac = muscle_fraction(ys, xs).astype(np.float32)
        mfrac *= breast[:r_end, :c_end]
        mu[:r_end, :c_end] += (_MU_MUSCLE - mu[:r_end, :c_end]) * mfrac
        pect = np.zeros((rows, cols), bool)
        pect[:r_end, :c_end] = mfrac > 0
    a_phys = t_in * mu
    a_phys += _MU_SKIN * (t_out - t_in)
    if settings.texture:
        a_phys += cv2.resize(vessels_c, (cols, rows), interpolation=cv2.INTER_LINEAR)
    a_phys *= breast
    # Presentation processing (display only, the photon count is set by a_phys):
    # subtract a fat-equivalent of the local thickness so that fat is mid-grey;
    # this is linear in the log signal, so calcification contrasts are unchanged.
    a_eq = t_out
    a_eq *= np.float32(-fat_sub * _MU_FAT)
    a_eq *= breast

    # Where calcifications may go (coarse): in the breast, not in the muscle, away
    # from the image border, and (except skin calcifications) away from the skin.
    border = np.minimum(np.minimum(yc, height_mm - yc), np.minimum(xc, width_mm - xc))
    base = inside_c & (muscle_c <= 0) & (border >= _BORDER_MM)
    if view == "MLO":
        # A margin round the muscle edge too.
        base &= muscle_fraction(yc, xc - 2.0) <= 0
    allowed = base & (dskin_c >= _SKIN_MARGIN_MM)
    clear = cv2.distanceTransform(allowed.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * px_c
    skin_clear = cv2.distanceTransform(base.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * px_c

    return _Anatomy(
        a_phys=a_phys.astype(np.float32, copy=False),
        a_eq=a_eq.astype(np.float32, copy=False),
        sdf=sdf,
        breast=breast,
        pectoral=pect,
        nipple=nipple,
        coarse_shape=(rc, cc),
        coarse_mm=(cy_mm, cx_mm),
        clear=clear,
        skin_clear=skin_clear,
        dskin=dskin_c,
        breast_area_mm2=float(inside_c.sum() * cy_mm * cx_mm),
    )


def _radial_texture(rng, yc, xc, *, nipple, beta, k) -> np.ndarray:
    """Texture streaming towards the nipple: a field in (angle, radius) mapped to the breast."""
    n_ang, n_rad = 1024, 512
    r_max = float(np.hypot(yc.max() - yc.min(), xc.max() - xc.min())) + 1.0
    field = _power_law_noise(rng, (n_ang, n_rad), beta=beta, cutoff=1.0 / 64, stretch=(1.0, 4.0))
    warp = _power_law_noise(rng, (yc.shape[0], xc.shape[1]), beta=3.5, cutoff=0.02)
    dy, dx = yc - nipple[0], xc - nipple[1]
    ang = (np.arctan2(dy, dx) + np.pi + 0.08 * warp) * (n_ang / (2 * np.pi))
    rad = np.sqrt(dy * dy + dx * dx + (25.0 * k) ** 2) * (n_rad / r_max)
    map_x = rad.astype(np.float32)
    map_y = ang.astype(np.float32)
    out = cv2.remap(field, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    out -= out.mean()
    return out / max(float(out.std()), 1e-6)


def _vessel(rng, inside_c, dskin_c, yc, xc, coarse_mm, *, nipple_mm, depth, k) -> np.ndarray:
    """Attenuation (coarse grid) of one soft-tissue blood vessel running towards the nipple."""
    rc, cc = inside_c.shape
    cand = np.flatnonzero(inside_c & (dskin_c > 8.0 * k) & (xc < 0.35 * depth))
    out = np.zeros((rc, cc), np.float32)
    if cand.size == 0:
        return out
    pick = cand[rng.integers(cand.size)]
    p = np.array([yc[pick // cc, 0], xc[0, pick % cc]])
    heading = math.atan2(nipple_mm[0] - p[0], nipple_mm[1] - p[1]) + rng.normal(0, 0.5)
    length = rng.uniform(0.4, 0.8) * depth
    step = 1.0
    pts = [p.copy()]
    turn = 0.0
    for _ in range(int(length / step)):
        turn = 0.9 * turn + rng.normal(0, 0.02)
        heading += turn
        p = p + step * _unit(heading)
        pts.append(p.copy())
    pts = np.array(pts)
    canvas = np.full((rc, cc), 255, np.uint8)
    poly = np.round(np.column_stack([pts[:, 1] / coarse_mm[1], pts[:, 0] / coarse_mm[0]])).astype(np.int32)
    cv2.polylines(canvas, [poly], False, 0, 1)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * coarse_mm[0]
    radius = rng.uniform(0.6, 1.4) * max(k, 0.5)
    chord = 2.0 * np.sqrt(np.maximum(radius * radius - dist * dist, 0.0))
    return ((_MU_BLOOD - _MU_FAT) * chord * inside_c).astype(np.float32)


# --------------------------------------------------------------------------------------
# Detector


@dataclass(frozen=True)
class _Detector:
    lo: float  # stored value of zero attenuation
    gain: float  # stored units per unit optical depth
    n0: float  # photons per pixel without attenuation
    electronic: float  # electronic noise, photon-equivalents per pixel (std)
    kernel: np.ndarray  # 1-D Gaussian detector blur kernel
    noise_factor: float  # std of blurred white noise / std before the blur
    maxv: int


def _detector(rng, anatomy: _Anatomy, *, spacing, bits) -> _Detector:
    maxv = 2**bits - 1
    sub = (slice(None, None, 8), slice(None, None, 8))
    inside = anatomy.breast[sub]
    a_phys = anatomy.a_phys[sub][inside]
    a_disp = a_phys + anatomy.a_eq[sub][inside]
    if anatomy.pectoral is not None:
        soft = ~anatomy.pectoral[sub][inside]
        a_ref = float(np.median(a_phys[soft])) if soft.any() else float(np.median(a_phys))
    else:
        a_ref = float(np.median(a_phys))
    a_hi = float(np.percentile(a_disp, 99.5))
    lo = rng.uniform(0.015, 0.04) * maxv
    hi = rng.uniform(0.78, 0.86) * maxv
    fluence = rng.uniform(1.0e5, 2.5e5)  # detected photons per mm^2 behind typical tissue (AEC)
    n_target = fluence * spacing[0] * spacing[1]
    blur = rng.uniform(0.5, 0.7)
    kernel = _gauss_kernel(blur)
    return _Detector(
        lo=lo,
        gain=(hi - lo) / max(a_hi, 1e-3),
        n0=n_target * math.exp(a_ref),
        electronic=rng.uniform(2.0, 6.0),
        kernel=kernel,
        noise_factor=float((kernel.astype(np.float64) ** 2).sum()),
        maxv=maxv,
    )


def _noise_sigma(det: _Detector, a_phys) -> np.ndarray:
    """Std (stored units, before the detector blur) of quantum + electronic noise."""
    n = det.n0 * np.exp(-np.asarray(a_phys, dtype=np.float64))
    return det.gain * np.sqrt(n + det.electronic**2) / n


# --------------------------------------------------------------------------------------
# Calcification shapes: primitives in mm relative to the object's anchor.


@dataclass(frozen=True)
class _Shape:
    blobs: tuple = ()  # (y, x, z, a, b, h, angle): ellipsoid, in-plane semi-axes a (along angle), b; half-thickness h
    prisms: tuple = ()  # (vertices (n, 2) (y, x) counter-clockwise, z, h, bevel)
    shells: tuple = ()  # (y, x, z, r_out, r_in): spherical shell (lucent centre)
    tubes: tuple = ()  # (points (n, 2), radii (n,)): chain of capsules centred at z = 0
    haze_mm: float = 0.0  # extra Gaussian blur (amorphous)

    def bbox(self) -> tuple[float, float, float, float]:
        ys, xs = [], []
        for y, x, _z, a, b, _h, _t in self.blobs:
            r = max(a, b)
            ys += [y - r, y + r]
            xs += [x - r, x + r]
        for verts, *_ in self.prisms:
            ys += [verts[:, 0].min(), verts[:, 0].max()]
            xs += [verts[:, 1].min(), verts[:, 1].max()]
        for y, x, _z, r, _ri in self.shells:
            ys += [y - r, y + r]
            xs += [x - r, x + r]
        for pts, radii in self.tubes:
            r = float(radii.max())
            ys += [pts[:, 0].min() - r, pts[:, 0].max() + r]
            xs += [pts[:, 1].min() - r, pts[:, 1].max() + r]
        return min(ys), max(ys), min(xs), max(xs)


@dataclass(eq=False)
class _Member:
    shape: _Shape
    anchor: np.ndarray  # (y, x) mm in the left frame
    skeleton: np.ndarray  # (K, 2) absolute mm points the object covers
    radius: float  # half-width of the object round its skeleton, mm


def _speck_member(shape: _Shape, anchor) -> _Member:
    y0, y1, x0, x1 = shape.bbox()
    anchor = np.asarray(anchor, float)
    radius = 0.5 * max(y1 - y0, x1 - x0)
    centre = anchor + [0.5 * (y0 + y1), 0.5 * (x0 + x1)]
    return _Member(shape=shape, anchor=anchor, skeleton=centre[None, :], radius=radius)


def _tube_member(polylines: list[np.ndarray], radii: list[np.ndarray]) -> _Member:
    pts = np.concatenate(polylines)
    anchor = pts.mean(axis=0)
    tubes = tuple((p - anchor, r) for p, r in zip(polylines, radii))
    return _Member(
        shape=_Shape(tubes=tubes), anchor=anchor, skeleton=pts, radius=float(max(r.max() for r in radii))
    )


def _blob(rng, y, x, diameter, *, aspect=1.0, angle=None, z=0.0, flat=(0.8, 1.2)):
    a = 0.5 * diameter * math.sqrt(aspect)
    b = 0.5 * diameter / math.sqrt(aspect)
    ang = rng.uniform(0, np.pi) if angle is None else angle
    h = 0.5 * diameter * rng.uniform(*flat)
    return (float(y), float(x), float(z), a, b, h, float(ang))


def _speck_shape(rng, morph: Morphology, theta: float) -> _Shape:
    """One speck of a speck-like morphology, elongated ones along `theta` (rad)."""
    if morph == _M.PUNCTATE:
        return _Shape(blobs=(_blob(rng, 0, 0, rng.uniform(0.15, 0.45), aspect=rng.uniform(1.0, 1.3)),))
    if morph == _M.ROUND:
        return _Shape(blobs=(_blob(rng, 0, 0, rng.uniform(0.5, 1.0), aspect=rng.uniform(1.0, 1.25)),))
    if morph == _M.AMORPHOUS:
        size = rng.uniform(0.1, 0.25)
        blobs = [_blob(rng, 0, 0, size, aspect=rng.uniform(1.0, 1.5))]
        if rng.random() < 0.4:
            off = 0.3 * size * _unit(rng.uniform(0, 2 * np.pi))
            blobs.append(_blob(rng, off[0], off[1], 0.7 * size, z=rng.normal(0, 0.2 * size)))
        return _Shape(blobs=tuple(blobs), haze_mm=rng.uniform(0.04, 0.1))
    if morph == _M.COARSE_HETEROGENEOUS:
        return _Shape(blobs=_lumpy(rng, rng.uniform(0.5, 1.0), int(rng.integers(3, 7)), (0.18, 0.35)))
    if morph == _M.COARSE:
        return _Shape(blobs=_lumpy(rng, rng.uniform(2.0, 4.0), int(rng.integers(5, 10)), (0.2, 0.33)))
    if morph == _M.FINE_PLEOMORPHIC:
        size = math.exp(rng.uniform(math.log(0.12), math.log(0.5)))
        kind = rng.choice(4, p=(0.35, 0.3, 0.2, 0.15))
        if kind == 0:  # irregular
            return _Shape(blobs=_lumpy(rng, size, int(rng.integers(2, 5)), (0.2, 0.4)))
        if kind == 1:  # angular
            n = int(rng.integers(3, 6))
            angles = (np.arange(n) + rng.uniform(0.3, 0.7, n)) * (2 * np.pi / n) + rng.uniform(0, 2 * np.pi)
            radii = 0.5 * size * rng.uniform(0.6, 1.0, n)
            verts = np.column_stack([radii * np.sin(angles), radii * np.cos(angles)])
            return _Shape(prisms=((verts, 0.0, 0.5 * size * rng.uniform(0.6, 1.0), 0.15 * size),))
        if kind == 2:  # elongated
            ang = theta + rng.normal(0, 0.5)
            return _Shape(blobs=(_blob(rng, 0, 0, size, aspect=rng.uniform(2.0, 3.0), angle=ang),))
        return _Shape(blobs=(_blob(rng, 0, 0, size, aspect=rng.uniform(1.0, 1.4)),))
    if morph == _M.RIM:
        r = 0.5 * rng.uniform(1.0, 3.0)
        return _Shape(shells=((0.0, 0.0, 0.0, r, r - rng.uniform(0.1, 0.25)),))
    if morph == _M.SKIN:
        r = 0.5 * rng.uniform(0.3, 0.8)
        return _Shape(shells=((0.0, 0.0, 0.0, r, r * rng.uniform(0.5, 0.75)),))
    raise ValueError(f"{morph} is not a speck morphology")


def _lumpy(rng, size: float, n: int, frac: tuple[float, float]) -> tuple:
    """Union of `n` ellipsoids making an irregular object about `size` mm across."""
    blobs = []
    for _ in range(n):
        d = size * rng.uniform(*frac) * 2
        off = 0.3 * size * math.sqrt(rng.random()) * _unit(rng.uniform(0, 2 * np.pi))
        blobs.append(_blob(rng, off[0], off[1], d, aspect=rng.uniform(1.0, 1.8), z=rng.normal(0, 0.15 * size)))
    return tuple(blobs)


_PIECE_MORPHS = frozenset({_M.FINE_LINEAR_BRANCHING, _M.LARGE_RODLIKE})


def _piece_radius(rng, morph: Morphology) -> float:
    if morph == _M.FINE_LINEAR_BRANCHING:
        return rng.uniform(0.05, 0.15)  # 0.1-0.3 mm wide
    if morph == _M.LARGE_RODLIKE:
        return rng.uniform(0.25, 0.5)
    return rng.uniform(0.08, 0.2)  # vascular wall


def _vary(rng, radius: float, n: int, lo: float, hi: float) -> np.ndarray:
    return np.clip(radius * (1.0 + 0.2 * rng.standard_normal(n)), lo, hi)


def _radius_limits(morph: Morphology) -> tuple[float, float]:
    return {_M.FINE_LINEAR_BRANCHING: (0.05, 0.15), _M.LARGE_RODLIKE: (0.2, 0.55)}.get(morph, (0.06, 0.25))


def _branch(rng, pts: np.ndarray, radius: float, morph: Morphology):
    """A short side branch (Y shape) leaving an interior vertex of `pts` forwards."""
    if len(pts) < 3:
        return None
    j = int(rng.integers(1, len(pts) - 1))
    t = pts[min(j + 1, len(pts) - 1)] - pts[j - 1]
    ang = math.atan2(t[0], t[1]) + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.35, 0.8)
    length = rng.uniform(0.5, 2.0)
    n = max(2, math.ceil(length / 0.3) + 1)
    s = np.linspace(0, length, n)[:, None]
    bend = rng.normal(0, 0.15)
    angs = ang + bend * s[:, 0]
    steps = np.column_stack([np.sin(angs), np.cos(angs)]) * (length / (n - 1))
    steps[0] = 0
    b = pts[j] + np.cumsum(steps, axis=0)
    lo, hi = _radius_limits(morph)
    return b, _vary(rng, 0.8 * radius, n, lo, hi)


# --------------------------------------------------------------------------------------
# Paths (polylines in mm, 0.1 mm steps)


def _arc(start, theta: float, length: float, curvature: float, step: float = 0.1) -> np.ndarray:
    n = max(2, math.ceil(length / step) + 1)
    s = np.linspace(0.0, length, n)
    ang = theta + curvature * s
    d = np.column_stack([np.sin(ang), np.cos(ang)]) * (length / (n - 1))
    d[0] = 0
    return np.asarray(start, float) + np.cumsum(d, axis=0)


def _arclength(path: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])


def _sub_path(path, s_cum, s0, s1, step=0.3) -> np.ndarray:
    n = max(2, math.ceil((s1 - s0) / step) + 1)
    s = np.linspace(s0, s1, n)
    return np.column_stack([np.interp(s, s_cum, path[:, 0]), np.interp(s, s_cum, path[:, 1])])


def _tangent_at(path, s_cum, s) -> float:
    i = int(np.clip(np.searchsorted(s_cum, s), 1, len(path) - 1))
    d = path[i] - path[i - 1]
    return math.atan2(d[0], d[1])


def _duct_tree(rng, apex, theta: float, length: float) -> list[tuple[np.ndarray, int]]:
    """A branching duct (segment) from `apex` spreading along `theta` within a wedge.

    Returns (path, parent index or -1) per branch.
    """
    half_wedge = rng.uniform(0.25, 0.5)
    axis = _unit(theta)
    branches: list[tuple[np.ndarray, int]] = []
    stack = [(np.asarray(apex, float), theta, length * rng.uniform(0.25, 0.35), 0, -1)]
    while stack:
        p, th, seg, depth, parent = stack.pop()
        path = _arc(p, th, seg, rng.normal(0, 0.02))
        branches.append((path, parent))
        me = len(branches) - 1
        end = path[-1]
        remaining = length - float((end - apex) @ axis)
        if depth < 4 and remaining > 3.0 and len(branches) < 24:
            for sign in (1, -1):
                if sign == -1 and rng.random() < 0.2:
                    continue
                th2 = float(np.clip(th + sign * rng.uniform(0.2, 0.6), theta - half_wedge, theta + half_wedge))
                seg2 = min(remaining, seg * rng.uniform(0.7, 1.0) + rng.uniform(1.0, 4.0))
                stack.append((end, th2, seg2, depth + 1, me))
    return branches


# --------------------------------------------------------------------------------------
# Placement


_PLACEMENT_ORDER = {_G.SEGMENTAL: 0, _G.REGIONAL: 1, _G.LINEAR: 2, _G.GROUPED: 3, _G.DIFFUSE: 4}


class _Scene:
    """What has been placed, and where more may go."""

    def __init__(self, *, anatomy: _Anatomy, spacing, settings: SynthSettings):
        self.anatomy = anatomy
        self.spacing = spacing
        self.gap = float(settings.cluster_gap_mm)
        self.occupied = np.zeros((0, 2))
        rows, cols = anatomy.sdf.shape
        self.full_shape = (rows, cols)
        self.nipple_mm = np.array([anatomy.nipple[0] * spacing[0], anatomy.nipple[1] * spacing[1]])
        self.slack = 0.75 * max(anatomy.coarse_mm)
        self.max_extent = 2.0 * float(anatomy.clear.max()) * 0.9
        self._occ = np.zeros(anatomy.coarse_shape, bool)  # coarse pixels holding a calcification
        self._occ_dist = None  # distance (mm) to the nearest of them, computed when needed

    def _coarse_index(self, pts):
        rc, cc = self.anatomy.coarse_shape
        rows, cols = self.full_shape
        i = np.clip(np.round((pts[:, 0] / self.spacing[0] + 0.5) * rc / rows - 0.5), 0, rc - 1).astype(int)
        j = np.clip(np.round((pts[:, 1] / self.spacing[1] + 0.5) * cc / cols - 0.5), 0, cc - 1).astype(int)
        return i, j

    def clearance(self, pts, *, skin=False) -> np.ndarray:
        i, j = self._coarse_index(pts)
        return (self.anatomy.skin_clear if skin else self.anatomy.clear)[i, j] - self.slack

    def sdf(self, pts) -> np.ndarray:
        rows, cols = self.full_shape
        i = np.clip(np.round(pts[:, 0] / self.spacing[0]), 0, rows - 1).astype(int)
        j = np.clip(np.round(pts[:, 1] / self.spacing[1]), 0, cols - 1).astype(int)
        return self.anatomy.sdf[i, j]

    def fits(self, m: _Member, *, skin=False) -> bool:
        if np.any(self.clearance(m.skeleton, skin=skin) < m.radius):
            return False
        if np.any(self.sdf(m.skeleton) < m.radius + 0.2):
            return False
        return True

    def far_from_others(self, pts, gap=None) -> bool:
        gap = self.gap if gap is None else gap
        if not len(self.occupied) or gap <= 0:
            return True
        d2 = ((pts[:, None, :] - self.occupied[None, :, :]) ** 2).sum(-1)
        return bool(d2.min() >= gap * gap)

    def occupy(self, members: list[_Member]) -> None:
        pts = np.concatenate([m.skeleton for m in members])
        self.occupied = np.concatenate([self.occupied, pts])
        i, j = self._coarse_index(pts)
        self._occ[i, j] = True
        self._occ_dist = None

    def occupied_distance(self) -> np.ndarray:
        """Coarse map: distance (mm) to the nearest placed calcification (a lower bound)."""
        if self._occ_dist is None:
            if self._occ.any():
                free = (~self._occ).astype(np.uint8)
                d = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
                self._occ_dist = d * min(self.anatomy.coarse_mm) - self.slack
            else:
                self._occ_dist = np.full(self.anatomy.coarse_shape, np.inf, np.float32)
        return self._occ_dist

    def pick_centre(self, rng, radius: float, *, skin=False, gap=None) -> np.ndarray | None:
        """A random point whose surroundings of `radius` mm are allowed and at least
        `gap` mm (default: the cluster gap) from anything placed."""
        a = self.anatomy
        gap = self.gap if gap is None else gap
        if skin:
            ok = (a.skin_clear > 1.0) & (a.dskin >= 1.0) & (a.dskin <= 3.0)
        else:
            ok = a.clear >= radius + self.slack
        ok &= self.occupied_distance() >= radius + gap
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            return None
        idx = cand[rng.integers(cand.size)]
        rc, cc = a.coarse_shape
        rows, cols = self.full_shape
        i, j = divmod(int(idx), cc)
        y = ((i + rng.uniform(0, 1)) * rows / rc - 0.5) * self.spacing[0]
        x = ((j + rng.uniform(0, 1)) * cols / cc - 0.5) * self.spacing[1]
        return np.array([y, x])

    def nipple_angle(self, p) -> float:
        d = self.nipple_mm - p
        return math.atan2(d[0], d[1])


def _place_cluster(rng, scene: _Scene, spec: ClusterSpec) -> list[_Member] | None:
    dist, morph = spec.distribution, spec.morphology
    need = _MIN_MEMBERS_BY_MORPHOLOGY.get(morph, _MIN_MEMBERS[dist])
    skin = morph == _M.SKIN
    for attempt in range(40):
        shrink = 0.85 ** (attempt // 4)
        members = _layout(rng, scene, spec, shrink)
        if not members:
            continue
        planned = len(members)
        members = [m for m in members if scene.fits(m, skin=skin)]
        if dist != _G.DIFFUSE and len(members) < 0.75 * planned:
            continue  # most of it fell outside the breast: place it elsewhere
        if skin:
            members = [m for m in members if scene.sdf(m.skeleton).max() <= 3.5]
        if dist == _G.DIFFUSE:
            members = [m for m in members if scene.far_from_others(m.skeleton)]
        if len(members) < need:
            continue
        if not scene.far_from_others(np.concatenate([m.skeleton for m in members])):
            continue
        return members
    return None


_EXTENT_MM = {  # drawn extent and the least extent that still honours the descriptor
    _G.GROUPED: ((3.0, 10.0), 2.0),
    _G.LINEAR: ((10.0, 30.0), 8.0),
    _G.SEGMENTAL: ((20.0, 50.0), 15.0),
    _G.REGIONAL: ((25.0, 50.0), 21.0),
}


def _extent(rng, scene: _Scene, dist: Distribution, shrink: float) -> float | None:
    """Nominal size of a cluster (mm), capped to fit the breast; None when it cannot fit."""
    (lo, hi), least = _EXTENT_MM[dist]
    if dist == _G.GROUPED and rng.random() < 0.2:
        lo, hi = 10.0, 15.0
    size = min(rng.uniform(lo, hi) * shrink, scene.max_extent)
    return size if size >= least else None


def _layout(rng, scene: _Scene, spec: ClusterSpec, shrink: float) -> list[_Member]:
    """Members of one cluster (unchecked against the breast), or [] on failure."""
    dist, morph = spec.distribution, spec.morphology
    if morph == _M.VASCULAR:
        return _layout_vascular(rng, scene, shrink)
    if morph == _M.SKIN:
        return _layout_skin(rng, scene)
    if dist == _G.DIFFUSE:
        return _layout_diffuse(rng, scene, morph)
    size = _extent(rng, scene, dist, shrink)
    if size is None:
        return []
    if morph == _M.COARSE:
        size = max(size, 8.0)  # 2-4 blobs of 2-4 mm need room
    foot = 0.5 * size + 1.0
    centre = scene.pick_centre(rng, foot)
    if centre is None:
        return []
    theta_n = scene.nipple_angle(centre)
    if dist == _G.GROUPED:
        if morph in _PIECE_MORPHS:
            return _pieces_in_disc(rng, morph, centre, 0.5 * size, theta_n, int(rng.integers(3, 9)))
        if morph == _M.COARSE:
            return _specks_in_disc(rng, morph, centre, 0.5 * size - 1.5, theta_n, int(rng.integers(2, 5)), 1.0)
        return _specks_in_disc(rng, morph, centre, 0.5 * size, theta_n, int(rng.integers(5, 16)), 0.3)
    if dist == _G.REGIONAL:
        n = int(rng.integers(15, 41))
        if morph in _PIECE_MORPHS:
            return _pieces_in_disc(rng, morph, centre, 0.5 * size, theta_n, n // 2, aspect=rng.uniform(0.5, 0.9))
        return _specks_in_disc(rng, morph, centre, 0.5 * size, theta_n, n, 1.5, aspect=rng.uniform(0.5, 0.9))
    if dist == _G.LINEAR:
        theta = theta_n + rng.normal(0, 0.35)
        curv = rng.normal(0, 0.5 / size)
        path = _arc((0, 0), theta, size, curv)
        path += centre - path[len(path) // 2]
        paths = [(path, -1)]
    else:  # segmental: a duct tree whose apex points to the nipple
        axis = theta_n + np.pi + rng.normal(0, 0.15)
        apex = centre - 0.5 * size * _unit(axis)
        paths = _duct_tree(rng, apex, axis, size)
    if morph in _PIECE_MORPHS:
        return _pieces_on_paths(rng, morph, paths)
    return _specks_on_paths(rng, morph, paths, dense=dist == _G.LINEAR)


def _too_close(member: _Member, members: list[_Member], sep: float) -> bool:
    for other in members:
        d2 = ((member.skeleton[:, None, :] - other.skeleton[None, :, :]) ** 2).sum(-1)
        if d2.min() < (member.radius + other.radius + sep) ** 2:
            return True
    return False


def _specks_in_disc(rng, morph, centre, radius, theta_n, n, sep, *, aspect=1.0) -> list[_Member]:
    """`n` specks uniformly in an ellipse (semi-axes radius, radius*aspect) round `centre`."""
    members: list[_Member] = []
    orient = rng.uniform(0, np.pi)
    for _ in range(n):
        shape = _speck_shape(rng, morph, theta_n + rng.normal(0, 0.4))
        for _try in range(30):
            r = radius * math.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            u, v = r * math.cos(phi), aspect * r * math.sin(phi)
            off = u * _unit(orient) + v * _unit(orient + np.pi / 2)
            m = _speck_member(shape, centre + off)
            if not _too_close(m, members, sep):
                members.append(m)
                break
    return members


def _piece_along(rng, morph, start, theta, length) -> _Member:
    path = _arc(start, theta, length, rng.normal(0, 0.15), step=0.3)
    radius = _piece_radius(rng, morph)
    lo, hi = _radius_limits(morph)
    polys, radii = [path], [_vary(rng, radius, len(path), lo, hi)]
    if morph == _M.FINE_LINEAR_BRANCHING and rng.random() < 0.4:
        br = _branch(rng, path, radius, morph)
        if br is not None:
            polys.append(br[0])
            radii.append(br[1])
    return _tube_member(polys, radii)


def _piece_length(rng, morph, limit: float) -> float:
    if morph == _M.LARGE_RODLIKE:
        return min(rng.uniform(3.0, 10.0), limit)
    return min(rng.uniform(1.0, 3.5), limit)


def _pieces_in_disc(rng, morph, centre, radius, theta_n, n, *, aspect=1.0) -> list[_Member]:
    members: list[_Member] = []
    orient = rng.uniform(0, np.pi)
    for _ in range(n):
        for _try in range(30):
            r = radius * math.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            off = r * math.cos(phi) * _unit(orient) + aspect * r * math.sin(phi) * _unit(orient + np.pi / 2)
            length = _piece_length(rng, morph, max(1.0, 1.2 * radius))
            theta = theta_n + np.pi + rng.normal(0, 0.5)
            start = centre + off - 0.5 * length * _unit(theta)
            m = _piece_along(rng, morph, start, theta, length)
            if not _too_close(m, members, 0.5):
                members.append(m)
                break
    return members


def _specks_on_paths(rng, morph, paths, *, dense: bool) -> list[_Member]:
    members: list[_Member] = []
    for path, _parent in paths:
        s_cum = _arclength(path)
        step_lo, step_hi = (0.8, 2.5) if dense else (1.5, 3.0)
        if morph in (_M.ROUND, _M.COARSE_HETEROGENEOUS, _M.COARSE):
            step_lo, step_hi = step_lo + 1.0, step_hi + 1.5
        s = rng.uniform(0, step_hi)
        while s < s_cum[-1] and len(members) < 60:
            theta = _tangent_at(path, s_cum, s)
            p = np.array([np.interp(s, s_cum, path[:, 0]), np.interp(s, s_cum, path[:, 1])])
            p += rng.normal(0, 0.2) * _unit(theta + np.pi / 2)
            m = _speck_member(_speck_shape(rng, morph, theta), p)
            if not _too_close(m, members, 0.3):
                members.append(m)
            s += rng.uniform(step_lo, step_hi)
    return members


def _pieces_on_paths(rng, morph, paths) -> list[_Member]:
    """Discontinuous casts along duct paths; Y-shaped pieces at some branch points."""
    lo, hi = _radius_limits(morph)
    children: dict[int, list[int]] = {}
    for k, (_p, parent) in enumerate(paths):
        children.setdefault(parent, []).append(k)
    head = {k: 0.0 for k in range(len(paths))}  # reserved length at the start of each branch
    tail = {k: 0.0 for k in range(len(paths))}
    members: list[_Member] = []
    if morph == _M.FINE_LINEAR_BRANCHING:
        for k, (path, _parent) in enumerate(paths):
            kids = children.get(k, [])
            if kids and rng.random() < 0.6:
                s_cum = _arclength(path)
                back = min(rng.uniform(0.6, 1.5), 0.5 * s_cum[-1])
                polys = [_sub_path(path, s_cum, s_cum[-1] - back, s_cum[-1])]
                tail[k] = back
                for kid in kids:
                    kp = paths[kid][0]
                    ks = _arclength(kp)
                    fwd = min(rng.uniform(0.6, 1.5), 0.5 * ks[-1])
                    polys.append(_sub_path(kp, ks, 0.0, fwd))
                    head[kid] = fwd
                radius = _piece_radius(rng, morph)
                members.append(_tube_member(polys, [_vary(rng, radius, len(p), lo, hi) for p in polys]))
    for k, (path, _parent) in enumerate(paths):
        s_cum = _arclength(path)
        s = head[k] + (rng.uniform(0.5, 2.0) if head[k] > 0 else rng.uniform(0, 2.0))
        end = s_cum[-1] - tail[k] - (rng.uniform(0.5, 2.0) if tail[k] > 0 else 0.0)
        while s < end - 0.5:
            length = min(_piece_length(rng, morph, 5.0), end - s)
            if length < 0.7:
                break
            poly = _sub_path(path, s_cum, s, s + length)
            poly += rng.normal(0, 0.05, poly.shape)
            radius = _piece_radius(rng, morph)
            polys, radii = [poly], [_vary(rng, radius, len(poly), lo, hi)]
            if morph == _M.FINE_LINEAR_BRANCHING and rng.random() < 0.35:
                br = _branch(rng, poly, radius, morph)
                if br is not None:
                    polys.append(br[0])
                    radii.append(br[1])
            m = _tube_member(polys, radii)
            if not _too_close(m, members, 0.3):
                members.append(m)
            s += length + rng.uniform(0.5, 3.0)
    return members


def _layout_vascular(rng, scene: _Scene, shrink: float) -> list[_Member]:
    """Tram-track: two parallel discontinuous lines 1-2 mm apart, 15-40 mm long."""
    length = min(rng.uniform(15.0, 40.0), scene.max_extent) * shrink
    centre = scene.pick_centre(rng, 0.5 * length + 2.0)
    if centre is None:
        return []
    theta = scene.nipple_angle(centre) + rng.normal(0, 0.6)
    path = _arc((0, 0), theta, length, rng.normal(0, 0.4 / length))
    path += centre - path[len(path) // 2]
    s_cum = _arclength(path)
    tang = np.gradient(path, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    normal = np.column_stack([tang[:, 1], -tang[:, 0]])
    sep = rng.uniform(1.0, 2.0)
    radius = _piece_radius(rng, _M.VASCULAR)
    members = []
    for side in (0.5, -0.5):
        rail = path + side * sep * normal
        s = rng.uniform(0, 2.0)
        while s < s_cum[-1] - 1.0:
            seg = min(rng.uniform(2.0, 8.0), s_cum[-1] - s)
            if seg < 1.0:
                break
            poly = _sub_path(rail, s_cum, s, s + seg)
            members.append(_tube_member([poly], [_vary(rng, radius, len(poly), 0.06, 0.25)]))
            s += seg + rng.uniform(0.5, 3.0)
    return members


def _layout_skin(rng, scene: _Scene) -> list[_Member]:
    """A tight group (< 5 mm) of lucent-centred specks within about 3 mm of the skin line."""
    centre = scene.pick_centre(rng, 0.0, skin=True)
    if centre is None:
        return []
    radius = rng.uniform(1.0, 2.3)
    return _specks_in_disc(rng, _M.SKIN, centre, radius, 0.0, int(rng.integers(3, 9)), 0.2)


def _layout_diffuse(rng, scene: _Scene, morph) -> list[_Member]:
    """Specks scattered at random throughout the breast."""
    area = scene.anatomy.breast_area_mm2
    n = max(15, round(rng.uniform(30, 80) * min(1.0, area / 12000.0)))
    members: list[_Member] = []
    for _ in range(n):
        shape = _speck_shape(rng, morph, rng.uniform(0, np.pi)) if morph not in _PIECE_MORPHS else None
        for _try in range(20):
            centre = scene.pick_centre(rng, 1.0)
            if centre is None:
                return []
            if shape is None:
                m = _piece_along(rng, morph, centre, scene.nipple_angle(centre) + np.pi, _piece_length(rng, morph, 8.0))
            else:
                m = _speck_member(shape, centre)
            if not _too_close(m, members, 3.0):
                members.append(m)
                break
    return members


def _place_isolated(rng, scene: _Scene, n: int, cnr_range) -> list[tuple[_Member, float]]:
    out = []
    gap = max(scene.gap, 12.0)
    for _ in range(n):
        morph = _M.PUNCTATE if rng.random() < 0.6 else _M.ROUND
        shape = _speck_shape(rng, morph, 0.0)
        cnr = cnr_range[0] + (cnr_range[1] - cnr_range[0]) * rng.beta(2.0, 1.0)
        for _try in range(30):
            centre = scene.pick_centre(rng, 1.5, gap=gap)
            if centre is None:
                return out
            m = _speck_member(shape, centre)
            if scene.fits(m) and scene.far_from_others(m.skeleton, gap):
                scene.occupy([m])
                out.append((m, cnr))
                break
    return out


# --------------------------------------------------------------------------------------
# Content draws


def balanced_specs(index: int) -> list[ClusterSpec]:
    """The two clusters of image `index` of a balanced set (see ``SynthSettings.balanced``)."""
    pairs = sorted(set(_MIX) | set(_DISTRACTORS))
    morphologies = sorted({m for _, m in pairs})
    distributions = sorted({d for d, _ in _MIX})
    morphology = morphologies[index % len(morphologies)]
    with_morphology = [p for p in pairs if p[1] == morphology]
    distribution = distributions[index % len(distributions)]
    with_distribution = [p for p in sorted(_MIX) if p[0] == distribution]
    first = with_morphology[(index // len(morphologies)) % len(with_morphology)]
    second = with_distribution[(index // len(distributions)) % len(with_distribution)]
    return [ClusterSpec(*first), ClusterSpec(*second)]


def _draw_pair(rng, table: dict) -> ClusterSpec:
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    dist, morph = keys[rng.choice(len(keys), p=p / p.sum())]
    return ClusterSpec(dist, morph)


def _draw_content(rng, settings: SynthSettings) -> tuple[list[ClusterSpec], int]:
    """Draw the clusters and the number of isolated specks of one image."""
    specs: list[ClusterSpec] = []
    if rng.random() >= settings.normal_fraction:
        benign_only = rng.random() < 0.1
        if not benign_only:
            k = 1 + int(rng.binomial(settings.max_clusters - 1, 0.55))
            specs += [_draw_pair(rng, _MIX) for _ in range(k)]
        if benign_only or rng.random() < settings.benign_fraction:
            nb = 1 if rng.random() < 0.8 else 2
            specs += [_draw_pair(rng, _DISTRACTORS) for _ in range(nb)]
    n_iso = int(rng.integers(1, 5)) if rng.random() < settings.isolated_fraction else 0
    return specs, n_iso


def _draw_cnr(rng, morph: Morphology, cnr_range: tuple[float, float]) -> float:
    """Target CNR of a cluster: mostly clearly visible, some near threshold."""
    lo, hi = cnr_range
    span = hi - lo
    if morph == _M.AMORPHOUS:  # faint, hazy
        return lo + span * 0.6 * rng.beta(1.5, 2.0)
    if morph in (_M.COARSE_HETEROGENEOUS, _M.ROUND, _M.SKIN, _M.RIM):  # conspicuous
        return lo + span * (0.4 + 0.6 * rng.beta(2.0, 1.0))
    if morph in (_M.COARSE, _M.LARGE_RODLIKE):  # dense benign calcium, mm thick
        return hi * rng.uniform(3.0, 6.0)
    if morph == _M.VASCULAR:
        return lo + span * rng.beta(2.0, 1.5)
    return lo + span * rng.beta(1.8, 1.0)


# --------------------------------------------------------------------------------------
# Rendering


@dataclass(eq=False)
class _Rendered:
    r0: int
    c0: int
    patch: np.ndarray  # (h, w) float32 mean projected thickness per pixel, mm
    peak: float  # peak of the patch after the detector blur, mm
    row: float
    col: float
    diameter_mm: float
    length_mm: float
    width_mm: float


def _thickness(shape: _Shape, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Projected thickness (mm) of the union of a shape's primitives on the grid ys x xs (mm)."""
    H, W = len(ys), len(xs)
    los, his = [], []

    def window(y0, y1, x0, x1):
        i0, i1 = np.searchsorted(ys, y0), np.searchsorted(ys, y1, side="right")
        j0, j1 = np.searchsorted(xs, x0), np.searchsorted(xs, x1, side="right")
        return slice(i0, i1), slice(j0, j1)

    if shape.tubes:
        half = np.zeros((H, W))
        for pts, radii in shape.tubes:
            for k in range(len(pts) - 1):
                p0, p1 = pts[k], pts[k + 1]
                r0, r1 = float(radii[k]), float(radii[k + 1])
                r = max(r0, r1)
                lo_pt, hi_pt = np.minimum(p0, p1) - r, np.maximum(p0, p1) + r
                sy, sx = window(lo_pt[0], hi_pt[0], lo_pt[1], hi_pt[1])
                Y = ys[sy][:, None] - p0[0]
                X = xs[sx][None, :] - p0[1]
                d = p1 - p0
                L2 = max(float(d @ d), 1e-12)
                t = np.clip((Y * d[0] + X * d[1]) / L2, 0.0, 1.0)
                rho2 = (Y - t * d[0]) ** 2 + (X - t * d[1]) ** 2
                rr = r0 + t * (r1 - r0)
                h = np.sqrt(np.maximum(rr * rr - rho2, 0.0))
                np.maximum(half[sy, sx], h, out=half[sy, sx])
        los.append(-half)
        his.append(half)
    for y, x, z, a, b, h, ang in shape.blobs:
        r = max(a, b)
        sy, sx = window(y - r, y + r, x - r, x + r)
        Y = ys[sy][:, None] - y
        X = xs[sx][None, :] - x
        c, s = math.cos(ang), math.sin(ang)
        u = (X * c + Y * s) / a
        v = (-X * s + Y * c) / b
        hh = h * np.sqrt(np.maximum(1.0 - u * u - v * v, 0.0))
        lo = np.full((H, W), z)
        hi = np.full((H, W), z)
        lo[sy, sx] -= hh
        hi[sy, sx] += hh
        los.append(lo)
        his.append(hi)
    for verts, z, h, bevel in shape.prisms:
        Y = ys[:, None]
        X = xs[None, :]
        depth = np.full((H, W), np.inf)
        n = len(verts)
        for k in range(n):
            p0, p1 = verts[k], verts[(k + 1) % n]
            e = p1 - p0
            norm = math.hypot(*e)
            # inside of a counter-clockwise polygon (in (x, y)) is on the left of each edge
            dist = ((Y - p0[0]) * e[1] - (X - p0[1]) * e[0]) / norm
            np.minimum(depth, dist, out=depth)
        hh = h * np.sqrt(np.clip(depth / bevel, 0.0, 1.0))
        los.append(z - hh)
        his.append(z + hh)
    for y, x, z, ro, ri in shape.shells:
        rho2 = (ys[:, None] - y) ** 2 + (xs[None, :] - x) ** 2
        ho = np.sqrt(np.maximum(ro * ro - rho2, 0.0))
        hi_ = np.sqrt(np.maximum(ri * ri - rho2, 0.0))
        los += [z - ho, z + hi_]
        his += [z - hi_, z + ho]
    if len(los) == 1:
        return his[0] - los[0]
    lo = np.stack(los)
    hi = np.stack(his)
    order = np.argsort(lo, axis=0)
    lo = np.take_along_axis(lo, order, axis=0)
    hi = np.take_along_axis(hi, order, axis=0)
    total = np.zeros((H, W))
    end = np.full((H, W), -np.inf)
    for k in range(len(lo)):
        total += np.maximum(hi[k] - np.maximum(lo[k], end), 0.0)
        np.maximum(end, hi[k], out=end)
    return total


def _render_member(m: _Member, spacing, kernel: np.ndarray) -> _Rendered:
    sr, sc = spacing
    y0, y1, x0, x1 = m.shape.bbox()
    ar, ac = m.anchor[0] / sr, m.anchor[1] / sc  # anchor in px
    haze_px = m.shape.haze_mm / sr
    margin = math.ceil(3 * haze_px) + len(kernel) // 2 + 2
    r0 = math.floor(ar + y0 / sr) - margin
    r1 = math.ceil(ar + y1 / sr) + margin + 1
    c0 = math.floor(ac + x0 / sc) - margin
    c1 = math.ceil(ac + x1 / sc) + margin + 1
    h, w = r1 - r0, c1 - c0
    sub = (np.arange(_SS) + 0.5) / _SS - 0.5
    ys = ((np.arange(r0, r1)[:, None] + sub[None, :]).ravel() - ar) * sr
    xs = ((np.arange(c0, c1)[:, None] + sub[None, :]).ravel() - ac) * sc
    t = _thickness(m.shape, ys, xs)
    patch = t.reshape(h, _SS, w, _SS).mean(axis=(1, 3)).astype(np.float32)
    if haze_px > 0:
        patch = cv2.GaussianBlur(patch, (0, 0), haze_px, borderType=cv2.BORDER_CONSTANT)
    blurred = cv2.sepFilter2D(patch, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    weight = float(patch.sum())
    row = r0 + float((patch.sum(axis=1) * np.arange(h)).sum()) / weight
    col = c0 + float((patch.sum(axis=0) * np.arange(w)).sum()) / weight
    # Projected area and its second moments, on the supersampled grid.
    inside = t > 0
    cell = sr * sc / _SS**2
    area = float(inside.sum()) * cell
    yy, xx = np.nonzero(inside)
    py, px = ys[yy], xs[xx]
    cov = np.cov(np.vstack([py, px]), bias=True) if py.size > 1 else np.zeros((2, 2))
    ev = np.sort(np.linalg.eigvalsh(cov + np.eye(2) * (sr / _SS) ** 2 / 12.0))[::-1]
    return _Rendered(
        r0=r0,
        c0=c0,
        patch=patch,
        peak=float(blurred.max()),
        row=row,
        col=col,
        diameter_mm=math.sqrt(4 * area / math.pi),
        length_mm=4 * math.sqrt(max(ev[0], 0.0)),
        width_mm=4 * math.sqrt(max(ev[1], 0.0)),
    )


def _render_image(rng, anatomy: _Anatomy, det: _Detector, planned, singles, spacing):
    """Plant the calcifications, add noise and blur, quantise; return pixels and truth."""
    a_phys = anatomy.a_phys
    rows, cols = a_phys.shape

    def local_sigma(r: _Rendered) -> float:
        i = int(np.clip(round(r.row), 0, rows - 1))
        j = int(np.clip(round(r.col), 0, cols - 1))
        return float(_noise_sigma(det, a_phys[i, j])) * det.noise_factor

    patches = []  # (rendered, mu) added after every sigma is known
    clusters = []
    for cid, (_i, spec, cnr, members) in enumerate(planned):
        rendered = [_render_member(m, spacing, det.kernel) for m in members]
        sigma = np.array([local_sigma(r) for r in rendered])
        unit = np.array([det.gain * r.peak for r in rendered]) / sigma  # CNR per unit coefficient
        mu = cnr / float(np.median(unit))
        if spec.morphology != _M.AMORPHOUS:
            # Calcium attenuates at least this much: a large speck drawn with a low
            # target CNR is still as conspicuous as real calcium of its size.
            mu = max(mu, _MU_CALCIUM_MIN)
        calcs = []
        for r in rendered:
            calcs.append(_truth_calc(r, det.gain * mu * r.peak))
            patches.append((r, mu))
        achieved = float(np.median(unit * mu))
        rr = np.array([c.row for c in calcs])
        cc = np.array([c.col for c in calcs])
        dy = (rr[:, None] - rr[None, :]) * spacing[0]
        dx = (cc[:, None] - cc[None, :]) * spacing[1]
        extent = float(np.sqrt(dy * dy + dx * dx).max()) + float(np.mean([c.diameter_mm for c in calcs]))
        clusters.append(
            Cluster(
                cluster_id=cid,
                category=category_of(spec.morphology),
                distribution=spec.distribution,
                morphology=spec.morphology,
                extent_mm=round(extent, 3),
                cnr=round(achieved, 3),
                row=round(float(rr.mean()), 3),
                col=round(float(cc.mean()), 3),
                calcifications=tuple(calcs),
            )
        )
    isolated = []
    for m, cnr in singles:
        r = _render_member(m, spacing, det.kernel)
        mu = cnr * local_sigma(r) / (det.gain * r.peak)
        isolated.append(_truth_calc(r, det.gain * mu * r.peak))
        patches.append((r, mu))

    for r, mu in patches:
        h, w = r.patch.shape
        a_phys[r.r0 : r.r0 + h, r.c0 : r.c0 + w] += np.float32(mu) * r.patch

    # Detector: log signal plus signal-dependent noise, then the blur (which
    # correlates the noise), then quantisation.
    photons = np.exp(-a_phys)
    photons *= np.float32(det.n0)
    std = photons + np.float32(det.electronic**2)
    np.sqrt(std, out=std)
    std /= photons
    std *= np.float32(det.gain)
    del photons
    image = a_phys  # reused in place: the anatomy is not needed any more
    image += anatomy.a_eq
    image *= np.float32(det.gain)
    image += np.float32(det.lo)
    noise = rng.standard_normal((rows, cols), dtype=np.float32)
    noise *= std
    image += noise
    del noise, std
    image = cv2.sepFilter2D(image, cv2.CV_32F, det.kernel, det.kernel, borderType=cv2.BORDER_REFLECT)
    np.rint(image, out=image)
    np.clip(image, 0, det.maxv, out=image)
    return image.astype(np.uint16), clusters, isolated


def _truth_calc(r: _Rendered, contrast: float) -> Calcification:
    return Calcification(
        row=round(r.row, 3),
        col=round(r.col, 3),
        diameter_mm=round(r.diameter_mm, 4),
        length_mm=round(r.length_mm, 4),
        width_mm=round(r.width_mm, 4),
        contrast=round(float(contrast), 2),
    )
