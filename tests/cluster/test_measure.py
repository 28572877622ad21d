import math

import numpy as np
import pytest

from calcdetect.candidates import Specks
from calcdetect.cluster import cluster_confidence, measure_clusters


def _specks(rows, cols, diameter_mm=0.3, contrast=10.0):
    k = len(rows)
    full = lambda v: np.full(k, float(v))  # noqa: E731
    return Specks(row=np.asarray(rows, float), col=np.asarray(cols, float), area_mm2=full(math.pi * diameter_mm**2 / 4),
                  diameter_mm=full(diameter_mm), length_mm=full(diameter_mm), width_mm=full(diameter_mm), orientation=full(0.0),
                  contrast=full(contrast), significance=full(contrast), score=full(0.5), bbox=np.zeros((k, 4), np.int64))


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
