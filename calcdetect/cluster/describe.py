"""BI-RADS description of clusters: distribution, morphology and a suspicion score.

Measured features of a cluster's members and of its place in the breast are
turned into the lexicon's descriptors (ACR BI-RADS Atlas, 5th ed., 2013): sizes
come from the lexicon; the other cut points and the distribution model were
chosen on balanced synthetic tuning sets (``calcdetect synth --balanced --n 72``,
seeds 500-511 and 2027-2048) and measured on held-out ones (seeds 2049-2056); see
the README. This is a research aid, not a diagnosis.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from calcdetect.arrays import StructOfArrays
from calcdetect.specks.candidates import Specks
from calcdetect.geometry import grown_hull_area, largest_distance
from calcdetect.cluster.density import CAD_RADIUS_MM, chance_groups
from calcdetect.specks.shape import ELONGATED, SpeckFeatures, SpeckShape
from calcdetect._checks import check_spacing
from calcdetect.lexicon import SUSPICIOUS_MORPHOLOGIES, Distribution, Morphology
from calcdetect.specks.features import linearity_around

# -- Lexicon sizes (mm) ------------------------------------------------------------------

#: Punctate and fine calcifications are under 0.5 mm; round, coarse heterogeneous 0.5-1 mm.
FINE_MAX_MM = 0.5
#: A sphere's partial-volume diameter (see :class:`calcdetect.specks.candidates.Specks`) is
#: sqrt(2/3) of its true diameter: the lexicon's 0.5 mm is 0.41 mm measured.
SPHERE_DIAMETER_FACTOR = math.sqrt(2 / 3)
#: Large rod-like calcifications are at least 0.5 mm wide.
ROD_MIN_WIDTH_MM = 0.5
#: Skin calcifications lie in the skin (about 1.5 mm thick) or just under it; specks
#: are searched from 2 mm inside the skin line (``Params.skin_margin_mm``), so a group
#: of them is found 2-4 mm deep (no other cluster of the tuning sets has a median depth
#: between 3 and 5 mm).
SKIN_DEPTH_MM = 4.0

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

#: A cluster is linear-shaped (fine linear, vascular, rod-like) when this fraction
#: of its members is linear or branching.
LINEAR_SPECKS = 0.4
#: Vascular: this fraction of linear members has a parallel (within 10 degrees)
#: linear neighbour 0.6-3 mm to its side (the two walls of a vessel); branches of
#: a ductal cast part at 10-35 degrees.
TRAM_TRACK = 0.4
#: Vascular calcifications line a vessel for some length: a cluster shorter than
#: this (mm) is not called vascular on :data:`TRAM_TRACK` alone (side-by-side fine
#: casts or popcorn fragments can pair up over a few mm; 95 % of detected vascular
#: clusters are longer).
VASCULAR_MIN_MM = 8.0
#: ... but a shorter one is, when nearly all its linear members pair up: this fraction
#: (0-1) of them have a parallel partner (a short piece of a vessel's two walls). Chosen
#: on the balanced synthetic tuning sets of seeds 2027 and 2053: their linear-shaped
#: clusters under 8 mm that are not vascular pair up 0.40 at most, their short vessels
#: 1.0. Our generator paints no parallel casts, so two fine casts that run side by side
#: all along, 0.6-3 mm apart, would be called vascular: the risk this rule takes.
SHORT_TRAM_TRACK = 0.75
#: ... and at least this many paired linear members (one pair alone is two casts).
SHORT_TRACK_PIECES = 3
#: Vascular, learned: this fraction (0-1) of members is a likely piece of a calcified
#: vessel's wall (:data:`VASCULAR_PROBABILITY`) on a straight course (:data:`VASCULAR_LINEARITY`).
#: Chosen on the balanced synthetic tuning set of seed 2027, where the straight course keeps
#: the 4 vessels the model finds (54-78 % of their members qualify) and turns away the 2
#: fine linear clusters it takes for vessels (0 %); seed 2053's vessel calls were also seen.
VASCULAR_SPECKS = 0.4
#: ... a likely piece: its probability (0-1) of being a vessel's wall
#: (:func:`calcdetect.specks.model.vascular_probability`) is at least this.
VASCULAR_PROBABILITY = 0.5
#: ... a straight course: the positions of the candidates within
#: :data:`calcdetect.specks.features.AROUND_MM` of it have at least this linearity
#: (``linearity_around`` of :class:`calcdetect.specks.features.CandidateFeatures`,
#: ``1 - minor / major`` eigenvalue, 0-1). A vessel runs straight over centimetres, a
#: segment of ductal casts fans out. Limit: two walls 2.5 mm or more apart spread too wide
#: within that radius (linearity about ``1 - s^2 / 42`` for separation s mm); such
#: vessels are left to the tram-track rule (walls up to 3 mm apart, :data:`TRAM_TRACK`).
VASCULAR_LINEARITY = 0.85
#: Vascular, learned, on a course that bends or crosses: at least half the members
#: (:data:`VASCULAR_COURSE_SPECKS`) are likely pieces of a vessel's wall, those pieces spread
#: over at least :data:`VASCULAR_SPREAD_MM` (largest distance) and lie along lines among
#: themselves: the median of their linearity within :data:`calcdetect.specks.features.AROUND_MM`
#: of each (:func:`calcdetect.specks.features.linearity_around`) is at least
#: :data:`VASCULAR_COURSE_LINEARITY`, a piece with fewer than :data:`VASCULAR_COURSE_NEIGHBOURS`
#: pieces there (itself included) counting 0, as three points line up by chance. Calcified
#: vessels cross and run across the breast for centimetres, which the straight-course rule
#: (:data:`VASCULAR_LINEARITY`, of all candidates round a piece) misses where they cross.
#: The spread is longer than the clusters of the synthetic sets of seeds 2026, 2027, 2053 and
#: 3100 (224 images) most of whose members the model takes for vessel walls, vessel or not
#: (vessels of seeds 2027 and 2053 up to 33 mm; a segment of fine linear casts over 26 mm on
#: seed 2026, which 20 mm called vascular): the rule changes no description there (same
#: tables before and after). It serves networks of crossing vessels, as on digitised film
#: (the DDSM film MG1_J2KI: 47 mm, 58 % likely pieces, linearity 0.70; it was in view when
#: the spread was chosen). A fanned-out segment of ductal casts (40 pieces in a 20 mm wedge)
#: has linearity 0.54-0.60, straight vessels 0.9 and more. On seed 2053, two straight fine
#: linear clusters of 28 mm have 44 and 46 % likely pieces (hence half, not
#: :data:`VASCULAR_SPECKS`).
VASCULAR_COURSE_SPECKS = 0.5
VASCULAR_SPREAD_MM = 40.0
VASCULAR_COURSE_LINEARITY = 0.65
VASCULAR_COURSE_NEIGHBOURS = 5
#: Rim: this fraction of members has a lucent centre.
RIM_SPECKS = 0.5
#: Vascular, on the lines they lie on: a cluster at least :data:`ON_LINE_SPECKS` of whose
#: members lie on thin bright ridges that run on (``SpeckFeatures.ridge_length_mm``) is the
#: calcified wall of a vessel seen in pieces, or bumps on the lines of the breast's tissue
#: (strands, ligaments, the edges of dense tissue): not a group of calcifications either
#: way. For a cluster of compact specks (not linear-shaped) the ridges run
#: :data:`ON_LINE_MM` or more: a compact calcification's ridge is about its own size and blur
#: (under 2 mm). For a linear-shaped cluster they run :data:`ON_LONG_LINE_MM` or more: a fine
#: linear cast is thin, irregular and discontinuous, its pieces a few mm at most, where a
#: vessel's calcified wall runs on. Chosen on the synthetic sets of seeds 2026, 2027, 2053
#: and 3100 (224 images; ridges measured on the clusters detected there): of their non-linear
#: suspicious clusters (amorphous, fine pleomorphic, punctate, coarse heterogeneous; 276) one,
#: a diffuse group of 3, has 40 % of its members on 3 mm ridges (the others at most a third);
#: of the fine linear ones (58) none has 40 % on 5 mm ridges (at most a third, 90 % under
#: 0.11); of the false clusters 50 of 93 pass the first, 17 of them scored 0.3-0.95 before
#: (coarse heterogeneous on the edges of dense tissue); of the vessels 9 of 10 the first and
#: 6 the second. 40 %, not half, because the DDSM film MG1_J2KI was in view: three of its
#: clusters on vessels sit at 43-55 % there, where noise-estimation details move them
#: across half. The risks this takes: a cast that runs on unbroken for 5 mm or more (comedo
#: casting) is called vascular, and so may be a row of calcifications about 0.5 mm apart or
#: calcifications along a blurred edge (the limits of :func:`calcdetect.specks.ridges.ridge_length`).
ON_LINE_SPECKS = 0.4
ON_LINE_MM = 3.0
ON_LONG_LINE_MM = 5.0
#: Coarse (popcorn, over 2 mm): this fraction of members is coarse, most of them pieces
#: of an object wider than the speck size window (see
#: :func:`calcdetect.specks.shape.enclosing_objects`).
COARSE_SPECKS = 0.5
#: Morphologies of a cluster's own calcifications (a vessel, popcorn, skin, secretory
#: rods, diffuse by nature), kept when its layout looks diffuse; other diffuse clusters
#: are judged with the scatter.
OWN_MORPHOLOGIES = frozenset({Morphology.VASCULAR, Morphology.COARSE, Morphology.SKIN, Morphology.LARGE_RODLIKE})
#: Amorphous: faint (median detection significance below this, in noise sigmas).
AMORPHOUS_MAX_SIGNIFICANCE = 7.0
#: What the two shape models below weigh: a cluster's median diameter (mm), median
#: elongation, irregular fraction and pleomorphism (:func:`pleomorphic_features`).
PLEOMORPHIC_FEATURES = ("median_diameter_mm", "median_elongation", "irregular_fraction", "pleomorphism")
#: Round rather than coarse heterogeneous (both 0.5-1 mm): smooth, uniform specks
#: against irregular, varied ones. A logistic regression on :data:`PLEOMORPHIC_FEATURES`,
#: fitted on the round and coarse heterogeneous clusters of seven balanced tuning
#: sets (seeds 500-505, 2027; ``benchmarks/fit_description.py round``): round when
#: ``bias + weights . features > 0``. In-sample accuracy 0.975 on 197 clusters.
ROUND_WEIGHTS = {"bias": -0.7717, "median_diameter_mm": 23.02, "median_elongation": -8.085,
                 "irregular_fraction": -3.834, "pleomorphism": -2.078}
#: Fine pleomorphic rather than punctate (both under 0.5 mm): finer, more elongated,
#: more irregular and more varied specks. A logistic regression on
#: :data:`PLEOMORPHIC_FEATURES`, fitted on the small-speck clusters of seven
#: balanced tuning sets (seeds 500-505, 2027; ``benchmarks/fit_description.py
#: pleomorphic``): fine pleomorphic when ``bias + weights . features > 0`` and the
#: pleomorphism is at least :data:`PLEOMORPHIC` (equal specks are never pleomorphic,
#: however fine). In-sample accuracy 0.84 on 253 clusters (pleomorphism alone: 0.74
#: leaving one set out). Fitted before speck widths gained each pixel's own extent: refitted
#: on today's measurements (-6.909, -23.58, 10.05, 2.282, 1.211; in-sample 0.824 on 250), the
#: out-of-sample balanced set of seed 2053 called benign patterns benign 0.837 instead of
#: 0.930, so these weights stay (the round weights likewise: 0.979 in-sample refitted).
PLEOMORPHIC_WEIGHTS = {"bias": -2.29, "median_diameter_mm": -25.03, "median_elongation": 6.613,
                       "irregular_fraction": 2.48, "pleomorphism": 0.2842}
PLEOMORPHIC = 0.3

#: A member counts as uneven, for the pleomorphism of its cluster, when this elongated or
#: this far from convex: a looser cut than the speck class `irregular`
#: (:data:`calcdetect.specks.shape.IRREGULAR_SOLIDITY`), to which the pleomorphic weights
#: above were fitted.
UNEVEN_ELONGATION = 1.5
UNEVEN_SOLIDITY = 0.9

# -- Suspicion ---------------------------------------------------------------------------

#: Published positive predictive values (birads.md: Burnside 2007, Bent 2010 and
#: later cohorts; mid-points of the quoted ranges). Typically benign morphologies
#: (BI-RADS 2) get 0.5 %; punctate, which an isolated new group may make BI-RADS 3
#: (<= 2 %), gets 2 %.
MORPHOLOGY_PPV = {
    Morphology.AMORPHOUS: 0.20,
    Morphology.COARSE_HETEROGENEOUS: 0.14,
    Morphology.FINE_PLEOMORPHIC: 0.29,
    Morphology.FINE_LINEAR_BRANCHING: 0.70,
    Morphology.PUNCTATE: 0.02,
}
BENIGN_PPV = 0.005
DISTRIBUTION_PPV = {
    Distribution.DIFFUSE: 0.03,
    Distribution.REGIONAL: 0.13,
    Distribution.GROUPED: 0.23,
    Distribution.LINEAR: 0.64,
    Distribution.SEGMENTAL: 0.67,
}
#: About a quarter of biopsied calcification clusters prove malignant: the prior
#: against which each descriptor's PPV is a likelihood ratio.
BASE_RATE = 0.25
#: Odds ratios of the published predictors beyond the descriptors: extent over
#: 20 mm (against under 10 mm; 16 for invasive upgrade, taken here for malignancy
#: at its square root, 4, as upgrade is not malignancy), and several clusters in one
#: breast (6). Extent between 10 and 20 mm gets the log-linear interpolation.
EXTENT_ODDS_RATIO = 4.0
EXTENT_MM = (10.0, 20.0)
SEVERAL_CLUSTERS_ODDS_RATIO = 6.0


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


@dataclass(frozen=True)
class Layout:
    """Arrangement of a set of points (mm).

    Attributes
    ----------
    n : int
    extent_mm : float
        Largest distance between two points.
    length_mm, width_mm : float
        Four standard deviations along the major and minor axes (each at least 2 mm).
    axis : (2,) ndarray
        Unit vector (row, col) of the major axis.
    curve_fit : float
        Fraction of points within 1 mm of a quadratic curve fitted along the major
        axis (robustly: refitted without the worst 30 %).
    path_ratio : float
        Length of the points' minimum spanning tree over the extent (the extent
        counted as at least 1 mm): about 1 along a line, 2-3 for a branching
        tree, more for points filling an area. 1 for fewer than 4 points.
    linearity : float
        Mean over the points of ``1 - l2 / l1``, the eigenvalues of the scatter
        of each point's neighbourhood (itself and its 4 nearest neighbours): 1
        where the points lie along lines (a duct and its branches), about 0.5
        where they fill an area. 1 for fewer than 4 points.
    centre : (2,) ndarray
    points : (K, 2) ndarray
    """

    n: int
    extent_mm: float
    length_mm: float
    width_mm: float
    axis: np.ndarray
    curve_fit: float
    path_ratio: float
    linearity: float
    centre: np.ndarray
    points: np.ndarray

    @property
    def anisotropy(self) -> float:
        return self.length_mm / self.width_mm

    def fan(self, target_mm) -> float:
        """How much wider the points spread on the far side from `target_mm` than on the near side.

        The log of the ratio of the spreads across the direction to the target
        (range + 1 mm) of the far and the near half: about 0 for an ellipse or a
        line, positive for a wedge whose apex points to the target.
        """
        to = self._towards(target_mm)
        if to is None or self.n < 4:
            return 0.0
        d = self.points - self.centre
        along, across = d @ to, d @ np.array([-to[1], to[0]])
        near, far = across[along > 0], across[along <= 0]
        if len(near) < 2 or len(far) < 2:
            return 0.0
        return math.log((np.ptp(far) + 1.0) / (np.ptp(near) + 1.0))

    def cone(self, target_mm) -> float:
        """Half-angle (radians) of the cone, from the point nearest `target_mm`, holding 90 % of the points.

        The cone's axis points away from the target: a duct tree spreading from
        its apex at the nipple side fills a narrow cone (0.2-0.5 rad), a patch
        seen from its nearest point a wide one, a line pointing to the target none.
        """
        to = self._towards(target_mm)
        if to is None or self.n < 3:
            return math.pi / 2
        away = -to
        apex = self.points[np.argmin(self.points @ away)]
        d = self.points - apex
        far = np.hypot(d[:, 0], d[:, 1]) > 1.0
        if far.sum() < 2:
            return math.pi / 2
        angle = np.arctan2(np.abs(d[far] @ np.array([-away[1], away[0]])), d[far] @ away)
        return float(np.percentile(angle, 90))

    def alignment(self, target_mm) -> float:
        """|cos| of the angle between the major axis and the direction to `target_mm`."""
        to = self._towards(target_mm)
        return 0.0 if to is None else abs(float(self.axis @ to))

    def _towards(self, target_mm) -> np.ndarray | None:
        """Unit vector from the centre to `target_mm`; None when they coincide."""
        to = np.asarray(target_mm, float) - self.centre
        norm = float(np.hypot(*to))
        return to / norm if norm > 0 else None


def layout(points_mm) -> Layout:
    """Measure the arrangement of (K, 2) points in mm (row, col)."""
    points = np.asarray(points_mm, float).reshape(-1, 2)
    centre = points.mean(axis=0)
    if len(points) >= 3:
        values, vectors = np.linalg.eigh(np.cov(points.T))
    else:
        values, vectors = np.zeros(2), np.eye(2)
        if len(points) == 2:
            d = points[1] - points[0]
            values[1] = float(d @ d) / 4
            vectors = np.array([[-d[1], d[0]], d]).T / max(float(np.hypot(*d)), 1e-12)
    # Floor the variances at (0.5 mm)^2: a line of point-like specks has a width.
    length, width = (4 * math.sqrt(max(v, 0.25)) for v in values[::-1])
    axis = vectors[:, 1]
    extent = largest_distance(points)
    fit, path_ratio, linearity = 1.0, 1.0, 1.0
    if len(points) >= 4:
        path_ratio = spanning_tree_length(points) / max(extent, 1.0)
        linearity = _local_linearity(points)
        u, v = (points - centre) @ axis, (points - centre) @ vectors[:, 0]
        keep = np.ones(len(points), bool)
        for _ in range(2):
            coef = np.polyfit(u[keep], v[keep], 2 if keep.sum() >= 5 else 1)
            residual = np.abs(v - np.polyval(coef, u))
            keep = residual < max(2.0, float(np.sort(residual)[int(0.7 * len(points))]))
        fit = float(np.mean(residual <= 1.0))
    return Layout(len(points), extent, length, width, axis, fit, path_ratio, linearity, centre, points)


def spanning_tree_length(points_mm) -> float:
    """Total length (mm) of the Euclidean minimum spanning tree of (K, 2) points, K >= 3.

    The tree is a subgraph of the Delaunay triangulation, so only its O(K)
    edges are weighed (joggled, so that collinear points triangulate too).
    """
    points = np.asarray(points_mm, float)
    simplices = Delaunay(points, qhull_options="QJ").simplices
    edges = np.unique(np.sort(np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]]),
                              axis=1), axis=0)
    lengths = np.hypot(*(points[edges[:, 0]] - points[edges[:, 1]]).T)
    graph = coo_matrix((lengths, (edges[:, 0], edges[:, 1])), shape=(len(points), len(points)))
    return float(minimum_spanning_tree(graph).sum())


def _local_linearity(points: np.ndarray, k: int = 5) -> float:
    """See :attr:`Layout.linearity`; (K, 2) points, K >= 3 (neighbourhoods of min(k, K))."""
    _, nearest = cKDTree(points).query(points, min(k, len(points)))
    neighbourhood = points[nearest] - points[nearest].mean(axis=1, keepdims=True)  # (K, k, 2)
    small, large = np.linalg.eigvalsh(np.einsum("kni,knj->kij", neighbourhood, neighbourhood)).T
    return float(np.mean(1.0 - small / np.maximum(large, 1e-12)))


def pleomorphism(diameter_mm, elongation, solidity) -> float:
    """Variation of size and shape within a cluster: 0 for equal round specks.

    The fraction of members that are irregular (elongation >= 1.5 or solidity
    < 0.9) plus the coefficient of variation of their diameters.

    Parameters
    ----------
    diameter_mm, elongation, solidity : (K,) array_like
        Member measurements (see :class:`~calcdetect.specks.shape.SpeckFeatures`).
    """
    diameter_mm = np.asarray(diameter_mm, float)
    return float(_uneven(elongation, solidity).mean() + diameter_mm.std() / diameter_mm.mean())


def _uneven(elongation, solidity) -> np.ndarray:
    """Members elongated (>= 1.5) or far from convex (solidity < 0.9)."""
    return (np.asarray(elongation) >= UNEVEN_ELONGATION) | (np.asarray(solidity) < UNEVEN_SOLIDITY)


def tram_track_fraction(points_mm, orientation, length_mm, *, max_turn_deg: float = 10.0) -> float:
    """Fraction of elongated specks with a parallel neighbour 0.6-3 mm to the side (tram tracks).

    Parameters
    ----------
    points_mm : (K, 2) array_like
        Centroids (row, col) in mm of the linear members.
    orientation : (K,) array_like
        Major-axis angles from the row axis (radians).
    length_mm : (K,) array_like
        Member lengths; neighbours must overlap along the axis.
    max_turn_deg : float
        Largest angle between two parallel specks.
    """
    points = np.asarray(points_mm, float).reshape(-1, 2)
    if len(points) < 2:
        return 0.0
    theta = np.asarray(orientation, float)
    u = np.column_stack([np.cos(theta), np.sin(theta)])  # (row, col) direction of each speck
    d = points[None, :, :] - points[:, None, :]  # d[i, j] = p_j - p_i
    along = np.abs((d * u[:, None, :]).sum(-1))
    across = np.abs(d[..., 0] * u[:, None, 1] - d[..., 1] * u[:, None, 0])
    turn = np.abs((theta[:, None] - theta[None, :] + np.pi / 2) % np.pi - np.pi / 2)
    reach = 0.5 * (np.asarray(length_mm)[:, None] + np.asarray(length_mm)[None, :])
    paired = (turn <= np.radians(max_turn_deg)) & (across >= 0.6) & (across <= 3.0) & (along <= reach)
    np.fill_diagonal(paired, False)
    return float(paired.any(axis=1).mean())


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


def own_findings(described: ClusterDescriptions) -> np.ndarray:
    """(C,) bool: the described clusters that are a finding of their own (`alone` of
    :func:`cluster_layouts`): those judged vascular by their own members, which
    :func:`describe_clusters` always calls linear (a cluster the distribution model calls
    diffuse, judged vascular with the bright specks, keeps its diffuse distribution, and
    its links)."""
    return (described.morphology == Morphology.VASCULAR) & (described.distribution != Distribution.DIFFUSE)


def bright_isolated(specks: Specks, labels) -> np.ndarray:
    """(K,) bool: specks outside any cluster at least :data:`DIFFUSE_MIN_SIGNIFICANCE` sigmas bright,
    the scatter a diffuse cluster is judged with."""
    return (np.asarray(labels) < 0) & (specks.significance >= DIFFUSE_MIN_SIGNIFICANCE)


def suspicion(morphology, distribution, *, extent_mm: float, several_clusters: bool = False) -> float:
    """Probability of malignancy of a described cluster, from published PPVs.

    Each descriptor's PPV is read as a likelihood ratio against the base rate of
    biopsied clusters (:data:`BASE_RATE`), and the odds multiply (a naive-Bayes
    combination): ``odds = odds(PPV_morphology) * odds(PPV_distribution) /
    odds(BASE_RATE) * OR_extent * OR_several``. Typically benign morphologies
    stay benign whatever their distribution: their odds are not raised by it.
    A diffuse cluster is a scatter, not a cluster: neither the extent nor the
    several-clusters odds apply to it.

    Parameters
    ----------
    morphology : Morphology or str
    distribution : Distribution or str
    extent_mm : float
        Greatest dimension of the finding (not used for a diffuse one).
    several_clusters : bool
        The breast holds more than one suspicious cluster (not used for a diffuse one).

    Returns
    -------
    float
        In (0, 1).

    References
    ----------
    .. [1] Burnside ES et al. Use of microcalcification descriptors in BI-RADS 4th
       edition to stratify risk of malignancy. Radiology 2007;242:388-95.
    .. [2] Bent CK et al. The positive predictive value of BI-RADS microcalcification
       descriptors and final assessment categories. AJR 2010;194:1378-83.
    """
    morphology, distribution = Morphology(morphology), Distribution(distribution)
    p_morphology = MORPHOLOGY_PPV.get(morphology, BENIGN_PPV)
    odds = _odds(p_morphology)
    if morphology in SUSPICIOUS_MORPHOLOGIES:
        odds *= _odds(DISTRIBUTION_PPV[distribution]) / _odds(BASE_RATE)
        if distribution == Distribution.DIFFUSE:
            return odds / (1.0 + odds)  # a scatter, not a cluster: neither predictor applies
        lo, hi = EXTENT_MM
        t = min(max((extent_mm - lo) / (hi - lo), 0.0), 1.0)
        odds *= EXTENT_ODDS_RATIO**t
        if several_clusters:
            odds *= SEVERAL_CLUSTERS_ODDS_RATIO
    return odds / (1.0 + odds)


def _odds(p: float) -> float:
    return p / (1.0 - p)


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


def _check_weights(weights: dict[str, float], names, *, model: str) -> None:
    """Raise ValueError unless `weights` holds a "bias" and one weight for each feature in `names`, and no other."""
    expected = ("bias", *names)
    unknown = [name for name in weights if name not in expected]
    if unknown:
        raise ValueError(f"{model} has a weight for {', '.join(map(repr, unknown))}, which is no feature of the model "
                         f"(features: {', '.join(names)}); refit with benchmarks/fit_description.py")
    missing = [name for name in expected if name not in weights]
    if missing:
        raise ValueError(f"{model} has no weight for {', '.join(map(repr, missing))}; "
                         f"refit with benchmarks/fit_description.py")


@dataclass(frozen=True, eq=False)
class _VesselWalls(StructOfArrays):
    """Which of K specks are likely pieces of a calcified vessel's wall (see :func:`describe_clusters`).

    Attributes
    ----------
    likely : (K,) ndarray of bool
        Vessel-wall probability at least :data:`VASCULAR_PROBABILITY`.
    straight : (K,) ndarray of bool
        Likely and on a straight course (:data:`VASCULAR_LINEARITY`), or `likely`
        itself where the course is not known.
    """

    likely: np.ndarray
    straight: np.ndarray


def _vessel_walls(vascular, linearity, *, k: int) -> _VesselWalls | None:
    """Each speck's vessel-wall evidence, or None without `vascular`."""
    if vascular is None:
        if linearity is not None:
            raise ValueError("linearity needs vascular (each speck's vessel-wall probability); got vascular=None")
        return None
    vascular = np.asarray(vascular, float)
    if vascular.shape != (k,):
        raise ValueError(f"vascular must hold one probability per speck ({k}); got shape {vascular.shape}")
    likely = vascular >= VASCULAR_PROBABILITY
    if linearity is None:
        return _VesselWalls(likely, likely)
    linearity = np.asarray(linearity, float)
    if linearity.shape != (k,):
        raise ValueError(f"linearity must hold one value per speck ({k}); got shape {linearity.shape}")
    return _VesselWalls(likely, likely & (linearity >= VASCULAR_LINEARITY))  # NaN (too few neighbours) is not straight


