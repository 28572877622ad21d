import math

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from calcdetect.cluster import CAD_RADIUS_MM, chance_groups, cluster_labels
from calcdetect.geometry import grown_hull_area

SPACING = (0.07, 0.07)


def _ball(rng, center_px, n, radius_px):
    angle, r = rng.uniform(0, 2 * np.pi, n), radius_px * np.sqrt(rng.uniform(0, 1, n))
    return center_px[0] + r * np.sin(angle), center_px[1] + r * np.cos(angle)


def test_five_planted_specks_are_one_cluster():
    rng = np.random.default_rng(21)
    rows, cols = _ball(rng, (1000, 1000), 5, 40)  # within 2.8 mm
    labels = cluster_labels(rows, cols, spacing=SPACING)
    np.testing.assert_array_equal(labels, 0)


def test_two_groups_far_apart_are_two_clusters():
    rng = np.random.default_rng(22)
    r1, c1 = _ball(rng, (1000, 1000), 5, 40)
    r2, c2 = _ball(rng, (1000, 2000), 5, 40)  # 70 mm away
    labels = cluster_labels(np.r_[r1, r2], np.r_[c1, c2], spacing=SPACING)
    np.testing.assert_array_equal(labels, [0] * 5 + [1] * 5)


@pytest.mark.parametrize(
    ("gap_mm", "expected"),
    [(CAD_RADIUS_MM * 0.95, [0, 0, 0]), (CAD_RADIUS_MM * 1.05, [-1, -1, -1])],
    ids=["inside-1cm2", "just-outside"],
)
def test_cad_convention_three_specks_within_one_square_cm(gap_mm, expected):
    # Three specks on a line, each neighbour gap_mm apart: the middle one is core
    # only when both others are within the 1 cm^2 disk around it.
    cols = np.array([0.0, gap_mm, 2 * gap_mm]) / SPACING[1]
    np.testing.assert_array_equal(cluster_labels(np.zeros(3), cols, spacing=SPACING), expected)


def test_birads_setting_needs_five_within_one_cm():
    rng = np.random.default_rng(23)
    rows, cols = _ball(rng, (500, 500), 4, 30)
    assert (cluster_labels(rows, cols, spacing=SPACING, radius_mm=5, min_specks=5) == -1).all()
    rows, cols = _ball(rng, (500, 500), 5, 30)
    assert (cluster_labels(rows, cols, spacing=SPACING, radius_mm=5, min_specks=5) == 0).all()


def test_isolated_speck_stays_unclustered():
    rng = np.random.default_rng(24)
    rows, cols = _ball(rng, (500, 500), 6, 30)
    labels = cluster_labels(np.r_[rows, 3000.0], np.r_[cols, 3000.0], spacing=SPACING)
    assert labels[-1] == -1
    assert (labels[:-1] == 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["perm0", "perm1", "perm2"])
def test_labels_do_not_depend_on_speck_order(seed):
    rng = np.random.default_rng(25)
    groups = [_ball(rng, center, 6, 50) for center in [(300, 300), (300, 1500), (1500, 800)]]
    rows = np.concatenate([g[0] for g in groups] + [rng.uniform(0, 2000, 10)])
    cols = np.concatenate([g[1] for g in groups] + [rng.uniform(0, 2000, 10)])
    labels = cluster_labels(rows, cols, spacing=SPACING)
    order = np.random.default_rng(seed).permutation(len(rows))
    permuted = cluster_labels(rows[order], cols[order], spacing=SPACING)
    # Same partition: the pairs "same cluster" agree, whatever the numbering.
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    same_permuted = (permuted[:, None] == permuted[None, :]) & (permuted[:, None] >= 0)
    np.testing.assert_array_equal(same[np.ix_(order, order)], same_permuted)


