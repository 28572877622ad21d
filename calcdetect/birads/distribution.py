"""BI-RADS distribution of a cluster: grouped, linear, segmental, regional or diffuse.

Clusters whose members come close are judged together as one finding
(:func:`cluster_layouts`); the layouts of the cluster and of its finding are weighed by
the fitted multinomial model (:data:`DISTRIBUTION_WEIGHTS`), and a finding that the
breast's scatter of likely calcifications makes by chance is diffuse
(:func:`calcdetect.birads.describe.describe_clusters`, Notes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from calcdetect._checks import check_spacing
from calcdetect.birads.layout import Layout, layout
from calcdetect.birads.morphology import _check_weights, _VesselWalls
from calcdetect.cluster.density import CAD_RADIUS_MM, chance_groups
from calcdetect.geometry import grown_hull_area
from calcdetect.lexicon import Distribution
from calcdetect.specks.candidates import Specks

# -- Cut points chosen on the tuning set ---------------------------------------------------

#: Clusters whose members come this close (mm) form one finding when judging the
#: distribution: a segmental or regional spread is often detected in pieces.
FINDING_LINK_MM = 12.0
#: Bright specks (detection significance in noise sigmas) outside clusters: their
#: density over the breast tells a diffuse scatter.
DIFFUSE_MIN_SIGNIFICANCE = 8.0
#: A likely calcification: the false-positive model gives it even odds or better (0-1;
#: not tuned).
LIKELY_CALCIFICATION = 0.5
#: A finding is a chance group of the breast's scatter of calcifications, and diffuse, when
#: the scatter (see :func:`describe_clusters`) would put as many likely calcifications in
#: at least this many disjoint footprints of its size
#: (:func:`calcdetect.cluster.density.chance_groups`): as many as chance makes.
DIFFUSE_MIN_CHANCE_GROUPS = 1.0

#: The distribution is the class of highest ``bias + weights . features``: a
#: multinomial logistic regression (L2 penalty 0.1 on standardised features),
#: fitted on the 2,584 detected clusters holding 2 or more planted calcifications of 17
#: balanced synthetic sets (``calcdetect synth --balanced --n 72``, seeds 500-511,
#: 2027-2029, 2031, 2032; vascular ones left out, see :func:`describe_clusters`) by
#: ``benchmarks/fit_description.py distribution``, which prints the table below;
#: seeds 2049-2056 are held out (README). Features of a cluster and its finding:
#: :func:`distribution_features`. Each class's weights are keyed by feature name, so
#: the order of the features matters nowhere; a weight without a feature, or a
#: feature without a weight, is an error (:func:`distribution_scores`).
DISTRIBUTION_FEATURES = (
    "log1p_extent_mm", "log1p_finding_extent_mm", "log_anisotropy", "log_finding_anisotropy", "curve_fit",
    "nipple_alignment", "fan", "log1p_isolated_per_100cm2", "log_n", "log_finding_n", "log_width_mm",
    "log_finding_width_mm", "finding_curve_fit", "cone", "path_ratio", "finding_path_ratio", "linearity",
    "finding_linearity",
    "log1p_extent_mm^2", "log1p_finding_extent_mm^2", "nipple_alignment*log1p_finding_extent_mm",
    "nipple_alignment*fan", "log1p_isolated_per_100cm2*chance_group", "nipple_alignment^2",
    "curve_fit*log_anisotropy", "cone*log1p_finding_extent_mm", "cone^2", "cone*nipple_alignment",
    "finding_curve_fit*log_finding_anisotropy",
)
DISTRIBUTION_WEIGHTS = {  # class: {"bias": bias, feature name: weight}
    Distribution.GROUPED: {
        "bias": 10.69, "log1p_extent_mm": 2.152, "log1p_finding_extent_mm": -3.195, "log_anisotropy": -0.746,
        "log_finding_anisotropy": -0.2551, "curve_fit": -0.1569, "nipple_alignment": 2.956, "fan": 0.03647,
        "log1p_isolated_per_100cm2": -0.5029, "log_n": 3.959, "log_finding_n": -0.954, "log_width_mm": -1.747,
        "log_finding_width_mm": -1.589, "finding_curve_fit": 1.172, "cone": 1.901, "path_ratio": 0.2562,
        "finding_path_ratio": -0.06236, "linearity": 0.4498, "finding_linearity": -4.252, "log1p_extent_mm^2": -1.172,
        "log1p_finding_extent_mm^2": 0.7795, "nipple_alignment*log1p_finding_extent_mm": -0.6825,
        "nipple_alignment*fan": -0.03002, "log1p_isolated_per_100cm2*chance_group": -0.7801,
        "nipple_alignment^2": -0.9645, "curve_fit*log_anisotropy": -0.4168, "cone*log1p_finding_extent_mm": -0.1732,
        "cone^2": -0.4374, "cone*nipple_alignment": -0.6566, "finding_curve_fit*log_finding_anisotropy": -1.413,
    },
    Distribution.LINEAR: {
        "bias": 3.786, "log1p_extent_mm": -1.08, "log1p_finding_extent_mm": -0.4464, "log_anisotropy": -1.845,
        "log_finding_anisotropy": -1.127, "curve_fit": -1.575, "nipple_alignment": -2.916, "fan": -0.2421,
        "log1p_isolated_per_100cm2": -1.134, "log_n": 3.335, "log_finding_n": 0.7357, "log_width_mm": 0.307,
        "log_finding_width_mm": 0.6751, "finding_curve_fit": 0.4794, "cone": -5.984, "path_ratio": -3.531,
        "finding_path_ratio": -0.5622, "linearity": -2.462, "finding_linearity": 5.141, "log1p_extent_mm^2": -0.08166,
        "log1p_finding_extent_mm^2": -0.1061, "nipple_alignment*log1p_finding_extent_mm": -0.4209,
        "nipple_alignment*fan": 0.5016, "log1p_isolated_per_100cm2*chance_group": -0.7862, "nipple_alignment^2": 2.165,
        "curve_fit*log_anisotropy": 2.57, "cone*log1p_finding_extent_mm": 0.4711, "cone^2": 1.578,
        "cone*nipple_alignment": 2.683, "finding_curve_fit*log_finding_anisotropy": 2.004,
    },
    Distribution.SEGMENTAL: {
        "bias": -1.192, "log1p_extent_mm": -2.508, "log1p_finding_extent_mm": 1.582, "log_anisotropy": 0.6778,
        "log_finding_anisotropy": -0.4306, "curve_fit": 0.2067, "nipple_alignment": -0.6721, "fan": 5.768e-05,
        "log1p_isolated_per_100cm2": -1.195, "log_n": -0.7778, "log_finding_n": 4.704, "log_width_mm": -0.3048,
        "log_finding_width_mm": -0.09262, "finding_curve_fit": 0.5441, "cone": -0.9495, "path_ratio": 0.3769,
        "finding_path_ratio": -1.882, "linearity": -0.5045, "finding_linearity": 1.838, "log1p_extent_mm^2": 0.7443,
        "log1p_finding_extent_mm^2": -0.4387, "nipple_alignment*log1p_finding_extent_mm": -0.2915,
        "nipple_alignment*fan": 0.01938, "log1p_isolated_per_100cm2*chance_group": -0.2102, "nipple_alignment^2": 1.013,
        "curve_fit*log_anisotropy": -0.7114, "cone*log1p_finding_extent_mm": -1.848, "cone^2": 2.254,
        "cone*nipple_alignment": 0.4258, "finding_curve_fit*log_finding_anisotropy": -0.2285,
    },
    Distribution.REGIONAL: {
        "bias": -5.349, "log1p_extent_mm": -1.633, "log1p_finding_extent_mm": 2.883, "log_anisotropy": 2.39,
        "log_finding_anisotropy": -0.5388, "curve_fit": 2.661, "nipple_alignment": 2.4, "fan": 0.6791,
        "log1p_isolated_per_100cm2": 0.1701, "log_n": -5.746, "log_finding_n": -2.092, "log_width_mm": 0.7026,
        "log_finding_width_mm": -0.4882, "finding_curve_fit": -1.872, "cone": 2.853, "path_ratio": 3.957,
        "finding_path_ratio": 1.895, "linearity": 1.927, "finding_linearity": -2.067, "log1p_extent_mm^2": 0.9911,
        "log1p_finding_extent_mm^2": -0.4509, "nipple_alignment*log1p_finding_extent_mm": 0.5438,
        "nipple_alignment*fan": -0.9385, "log1p_isolated_per_100cm2*chance_group": 0.5373, "nipple_alignment^2": -1.007,
        "curve_fit*log_anisotropy": -2.516, "cone*log1p_finding_extent_mm": 1.575, "cone^2": -2.689,
        "cone*nipple_alignment": -2.678, "finding_curve_fit*log_finding_anisotropy": 0.5714,
    },
    Distribution.DIFFUSE: {
        "bias": -7.938, "log1p_extent_mm": 3.07, "log1p_finding_extent_mm": -0.8229, "log_anisotropy": -0.4769,
        "log_finding_anisotropy": 2.351, "curve_fit": -1.136, "nipple_alignment": -1.768, "fan": -0.4736,
        "log1p_isolated_per_100cm2": 2.661, "log_n": -0.7704, "log_finding_n": -2.394, "log_width_mm": 1.042,
        "log_finding_width_mm": 1.495, "finding_curve_fit": -0.3234, "cone": 2.179, "path_ratio": -1.06,
        "finding_path_ratio": 0.612, "linearity": 0.5891, "finding_linearity": -0.6612, "log1p_extent_mm^2": -0.4819,
        "log1p_finding_extent_mm^2": 0.2162, "nipple_alignment*log1p_finding_extent_mm": 0.8511,
        "nipple_alignment*fan": 0.4476, "log1p_isolated_per_100cm2*chance_group": 1.239, "nipple_alignment^2": -1.207,
        "curve_fit*log_anisotropy": 1.075, "cone*log1p_finding_extent_mm": -0.02475, "cone^2": -0.7046,
        "cone*nipple_alignment": 0.2252, "finding_curve_fit*log_finding_anisotropy": -0.934,
    },
}


@dataclass(frozen=True, eq=False)
class ClusterLayout:
    """Where one cluster lies: its own layout, its finding's, and the breast around it.

    Attributes
    ----------
    cluster, finding : Layout
        The cluster's members, and those of its finding (see :data:`FINDING_LINK_MM`).
    nipple_mm : (2,) ndarray or None
    isolated_per_100cm2 : float or None
        Bright specks outside any cluster per 100 cm^2 of breast.
    points : (K, 2) ndarray
        All specks of the image (row, col) in mm.
    finding_id : int
        The finding's number (0..F-1, in the order of their first cluster).
    """

    cluster: Layout
    finding: Layout
    nipple_mm: np.ndarray | None
    isolated_per_100cm2: float | None
    points: np.ndarray
    finding_id: int = 0

    def features(self) -> dict[str, float]:
        """The cluster's :data:`DISTRIBUTION_FEATURES`, by name."""
        return distribution_features(self.cluster, self.finding, self.nipple_mm, self.isolated_per_100cm2)