def _vessel_course(points_mm: np.ndarray) -> bool:
    """Do likely vessel-wall pieces ((K, 2) positions, mm) make a vessel's course, bent or crossing
    (:data:`VASCULAR_SPREAD_MM`, :data:`VASCULAR_COURSE_LINEARITY`)? A piece with fewer than
    :data:`VASCULAR_COURSE_NEIGHBOURS` pieces round it is on no course (a few scattered points
    line up by chance)."""
    if len(points_mm) < VASCULAR_COURSE_NEIGHBOURS or largest_distance(points_mm) < VASCULAR_SPREAD_MM:
        return False
    linearity = linearity_around(points_mm, min_points=VASCULAR_COURSE_NEIGHBOURS)
    return bool(np.median(np.nan_to_num(linearity, nan=0.0)) >= VASCULAR_COURSE_LINEARITY)


def _judge(specks: Specks, shapes: SpeckFeatures, member, *, points_mm, depth_mm,
           extent_mm: float, walls: _VesselWalls | None = None) -> tuple[Morphology, float, float]:
    """Morphology, pleomorphism and linear fraction of the specks in `member` ((K,) bool);
    `points_mm`, `depth_mm` and `walls` (or None, see :func:`_vessel_walls`) are of all K specks."""
    members, member_shapes = specks.take(member), shapes.take(member)
    pleo = pleomorphism(members.diameter_mm, member_shapes.elongation, member_shapes.solidity)
    morphology = _morphology(members, member_shapes, points_mm[member], None if depth_mm is None else depth_mm[member],
                             pleo=pleo, extent_mm=extent_mm, walls=None if walls is None else walls.take(member))
    return morphology, pleo, float(_linear(member_shapes).mean())