def test_anisotropic_spacing_measures_distance_in_mm():
    # 3 specks 4 mm apart along rows: 40 px at 0.1 mm, 80 px at 0.05 mm along cols.
    labels = cluster_labels([0, 40, 80], [0, 0, 0], spacing=(0.1, 0.05), radius_mm=4.5, min_specks=3)
    np.testing.assert_array_equal(labels, 0)
    labels = cluster_labels([0, 0, 0], [0, 40, 80], spacing=(0.1, 0.05), radius_mm=1.5, min_specks=3)
    np.testing.assert_array_equal(labels, -1)


def test_fewer_specks_than_minimum():
    assert cluster_labels([1.0, 2.0], [1.0, 2.0], spacing=SPACING).tolist() == [-1, -1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_specks": 1}, "min_specks must be an integer >= 2; got 1"), ({"radius_mm": 0}, "radius_mm must be > 0")],
    ids=["min-specks", "radius"],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cluster_labels([0.0], [0.0], spacing=SPACING, **kwargs)


@pytest.mark.parametrize(
    ("angle", "expected"),
    [(0.0, [0, 0, 0]), (np.pi / 2, [-1, -1, -1])],
    ids=["end-to-end", "side-by-side"],
)
def test_rods_are_as_far_apart_as_the_gaps_between_their_axes(angle, expected):
    # Three 8 mm rods, centres 10 mm apart along the columns: with their axes along the
    # columns (orientation pi/2) the gaps are 2 mm; across them (orientation 0) 10 mm.
    cols = np.array([0.0, 10.0, 20.0]) / SPACING[1]
    rows = np.zeros(3)
    assert (cluster_labels(rows, cols, spacing=SPACING) == -1).all()  # centroids 10 mm apart
    labels = cluster_labels(rows, cols, spacing=SPACING, length_mm=np.full(3, 8.0),
                            orientation=np.full(3, np.pi / 2 - angle))
    np.testing.assert_array_equal(labels, expected)


def test_segment_gaps_agree_with_densely_sampled_axes():
    # Oracle: the gap between two segments is the least distance between points along them.
    rng = np.random.default_rng(7)
    k = 40
    rows, cols = rng.uniform(0, 400, k), rng.uniform(0, 400, k)
    length, orientation = rng.uniform(0, 6, k), rng.uniform(-np.pi, np.pi, k)
    t = np.linspace(-0.5, 0.5, 301)  # 0.02 mm apart at most
    axes = [np.column_stack([r * SPACING[0] + t * n * np.cos(a), c * SPACING[1] + t * n * np.sin(a)])
            for r, c, n, a in zip(rows, cols, length, orientation)]
    gap = np.array([[cdist(p, q).min() for q in axes] for p in axes])
    radius = 5.0
    assert np.abs(gap - radius).min() > 0.02  # no pair so near the radius that sampling could decide
    degree = (gap <= radius).sum(axis=1)  # itself included
    labels = cluster_labels(rows, cols, spacing=SPACING, radius_mm=radius, min_specks=4, length_mm=length,
                            orientation=orientation)
    core = degree >= 4
    assert core.any() and not core.all()
    np.testing.assert_array_equal(labels >= 0, core | (gap[:, core] <= radius).any(axis=1))
    # Core specks share a cluster exactly when a chain of core specks links them.
    _, component = connected_components(gap[np.ix_(core, core)] <= radius, directed=False)
    same_label = labels[core][:, None] == labels[core][None, :]
    np.testing.assert_array_equal(same_label, component[:, None] == component[None, :])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"length_mm": [1.0]}, "given together"), ({"length_mm": [1.0, 2.0], "orientation": [0.0, 0.0]}, r"shape \(1,\)"),
     ({"length_mm": [-1.0], "orientation": [0.0]}, ">= 0")],
    ids=["length-alone", "shape", "negative"],
)
def test_bad_segments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cluster_labels([0.0], [0.0], spacing=SPACING, **kwargs)


# ---------------------------------------------------------------------------
# Chance groups


