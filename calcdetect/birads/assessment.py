"""BI-RADS assessment categories of described clusters, from their probability of malignancy.

The ACR BI-RADS Atlas (5th ed., 2013) ties each category to a likelihood of malignancy:
2 benign (essentially 0 %), 3 probably benign (<= 2 %), 4A low suspicion (> 2 to <= 10 %),
4B moderate (> 10 to <= 50 %), 4C high (> 50 to < 95 %), 5 highly suggestive (>= 95 %);
1 is a negative examination. A cluster's category is read off its ``ppv``
(:func:`calcdetect.birads.ppv.suspicion`, the published PPVs of its descriptors); a
typically benign morphology is category 2 whatever its layout. An image takes the highest
category of its clusters, 1 when it has none. A research aid, not an assessment: a
radiologist's category also weighs priors, other views and the patient.
"""

from __future__ import annotations

from collections.abc import Iterable

from calcdetect.birads.ppv import MORPHOLOGY_PPV
from calcdetect.lexicon import Assessment, Morphology

#: The highest probability of malignancy (0-1) of each category read off a PPV, in order
#: (ACR BI-RADS Atlas, 5th ed.); above the last bound, category 5.
PPV_UPPER_BOUNDS: tuple[tuple[Assessment, float], ...] = (
    (Assessment.PROBABLY_BENIGN, 0.02),
    (Assessment.LOW_SUSPICION, 0.10),
    (Assessment.MODERATE_SUSPICION, 0.50),
    (Assessment.HIGH_SUSPICION, 0.95),
)
_ORDER = {category: rank for rank, category in enumerate(Assessment)}


def assessment_category(ppv: float, morphology) -> Assessment:
    """The BI-RADS assessment category of one described cluster.

    Parameters
    ----------
    ppv : float
        Probability of malignancy given the description, 0-1.
    morphology : Morphology or str
        The cluster's morphology; typically benign ones (not among
        :data:`calcdetect.birads.ppv.MORPHOLOGY_PPV`) are category 2.

    Returns
    -------
    Assessment
        2, 3, 4A, 4B, 4C or 5 (4C up to but not including 0.95).

    Raises
    ------
    ValueError
        When `ppv` is not within 0-1 or `morphology` is not a lexicon term.
    """
    ppv = round(float(ppv), 9)  # punctate's 0.02 must stay 3 whatever the float arithmetic
    if not 0.0 <= ppv <= 1.0:
        raise ValueError(f"ppv must be a probability within 0-1; got {ppv!r}")
    if Morphology(morphology) not in MORPHOLOGY_PPV:
        return Assessment.BENIGN
    for category, upper in PPV_UPPER_BOUNDS:
        if ppv < upper or (ppv == upper and category is not Assessment.HIGH_SUSPICION):
            return category
    return Assessment.HIGHLY_SUGGESTIVE


def highest_category(categories: Iterable) -> Assessment:
    """The most suspicious of an image's cluster categories; 1 (negative) when there is none."""
    found = [Assessment(c) for c in categories]
    return max(found, key=_ORDER.__getitem__) if found else Assessment.NEGATIVE