def _morphology(specks: Specks, shapes: SpeckFeatures, points_mm, depth_mm, *, pleo: float,
                extent_mm: float, walls: _VesselWalls | None = None) -> Morphology:
    """The first rule of :func:`describe_clusters` (Notes) that the members meet."""
    linear = _linear(shapes)
    linear_shaped = linear.mean() >= LINEAR_SPECKS
    if depth_mm is not None and np.median(depth_mm) <= SKIN_DEPTH_MM:
        return Morphology.SKIN
    if np.mean(shapes.shape == str(SpeckShape.COARSE)) >= COARSE_SPECKS:
        return Morphology.COARSE
    if linear_shaped and np.median(specks.width_mm[linear]) >= ROD_MIN_WIDTH_MM:
        return Morphology.LARGE_RODLIKE
    if walls is not None and (
            np.mean(walls.straight) >= VASCULAR_SPECKS
            or (np.mean(walls.likely) >= VASCULAR_COURSE_SPECKS and _vessel_course(points_mm[walls.likely]))):
        return Morphology.VASCULAR
    if linear_shaped:
        if _on_lines(shapes, ON_LONG_LINE_MM):
            return Morphology.VASCULAR
        paired = tram_track_fraction(points_mm[linear], specks.orientation[linear], specks.length_mm[linear])
        if extent_mm >= VASCULAR_MIN_MM:
            tracks = paired >= TRAM_TRACK
        else:
            tracks = bool(paired >= SHORT_TRAM_TRACK and paired * np.count_nonzero(linear) >= SHORT_TRACK_PIECES)
        return Morphology.VASCULAR if tracks else Morphology.FINE_LINEAR_BRANCHING
    if np.mean(shapes.shape == str(SpeckShape.RIM)) >= RIM_SPECKS:
        return Morphology.RIM
    if _on_lines(shapes, ON_LINE_MM):
        return Morphology.VASCULAR
    if np.median(specks.diameter_mm) >= FINE_MAX_MM * SPHERE_DIAMETER_FACTOR:
        is_round = _evidence(ROUND_WEIGHTS, specks, shapes, model="ROUND_WEIGHTS") > 0
        return Morphology.ROUND if is_round else Morphology.COARSE_HETEROGENEOUS
    if np.median(specks.significance) < AMORPHOUS_MAX_SIGNIFICANCE:
        return Morphology.AMORPHOUS
    if pleo >= PLEOMORPHIC and _evidence(PLEOMORPHIC_WEIGHTS, specks, shapes, model="PLEOMORPHIC_WEIGHTS") > 0:
        return Morphology.FINE_PLEOMORPHIC
    return Morphology.PUNCTATE