def cluster_layouts(specks: Specks, labels, *, spacing, nipple=None,
                    breast_area_mm2: float | None = None, alone=None) -> list[ClusterLayout]:
    """The layout of each cluster (0..C-1) in its finding and breast: what the distribution is judged on.

    Also what ``benchmarks/fit_description.py distribution`` fits :data:`DISTRIBUTION_WEIGHTS` on.

    Parameters
    ----------
    specks, labels, spacing, nipple, breast_area_mm2
        As for :func:`describe_clusters`.
    alone : (C,) array_like of bool, optional
        Clusters that are a finding of their own and link no other cluster into
        theirs: those :func:`describe_clusters` judges vascular by their own members
        (:func:`own_findings` of its result). None: every cluster may link.

    Returns
    -------
    list of ClusterLayout
        One per cluster, in label order; empty when there is no cluster.

    Raises
    ------
    ValueError
        When `alone` is not of boolean dtype or does not hold one flag per cluster,
        or on an invalid `spacing`.
    """
    row_mm, col_mm = check_spacing(spacing)
    labels = np.asarray(labels)
    points = np.column_stack([specks.row * row_mm, specks.col * col_mm])
    return _in_findings(specks, labels, points, _own_layouts(points, labels), spacing=(row_mm, col_mm), nipple=nipple,
                        breast_area_mm2=breast_area_mm2, alone=alone)