def test_chance_groups_is_the_disjoint_footprint_expectation():
    # 150 other calcifications on 150 cm^2: 1 expected per cm^2; a group of 3 counted in
    # 1 cm^2, of which the breast holds 150.
    at_least_3 = 1 - math.exp(-1.0) * (1 + 1 + 1 / 2)
    assert chance_groups([3], [100.0], [150], breast_area_mm2=15000.0)[0] == pytest.approx(at_least_3 * 150)
    # 4 expected in 400 mm^2, of which the breast holds 37.5.
    at_least_9 = 1 - sum(math.exp(-4.0) * 4.0**k / math.factorial(k) for k in range(9))
    assert chance_groups([9], [400.0], [150], breast_area_mm2=15000.0)[0] == pytest.approx(at_least_9 * 37.5)


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_groups_of_a_uniform_scatter_are_chance_and_a_planted_cluster_is_not(seed):
    # 150 calcifications scattered over a 150 x 100 mm breast: the groups the CAD convention
    # finds in them, counted in their hull grown by the CAD radius, are mostly what such a
    # scatter makes (every group of 3); 10 within 2.5 mm are not.
    rng = np.random.default_rng(seed)
    scatter = rng.uniform((0, 0), (150, 100), (150, 2))
    planted = np.column_stack(_ball(rng, (75.0, 50.0), 10, 2.5))
    points = np.vstack([scatter, planted])
    labels = cluster_labels(points[:, 0] / SPACING[0], points[:, 1] / SPACING[1], spacing=SPACING)
    n_clusters = labels.max() + 1
    members = np.bincount(labels[labels >= 0], minlength=n_clusters)
    footprints = [grown_hull_area(points[labels == c], CAD_RADIUS_MM) for c in range(n_clusters)]
    expected = chance_groups(members, footprints, len(points) - members, breast_area_mm2=15000.0)
    planted_cluster = np.bincount(labels[-10:][labels[-10:] >= 0]).argmax()
    assert expected[planted_cluster] < 0.01
    others = np.delete(expected, planted_cluster)
    threes = np.delete(members, planted_cluster) == 3
    assert threes.any() and np.all(others[threes] >= 1)
    assert np.mean(others >= 1) >= 0.75


@pytest.mark.parametrize("n", [5, 6], ids=["five", "six"])
def test_disjoint_footprints_understate_what_a_sliding_window_finds(n):
    # Oracle: 200 uniform scatters of 150 points on 150 x 100 mm; the share in which some
    # 10 x 10 mm window (1 mm steps, summed-area table) holds n or more exceeds the
    # disjoint-footprint expectation, which is thus no upper bound on chance.
    rng = np.random.default_rng(n)
    found = 0
    for _ in range(200):
        points = rng.uniform((0, 0), (150, 100), (150, 2))
        counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=(150, 100), range=((0, 150), (0, 100)))
        table = np.pad(counts.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        windows = table[10:, 10:] - table[:-10, 10:] - table[10:, :-10] + table[:-10, :-10]
        found += windows.max() >= n
    assert found / 200 > chance_groups([n], [100.0], [150], breast_area_mm2=15000.0)[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([3], [100.0], [20], 0.0), "breast_area_mm2 must be > 0; got 0.0"),
        (([3, 4], [100.0], [20, 5], 1000.0),
         r"footprint_mm2 must be 1-D with one value per group \(2\); got shape \(1,\)"),
        (([3], [100.0], [-1], 1000.0), r"n_others must hold whole numbers >= 0; got \[-1.\]"),
        (([2.5], [100.0], [5], 1000.0), r"n_members must hold whole numbers >= 0; got \[2.5\]"),
        (([3], [np.nan], [5], 1000.0), "footprint_mm2 must hold finite values > 0"),
    ],
    ids=["area", "lengths", "negative", "fraction", "nan"],
)
def test_chance_groups_bad_arguments(args, match):
    n, footprint, others, area = args
    with pytest.raises(ValueError, match=match):
        chance_groups(n, footprint, others, breast_area_mm2=area)


def test_a_group_without_likely_calcifications_is_not_judged():
    assert np.isnan(chance_groups([0], [100.0], [20], breast_area_mm2=1000.0)[0])
