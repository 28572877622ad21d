import pytest

from calcdetect.birads.assessment import assessment_category, highest_category
from calcdetect.birads.ppv import MORPHOLOGY_PPV, suspicion
from calcdetect.lexicon import Assessment as A
from calcdetect.lexicon import Morphology


@pytest.mark.parametrize(("ppv", "expected"), [
    (0.0, A.PROBABLY_BENIGN), (0.02, A.PROBABLY_BENIGN), (0.0201, A.LOW_SUSPICION), (0.10, A.LOW_SUSPICION),
    (0.1001, A.MODERATE_SUSPICION), (0.50, A.MODERATE_SUSPICION), (0.5001, A.HIGH_SUSPICION),
    (0.9499, A.HIGH_SUSPICION), (0.95, A.HIGHLY_SUGGESTIVE), (1.0, A.HIGHLY_SUGGESTIVE),
], ids=["0", "3-top", "4A-bottom", "4A-top", "4B-bottom", "4B-top", "4C-bottom", "4C-top", "5-bottom", "1"])
def test_the_atlas_ranges_are_read_off_the_ppv(ppv, expected):
    assert assessment_category(ppv, Morphology.AMORPHOUS) == expected


@pytest.mark.parametrize("morphology", sorted(set(Morphology) - set(MORPHOLOGY_PPV)))
def test_typically_benign_morphologies_are_category_2_whatever_the_ppv(morphology):
    assert assessment_category(0.9, morphology) == A.BENIGN


@pytest.mark.parametrize(("morphology", "distribution", "extent_mm", "expected"), [
    ("punctate", "grouped", 5.0, A.PROBABLY_BENIGN),          # 2 %: an isolated group may be BI-RADS 3
    ("amorphous", "diffuse", 5.0, A.LOW_SUSPICION),           # diffuse amorphous: about 3 %
    ("coarse_heterogeneous", "grouped", 5.0, A.MODERATE_SUSPICION),
    ("fine_linear_branching", "segmental", 25.0, A.HIGHLY_SUGGESTIVE),
], ids=["punctate", "diffuse-amorphous", "grouped-coarse-heterogeneous", "long-segmental-linear"])
def test_published_descriptions_land_in_their_categories(morphology, distribution, extent_mm, expected):
    assert assessment_category(suspicion(morphology, distribution, extent_mm=extent_mm), morphology) == expected


def test_a_ppv_a_rounding_error_above_2_percent_stays_category_3():
    assert assessment_category(0.02 + 1e-12, Morphology.PUNCTATE) == A.PROBABLY_BENIGN


def test_an_image_takes_its_highest_category_and_1_without_clusters():
    assert highest_category(["2", "4B", "3", "4A"]) == A.MODERATE_SUSPICION
    assert highest_category(["4C", "5"]) == A.HIGHLY_SUGGESTIVE
    assert highest_category([]) == A.NEGATIVE


@pytest.mark.parametrize(("ppv", "morphology", "match"), [
    (1.5, "amorphous", r"ppv must be a probability within 0-1; got 1\.5"),
    (0.5, "spiky", "'spiky' is not a valid Morphology"),
], ids=["ppv", "morphology"])
def test_bad_arguments_are_refused(ppv, morphology, match):
    with pytest.raises(ValueError, match=match):
        assessment_category(ppv, morphology)
