import dataclasses
import math

import numpy as np
import pytest

from calcdetect.specks.candidates import Specks
from calcdetect.cluster import cluster_confidence, measure_clusters
from calcdetect.cluster.measure import cluster_centre


def _specks(rows, cols, diameter_mm=0.3, contrast=10.0):
    k = len(rows)
    full = lambda v: np.full(k, float(v))  # noqa: E731
    return Specks(row=np.asarray(rows, float), col=np.asarray(cols, float),
                  area_mm2=full(math.pi * diameter_mm**2 / 4), diameter_mm=full(diameter_mm),
                  length_mm=full(diameter_mm), width_mm=full(diameter_mm), orientation=full(0.0),
                  contrast=full(contrast), significance=full(contrast), score=full(0.5),
                  bbox=np.zeros((k, 4), np.int64))


def test_square_cluster_measurements():
    # Four specks on the corners of a 4 mm square (0.1 mm pixels) plus its centre.
    specks = _specks([100, 100, 140, 140, 120], [200, 240, 200, 240, 220], diameter_mm=0.4)
    clusters = measure_clusters(specks, np.zeros(5, int), spacing=(0.1, 0.1))
    assert len(clusters) == 1
    assert clusters.n_calcifications[0] == 5
    assert (clusters.row[0], clusters.col[0]) == pytest.approx((120, 220))
    assert (clusters.row_min[0], clusters.col_min[0], clusters.row_max[0], clusters.col_max[0]) == (100, 200, 140, 240)
    assert clusters.extent_mm[0] == pytest.approx(4 * math.sqrt(2) + 0.4)
    assert clusters.area_mm2[0] == pytest.approx(16.0)
    assert clusters.density_per_cm2[0] == pytest.approx(5.0)  # 16 mm^2 < 1 cm^2 floor


def test_collinear_cluster_has_zero_area_and_density_over_one_square_cm():
    specks = _specks([0, 0, 0], [0, 10, 20])
    clusters = measure_clusters(specks, [0, 0, 0], spacing=(0.1, 0.1))
    assert clusters.area_mm2[0] == 0.0
    assert clusters.extent_mm[0] == pytest.approx(2.0 + 0.3)
    assert clusters.density_per_cm2[0] == pytest.approx(3.0)


def test_unclustered_specks_make_no_cluster():
    clusters = measure_clusters(_specks([0, 5], [0, 5]), [-1, -1], spacing=(0.1, 0.1))
    assert len(clusters) == 0


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0.9, 0.8, 0.7], 0.8),
        ([0.1, 0.9, 0.8, 0.7, 0.2], 0.8),
        ([0.5], 0.5),
    ],
    ids=["three", "best-three-of-five", "one"],
)
def test_cluster_confidence_is_the_mean_of_the_three_surest_members(scores, expected):
    assert cluster_confidence(scores) == pytest.approx(expected)


def test_cluster_confidence_does_not_grow_with_many_weak_members():
    rng = np.random.default_rng(3)
    few = [0.6, 0.5, 0.4]
    many = few + list(rng.uniform(0.0, 0.3, 300))
    assert cluster_confidence(many) == pytest.approx(cluster_confidence(few))


def test_cluster_confidence_refuses_no_members():
    with pytest.raises(ValueError, match="at least one member"):
        cluster_confidence([])


@pytest.mark.parametrize(
    ("scores", "expected_col"),
    [([0.9, 0.9, 0.9, 0.1, 0.1], (0.9 * (0 + 10 + 20) + 0.1 * (80 + 90)) / 2.9),
     ([0.0] * 5, 40.0),
     ([0.5] * 5, 40.0),
     ([float("nan"), 0.5, 0.5, 0.5, 0.5], 50.0)],
    ids=["doubtful-members-pull-less", "no-positive-score-plain-mean", "equal-scores-plain-mean", "nan-weighs-nothing"],
)
def test_cluster_centre_is_the_score_weighted_mean(scores, expected_col):
    rows, cols = np.full(5, 100.0), np.array([0.0, 10, 20, 80, 90])
    assert cluster_centre(rows, cols, scores) == pytest.approx((100.0, expected_col))


def test_doubtful_specks_beside_a_faint_group_barely_move_its_centre():
    """Three sure specks of a group and three doubtful ones 4-8 mm to one side (noise next to a
    faint group, as on independent phantoms): the centre stays within 2 mm of the group."""
    spacing = (0.1, 0.1)
    rows = np.array([500.0, 505, 510, 505, 510, 515])
    cols = np.array([400.0, 410, 405, 450, 470, 480])
    specks = dataclasses.replace(_specks(rows, cols, diameter_mm=0.2), score=np.array([0.9, 0.8, 0.9, 0.15, 0.1, 0.1]))
    clusters = measure_clusters(specks, np.zeros(6, int), spacing=spacing)
    group = np.array([505.0, 405.0])
    assert np.hypot(clusters.row[0] - group[0], clusters.col[0] - group[1]) * 0.1 < 2.0
    assert np.hypot(rows.mean() - group[0], cols.mean() - group[1]) * 0.1 > 2.0  # the plain mean would not
