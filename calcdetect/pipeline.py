"""The one place where the stages are chained: image -> specks -> clusters."""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import InitVar, asdict, dataclass, field

import numpy as np

from calcdetect.breast import BreastGeometry, breast_geometry
from calcdetect.specks.candidates import (MAX_DIAMETER_MM, MAX_LENGTH_MM, MIN_DIAMETER_MM, THRESHOLD, Specks,
                                          find_specks)
from calcdetect.cluster import CAD_RADIUS_MM, ROD_RADIUS_MM, Clusters, cluster_labels, measure_clusters
from calcdetect.birads import ClusterDescriptions, assessment_category, describe_clusters, highest_category, rod_specks
from calcdetect.specks.ridges import ridge_length
from calcdetect.specks.shape import SpeckFeatures, speck_features
from calcdetect.filters import available_filters, get_filter
from calcdetect.filters.registry import RESERVED, UnknownFilterError
from calcdetect._checks import check_image, check_spacing
from calcdetect.specks.noise import NOISE_BLOCK_MM, local_noise
from calcdetect.saturation import SATURATED_MARGIN_MM, saturated_plateaus, without_plateaus
from calcdetect.specks.features import CandidateFeatures, candidate_features
from calcdetect.specks.model import calcification_probability, vascular_probability


#: `Params.detector` meaning the enhancement filter's own response.
RESPONSE = RESERVED
#: The least margin, in largest diameters (`Params.max_diameter_mm`), the crop round the search mask keeps, whatever the
#: filters' reach: the speck measurements look past the mask too (ridges followed from a
#: speck, enclosing objects, distances on 0.5 mm cells), and the image's crop sets the grids
#: of the noise blocks and of the ridge and distance maps. 4 x 1 mm is the margin the
#: shipped false-positive models were fitted with.
MEASUREMENT_REACH_DIAMETERS = 4.0
#: Default of `Params.min_calcification_probability` (chosen on synthetic tuning sets; see
#: benchmarks/fp_model.md).
MIN_CALCIFICATION_PROBABILITY = 0.1
#: Default of `Params.min_confidence` (chosen on synthetic tuning sets; see README).
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Params:
    """Every setting of a detection run; lengths in mm.

    Attributes
    ----------
    filter : str
        Enhancement filter, by its name in :data:`calcdetect.filters.FILTERS`
        (``calcdetect filters`` lists them): specks are segmented and measured on
        its response.
    detector : str
        What a speck's peak significance is measured on: a filter by name, by
        default ``"bandpass"``, a difference of Gaussians matched to the smallest
        speck (sigmas ``min_diameter_mm / (2 sqrt 2)`` and 4 times that), which
        small sharp calcifications excite and smooth tissue texture hardly does;
        or ``"response"``, the enhancement filter itself.
    backend : {"opencv", "reference"}
        OpenCV fast paths, or the scipy / scikit-image references (filters,
        connected components): same results, for checks and benchmarks.
    min_diameter_mm, max_diameter_mm : float
        Size window of a calcification: smallest equivalent diameter, largest
        width. The filters are sized to it (:class:`calcdetect.filters.FilterSpec`).
    max_length_mm : float
        Longest calcification (fine linear casts reach several mm, large rod-like
        ones a cm and more).
    threshold : float
        Peak significance of a speck in local noise sigmas; ``low_threshold``
        (default half of it) for the pixels around the peak.
    noise_block_mm : float
        Side of the blocks over which the local noise is estimated.
    skin_margin_mm : float
        Candidates closer than this to the skin line are dropped: the skin
        itself (about 1.5 mm thick) is a bright rim whose edges excite any
        band-pass filter. The same margin is kept from the pectoral muscle and
        from the image border.
    exclude_pectoral : bool
        On oblique and lateral views (see :data:`calcdetect.breast.PECTORAL_VIEWS`),
        find the pectoral muscle and search no candidates in it.
    cluster_radius_mm, min_cluster_specks : float, int
        Density criterion of a cluster (see :func:`calcdetect.cluster.cluster_labels`):
        by default the CAD convention, 3 within 1 cm^2; BI-RADS is 5 within 1 cm
        (:meth:`birads_grouping`).
    fp_model : bool
        Score each candidate with the shipped false-positive model
        (:func:`calcdetect.specks.model.calcification_probability`) and each
        calcification with the vascular model. Without them a speck's score grows
        with its significance alone, no candidate is dropped, vessels are told by
        the tram-track rule only, and `min_confidence` does not apply (it is a cut
        on the model's probabilities).
    min_calcification_probability : float
        Candidates scored below this are dropped before clustering (with the model).
    min_confidence : float
        The operating point: clusters less confident than this are dissolved (their
        calcifications stay, outside any cluster) before they are described. The
        default is chosen on synthetic tuning sets (see README, "Operating point").
    """

    filter: str = "tophat"
    detector: str = "bandpass"
    backend: str = "opencv"
    min_diameter_mm: float = MIN_DIAMETER_MM
    max_diameter_mm: float = MAX_DIAMETER_MM
    max_length_mm: float = MAX_LENGTH_MM
    threshold: float = THRESHOLD
    low_threshold: float | None = None
    noise_block_mm: float = NOISE_BLOCK_MM
    skin_margin_mm: float = 2.0
    exclude_pectoral: bool = True
    cluster_radius_mm: float = CAD_RADIUS_MM
    min_cluster_specks: int = 3
    fp_model: bool = True
    min_calcification_probability: float = MIN_CALCIFICATION_PROBABILITY
    min_confidence: float = MIN_CONFIDENCE
    detection: InitVar[str | None] = None  # what `detector` was called before issue 14 (deprecated)

    def __post_init__(self, detection: str | None = None):
        if detection is not None:
            warnings.warn("Params(detection=...) is deprecated: use detector=... (the same values)",
                          DeprecationWarning, stacklevel=3)
            object.__setattr__(self, "detector", detection)
        get_filter(self.filter)  # raises, naming the allowed filters
        if self.detector != RESPONSE:
            try:
                get_filter(self.detector)
            except UnknownFilterError:
                raise UnknownFilterError(f"detector must be {RESPONSE!r} or one of {available_filters()}; "
                                         f"got {self.detector!r}") from None
        for name in ("min_diameter_mm", "max_diameter_mm", "max_length_mm", "threshold",
                     "noise_block_mm", "cluster_radius_mm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if self.min_diameter_mm >= self.max_diameter_mm:
            raise ValueError(
                f"min_diameter_mm must be < max_diameter_mm; got {self.min_diameter_mm} and {self.max_diameter_mm}"
            )
        if self.max_length_mm < self.max_diameter_mm:
            raise ValueError(f"max_length_mm must be >= max_diameter_mm ({self.max_diameter_mm}): a speck is at "
                             f"least as long as it is wide; got {self.max_length_mm}")
        for name in ("min_calcification_probability", "min_confidence"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
        if self.skin_margin_mm < 0:
            raise ValueError(f"skin_margin_mm must be >= 0; got {self.skin_margin_mm}")

    @property
    def size_window(self) -> dict:
        """``min_diameter_mm`` and ``max_diameter_mm``: what the filters are sized to
        (:meth:`calcdetect.filters.FilterSpec.params`)."""
        return {"min_diameter_mm": self.min_diameter_mm, "max_diameter_mm": self.max_diameter_mm}

    @property
    def filter_names(self) -> list[str]:
        """The filters the run uses: the enhancement filter, then the detector unless it is
        the enhancement filter's own response."""
        return [self.filter] + ([self.detector] if self.detector != RESPONSE else [])

    @classmethod
    def birads_grouping(cls, **changes) -> Params:
        """Settings with the BI-RADS cluster definition: at least 5 within 1 cm."""
        return cls(**{"cluster_radius_mm": 5.0, "min_cluster_specks": 5, **changes})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Result:
    """What detection found in one image.

    Attributes
    ----------
    specks : Specks
        All candidate calcifications (K).
    cluster_id : (K,) ndarray of int
        Cluster of each speck; -1 for none.
    clusters : Clusters
        The clusters (C), in the order of their ``cluster_id``.
    shapes : SpeckFeatures
        Shape features and class of each speck.
    descriptions : ClusterDescriptions
        BI-RADS distribution, morphology and descriptor PPV of each cluster (C).
    seconds : dict of str to float
        Time spent in each stage.
    geometry : BreastGeometry or None
        The breast geometry detection used (None when a mask was given).
    features : CandidateFeatures or None
        The false-positive model's features of each speck (K).
    n_candidates : int
        Candidates found before the false-positive model's cut.
    n_clusters_before_cut : int
        Clusters found before the `min_confidence` cut.
    saturated_fraction : float
        Fraction of the searched region that was a saturated plateau (a clipped export;
        :func:`calcdetect.saturation.saturated_plateaus`), left out with a margin.
    """

    specks: Specks
    cluster_id: np.ndarray
    clusters: Clusters
    shapes: SpeckFeatures | None = None
    descriptions: ClusterDescriptions | None = None
    seconds: dict = field(default_factory=dict)
    geometry: BreastGeometry | None = None
    features: CandidateFeatures | None = None
    n_candidates: int = 0
    n_clusters_before_cut: int = 0
    saturated_fraction: float = 0.0

    @property
    def n_suspicious_clusters(self) -> int | None:
        """Clusters described with a suspicious morphology, diffuse ones left out (several in one
        breast is itself a predictor of malignancy); None when the clusters were not described."""
        return None if self.descriptions is None else self.descriptions.n_suspicious

    @property
    def birads_category(self) -> np.ndarray | None:
        """(C,) BI-RADS assessment category of each cluster (str: 2, 3, 4A, 4B, 4C or 5, see
        :mod:`calcdetect.birads.assessment`); None when the clusters were not described."""
        if self.descriptions is None:
            return None
        d = self.descriptions
        return np.array([str(assessment_category(p, m)) for p, m in zip(d.ppv, d.morphology)], dtype=object)

    @property
    def image_birads_category(self) -> str | None:
        """The image's BI-RADS assessment category for calcifications: its clusters' highest,
        1 (negative) when it has none; None when the clusters were not described."""
        categories = self.birads_category
        return None if categories is None else str(highest_category(categories))

    @property
    def suspicion(self) -> np.ndarray:
        """(C,) suspicion of each cluster in [0, 1]: detection confidence times descriptor PPV.

        The ``score`` column of clusters.csv: a cluster ranks high when it is
        surely calcifications and described as suspicious. A research aid, not a
        diagnosis.
        """
        if self.descriptions is None:
            return self.clusters.confidence
        return self.clusters.confidence * self.descriptions.ppv


def detect_mammogram(mammogram, *, params: Params = Params()) -> Result:
    """:func:`detect` on a loaded :class:`calcdetect.io.Mammogram`: its image, spacing and
    view (which decides whether the pectoral muscle is searched)."""
    return detect(mammogram.image, spacing=mammogram.spacing, params=params, view=mammogram.view)


def detect(image, *, spacing, params: Params = Params(), mask=None, view: str | None = None) -> Result:
    """Find calcifications and clusters of calcifications in a mammogram.

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram, calcium bright (MONOCHROME2 sense), in detector or log units.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    params : Params
        Detection settings.
    mask : (M, N) ndarray of bool, optional
        Where to search; estimated with :func:`calcdetect.breast.breast_geometry`
        when omitted (the breast, ``params.skin_margin_mm`` inside the skin line,
        without the pectoral muscle on oblique views). With a mask given, the
        nipple and skin line are unknown (no cluster is then described as
        segmental or skin), and the mask's area stands for the breast's. Either way
        nothing is searched within ``params.skin_margin_mm`` of the image border.
    view : str, optional
        ``"CC"``, ``"MLO"``, ...: with ``params.exclude_pectoral``, the pectoral
        muscle is searched on oblique and lateral views when `mask` is omitted.

    Returns
    -------
    Result
        Coordinates refer to the full `image`.

    Notes
    -----
    Filtering and thresholding run on the bounding box of the mask, grown by
    the filters' reach so that every pixel inside the mask sees the same
    neighbourhood as in the full image.
    """
    image = check_image(image, finite=True)
    spacing = check_spacing(spacing)
    full_shape = image.shape
    clock = _Stopwatch()
    region = _search_region(image, spacing=spacing, params=params, mask=mask, view=view)
    geometry, mask, saturated_fraction = region.geometry, region.mask, region.saturated_fraction
    clock.lap("breast mask")
    if region.box is None:  # nothing to search
        empty = Specks.empty()
        labels = np.zeros(0, np.int64)
        return Result(empty, labels, measure_clusters(empty, labels, spacing=spacing),
                      shapes=speck_features(np.zeros((1, 1), np.float32), empty, spacing=spacing),
                      descriptions=ClusterDescriptions.empty(), seconds=clock.laps, geometry=geometry,
                      saturated_fraction=saturated_fraction)
    box = region.box
    offset = np.array([box[0].start, box[1].start])
    image, mask = image[box], np.ascontiguousarray(mask[box])  # the mask is indexed flat, often

    window = params.size_window
    response = get_filter(params.filter)(image, spacing=spacing, backend=params.backend, **window)
    clock.lap(f"filter ({params.filter})")
    detection = None
    if params.detector != RESPONSE:
        detection = get_filter(params.detector)(image, spacing=spacing, backend=params.backend, **window)
        clock.lap(f"detector ({params.detector})")
    detection_noise = local_noise(response if detection is None else detection, spacing=spacing,
                                  block_mm=params.noise_block_mm, mask=mask, grey_level=image)
    specks = find_specks(
        response,
        spacing=spacing,
        threshold=params.threshold,
        low_threshold=params.low_threshold,
        min_diameter_mm=params.min_diameter_mm,
        max_diameter_mm=params.max_diameter_mm,
        max_length_mm=params.max_length_mm,
        mask=mask,
        noise=detection_noise if detection is None else None,
        detection=detection,
        detection_noise=None if detection is None else detection_noise,
        block_mm=params.noise_block_mm,
        backend=params.backend,
    )
    del detection
    clock.lap("specks")
    # bbox still in crop coordinates; the image for objects wider than the size window (popcorn)
    # ridges (for the description only) once there are clusters to describe
    shapes = speck_features(response, specks, spacing=spacing, image=image, mask=mask, ridges=False)
    clock.lap("speck shapes")
    depth_mm = geometry.depth_mm(specks.row + offset[0], specks.col + offset[1]) if geometry is not None else None
    pectoral = geometry.pectoral[box] if geometry is not None and geometry.pectoral is not None else None
    features = candidate_features(image, specks, shapes, spacing=spacing, response=response,
                                  detection_noise=detection_noise, mask=mask, depth_mm=depth_mm, pectoral=pectoral,
                                  offset=offset, full_shape=full_shape)
    del response
    n_candidates = len(specks)
    if params.fp_model:
        probability = calcification_probability(features)
        keep = probability >= params.min_calcification_probability
        specks = dataclasses.replace(specks, score=probability).take(keep)
        shapes, features = shapes.take(keep), features.take(keep)
    specks = specks.shifted(offset)
    clock.lap("false-positive model")
    labels = cluster_labels(
        specks.row,
        specks.col,
        spacing=spacing,
        radius_mm=params.cluster_radius_mm,
        min_specks=params.min_cluster_specks,
    )
    labels = _group_rods(labels, specks, shapes, spacing=spacing, min_specks=params.min_cluster_specks)
    clusters = measure_clusters(specks, labels, spacing=spacing)
    n_clusters_before_cut = len(clusters)
    confident = clusters.confidence >= (params.min_confidence if params.fp_model else 0.0)
    if not confident.all():
        renumber = np.full(len(clusters), -1, np.int64)
        renumber[confident] = np.arange(np.count_nonzero(confident))
        labels = np.where(labels >= 0, renumber[labels], -1)
        clusters = clusters.take(confident)
    clock.lap("clusters")
    if len(clusters):  # the description's ridge rule, for the specks it may look at (members, the scatter)
        ridge_mm = ridge_length(image, specks.row - offset[0], specks.col - offset[1], spacing=spacing, mask=mask)
        shapes = dataclasses.replace(shapes, ridge_length_mm=ridge_mm)
        clock.lap("ridges")
    breast = geometry if geometry is not None and geometry.found else None
    descriptions = describe_clusters(
        specks, shapes, labels, spacing=spacing,
        nipple=breast.nipple if breast is not None else None,
        skin_depth_mm=features.depth_mm if breast is not None else None,  # measured for the model already
        breast_area_mm2=breast.area_mm2 if breast is not None else float(mask.sum()) * spacing[0] * spacing[1],
        vascular=vascular_probability(features) if params.fp_model else None,
        linearity=features.linearity_around if params.fp_model else None,
        calcification_probability=specks.score if params.fp_model else None,
    )
    clock.lap("description")
    return Result(specks=specks, cluster_id=labels, clusters=clusters, shapes=shapes, descriptions=descriptions,
                  seconds=clock.laps, geometry=geometry, features=features, n_candidates=n_candidates,
                  n_clusters_before_cut=n_clusters_before_cut, saturated_fraction=saturated_fraction)


@dataclass(frozen=True, eq=False)
class _SearchRegion:
    """Where :func:`detect` searches an image, and the part of it that it filters.

    Attributes
    ----------
    mask : (M, N) ndarray of bool
        The pixels searched: the breast (or the mask given) without the image border's
        margin and the saturated plateaus.
    box : tuple of 2 slices or None
        The mask's bounding box grown by the filters' and the measurements' reach
        (:func:`_reach_mm`), clipped to the image; None when nothing is searched.
    geometry : BreastGeometry or None
        The breast geometry the mask came from (None when a mask was given).
    saturated_fraction : float
        Fraction of the mask before the plateaus were taken out that lay on a saturated plateau.
    """

    mask: np.ndarray
    box: tuple[slice, slice] | None
    geometry: BreastGeometry | None
    saturated_fraction: float


def _search_region(image, *, spacing, params: Params = Params(), mask=None, view: str | None = None) -> _SearchRegion:
    """Where :func:`detect` searches `image` and the crop it filters, as it finds them.

    Parameters and errors as :func:`detect`'s (`image` and `spacing` already checked there).

    Returns
    -------
    _SearchRegion
    """
    geometry = None
    if mask is None:
        geometry = breast_geometry(image, spacing=spacing, margin_mm=params.skin_margin_mm, view=view,
                                   exclude_pectoral=params.exclude_pectoral)
        mask = geometry.mask
    else:
        mask = np.asarray(mask, bool)
        if mask.shape != image.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {image.shape}")
    mask = _off_the_border(mask, margin_px=[math.ceil(params.skin_margin_mm / s) for s in spacing])
    plateaus = saturated_plateaus(image, spacing=spacing, mask=mask)
    searched = int(np.count_nonzero(mask))
    saturated_fraction = float(np.count_nonzero(plateaus)) / searched if searched else 0.0
    mask = without_plateaus(mask, plateaus, spacing=spacing, margin_mm=saturated_margin_mm(params, spacing=spacing))
    box = None
    if mask.any():
        reach_mm = _reach_mm(params, spacing=spacing)
        box = _bounding_box(mask, reach_px=[math.ceil(reach_mm / s) if math.isfinite(reach_mm) else n
                                            for s, n in zip(spacing, mask.shape)])
    return _SearchRegion(mask=mask, box=box, geometry=geometry, saturated_fraction=saturated_fraction)


def _group_rods(labels: np.ndarray, specks: Specks, shapes: SpeckFeatures, *, spacing, min_specks: int) -> np.ndarray:
    """`labels` with new clusters of the large rod-like specks left outside any cluster.

    Large rod-like (secretory) calcifications (:func:`~calcdetect.birads.morphology.rod_specks`),
    several mm long, spread diffusely along ducts rather than cluster [1]_: such specks are
    grouped by the gaps between their axes (:data:`~calcdetect.cluster.ROD_RADIUS_MM`). In a
    clipped export a saturated rod lies in a plateau left out of the search and is lost.

    References
    ----------
    .. [1] D'Orsi CJ, et al. ACR BI-RADS Atlas, 5th ed. American College of Radiology, 2013.
    """
    rod = (labels < 0) & rod_specks(specks, shapes)
    if np.count_nonzero(rod) < min_specks:
        return labels
    rod_labels = cluster_labels(specks.row[rod], specks.col[rod], spacing=spacing, radius_mm=ROD_RADIUS_MM,
                                min_specks=min_specks, length_mm=specks.length_mm[rod],
                                orientation=specks.orientation[rod])
    labels = labels.copy()
    labels[rod] = np.where(rod_labels >= 0, rod_labels + labels.max(initial=-1) + 1, -1)
    return labels


def _off_the_border(mask: np.ndarray, *, margin_px) -> np.ndarray:
    """`mask` without the `margin_px` (rows, cols) next to the image border, where the filters'
    neighbourhoods are cut short (as at the skin line)."""
    (m_r, m_c), (rows, cols) = margin_px, mask.shape
    if not (mask[:m_r].any() or mask[rows - m_r:].any() or mask[:, :m_c].any() or mask[:, cols - m_c:].any()):
        return mask
    mask = mask.copy()
    mask[:m_r], mask[rows - m_r:], mask[:, :m_c], mask[:, cols - m_c:] = False, False, False, False
    return mask


def saturated_margin_mm(params: Params, *, spacing=None) -> float:
    """Margin kept out of the search round a saturated plateau.

    At least :data:`~calcdetect.saturation.SATURATED_MARGIN_MM`, and the reach of the filter
    specks are found on (the detector, or the enhancement filter with
    ``detector="response"``), which a plateau's edge excites into false specks; a filter that
    is not local counts by the size window's largest diameter, the size of what it is meant
    to answer.

    Parameters
    ----------
    params : Params
        The run's settings.
    spacing : tuple of 2 floats, optional
        Pixel spacing (row_mm, col_mm): the filter's reach for that pixel size
        (:meth:`calcdetect.filters.FilterSpec.reach_mm`); on fine pixels without it.

    Returns
    -------
    float
        Millimetres.
    """
    reach = _filter_reaches_mm(params, spacing=spacing)[-1]  # the detector, or the filter
    return max(SATURATED_MARGIN_MM, reach if math.isfinite(reach) else params.max_diameter_mm)


def _filter_reaches_mm(params: Params, *, spacing) -> list[float]:
    """How far (mm) the enhancement filter and the detector look from a pixel (inf: not local),
    for the pixel `spacing` (None: on fine pixels)."""
    return [get_filter(name).reach_mm(**params.size_window, spacing=spacing) for name in params.filter_names]


def _reach_mm(params: Params, *, spacing) -> float:
    """The crop's margin round the search mask (mm): the farther of the filters' reach (for
    the pixel `spacing`; None: on fine pixels) and the measurements' own
    (:data:`MEASUREMENT_REACH_DIAMETERS`), plus a noise block so edge blocks are full; inf
    when a filter is not local (the whole image is then filtered)."""
    own = MEASUREMENT_REACH_DIAMETERS * params.max_diameter_mm
    return max(*_filter_reaches_mm(params, spacing=spacing), own) + params.noise_block_mm


def _bounding_box(mask: np.ndarray, *, reach_px) -> tuple[slice, slice]:
    """Slices of the mask's bounding box grown by `reach_px` (rows, cols), clipped to the image."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    row_slice, col_slice = (
        slice(max(0, int(idx[0]) - reach), min(size, int(idx[-1]) + reach + 1))
        for idx, reach, size in zip((rows, cols), reach_px, mask.shape)
    )
    return row_slice, col_slice


class _Stopwatch:
    """Seconds per stage, for provenance and benchmarks."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now
