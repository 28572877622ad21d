"""Coded values of the BI-RADS calcification lexicon (ACR BI-RADS Atlas, 5th ed., 2013).

The string values are the ones written to the output tables (schema v1) and to
``truth.json``; convert to and from these enums only at the edges.
"""

from enum import StrEnum


class Distribution(StrEnum):
    """How the calcifications of a cluster are arranged."""

    GROUPED = "grouped"
    LINEAR = "linear"
    SEGMENTAL = "segmental"
    REGIONAL = "regional"
    DIFFUSE = "diffuse"


class Morphology(StrEnum):
    """Shape class of a cluster's calcifications (suspicious and typically benign)."""

    PUNCTATE = "punctate"
    ROUND = "round"
    AMORPHOUS = "amorphous"
    COARSE_HETEROGENEOUS = "coarse_heterogeneous"
    FINE_PLEOMORPHIC = "fine_pleomorphic"
    FINE_LINEAR_BRANCHING = "fine_linear_branching"
    # Typically benign.
    VASCULAR = "vascular"
    COARSE = "coarse"
    RIM = "rim"
    SKIN = "skin"
    LARGE_RODLIKE = "large_rodlike"
    DYSTROPHIC = "dystrophic"
    MILK_OF_CALCIUM = "milk_of_calcium"


#: Morphologies that BI-RADS calls "suspicious" (category 4B/4C); everything else is typically benign.
SUSPICIOUS_MORPHOLOGIES = frozenset(
    {
        Morphology.AMORPHOUS,
        Morphology.COARSE_HETEROGENEOUS,
        Morphology.FINE_PLEOMORPHIC,
        Morphology.FINE_LINEAR_BRANCHING,
    }
)


class Category(StrEnum):
    """Whether a planted or reported pattern is suspicious or typically benign."""

    SUSPICIOUS = "suspicious"
    BENIGN = "benign"


def category_of(morphology: Morphology) -> Category:
    """Return the BI-RADS category (suspicious or benign) of a morphology."""
    if Morphology(morphology) in SUSPICIOUS_MORPHOLOGIES:
        return Category.SUSPICIOUS
    return Category.BENIGN


class Assessment(StrEnum):
    """BI-RADS assessment category (ACR BI-RADS Atlas, 5th ed., 2013), as written to the
    tables' ``birads_category`` columns; ordered from least to most suspicious."""

    NEGATIVE = "1"
    BENIGN = "2"
    PROBABLY_BENIGN = "3"
    LOW_SUSPICION = "4A"
    MODERATE_SUSPICION = "4B"
    HIGH_SUSPICION = "4C"
    HIGHLY_SUGGESTIVE = "5"
