"""The BI-RADS description of each cluster (:func:`describe_clusters`) and its result.

Layout, distribution, morphology and PPV (the other modules of :mod:`calcdetect.birads`)
put together, cluster by cluster. The cut points and functions that the docstrings here
name without a module are those of :mod:`calcdetect.birads.morphology`,
:mod:`calcdetect.birads.distribution` and :mod:`calcdetect.birads.ppv`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from calcdetect._checks import check_spacing
from calcdetect.arrays import StructOfArrays
from calcdetect.birads.distribution import (
    DIFFUSE_MIN_CHANCE_GROUPS,
    _chance_groups,
    _distribution,
    _in_findings,
    _own_layouts,
    bright_isolated,
)
from calcdetect.birads.morphology import OWN_MORPHOLOGIES, _judge, _vessel_walls
from calcdetect.birads.ppv import suspicion
from calcdetect.lexicon import SUSPICIOUS_MORPHOLOGIES, Distribution, Morphology
from calcdetect.specks.candidates import Specks
from calcdetect.specks.shape import SpeckFeatures


@dataclass(frozen=True, eq=False)
class ClusterDescriptions(StructOfArrays):
    """BI-RADS description of C clusters (struct of arrays).

    Attributes
    ----------
    distribution : (C,) ndarray of str
        :class:`~calcdetect.lexicon.Distribution` values.
    morphology : (C,) ndarray of str
        :class:`~calcdetect.lexicon.Morphology` values.
    pleomorphism : (C,) ndarray
        Variation of the members' size and shape, see :func:`pleomorphism`.
    linear_fraction : (C,) ndarray
        Fraction of members that are linear or branching.
    finding_extent_mm : (C,) ndarray
        Greatest dimension of the finding the cluster is part of (clusters whose
        members come within :data:`FINDING_LINK_MM`), mm.
    ppv : (C,) ndarray
        Probability of malignancy given the description, from the published
        PPVs (see :func:`suspicion`).
    finding_id : (C,) ndarray of int
        The finding each cluster is part of (0..F-1, numbered by their first
        cluster): clusters whose members come within :data:`FINDING_LINK_MM` are
        judged together as one finding; a cluster whose own members are judged
        vascular is a finding of its own (a vessel passing a group of calcifications
        is no part of it; see :func:`own_findings`).
    chance_groups : (C,) ndarray
        Expected number of groups as dense as the cluster's finding that the breast's
        scatter of likely calcifications would make (:func:`describe_clusters`, Notes);
        at :data:`DIFFUSE_MIN_CHANCE_GROUPS` or more the cluster is diffuse. NaN where
        not judged: a vascular, coarse, skin or rod-like cluster; a finding without a
        likely calcification of the scatter's kind; no calcification probabilities or
        breast area.
    """

    distribution: np.ndarray
    morphology: np.ndarray
    pleomorphism: np.ndarray
    linear_fraction: np.ndarray
    finding_extent_mm: np.ndarray
    ppv: np.ndarray
    finding_id: np.ndarray
    chance_groups: np.ndarray

    @property
    def n_suspicious(self) -> int:
        """Clusters of a suspicious morphology (several in one breast is itself a predictor),
        diffuse ones (a scatter, no cluster) left out."""
        return sum(Morphology(m) in SUSPICIOUS_MORPHOLOGIES and d != Distribution.DIFFUSE
                   for m, d in zip(self.morphology, self.distribution))

    @classmethod
    def empty(cls) -> ClusterDescriptions:
        text = np.zeros(0, dtype=object)
        return cls(text, text.copy(), pleomorphism=np.zeros(0), linear_fraction=np.zeros(0),
                   finding_extent_mm=np.zeros(0), ppv=np.zeros(0), finding_id=np.zeros(0, np.int64),
                   chance_groups=np.zeros(0))


def describe_clusters(
    specks: Specks,
    shapes: SpeckFeatures,
    labels,
    *,
    spacing,
    nipple=None,
    skin_depth_mm=None,
    breast_area_mm2: float | None = None,
    vascular=None,
    linearity=None,
    calcification_probability=None,
) -> ClusterDescriptions:
    """Describe each cluster in the BI-RADS lexicon.

    Parameters
    ----------
    specks : Specks
        All specks of the image (K), clustered or not: the diffuse pattern is a
        property of the whole breast.
    shapes : SpeckFeatures
        Their shape features.
    labels : (K,) array_like of int
        Cluster of each speck, -1 for none; clusters 0..C-1.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    nipple : tuple of 2 floats, optional
        Nipple (row, col) in pixels; without it a cluster's alignment with the
        nipple is unknown (taken as a random direction's) and no cluster is called
        segmental (a wedge pointing to the nipple).
    skin_depth_mm : (K,) array_like, optional
        Depth of each speck below the skin line; without it no cluster is called skin.
    breast_area_mm2 : float, optional
        Area of the breast; without it no specks outside clusters are counted
        and diffuse is rare.
    vascular : (K,) array_like, optional
        Probability that each speck is a piece of a calcified vessel's wall
        (:func:`calcdetect.specks.model.vascular_probability`); a cluster
        :data:`VASCULAR_SPECKS` of whose members are likely pieces is vascular.
        Without it only the tram-track rule tells vessels. Given without
        `linearity`, every likely piece counts (the straight course is not
        checked; the pipeline always gives both).
    linearity : (K,) array_like, optional
        Linearity (0-1, NaN where unknown: fewer than 3 candidates) of the
        candidates' positions round each speck
        (``CandidateFeatures.linearity_around``); with it a likely piece counts
        only where that course is straight (:data:`VASCULAR_LINEARITY`; NaN is
        not), unless at least half the members are likely pieces that line up among
        themselves over :data:`VASCULAR_SPREAD_MM` or more (vessels that bend or cross). Needs
        `vascular`.
    calcification_probability : (K,) array_like, optional
        Probability (0-1) that each speck is a calcification (the false-positive
        model's). With it and `breast_area_mm2`, a finding that the breast's scatter
        of calcifications makes by chance is *diffuse* (Notes).

    Returns
    -------
    ClusterDescriptions

    Notes
    -----
    Distribution: the lexicon's classes differ in size (grouped within 1-2 cm,
    regional more), shape (linear along a curve; segmental a wedge whose apex
    points to the nipple) and spread over the breast (diffuse: many bright
    specks outside any cluster, the cluster a chance group). These are measured
    on the cluster and on its finding (the clusters linked by members within
    :data:`FINDING_LINK_MM`: large groups are often detected in pieces) and
    weighed by :data:`DISTRIBUTION_WEIGHTS` (:func:`distribution_features`,
    :func:`distribution_scores`).
    A finding is also diffuse when it is a chance group of the breast's scatter of
    likely calcifications (BI-RADS: calcifications, or several similar groups,
    scattered throughout the breast). The scatter is the likely calcifications
    (:data:`LIKELY_CALCIFICATION`) that are no likely piece of a vessel's wall
    (`vascular` at least :data:`VASCULAR_PROBABILITY`), in no vascular, coarse, skin or
    rod-like cluster, and in no finding that is itself no chance group: starting from
    all of them, findings are set apart until none changes (never one holding a
    cluster the distribution model calls diffuse). A finding's scatter members are counted in
    their hull grown by :data:`~calcdetect.cluster.density.CAD_RADIUS_MM` (the reach
    that formed the clusters); when the rest of the scatter, spread uniformly, would
    fill :data:`DIFFUSE_MIN_CHANCE_GROUPS` or more disjoint such footprints as full
    (:func:`calcdetect.cluster.density.chance_groups`; `chance_groups` of the result),
    the finding is diffuse and its clusters keep their own morphology. Vascular,
    coarse, skin and rod-like clusters keep their whole description (`chance_groups`
    NaN).
    Vascular calcifications are linear whatever their layout: they line a
    vessel (the lexicon judges distribution and morphology together; in
    CBIS-DDSM every vascular finding given a distribution is linear), and a
    cluster whose own members are judged vascular links no other cluster into its
    finding: a vessel passing a group of calcifications would make the group's
    finding as long as the vessel (a cluster the distribution model calls diffuse and
    judges vascular with its scatter, below, stays diffuse and linked).

    Morphology is judged on the cluster's members, or for a cluster the distribution
    model calls diffuse and not vascular, coarse, skin or large rod-like
    (:data:`OWN_MORPHOLOGIES`) on them and the bright specks outside clusters (the
    bright scatter the model judges it a chance group of). First
    rule that applies: *skin* (median depth <= :data:`SKIN_DEPTH_MM`); *coarse*
    (:data:`COARSE_SPECKS` of the members coarse: pieces of a popcorn calcification,
    measured whole); *large_rodlike* (linear-shaped, :data:`LINEAR_SPECKS`, of median
    width >= :data:`ROD_MIN_WIDTH_MM`: rods, thicker than a vessel's calcified wall);
    *vascular* (by the learned `vascular` probability on a straight course,
    :data:`VASCULAR_SPECKS`, :data:`VASCULAR_LINEARITY`, or at least half the members along
    lines that bend or cross over :data:`VASCULAR_SPREAD_MM` and more,
    :data:`VASCULAR_COURSE_SPECKS`, :data:`VASCULAR_COURSE_LINEARITY`);
    other linear-shaped clusters are *vascular* (:data:`ON_LINE_SPECKS` of the members on
    thin ridges running :data:`ON_LONG_LINE_MM` or more, ``shapes.ridge_length_mm``; tram
    tracks at least :data:`VASCULAR_MIN_MM` long, or shorter ones whose linear members
    nearly all pair up, :data:`SHORT_TRAM_TRACK`) or *fine_linear_branching*; *rim*
    (lucent centres); *vascular* (:data:`ON_LINE_SPECKS` of the members on ridges running
    :data:`ON_LINE_MM` or more: pieces of lines, not compact calcifications);
    clusters of median size from 0.5 mm (lexicon size, as measured on a sphere) are *round* when smoother and more
    uniform than coarse heterogeneous ones (:data:`ROUND_WEIGHTS`), else
    *coarse_heterogeneous*; smaller ones
    are *amorphous* when faint, *fine_pleomorphic* when finer, more elongated,
    irregular and varied than punctate ones (:data:`PLEOMORPHIC_WEIGHTS`), else
    *punctate*.

    References
    ----------
    .. [1] D'Orsi CJ, Sickles EA, Mendelson EB, Morris EA, et al. ACR BI-RADS Atlas,
       Breast Imaging Reporting and Data System, 5th ed. American College of
       Radiology, 2013.
    """
    labels = np.asarray(labels)
    walls = _vessel_walls(vascular, linearity, k=len(specks))
    row_mm, col_mm = check_spacing(spacing)
    points_mm = np.column_stack([specks.row * row_mm, specks.col * col_mm])
    depth = None if skin_depth_mm is None else np.asarray(skin_depth_mm, float)
    own_layouts = _own_layouts(points_mm, labels)
    place: dict[str, Any] = dict(points_mm=points_mm, depth_mm=depth, walls=walls)
    own = [_judge(specks, shapes, labels == c, **place, extent_mm=own_layouts[c].extent_mm)
           for c in range(len(own_layouts))]
    vessels = np.array([morphology == Morphology.VASCULAR for morphology, *_ in own], bool)
    layouts = _in_findings(specks, labels, points_mm, own_layouts, spacing=(row_mm, col_mm), nipple=nipple,
                           breast_area_mm2=breast_area_mm2, alone=vessels)
    if not layouts:
        return ClusterDescriptions.empty()
    bright = bright_isolated(specks, labels)
    out: dict[str, list] = {name: [] for name in ("distribution", "morphology", "pleomorphism",
                                                   "linear_fraction", "finding_extent_mm")}
    modelled = [_distribution(context.features(), nipple_known=nipple is not None) for context in layouts]
    own_kind = np.array([morphology in OWN_MORPHOLOGIES for morphology, *_ in own], bool)
    finding_id = np.array([context.finding_id for context in layouts], np.int64)
    chance = _chance_groups(labels, finding_id, layouts, calcification_probability, walls=walls, own_kind=own_kind,
                            scattered=np.array([d == Distribution.DIFFUSE for d in modelled]) & ~own_kind,
                            points_mm=points_mm, breast_area_mm2=breast_area_mm2)
    for c, context in enumerate(layouts):
        distribution = modelled[c]
        morphology, pleo, linear_fraction = own[c]
        if morphology == Morphology.VASCULAR:
            distribution = Distribution.LINEAR  # a vessel's wall: its layout is the vessel's course
        elif distribution == Distribution.DIFFUSE and morphology not in OWN_MORPHOLOGIES:
            # The model's chance group of the bright specks: judge the whole bright scatter's shape.
            morphology, pleo, linear_fraction = _judge(specks, shapes, (labels == c) | bright, **place,
                                                       extent_mm=context.cluster.extent_mm)
        if morphology in OWN_MORPHOLOGIES:
            chance[c] = np.nan  # keeps its description: not judged
        elif chance[c] >= DIFFUSE_MIN_CHANCE_GROUPS:
            distribution = Distribution.DIFFUSE  # a chance group of the likely calcifications: keeps its morphology
        out["distribution"].append(str(distribution))
        out["morphology"].append(str(morphology))
        out["pleomorphism"].append(pleo)
        out["linear_fraction"].append(linear_fraction)
        out["finding_extent_mm"].append(context.finding.extent_mm)
    described = ClusterDescriptions(
        distribution=np.array(out["distribution"], dtype=object), morphology=np.array(out["morphology"], dtype=object),
        pleomorphism=np.asarray(out["pleomorphism"], float), linear_fraction=np.asarray(out["linear_fraction"], float),
        finding_extent_mm=np.asarray(out["finding_extent_mm"], float), ppv=np.zeros(len(layouts)),
        finding_id=finding_id, chance_groups=chance,
    )
    several = described.n_suspicious > 1
    ppv = np.array([suspicion(m, d, extent_mm=e, several_clusters=several)
                    for m, d, e in zip(described.morphology, described.distribution, described.finding_extent_mm)])
    return dataclasses.replace(described, ppv=ppv)


def own_findings(described: ClusterDescriptions) -> np.ndarray:
    """(C,) bool: the described clusters that are a finding of their own (`alone` of
    :func:`cluster_layouts`): those judged vascular by their own members, which
    :func:`describe_clusters` always calls linear (a cluster the distribution model calls
    diffuse, judged vascular with the bright specks, keeps its diffuse distribution, and
    its links)."""
    return (described.morphology == Morphology.VASCULAR) & (described.distribution != Distribution.DIFFUSE)
