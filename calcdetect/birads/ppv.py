"""Probability of malignancy of a described cluster, from published positive predictive values.

Each descriptor's PPV, the extent of the finding and several suspicious clusters in one
breast combine into the cluster's ``ppv`` (:func:`suspicion`).
"""

from __future__ import annotations

from calcdetect.lexicon import SUSPICIOUS_MORPHOLOGIES, Distribution, Morphology

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