def _on_lines(shapes: SpeckFeatures, length_mm: float) -> bool:
    """Do :data:`ON_LINE_SPECKS` of the specks lie on ridges running `length_mm` or more? (NaN: not measured.)"""
    assert shapes.ridge_length_mm is not None  # SpeckFeatures.__post_init__ fills it in
    return bool(np.mean(shapes.ridge_length_mm >= length_mm) >= ON_LINE_SPECKS)


def pleomorphic_features(specks: Specks, shapes: SpeckFeatures) -> dict[str, float]:
    """The :data:`PLEOMORPHIC_FEATURES` of a cluster's members."""
    return {
        "median_diameter_mm": float(np.median(specks.diameter_mm)),
        "median_elongation": float(np.median(shapes.elongation)),
        "irregular_fraction": float(_uneven(shapes.elongation, shapes.solidity).mean()),
        "pleomorphism": pleomorphism(specks.diameter_mm, shapes.elongation, shapes.solidity),
    }


def _evidence(weights: dict[str, float], specks: Specks, shapes: SpeckFeatures, *, model: str) -> float:
    """Log-odds of a shape model (:data:`ROUND_WEIGHTS`, :data:`PLEOMORPHIC_WEIGHTS`, named `model`)
    for a cluster's members; weights are matched to the features by name."""
    features = pleomorphic_features(specks, shapes)
    _check_weights(weights, list(features), model=model)
    return weights["bias"] + sum(weights[name] * v for name, v in features.items())


def rod_specks(specks: Specks, shapes: SpeckFeatures) -> np.ndarray:
    """(K,) bool: large rod-like specks, linear or branching (as for the morphology rules) and at
    least :data:`ROD_MIN_WIDTH_MM` wide."""
    return _linear(shapes) & (np.asarray(specks.width_mm) >= ROD_MIN_WIDTH_MM)


def _linear(shapes: SpeckFeatures) -> np.ndarray:
    """Linear or branching members, also those that are pieces of a wide object (class coarse):
    a calcified vessel's two walls make one such object over a few mm."""
    return (shapes.elongation >= ELONGATED) & (shapes.shape != str(SpeckShape.RIM))