def _own_layouts(points_mm: np.ndarray, labels: np.ndarray) -> list[Layout]:
    """Each cluster's own layout (clusters 0..C-1 of `labels`); `points_mm` of all specks."""
    n_clusters = int(labels.max()) + 1 if len(labels) else 0
    return [layout(points_mm[labels == c]) for c in range(n_clusters)]


def _in_findings(specks: Specks, labels: np.ndarray, points: np.ndarray, own: list[Layout], *, spacing,
                 nipple, breast_area_mm2, alone) -> list[ClusterLayout]:
    """:func:`cluster_layouts` from the clusters' own layouts `own` (see :func:`_own_layouts`)."""
    row_mm, col_mm = spacing
    n_clusters = len(own)
    if n_clusters == 0:
        return []
    alone = np.zeros(n_clusters, bool) if alone is None else np.asarray(alone)
    if alone.shape != (n_clusters,) or alone.dtype != bool:
        raise ValueError(f"alone must hold one bool per cluster ({n_clusters}); got shape {alone.shape}, "
                         f"dtype {alone.dtype}")
    finding = _findings(points, labels, n_clusters, alone=alone)
    nipple_mm = None if nipple is None else np.array([nipple[0] * row_mm, nipple[1] * col_mm])
    isolated = None
    if breast_area_mm2:
        isolated = np.count_nonzero(bright_isolated(specks, labels)) / breast_area_mm2 * 1e4
    members = {f: np.flatnonzero(finding == f) for f in np.unique(finding)}
    # Most findings are one cluster: its layout serves as the finding's.
    whole = {f: own[c[0]] if len(c) == 1 else layout(points[np.isin(labels, c)]) for f, c in members.items()}
    return [
        ClusterLayout(cluster=own[c], finding=whole[finding[c]], nipple_mm=nipple_mm,
                      isolated_per_100cm2=isolated, points=points, finding_id=int(finding[c]))
        for c in range(n_clusters)
    ]


