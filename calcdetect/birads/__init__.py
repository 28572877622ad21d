"""BI-RADS description of clusters: distribution, morphology and a suspicion score.

Measured features of a cluster's members and of its place in the breast are
turned into the lexicon's descriptors (ACR BI-RADS Atlas, 5th ed., 2013): sizes
come from the lexicon; the other cut points and the distribution model were
chosen on balanced synthetic tuning sets (``calcdetect synth --balanced --n 72``,
seeds 500-511 and 2027-2048) and measured on held-out ones (seeds 2049-2056); see
the README. This is a research aid, not a diagnosis.

- :mod:`calcdetect.birads.layout`: layout measures of a set of points (extent, axes, curve fit,
  spanning tree, linearity) and the tram-track fraction of elongated specks;
- :mod:`calcdetect.birads.morphology`: the morphology's rules and cut points, the vessel-wall
  evidence and the fitted shape models (round, fine pleomorphic);
- :mod:`calcdetect.birads.distribution`: findings, the fitted distribution model and the
  chance groups of the breast's scatter (diffuse);
- :mod:`calcdetect.birads.ppv`: the published PPVs and the probability of malignancy they give;
- :mod:`calcdetect.birads.assessment`: the BI-RADS assessment category read off that probability;
- :mod:`calcdetect.birads.describe`: :func:`describe_clusters`, all of the above cluster by cluster.

The lexicon's terms (:class:`~calcdetect.lexicon.Distribution`,
:class:`~calcdetect.lexicon.Morphology`, :class:`~calcdetect.lexicon.Assessment`) are
defined in :mod:`calcdetect.lexicon` and exported here too.

>>> from calcdetect.birads import assessment_category, suspicion
>>> ppv = suspicion("fine_linear_branching", "segmental", extent_mm=25.0)
>>> round(ppv, 2), str(assessment_category(ppv, "fine_linear_branching"))
(0.98, '5')
"""

from calcdetect.birads.assessment import assessment_category, highest_category
from calcdetect.birads.describe import ClusterDescriptions, describe_clusters, own_findings
from calcdetect.birads.distribution import (
    DIFFUSE_MIN_CHANCE_GROUPS,
    DISTRIBUTION_FEATURES,
    ClusterLayout,
    bright_isolated,
    cluster_layouts,
    distribution_features,
    distribution_scores,
)
from calcdetect.birads.layout import Layout, layout, spanning_tree_length, tram_track_fraction
from calcdetect.birads.morphology import (
    PLEOMORPHIC_FEATURES,
    VASCULAR_COURSE_SPECKS,
    VASCULAR_LINEARITY,
    VASCULAR_PROBABILITY,
    VASCULAR_SPECKS,
    VASCULAR_SPREAD_MM,
    pleomorphic_features,
    pleomorphism,
    rod_specks,
)
from calcdetect.birads.ppv import BENIGN_PPV, MORPHOLOGY_PPV, suspicion
from calcdetect.lexicon import Assessment, Distribution, Morphology

__all__ = [
    "BENIGN_PPV", "DIFFUSE_MIN_CHANCE_GROUPS", "DISTRIBUTION_FEATURES", "MORPHOLOGY_PPV", "PLEOMORPHIC_FEATURES",
    "VASCULAR_COURSE_SPECKS", "VASCULAR_LINEARITY", "VASCULAR_PROBABILITY", "VASCULAR_SPECKS", "VASCULAR_SPREAD_MM",
    "Assessment", "ClusterDescriptions", "ClusterLayout", "Distribution", "Layout", "Morphology",
    "assessment_category", "bright_isolated", "cluster_layouts", "describe_clusters", "distribution_features",
    "distribution_scores", "highest_category", "layout", "own_findings", "pleomorphic_features", "pleomorphism",
    "rod_specks", "spanning_tree_length", "suspicion", "tram_track_fraction",
]
