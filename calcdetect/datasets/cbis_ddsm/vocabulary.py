"""CBIS-DDSM calcification descriptions in the BI-RADS classes of :mod:`calcdetect.lexicon`.

The case-description CSVs of CBIS-DDSM (Lee et al., Sci Data 4:170177, 2017)
describe each calcification abnormality with a ``calc type`` and a
``calc distribution``: upper-case BI-RADS terms, several joined by hyphens
(``PUNCTATE-PLEOMORPHIC``, ``CLUSTERED-LINEAR``), ``NA`` (or ``N/A``) when
none was given. The mapping:

=========================  ==========================
calc type                  Morphology
=========================  ==========================
AMORPHOUS                  amorphous
COARSE                     coarse (popcorn)
DYSTROPHIC                 dystrophic
EGGSHELL                   rim
FINE_LINEAR_BRANCHING      fine_linear_branching
LARGE_RODLIKE              large_rodlike
LUCENT_CENTER(ED)          rim (both spellings occur)
MILK_OF_CALCIUM            milk_of_calcium
PLEOMORPHIC                fine_pleomorphic
PUNCTATE                   punctate
ROUND_AND_REGULAR          round
SKIN                       skin
VASCULAR                   vascular
=========================  ==========================

=====================  ============
calc distribution      Distribution
=====================  ============
CLUSTERED              grouped (the BI-RADS 5th edition name of "clustered")
LINEAR                 linear
SEGMENTAL              segmental
REGIONAL               regional
DIFFUSELY_SCATTERED    diffuse
=====================  ============

When several terms are given, :func:`primary_morphology` and
:func:`primary_distribution` pick the one with the highest published positive
predictive value (``docs``: birads.md), which is how a radiologist's
recommendation is driven.
"""

from __future__ import annotations

import math

from calcdetect.lexicon import Distribution, Morphology

CALC_TYPES: dict[str, Morphology] = {
    "AMORPHOUS": Morphology.AMORPHOUS,
    "COARSE": Morphology.COARSE,
    "DYSTROPHIC": Morphology.DYSTROPHIC,
    "EGGSHELL": Morphology.RIM,
    "FINE_LINEAR_BRANCHING": Morphology.FINE_LINEAR_BRANCHING,
    "LARGE_RODLIKE": Morphology.LARGE_RODLIKE,
    "LUCENT_CENTER": Morphology.RIM,
    "LUCENT_CENTERED": Morphology.RIM,
    "MILK_OF_CALCIUM": Morphology.MILK_OF_CALCIUM,
    "PLEOMORPHIC": Morphology.FINE_PLEOMORPHIC,
    "PUNCTATE": Morphology.PUNCTATE,
    "ROUND_AND_REGULAR": Morphology.ROUND,
    "SKIN": Morphology.SKIN,
    "VASCULAR": Morphology.VASCULAR,
}

CALC_DISTRIBUTIONS: dict[str, Distribution] = {
    "CLUSTERED": Distribution.GROUPED,
    "LINEAR": Distribution.LINEAR,
    "SEGMENTAL": Distribution.SEGMENTAL,
    "REGIONAL": Distribution.REGIONAL,
    "DIFFUSELY_SCATTERED": Distribution.DIFFUSE,
}

#: Most suspicious first (published PPVs: fine linear branching about 70 %, fine
#: pleomorphic 29 %, amorphous 20 %, coarse heterogeneous 13-15 %; the rest benign).
_MORPHOLOGY_RANK = (
    Morphology.FINE_LINEAR_BRANCHING, Morphology.FINE_PLEOMORPHIC, Morphology.AMORPHOUS,
    Morphology.COARSE_HETEROGENEOUS, Morphology.PUNCTATE, Morphology.ROUND, Morphology.DYSTROPHIC,
    Morphology.LARGE_RODLIKE, Morphology.RIM, Morphology.SKIN, Morphology.MILK_OF_CALCIUM,
    Morphology.VASCULAR, Morphology.COARSE,
)
#: Most suspicious first (segmental 60-74 %, linear 60-68 %, grouped 16-30 %, regional 13 %, diffuse 3 %).
_DISTRIBUTION_RANK = (Distribution.SEGMENTAL, Distribution.LINEAR, Distribution.GROUPED,
                      Distribution.REGIONAL, Distribution.DIFFUSE)

_MISSING = frozenset({"", "NA", "N/A", "NAN", "NONE"})


def parse_calc_type(text) -> tuple[Morphology, ...]:
    """The morphologies named by a CBIS-DDSM ``calc type`` cell, in order, without repeats.

    Raises
    ------
    ValueError
        Naming the unknown term, when the cell holds one.
    """
    return _parse(text, CALC_TYPES, "calc type")


def parse_calc_distribution(text) -> tuple[Distribution, ...]:
    """The distributions named by a CBIS-DDSM ``calc distribution`` cell, in order, without repeats."""
    return _parse(text, CALC_DISTRIBUTIONS, "calc distribution")


def primary_morphology(text) -> Morphology | None:
    """The most suspicious morphology of a ``calc type`` cell; None for NA."""
    found = parse_calc_type(text)
    return min(found, key=_MORPHOLOGY_RANK.index) if found else None


def primary_distribution(text) -> Distribution | None:
    """The most suspicious distribution of a ``calc distribution`` cell; None for NA."""
    found = parse_calc_distribution(text)
    return min(found, key=_DISTRIBUTION_RANK.index) if found else None


def _parse(text, table: dict, column: str) -> tuple:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    cell = str(text).strip().upper()  # cells of the CSVs end in stray whitespace and newlines
    if cell in _MISSING:
        return ()
    found = []
    for term in cell.split("-"):
        term = term.strip()
        if term not in table:
            raise ValueError(f"{column} term {term!r} (in {str(text).strip()!r}) is not one of {sorted(table)}")
        if table[term] not in found:
            found.append(table[term])
    return tuple(found)