def bright_isolated(specks: Specks, labels) -> np.ndarray:
    """(K,) bool: specks outside any cluster at least :data:`DIFFUSE_MIN_SIGNIFICANCE` sigmas bright,
    the scatter a diffuse cluster is judged with."""
    return (np.asarray(labels) < 0) & (specks.significance >= DIFFUSE_MIN_SIGNIFICANCE)


def _chance_groups(labels: np.ndarray, finding_of_cluster: np.ndarray, layouts: list[ClusterLayout], probability, *,
                   walls: _VesselWalls | None, own_kind: np.ndarray, scattered: np.ndarray, points_mm: np.ndarray,
                   breast_area_mm2: float | None) -> np.ndarray:
    """(C,) :func:`~calcdetect.cluster.density.chance_groups` of each cluster's finding
    (`finding_of_cluster`, (C,) int) against the breast's scatter (:func:`describe_clusters`,
    Notes); NaN where not judged: without `probability` or a breast area, or for a finding
    without a likely calcification of the scatter's kind. `walls` (see :func:`_vessel_walls`)
    tells the likely vessel-wall pieces, `own_kind` ((C,) bool) flags the vascular, coarse,
    skin and rod-like clusters, `scattered` ((C,) bool) those the distribution model calls
    diffuse (their findings stay in the scatter)."""
    n_clusters = len(layouts)
    if probability is None:
        return np.full(n_clusters, np.nan)
    probability = np.asarray(probability, float)
    if probability.shape != (len(labels),):
        raise ValueError(f"calcification_probability must hold one value per speck ({len(labels)}); got shape "
                         f"{probability.shape}")
    outside = ~((probability >= 0) & (probability <= 1))
    if outside.any():
        raise ValueError(f"calcification_probability must lie in [0, 1]; got {probability[outside][:3]}")
    if not breast_area_mm2:
        return np.full(n_clusters, np.nan)
    scatter = (probability >= LIKELY_CALCIFICATION) & ~((labels >= 0) & own_kind[np.maximum(labels, 0)])
    if walls is not None:
        scatter &= ~walls.likely
    finding = np.where(labels >= 0, finding_of_cluster[np.maximum(labels, 0)], -1)
    n_findings = int(finding_of_cluster.max()) + 1
    members = np.bincount(finding[scatter & (finding >= 0)], minlength=n_findings)
    # The footprint of what is counted: the hull of those members grown by the reach that
    # formed the clusters (a lone point's footprint is the CAD criterion's 1 cm^2). A finding
    # without members is not judged (chance_groups gives NaN; the 1.0 only passes its check).
    footprint = np.array([grown_hull_area(points_mm[scatter & (finding == f)], CAD_RADIUS_MM) if members[f] else 1.0
                          for f in range(n_findings)])
    stays = np.zeros(n_findings, bool)
    stays[finding_of_cluster[scattered]] = True
    # Findings that are no chance group are no part of the scatter either; setting them apart
    # only thins the scatter, so the set grows until it stops.
    apart = np.zeros(n_findings, bool)
    while True:
        others = np.count_nonzero(scatter) - members[apart].sum() - np.where(apart, 0, members)
        expected = chance_groups(members, footprint, others, breast_area_mm2=breast_area_mm2)
        grown = apart | ((expected < DIFFUSE_MIN_CHANCE_GROUPS) & ~stays)
        if np.array_equal(grown, apart):
            return expected[finding_of_cluster]
        apart = grown


