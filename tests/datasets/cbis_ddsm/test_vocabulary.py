import csv

import pytest

from calcdetect.datasets.cbis_ddsm import (
    parse_calc_distribution,
    parse_calc_type,
    primary_distribution,
    primary_morphology,
)
from calcdetect.lexicon import Distribution as D
from calcdetect.lexicon import Morphology as M

def _distinct(folder, column):
    values = set()
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="") as fh:
            values |= {row[column] for row in csv.DictReader(fh)}
    return sorted(values)


def test_every_calc_type_in_the_csvs_maps(shared_cbis):
    values = _distinct(shared_cbis, "calc type")
    assert len(values) >= 40
    unmapped = [v for v in values if not parse_calc_type(v) and v.strip() not in ("NA", "N/A")]
    assert unmapped == []


def test_every_calc_distribution_in_the_csvs_maps(shared_cbis):
    values = _distinct(shared_cbis, "calc distribution")
    assert len(values) >= 8
    unmapped = [v for v in values if not parse_calc_distribution(v) and v.strip() not in ("NA", "N/A")]
    assert unmapped == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PUNCTATE-PLEOMORPHIC", (M.PUNCTATE, M.FINE_PLEOMORPHIC)),
        ("PLEOMORPHIC-PLEOMORPHIC", (M.FINE_PLEOMORPHIC,)),
        ("ROUND_AND_REGULAR-LUCENT_CENTER", (M.ROUND, M.RIM)),
        ("COARSE-ROUND_AND_REGULAR-LUCENT_CENTERED", (M.COARSE, M.ROUND, M.RIM)),
        ("EGGSHELL", (M.RIM,)),
        (" AMORPHOUS\n", (M.AMORPHOUS,)),
        ("NA", ()),
        ("N/A", ()),
        (float("nan"), ()),
    ],
    ids=["pair", "repeat", "lucent-center", "lucent-centered", "eggshell", "whitespace", "NA", "N/A", "nan"],
)
def test_calc_type_terms(text, expected):
    assert parse_calc_type(text) == expected


@pytest.mark.parametrize(
    ("text", "morphology", "distribution"),
    [
        ("PUNCTATE-PLEOMORPHIC", M.FINE_PLEOMORPHIC, None),
        ("PLEOMORPHIC-FINE_LINEAR_BRANCHING", M.FINE_LINEAR_BRANCHING, None),
        ("VASCULAR-COARSE", M.VASCULAR, None),
        ("CLUSTERED-LINEAR", None, D.LINEAR),
        ("LINEAR-SEGMENTAL", None, D.SEGMENTAL),
        ("DIFFUSELY_SCATTERED", None, D.DIFFUSE),
        ("CLUSTERED", None, D.GROUPED),
    ],
    ids=["pleomorphic-wins", "branching-wins", "vascular-over-popcorn", "linear-wins", "segmental-wins",
         "diffuse", "clustered-is-grouped"],
)
def test_primary_term_is_the_most_suspicious(text, morphology, distribution):
    if morphology is not None:
        assert primary_morphology(text) == morphology
    if distribution is not None:
        assert primary_distribution(text) == distribution


def test_unknown_term_is_named():
    with pytest.raises(ValueError, match=r"calc type term 'GLITTERY' \(in 'PUNCTATE-GLITTERY'\) is not one of"):
        parse_calc_type("PUNCTATE-GLITTERY")
