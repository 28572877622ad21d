"""The one place where the stages are chained: image -> specks -> clusters."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from calcdetect.breast import breast_mask
from calcdetect.candidates import Specks, find_specks
from calcdetect.cluster import CAD_RADIUS_MM, Clusters, cluster_labels, measure_clusters
from calcdetect.filters import difference_of_gaussians, get_filter
from calcdetect.filters._common import check_image, check_spacing


#: What a speck's significance can be measured on (see `Params.detection`).
DETECTIONS = ("bandpass", "response")


@dataclass(frozen=True)
class Params:
    """Every setting of a detection run; lengths in mm.

    Attributes
    ----------
    filter : str
        Enhancement filter from :data:`calcdetect.filters.FILTERS`: specks are
        segmented and measured on its response.
    detection : {"bandpass", "response"}
        What a speck's peak significance is measured on: ``"bandpass"``, a
        difference of Gaussians matched to the smallest speck (sigmas
        ``min_diameter_mm / (2 sqrt 2)`` and 4 times that), which small sharp
        calcifications excite and smooth tissue texture hardly does; or
        ``"response"``, the enhancement filter itself.
    backend : {"opencv", "reference"}
        OpenCV fast paths, or the scipy / scikit-image references (filters,
        connected components): same results, for checks and benchmarks.
    min_diameter_mm, max_diameter_mm : float
        Size window of a calcification: smallest equivalent diameter, largest
        width. The filter is sized to `max_diameter_mm`.
    max_length_mm : float
        Longest calcification (fine linear casts reach several mm).
    threshold : float
        Peak significance of a speck in local noise sigmas; ``low_threshold``
        (default half of it) for the pixels around the peak.
    noise_block_mm : float
        Side of the blocks over which the local noise is estimated.
    skin_margin_mm : float
        Candidates closer than this to the skin line are dropped: the skin
        itself (about 1.5 mm thick) is a bright rim whose edges excite any
        band-pass filter.
    cluster_radius_mm, min_cluster_specks : float, int
        Density criterion of a cluster (see :func:`calcdetect.cluster.cluster_labels`):
        by default the CAD convention, 3 within 1 cm^2; BI-RADS is 5 within 1 cm
        (:meth:`birads_grouping`).
    """

    filter: str = "tophat"
    detection: str = "bandpass"
    backend: str = "opencv"
    min_diameter_mm: float = 0.1
    max_diameter_mm: float = 1.0
    max_length_mm: float = 6.0
    threshold: float = 5.0
    low_threshold: float | None = None
    noise_block_mm: float = 4.0
    skin_margin_mm: float = 2.0
    cluster_radius_mm: float = CAD_RADIUS_MM
    min_cluster_specks: int = 3

    def __post_init__(self):
        get_filter(self.filter)  # raises, naming the allowed filters
        if self.detection not in DETECTIONS:
            raise ValueError(f"detection must be one of {DETECTIONS}; got {self.detection!r}")
        for name in ("min_diameter_mm", "max_diameter_mm", "max_length_mm", "threshold",
                     "noise_block_mm", "cluster_radius_mm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if self.min_diameter_mm >= self.max_diameter_mm:
            raise ValueError(
                f"min_diameter_mm must be < max_diameter_mm; got {self.min_diameter_mm} and {self.max_diameter_mm}"
            )
        if self.skin_margin_mm < 0:
            raise ValueError(f"skin_margin_mm must be >= 0; got {self.skin_margin_mm}")

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
    """

    specks: Specks
    cluster_id: np.ndarray
    clusters: Clusters


def detect(image, *, spacing, params: Params = Params(), mask=None) -> Result:
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
        Breast region; estimated with :func:`calcdetect.breast.breast_mask` when omitted.

    Returns
    -------
    Result
    """
    image = check_image(image)
    spacing = check_spacing(spacing)
    if mask is None:
        mask = breast_mask(image, spacing=spacing, margin_mm=params.skin_margin_mm)
    response = get_filter(params.filter)(
        image,
        spacing=spacing,
        min_diameter_mm=params.min_diameter_mm,
        max_diameter_mm=params.max_diameter_mm,
        backend=params.backend,
    )
    detection = None
    if params.detection == "bandpass":
        low_sigma_mm = params.min_diameter_mm / (2 * math.sqrt(2))
        detection = difference_of_gaussians(image, low_sigma_mm, 4 * low_sigma_mm, spacing=spacing,
                                            backend=params.backend)
    specks = find_specks(
        response,
        spacing=spacing,
        threshold=params.threshold,
        low_threshold=params.low_threshold,
        min_diameter_mm=params.min_diameter_mm,
        max_diameter_mm=params.max_diameter_mm,
        max_length_mm=params.max_length_mm,
        mask=mask,
        detection=detection,
        block_mm=params.noise_block_mm,
        backend=params.backend,
    )
    del response, detection
    labels = cluster_labels(
        specks.row,
        specks.col,
        spacing=spacing,
        radius_mm=params.cluster_radius_mm,
        min_specks=params.min_cluster_specks,
    )
    return Result(specks=specks, cluster_id=labels, clusters=measure_clusters(specks, labels, spacing=spacing))