def _findings(points: np.ndarray, labels: np.ndarray, n_clusters: int, *, alone: np.ndarray) -> np.ndarray:
    """Finding of each cluster: clusters linked by members within FINDING_LINK_MM (none
    with a cluster flagged `alone`), numbered 0..F-1 in the order of their first cluster."""
    clustered = np.flatnonzero((labels >= 0) & ~alone[np.maximum(labels, 0)])
    pairs = cKDTree(points[clustered]).query_pairs(FINDING_LINK_MM, output_type="ndarray")
    a, b = labels[clustered[pairs[:, 0]]], labels[clustered[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_clusters, n_clusters))
    component = connected_components(graph, directed=False)[1]
    _, first = np.unique(component, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[component]


def distribution_features(own: Layout, whole: Layout, nipple_mm, isolated_density) -> dict[str, float]:
    """The :data:`DISTRIBUTION_FEATURES` of one cluster (`own`) in its finding (`whole`), by name.

    Sizes and counts enter as logarithms; without a nipple the alignment is 0.5
    (a random direction's mean), the fan 0 and the cone a right angle; without
    a breast area, no isolated specks are counted. The last features are products
    and squares, so that the linear model can draw curved boundaries.

    Returns
    -------
    dict of str to float
        Keyed by the names of :data:`DISTRIBUTION_FEATURES`, in its order.
    """
    aligned = whole.alignment(nipple_mm) if nipple_mm is not None else 0.5
    fan = whole.fan(nipple_mm) if nipple_mm is not None else 0.0
    cone = whole.cone(nipple_mm) if nipple_mm is not None else math.pi / 2
    extent, finding_extent = math.log1p(own.extent_mm), math.log1p(whole.extent_mm)
    anisotropy, finding_anisotropy = math.log(own.anisotropy), math.log(whole.anisotropy)
    isolated = math.log1p(isolated_density or 0.0)
    chance_group = float(whole.n <= 5)
    measured = {
        "log1p_extent_mm": extent, "log1p_finding_extent_mm": finding_extent,
        "log_anisotropy": anisotropy, "log_finding_anisotropy": finding_anisotropy,
        "curve_fit": own.curve_fit, "nipple_alignment": aligned, "fan": fan, "log1p_isolated_per_100cm2": isolated,
        "log_n": math.log(own.n), "log_finding_n": math.log(whole.n),
        "log_width_mm": math.log(own.width_mm), "log_finding_width_mm": math.log(whole.width_mm),
        "finding_curve_fit": whole.curve_fit, "cone": cone, "path_ratio": own.path_ratio,
        "finding_path_ratio": whole.path_ratio, "linearity": own.linearity, "finding_linearity": whole.linearity,
        "log1p_extent_mm^2": extent**2, "log1p_finding_extent_mm^2": finding_extent**2,
        "nipple_alignment*log1p_finding_extent_mm": aligned * finding_extent, "nipple_alignment*fan": aligned * fan,
        "log1p_isolated_per_100cm2*chance_group": isolated * chance_group, "nipple_alignment^2": aligned**2,
        "curve_fit*log_anisotropy": own.curve_fit * anisotropy, "cone*log1p_finding_extent_mm": cone * finding_extent,
        "cone^2": cone**2, "cone*nipple_alignment": cone * aligned,
        "finding_curve_fit*log_finding_anisotropy": whole.curve_fit * finding_anisotropy,
    }
    unknown = [name for name in DISTRIBUTION_FEATURES if name not in measured]
    if unknown:
        raise ValueError(f"DISTRIBUTION_FEATURES names {', '.join(map(repr, unknown))}, which distribution_features "
                         f"does not measure; measured: {', '.join(measured)}")
    return {name: float(measured[name]) for name in DISTRIBUTION_FEATURES}


def distribution_scores(features: dict[str, float], *, nipple_known: bool = True) -> dict[Distribution, float]:
    """Score of each distribution class for one cluster: ``bias + sum of weight * feature``.

    The weights of :data:`DISTRIBUTION_WEIGHTS` are matched to `features` by name.

    Parameters
    ----------
    features : dict of str to float
        :func:`distribution_features` of the cluster.
    nipple_known : bool
        Without a nipple, segmental (a wedge pointing to it) is not scored.

    Returns
    -------
    dict of Distribution to float
        The multinomial logistic model's log-odds (up to a constant shared by the classes).

    Raises
    ------
    ValueError
        When a class's weights and `features` do not name the same features.
    """
    names = list(features)
    values = np.array([features[name] for name in names], float)
    scores = {}
    for distribution, weights in DISTRIBUTION_WEIGHTS.items():
        _check_weights(weights, names, model=f"DISTRIBUTION_WEIGHTS[{distribution.name}]")
        if nipple_known or distribution != Distribution.SEGMENTAL:
            scores[distribution] = weights["bias"] + float(np.dot([weights[name] for name in names], values))
    return scores


def _distribution(features: dict[str, float], *, nipple_known: bool = True) -> Distribution:
    scores = distribution_scores(features, nipple_known=nipple_known)
    return max(scores, key=scores.__getitem__)
