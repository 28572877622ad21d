import math

import numpy as np
import pytest
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from calcdetect.specks.candidates import Specks
from calcdetect.birads import (
    BENIGN_PPV,
    ClusterDescriptions,
    cluster_layouts,
    describe_clusters,
    distribution_scores,
    layout,
    own_findings,
    pleomorphism,
    spanning_tree_length,
    suspicion,
    tram_track_fraction,
)
from calcdetect.birads import distribution as birads_distribution
from calcdetect.birads import morphology as birads_morphology
from calcdetect.cluster.density import cluster_labels
from calcdetect.specks.shape import SpeckFeatures
from calcdetect.lexicon import Distribution, Morphology
from calcdetect.specks.features import _neighbourhood

SPACING = (0.1, 0.1)
NIPPLE_MM = (100.0, 0.0)  # the nipple on the left edge, half-way down
BREAST_MM2 = 150.0 * 100.0


def _specks(points_mm, *, diameter_mm=0.3, elongation=1.1, solidity=1.0, significance=12.0, shape="punctate",
            orientation=0.0, length_mm=None, width_mm=None, lucent=False, object_width_mm=np.nan,
            ridge_length_mm=np.nan):
    """Specks at `points_mm` (row, col) with the given (scalar or per-speck) measurements."""
    points = np.asarray(points_mm, float).reshape(-1, 2)
    k = len(points)

    def full(v, dtype=float):
        return np.broadcast_to(np.asarray(v, dtype), (k,)).copy()

    diameter = full(diameter_mm)
    length = diameter if length_mm is None else full(length_mm)
    width = diameter if width_mm is None else full(width_mm)
    specks = Specks(row=points[:, 0] / SPACING[0], col=points[:, 1] / SPACING[1], area_mm2=math.pi * diameter**2 / 4,
                    diameter_mm=diameter, length_mm=length, width_mm=width, orientation=full(orientation),
                    contrast=full(significance), significance=full(significance), score=full(0.9),
                    bbox=np.zeros((k, 4), np.int64))
    shapes = SpeckFeatures(elongation=full(elongation), solidity=full(solidity), branch_points=np.zeros(k, np.int64),
                           lucent_centre=full(lucent, bool), sharpness=full(4.0), object_width_mm=full(object_width_mm),
                           shape=full(shape, object), ridge_length_mm=full(ridge_length_mm))
    return specks, shapes


def _join(*parts):
    specks = [p[0] for p in parts]
    shapes = [p[1] for p in parts]

    def cat(items):
        first = items[0]
        return type(first)(**{name: np.concatenate([getattr(i, name) for i in items])
                              for name in first.__dataclass_fields__})

    return cat(specks), cat(shapes)


def _describe(specks, shapes, labels, *, depth_mm=50.0, nipple_mm=NIPPLE_MM):
    nipple = None if nipple_mm is None else (nipple_mm[0] / SPACING[0], nipple_mm[1] / SPACING[1])
    return describe_clusters(specks, shapes, np.asarray(labels), spacing=SPACING, nipple=nipple,
                             skin_depth_mm=np.full(len(specks), depth_mm), breast_area_mm2=BREAST_MM2)


def _ball(rng, centre, n=8, radius=2.5):
    phi, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.uniform(0, 1, n))
    return np.column_stack([centre[0] + r * np.sin(phi), centre[1] + r * np.cos(phi)])


def _line(start, direction_deg, n, step):
    t = np.arange(n)[:, None] * step
    d = np.radians(direction_deg)
    return np.asarray(start) + t * np.array([np.sin(d), np.cos(d)])


def _wedge(rng, apex, n=25, length=35.0, half_angle=0.3):
    """Points in a wedge whose apex is at `apex` and which opens away from the nipple (+col)."""
    t = length * np.sqrt(rng.uniform(0.05, 1, n))  # more points where the wedge is wide
    a = rng.uniform(-half_angle, half_angle, n)
    return np.column_stack([apex[0] + t * np.sin(a), apex[1] + t * np.cos(a)])


# ---------------------------------------------------------------------------
# Distribution


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_tight_ball_is_grouped(seed):
    rng = np.random.default_rng(seed)
    specks, shapes = _specks(_ball(rng, (80.0, 60.0)))
    assert _describe(specks, shapes, np.zeros(len(specks), int)).distribution[0] == Distribution.GROUPED


@pytest.mark.parametrize("direction_deg", [0, 35, 90, 140], ids=["towards-nipple", "35deg", "across", "140deg"])
def test_straight_line_of_specks_is_linear(direction_deg):
    points = _line((90.0, 50.0), direction_deg, n=12, step=1.6)
    specks, shapes = _specks(points)
    assert _describe(specks, shapes, np.zeros(len(specks), int)).distribution[0] == Distribution.LINEAR


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_wedge_pointing_to_the_nipple_is_segmental(seed):
    rng = np.random.default_rng(seed)
    specks, shapes = _specks(_wedge(rng, (100.0, 30.0)))
    assert _describe(specks, shapes, np.zeros(len(specks), int)).distribution[0] == Distribution.SEGMENTAL


@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
def test_wide_patch_across_the_nipple_direction_is_regional(seed):
    # 30 specks in an ellipse 25 mm (along the nipple direction) by 45 mm (across it).
    rng = np.random.default_rng(seed)
    phi, r = rng.uniform(0, 2 * np.pi, 30), np.sqrt(rng.uniform(0, 1, 30))
    points = np.column_stack([60.0 + 22.5 * r * np.sin(phi), 70.0 + 12.5 * r * np.cos(phi)])
    specks, shapes = _specks(points)
    assert _describe(specks, shapes, np.zeros(len(specks), int)).distribution[0] == Distribution.REGIONAL


def test_wedge_is_not_segmental_without_a_nipple():
    specks, shapes = _specks(_wedge(np.random.default_rng(0), (100.0, 30.0)))
    labels = np.zeros(len(specks), int)
    assert _describe(specks, shapes, labels, nipple_mm=None).distribution[0] != Distribution.SEGMENTAL


def test_chance_group_in_a_scatter_of_bright_specks_is_diffuse_and_a_real_group_is_not():
    # 40 bright specks scattered over the breast, 15 mm apart on a jittered grid, plus a
    # chance group of 3 among them; a breast without the scatter keeps the group grouped.
    rng = np.random.default_rng(4)
    grid = np.array([(r, c) for r in np.arange(10, 150, 15.0) for c in np.arange(20, 95, 15.0)])[:40]
    scatter = grid + rng.uniform(-2, 2, grid.shape)
    group = np.array([[5.0, 5.0], [6.5, 5.5], [5.5, 7.0]])
    specks, shapes = _specks(np.vstack([group, scatter]))
    labels = np.r_[np.zeros(3, int), np.full(len(scatter), -1)]
    assert _describe(specks, shapes, labels).distribution[0] == Distribution.DIFFUSE
    alone, alone_shapes = _specks(group)
    assert _describe(alone, alone_shapes, np.zeros(3, int)).distribution[0] != Distribution.DIFFUSE


def test_a_chance_group_is_judged_with_its_scatter_unless_its_own_calcifications_are_benign():
    # The diffuse chance group above among a scatter of round specks: punctate itself, round
    # as a scatter; pieces of popcorn stay popcorn (a vessel or skin would stay too).
    rng = np.random.default_rng(4)
    grid = np.array([(r, c) for r in np.arange(10, 150, 15.0) for c in np.arange(20, 95, 15.0)])[:40]
    scatter = grid + rng.uniform(-2, 2, grid.shape)
    group = np.array([[5.0, 5.0], [6.5, 5.5], [5.5, 7.0]])
    labels = np.r_[np.zeros(3, int), np.full(len(scatter), -1)]
    punctate = dict(diameter_mm=np.r_[np.full(3, 0.3), np.full(40, 0.7)], elongation=1.05)
    specks, shapes = _specks(np.vstack([group, scatter]), **punctate)
    described = _describe(specks, shapes, labels)
    assert described.distribution[0] == Distribution.DIFFUSE and described.morphology[0] == Morphology.ROUND
    popcorn = dict(shape=np.r_[np.full(3, "coarse"), np.full(40, "round")],
                   object_width_mm=np.r_[np.full(3, 2.5), np.full(40, np.nan)])
    specks, shapes = _specks(np.vstack([group, scatter]), **punctate, **popcorn)
    assert _describe(specks, shapes, labels).morphology[0] == Morphology.COARSE


# ---------------------------------------------------------------------------
# Distribution model: weights matched to features by name


def _scenes():
    """Hand-made images of clusters (points mm, labels, nipple mm) covering the five distributions."""
    rng = np.random.default_rng(21)
    parts = [_ball(rng, (80.0, 60.0)), _line((30.0, 20.0), 35, 12, 1.6), _wedge(rng, (130.0, 30.0)),
             _ball(rng, (20.0, 80.0), n=6), _ball(rng, (20.0, 90.0), n=6)]  # the last two: one finding
    several = (np.vstack(parts), np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)]))
    phi, r = rng.uniform(0, 2 * np.pi, 30), np.sqrt(rng.uniform(0, 1, 30))
    patch = np.column_stack([60.0 + 22.5 * r * np.sin(phi), 70.0 + 12.5 * r * np.cos(phi)])
    grid = np.array([(r, c) for r in np.arange(10, 150, 15.0) for c in np.arange(20, 95, 15.0)])[:40]
    scatter = grid + rng.uniform(-2, 2, grid.shape)
    group = np.array([[5.0, 5.0], [6.5, 5.5], [5.5, 7.0]])
    return {
        "several": (*several, NIPPLE_MM),
        "several-no-nipple": (*several, None),
        "regional": (patch, np.zeros(30, int), NIPPLE_MM),
        "diffuse": (np.vstack([group, scatter]), np.r_[np.zeros(3, int), np.full(40, -1)], NIPPLE_MM),
    }


def _scores(scene):
    """Described distribution and class scores (distribution_scores) of each cluster of a scene."""
    points, labels, nipple_mm = _scenes()[scene]
    specks, shapes = _specks(points)
    nipple = None if nipple_mm is None else (nipple_mm[0] / SPACING[0], nipple_mm[1] / SPACING[1])
    layouts = cluster_layouts(specks, labels, spacing=SPACING, nipple=nipple, breast_area_mm2=BREAST_MM2)
    scores = [distribution_scores(context.features(), nipple_known=nipple is not None) for context in layouts]
    return list(_describe(specks, shapes, labels, nipple_mm=nipple_mm).distribution), scores


#: What the positional weights (commit 6b87bf7, before they were keyed by name) gave on
#: :func:`_scenes`: each cluster's distribution and the score of the winning class.
#: Regenerate with ``[(d, max(s.values())) for d, s in zip(*_scores(scene))]``.
SCENE_DISTRIBUTIONS = {
    "several": (["grouped", "linear", "segmental", "grouped", "grouped"],
                [7.867210361581372, 6.5683498526265165, 3.182464013605842, 4.77024608876445, 4.564580865758009]),
    "several-no-nipple": (["grouped", "linear", "regional", "grouped", "grouped"],
                          [7.914371051939286, 7.156195556586732, 1.4841506865735878, 4.944716874801896,
                           4.739051651795454]),
    "regional": (["regional"], [3.860514260662299]),
    "diffuse": (["diffuse"], [6.517668390955783]),
}


@pytest.mark.parametrize("scene", list(SCENE_DISTRIBUTIONS), ids=list(SCENE_DISTRIBUTIONS))
def test_described_distributions_of_hand_made_clusters_are_unchanged(scene):
    distributions, scores = _scores(scene)
    expected_distributions, expected_scores = SCENE_DISTRIBUTIONS[scene]
    assert distributions == expected_distributions
    assert [max(s, key=s.get) for s in scores] == expected_distributions
    assert [max(s.values()) for s in scores] == pytest.approx(expected_scores, rel=1e-12)


def _shuffled(names, seed):
    return tuple(np.random.default_rng(seed).permutation(list(names)).tolist())


@pytest.mark.parametrize("seed", [0, 1], ids=["shuffle0", "shuffle1"])
@pytest.mark.parametrize("scene", list(SCENE_DISTRIBUTIONS), ids=list(SCENE_DISTRIBUTIONS))
def test_the_order_of_the_distribution_features_and_weights_does_not_matter(scene, seed, monkeypatch):
    distributions, scores = _scores(scene)
    features = _shuffled(birads_distribution.DISTRIBUTION_FEATURES, seed)
    assert features != birads_distribution.DISTRIBUTION_FEATURES
    weights = {d: {name: w[name] for name in _shuffled(w, seed + 10)}
               for d, w in birads_distribution.DISTRIBUTION_WEIGHTS.items()}
    monkeypatch.setattr(birads_distribution, "DISTRIBUTION_FEATURES", features)
    monkeypatch.setattr(birads_distribution, "DISTRIBUTION_WEIGHTS", weights)
    shuffled_distributions, shuffled_scores = _scores(scene)
    assert shuffled_distributions == distributions
    assert shuffled_scores == [pytest.approx(s, rel=1e-12) for s in scores]


def _grouped_weights_with(change):
    weights = dict(birads_distribution.DISTRIBUTION_WEIGHTS)
    weights[Distribution.GROUPED] = change(dict(weights[Distribution.GROUPED]))
    return weights


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("DISTRIBUTION_WEIGHTS", _grouped_weights_with(lambda w: {**w, "log_extent": 1.0}),
         r"DISTRIBUTION_WEIGHTS\[GROUPED\] has a weight for 'log_extent', which is no feature"),
        ("DISTRIBUTION_WEIGHTS", _grouped_weights_with(lambda w: {k: v for k, v in w.items() if k != "cone^2"}),
         r"DISTRIBUTION_WEIGHTS\[GROUPED\] has no weight for 'cone\^2'"),
        ("DISTRIBUTION_FEATURES", (*birads_distribution.DISTRIBUTION_FEATURES, "log_extent"),
         r"DISTRIBUTION_FEATURES names 'log_extent', which distribution_features does not measure"),
        ("ROUND_WEIGHTS", {**birads_morphology.ROUND_WEIGHTS, "mean_diameter_mm": 1.0},
         r"ROUND_WEIGHTS has a weight for 'mean_diameter_mm', which is no feature"),
        ("PLEOMORPHIC_WEIGHTS", {k: v for k, v in birads_morphology.PLEOMORPHIC_WEIGHTS.items() if k != "pleomorphism"},
         r"PLEOMORPHIC_WEIGHTS has no weight for 'pleomorphism'"),
    ],
    ids=["unknown-feature", "missing-weight", "unmeasured-feature", "round-unknown", "pleomorphic-missing"],
)
def test_weights_and_features_that_disagree_raise(name, value, match, monkeypatch):
    monkeypatch.setattr(birads_distribution if name.startswith("DISTRIBUTION_") else birads_morphology, name, value)
    rng = np.random.default_rng(6)
    # Round-sized and pleomorphic-looking members, so that both shape models are consulted.
    diameter_mm = 0.7 if name == "ROUND_WEIGHTS" else rng.uniform(0.12, 0.45, 10)
    specks, shapes = _specks(_ball(rng, (80.0, 60.0), n=10), diameter_mm=diameter_mm,
                             elongation=rng.choice([1.1, 1.8, 2.5], 10), solidity=rng.choice([1.0, 0.8], 10))
    with pytest.raises(ValueError, match=match):
        _describe(specks, shapes, np.zeros(10, int))



# ---------------------------------------------------------------------------
# Morphology


def test_equal_round_specks_are_not_pleomorphic_and_mixed_shapes_are():
    rng = np.random.default_rng(5)
    n = 10
    equal = pleomorphism(np.full(n, 0.3), np.full(n, 1.1), np.full(n, 1.0))
    mixed = pleomorphism(rng.uniform(0.12, 0.45, n), rng.choice([1.1, 1.8, 2.5], n), rng.choice([1.0, 0.8], n))
    assert equal == pytest.approx(0.0)
    assert mixed > 0.6

    points = _ball(rng, (80.0, 60.0), n=n)
    specks, shapes = _specks(points, diameter_mm=0.3, elongation=1.1)
    assert _describe(specks, shapes, np.zeros(n, int)).morphology[0] == Morphology.PUNCTATE
    specks, shapes = _specks(points, diameter_mm=rng.uniform(0.12, 0.45, n), elongation=rng.choice([1.1, 1.8, 2.5], n),
                             solidity=rng.choice([1.0, 0.8], n))
    assert _describe(specks, shapes, np.zeros(n, int)).morphology[0] == Morphology.FINE_PLEOMORPHIC
    # Equal round specks stay punctate however fine they are.
    specks, shapes = _specks(points, diameter_mm=0.15, elongation=1.1)
    assert _describe(specks, shapes, np.zeros(n, int)).morphology[0] == Morphology.PUNCTATE


@pytest.mark.parametrize(
    ("measurements", "expected"),
    [
        (dict(diameter_mm=0.3, significance=12.0), Morphology.PUNCTATE),
        (dict(diameter_mm=0.25, significance=5.5), Morphology.AMORPHOUS),
        (dict(diameter_mm=0.7, elongation=1.05), Morphology.ROUND),
        (dict(diameter_mm=0.7, elongation=1.6, solidity=0.8), Morphology.COARSE_HETEROGENEOUS),
        (dict(diameter_mm=0.6, shape="coarse", object_width_mm=2.5), Morphology.COARSE),
        (dict(diameter_mm=0.7, shape="rim", lucent=True), Morphology.RIM),
        (dict(diameter_mm=0.4, elongation=5.0, shape="linear", width_mm=0.2, length_mm=1.5),
         Morphology.FINE_LINEAR_BRANCHING),
        (dict(diameter_mm=1.0, elongation=6.0, shape="linear", width_mm=0.7, length_mm=4.0), Morphology.LARGE_RODLIKE),
    ],
    ids=["punctate", "faint-amorphous", "round", "coarse-heterogeneous", "popcorn", "rim", "fine-linear", "rod-like"],
)
def test_morphology_of_a_group_of_equal_specks(measurements, expected):
    rng = np.random.default_rng(6)
    points = _ball(rng, (80.0, 60.0), n=8, radius=4.0)
    specks, shapes = _specks(points, orientation=rng.uniform(-np.pi / 2, np.pi / 2, 8), **measurements)
    assert _describe(specks, shapes, np.zeros(8, int)).morphology[0] == expected


def test_pieces_of_a_wide_object_are_popcorn_and_wide_casts_along_a_duct_are_rods():
    rng = np.random.default_rng(9)
    kw = dict(diameter_mm=0.9, elongation=3.5, width_mm=0.7, length_mm=2.0,
              orientation=rng.uniform(-np.pi / 2, np.pi / 2, 4))
    # Edges and lumps of one 3 mm calcification: linear pieces, but of a wide object (class coarse).
    fragments, fragment_shapes = _specks(_ball(rng, (80.0, 60.0), n=4, radius=1.5), shape="coarse",
                                         object_width_mm=2.6, **kw)
    assert _describe(fragments, fragment_shapes, np.zeros(4, int)).morphology[0] == Morphology.COARSE
    rods, rod_shapes = _specks(_line((80.0, 40.0), 10, n=4, step=5.0), shape="linear", **kw)
    assert _describe(rods, rod_shapes, np.zeros(4, int)).morphology[0] == Morphology.LARGE_RODLIKE


def _on_ridges(n: int, n_on: int, on_mm: float, off_mm: float = 1.0) -> np.ndarray:
    return np.where(np.arange(n) < n_on, on_mm, off_mm)


@pytest.mark.parametrize("n_on, on_mm, vascular", [
    (4, birads_morphology.ON_LINE_MM, True),  # 40 % on 3 mm ridges: pieces of lines
    (10, birads_morphology.ON_LINE_MM, True),
    (3, 10.0, False),  # 30 %: a group of compact calcifications, a few by a strand
    (10, birads_morphology.ON_LINE_MM - 0.2, False),  # their own size and blur
], ids=["40pc-3mm", "all-3mm", "30pc-10mm", "all-2.8mm"])
def test_compact_specks_mostly_on_lines_are_vascular(n_on, on_mm, vascular):
    rng = np.random.default_rng(21)
    specks, shapes = _specks(_ball(rng, (80.0, 60.0), n=10, radius=2.5), significance=6.0,
                             ridge_length_mm=_on_ridges(10, n_on, on_mm))
    morphology = _describe(specks, shapes, np.zeros(10, int)).morphology[0]
    assert (morphology == Morphology.VASCULAR) == vascular
    if not vascular:
        assert morphology == Morphology.AMORPHOUS  # faint (significance 6) compact specks


@pytest.mark.parametrize("n_on, on_mm, vascular", [
    (4, birads_morphology.ON_LONG_LINE_MM, True),  # 40 % on lines running 5 mm: a vessel's wall
    (10, birads_morphology.ON_LONG_LINE_MM - 0.5, False),  # casts a few mm long are fine linear
    (3, 10.0, False),
], ids=["40pc-5mm", "all-4.5mm", "30pc-10mm"])
def test_linear_pieces_mostly_on_long_lines_are_vascular(n_on, on_mm, vascular):
    # One line of fine linear pieces (no parallel partner: no tram tracks).
    points = _line((40.0, 60.0), 30, n=10, step=1.5)
    specks, shapes = _specks(points, diameter_mm=0.4, elongation=5.0, shape="linear", width_mm=0.2, length_mm=1.2,
                             orientation=np.radians(30), ridge_length_mm=_on_ridges(10, n_on, on_mm))
    morphology = _describe(specks, shapes, np.zeros(10, int)).morphology[0]
    assert morphology == (Morphology.VASCULAR if vascular else Morphology.FINE_LINEAR_BRANCHING)


def test_unmeasured_ridges_call_nothing_vascular():
    rng = np.random.default_rng(22)
    specks, shapes = _specks(_ball(rng, (80.0, 60.0), n=10, radius=2.5), significance=6.0)  # ridge NaN
    assert _describe(specks, shapes, np.zeros(10, int)).morphology[0] == Morphology.AMORPHOUS


def test_parallel_tracks_are_vascular_and_a_single_cast_line_is_not():
    # Two rails 1.5 mm apart of 3 mm segments along the rows; one rail alone is a fine linear cast.
    rail = np.column_stack([np.arange(8) * 4.0 + 40.0, np.full(8, 60.0)])
    tracks = np.vstack([rail, rail + [1.0, 1.5]])
    kw = dict(diameter_mm=0.5, elongation=8.0, shape="linear", width_mm=0.25, length_mm=3.0, orientation=0.0)
    specks, shapes = _specks(tracks, **kw)
    assert tram_track_fraction(tracks, specks.orientation, specks.length_mm) == 1.0
    assert _describe(specks, shapes, np.zeros(len(tracks), int)).morphology[0] == Morphology.VASCULAR
    # The two walls make one object 1.5 mm wide over a few mm: elongated wall pieces of it
    # are coarse, and still linear; short pieces are not.
    shape = np.full(len(tracks), "coarse", dtype=object)
    shape[[1, 7, 8, 15]], shape[[3, 5, 10, 12, 14]] = "punctate", "linear"
    elongation = np.where(shape == "punctate", 1.1, 8.0)
    specks, shapes = _specks(tracks, **{**kw, "shape": shape, "elongation": elongation})
    assert _describe(specks, shapes, np.zeros(len(tracks), int)).morphology[0] == Morphology.VASCULAR
    single, single_shapes = _specks(rail, **kw)
    assert _describe(single, single_shapes, np.zeros(len(rail), int)).morphology[0] == Morphology.FINE_LINEAR_BRANCHING
    # Under 8 mm, tram tracks are a vessel only when nearly every piece has its partner:
    # three pairs over 5 mm are a short piece of a vessel's two walls ...
    short_points = np.vstack([tracks[:3], tracks[8:11]]) * [0.5, 1.0]
    short, short_shapes = _specks(short_points, **kw)
    assert _describe(short, short_shapes, np.zeros(6, int)).morphology[0] == Morphology.VASCULAR
    # ... not when the second rail turns 25 degrees away (casts branching in a group: half
    # the pieces paired), nor one pair alone (fewer than SHORT_TRACK_PIECES).
    turned, turned_shapes = _specks(short_points, **{**kw, "orientation": np.r_[0, 0, 0, 0.44, 0.44, 0.44]})
    assert tram_track_fraction(short_points, turned.orientation, turned.length_mm) == pytest.approx(0.5)
    assert _describe(turned, turned_shapes, np.zeros(6, int)).morphology[0] == Morphology.FINE_LINEAR_BRANCHING
    pair, pair_shapes = _specks(short_points[[0, 3]], **kw)
    assert _describe(pair, pair_shapes, np.zeros(2, int)).morphology[0] == Morphology.FINE_LINEAR_BRANCHING


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_a_vessel_passing_a_group_is_not_part_of_its_finding(seed):
    # A tight group of dots 6 mm from a calcified vessel (parallel tracks): within
    # FINDING_LINK_MM, yet the vessel is no part of the group; a second group of dots
    # in the vessel's place is.
    rng = np.random.default_rng(seed)
    group = _specks(_ball(rng, (60.0, 50.0), n=10, radius=2.0))
    rail = np.column_stack([np.arange(8) * 4.0 + 40.0, np.full(8, 58.0)])
    tracks = np.vstack([rail, rail + [1.0, 1.5]])
    labels = np.r_[np.zeros(10, int), np.ones(16, int)]
    vessel = _specks(tracks, diameter_mm=0.5, elongation=8.0, shape="linear", width_mm=0.25, length_mm=3.0)
    described = _describe(*_join(group, vessel), labels)
    assert list(described.morphology) == [Morphology.PUNCTATE, Morphology.VASCULAR]
    assert described.finding_id[0] != described.finding_id[1]
    assert described.distribution[0] == Distribution.GROUPED
    assert described.finding_extent_mm[0] <= 4.0
    dots = _specks(tracks)
    described = _describe(*_join(group, dots), labels)
    assert described.morphology[1] != Morphology.VASCULAR
    assert described.finding_id[0] == described.finding_id[1]
    assert described.finding_extent_mm[0] > 20.0


def test_a_vessel_between_two_groups_does_not_join_them():
    # Groups on either side of a vessel, each within FINDING_LINK_MM of it but 16 mm
    # apart: three findings; with dots in the vessel's place, one.
    rng = np.random.default_rng(7)
    left, right = _specks(_ball(rng, (60.0, 50.0), n=8, radius=1.5)), _specks(_ball(rng, (60.0, 66.0), n=8, radius=1.5))
    rail = np.column_stack([np.arange(8) * 4.0 + 44.0, np.full(8, 57.5)])
    tracks = np.vstack([rail, rail + [1.0, 1.5]])
    labels = np.r_[np.zeros(8, int), np.ones(8, int), np.full(16, 2)]
    vessel = _specks(tracks, diameter_mm=0.5, elongation=8.0, shape="linear", width_mm=0.25, length_mm=3.0)
    described = _describe(*_join(left, right, vessel), labels)
    assert described.morphology[2] == Morphology.VASCULAR
    assert len(set(described.finding_id)) == 3
    described = _describe(*_join(left, right, _specks(tracks)), labels)
    assert len(set(described.finding_id)) == 1


def _chance_group_in_a_scatter_of_vessel_pieces():
    """A 3-speck chance group and a 2-speck cluster 7 mm away among a scatter of
    straight-course vessel pieces: the group is judged vascular with its scatter."""
    rng = np.random.default_rng(4)
    grid = np.array([(r, c) for r in np.arange(10, 150, 15.0) for c in np.arange(20, 95, 15.0)])[:40]
    points = np.vstack([[[5.0, 5.0], [6.5, 5.5], [5.5, 7.0], [5.0, 14.0], [6.0, 15.0]],
                        grid + rng.uniform(-2, 2, grid.shape)])
    labels = np.r_[np.zeros(3, int), np.ones(2, int), np.full(40, -1)]
    pieces = np.r_[np.zeros(5), np.ones(40)]
    return points, labels, dict(vascular=pieces, linearity=pieces)


def _vessel_beside_a_group():
    rng = np.random.default_rng(0)
    rail = np.column_stack([np.arange(8) * 4.0 + 40.0, np.full(8, 58.0)])
    points = np.vstack([_ball(rng, (60.0, 50.0), n=10, radius=2.0), rail, rail + [1.0, 1.5]])
    return points, np.r_[np.zeros(10, int), np.ones(16, int)], {}


@pytest.mark.parametrize("scene", [_vessel_beside_a_group, _chance_group_in_a_scatter_of_vessel_pieces],
                         ids=["vessel-beside-a-group", "chance-group-judged-vascular"])
def test_own_findings_reproduce_the_described_findings(scene):
    # What fit_description fits on (cluster_layouts with own_findings of the result) is
    # what describe_clusters judged.
    points, labels, kwargs = scene()
    n_round = np.count_nonzero(labels == 0)
    elongated = np.r_[np.zeros(n_round, bool), np.ones(len(points) - n_round, bool)]
    specks, shapes = _specks(points, diameter_mm=0.5, elongation=np.where(elongated, 8.0, 1.1),
                             shape=np.where(elongated, "linear", "punctate"), width_mm=0.25, length_mm=3.0)
    nipple = (NIPPLE_MM[0] / SPACING[0], NIPPLE_MM[1] / SPACING[1])
    where = dict(spacing=SPACING, nipple=nipple, breast_area_mm2=BREAST_MM2)
    described = describe_clusters(specks, shapes, labels, skin_depth_mm=np.full(len(points), 50.0), **where, **kwargs)
    assert Morphology.VASCULAR in set(described.morphology)
    layouts = cluster_layouts(specks, labels, alone=own_findings(described), **where)
    assert [context.finding_id for context in layouts] == list(described.finding_id)
    assert np.allclose([context.finding.extent_mm for context in layouts], described.finding_extent_mm)


@pytest.mark.parametrize("alone, match", [(np.ones(3, bool), r"one bool per cluster \(2\)"),
                                          (np.ones(2), "dtype float64")], ids=["length", "dtype"])
def test_alone_flags_are_checked(alone, match):
    specks, _ = _specks(_line((40.0, 60.0), 0, 6, 2.0))
    with pytest.raises(ValueError, match=match):
        cluster_layouts(specks, np.r_[np.zeros(3, int), np.ones(3, int)], spacing=SPACING, alone=alone)


def test_a_winding_vessel_is_linear_by_its_morphology():
    # Two rails 1.5 mm apart along a vessel winding 6 mm to either side: its layout
    # alone is not a line, but vascular calcifications follow the vessel.
    t = np.arange(10) * 3.5
    course = np.column_stack([40.0 + t, 60.0 + 6.0 * np.sin(t / 6.0)])
    turn = np.arctan2(np.gradient(course[:, 1]), np.gradient(course[:, 0]))
    tracks = np.vstack([course, course + 1.5 * np.column_stack([-np.sin(turn), np.cos(turn)])])
    kw = dict(diameter_mm=0.5, elongation=8.0, shape="linear", width_mm=0.25, length_mm=3.0)
    specks, shapes = _specks(tracks, orientation=np.r_[turn, turn], **kw)
    labels = np.zeros(len(tracks), int)
    described = _describe(specks, shapes, labels)
    assert (described.morphology[0], described.distribution[0]) == (Morphology.VASCULAR, Distribution.LINEAR)
    dots, dot_shapes = _specks(tracks)
    assert _describe(dots, dot_shapes, labels).distribution[0] != Distribution.LINEAR


def test_diverging_branches_are_no_tram_tracks():
    # Two casts leaving one point 25 degrees apart.
    a, b = _line((50.0, 50.0), 0, 5, 2.0), _line((50.0, 50.0), 25, 5, 2.0)
    points = np.vstack([a[1:], b[1:]])
    orientation = np.r_[np.full(4, np.pi / 2), np.full(4, np.pi / 2 - np.radians(25))]  # along cols, then turned
    assert tram_track_fraction(points, orientation, np.full(8, 1.5)) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_learned_vessel_pieces_make_a_vascular_cluster_only_on_a_straight_course(seed):
    # Likely wall pieces (vascular probability 0.9) of single-rail fine casts: along one
    # straight course they are a vessel; fanned out as a segment of ducts they are not,
    # whatever the model says of each piece.
    rng = np.random.default_rng(seed)
    kw = dict(diameter_mm=0.4, elongation=6.0, shape="linear", width_mm=0.2, length_mm=2.0)
    course = _line((40.0, 60.0), 90, 16, 1.5) + rng.normal(0, 0.1, (16, 2))
    fan = _wedge(rng, (100.0, 20.0), n=40, length=20.0, half_angle=0.6)
    for points, orientation, expected in ((course, 0.0, True), (fan, rng.uniform(0, np.pi, 40), False)):
        specks, shapes = _specks(points, orientation=orientation, **kw)
        labels = np.zeros(len(points), int)
        linearity = _linearity_around(points)
        described = describe_clusters(specks, shapes, labels, spacing=SPACING, nipple=(100.0 / SPACING[0], 0.0),
                                      skin_depth_mm=np.full(len(points), 50.0), breast_area_mm2=BREAST_MM2,
                                      vascular=np.full(len(points), 0.9), linearity=linearity)
        assert (described.morphology[0] == Morphology.VASCULAR) is expected
        # Without the course, the model's word alone decides.
        described = describe_clusters(specks, shapes, labels, spacing=SPACING, breast_area_mm2=BREAST_MM2,
                                      vascular=np.full(len(points), 0.9))
        assert described.morphology[0] == Morphology.VASCULAR


def _crossing_vessels(rng, half_length_mm):
    """Wall pieces 1.5 mm apart along two courses crossing at 60 degrees, each 2 x `half_length_mm` long."""
    n = int(half_length_mm / 1.5)
    first = _line((60.0, 60.0 - n * 1.5), 0, 2 * n + 1, 1.5)
    second = _line((60.0, 60.0), 60, n + 1, 1.5)
    second = np.vstack([second, 2 * second[0] - second[1:]])  # through the crossing point
    return np.vstack([first, second]) + rng.normal(0, 0.15, (len(first) + len(second), 2))


def _described_with_likely_pieces(pieces, tissue):
    """Morphology of one cluster of likely wall pieces (vascular probability 0.9) and tissue
    specks (0.1), where the candidates round every speck spoil a straight course (linearity 0.5)."""
    points = np.vstack([pieces, tissue])
    specks, shapes = _specks(points, diameter_mm=0.4)
    vascular = np.r_[np.full(len(pieces), 0.9), np.full(len(tissue), 0.1)]
    described = describe_clusters(specks, shapes, np.zeros(len(points), int), spacing=SPACING,
                                  breast_area_mm2=BREAST_MM2, vascular=vascular, linearity=np.full(len(points), 0.5))
    return described.morphology[0]


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
@pytest.mark.parametrize("half_length_mm, expected", [(24.0, True), (12.0, False)], ids=["long", "short"])
def test_likely_vessel_pieces_along_crossing_courses_make_a_vascular_cluster(seed, half_length_mm, expected):
    # Two crossing vessels among tissue specks: a vessel when the pieces reach over
    # VASCULAR_SPREAD_MM (40 mm), not within 24 mm; pieces the model takes for no vessel are none.
    rng = np.random.default_rng(seed)
    pieces = _crossing_vessels(rng, half_length_mm)
    n_tissue = len(pieces) // 3
    tissue = pieces[rng.choice(len(pieces), n_tissue, replace=False)] + rng.normal(0, 2.0, (n_tissue, 2))
    assert (_described_with_likely_pieces(pieces, tissue) == Morphology.VASCULAR) is expected
    assert _described_with_likely_pieces(pieces[:0], np.vstack([pieces, tissue])) != Morphology.VASCULAR


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_likely_vessel_pieces_need_half_the_members_on_a_course(seed):
    # The same long crossing, with as many tissue specks as pieces less one, then plus one.
    rng = np.random.default_rng(seed)
    pieces = _crossing_vessels(rng, 24.0)
    tissue = pieces[rng.choice(len(pieces), len(pieces) + 1)] + rng.normal(0, 2.0, (len(pieces) + 1, 2))
    assert _described_with_likely_pieces(pieces, tissue[:-2]) == Morphology.VASCULAR
    assert _described_with_likely_pieces(pieces, tissue) != Morphology.VASCULAR


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_likely_vessel_pieces_scattered_over_centimetres_are_no_vessel(seed):
    # 80 likely pieces spread at random over 45 x 45 mm: they reach far, but do not line up
    # (about 4 others lie within 5.64 mm of each; three or four points line up by chance,
    # hence VASCULAR_COURSE_NEIGHBOURS).
    rng = np.random.default_rng(seed)
    scatter = rng.uniform(40.0, 85.0, (80, 2))
    assert _described_with_likely_pieces(scatter, scatter[:0]) != Morphology.VASCULAR


def test_pieces_of_unknown_course_do_not_count_as_vessel_walls():
    # Linearity is NaN where fewer than 3 candidates lie around: not a straight course.
    specks, shapes = _specks(_line((40.0, 60.0), 90, 12, 1.5), elongation=6.0, shape="linear", length_mm=1.0)
    described = describe_clusters(specks, shapes, np.zeros(12, int), spacing=SPACING, breast_area_mm2=BREAST_MM2,
                                  vascular=np.full(12, 0.9), linearity=np.full(12, np.nan))
    assert described.morphology[0] != Morphology.VASCULAR


@pytest.mark.parametrize("labels", [np.zeros(5, int), np.full(5, -1)], ids=["one-cluster", "no-cluster"])
@pytest.mark.parametrize(
    "kwargs, match",
    [({"linearity": np.ones(5)}, "linearity needs vascular"),
     ({"vascular": np.ones(4)}, r"vascular must hold one probability per speck \(5\)"),
     ({"vascular": np.ones(5), "linearity": np.ones(6)}, r"linearity must hold one value per speck \(5\)")],
    ids=["linearity-alone", "vascular-shape", "linearity-shape"])
def test_vessel_wall_arguments_are_checked(kwargs, match, labels):
    specks, shapes = _specks(_line((40.0, 60.0), 0, 5, 2.0))
    with pytest.raises(ValueError, match=match):
        describe_clusters(specks, shapes, labels, spacing=SPACING, **kwargs)


def _linearity_around(points_mm):
    """``linearity_around`` of each point, as :mod:`calcdetect.specks.features` measures it."""
    specks, _ = _specks(points_mm)
    return _neighbourhood(specks, spacing=SPACING)["linearity_around"]


def test_group_under_the_skin_is_skin():
    specks, shapes = _specks(_ball(np.random.default_rng(7), (80.0, 60.0), n=5, radius=1.5), diameter_mm=0.5)
    assert _describe(specks, shapes, np.zeros(5, int), depth_mm=1.5).morphology[0] == Morphology.SKIN
    assert _describe(specks, shapes, np.zeros(5, int), depth_mm=20.0).morphology[0] != Morphology.SKIN


def test_no_clusters_gives_empty_descriptions():
    specks, shapes = _specks(np.array([[10.0, 10.0], [50.0, 50.0]]))
    d = _describe(specks, shapes, np.array([-1, -1]))
    assert isinstance(d, ClusterDescriptions) and len(d) == 0


# ---------------------------------------------------------------------------
# Layout and suspicion


def test_layout_of_a_line_and_a_ball():
    line = layout(_line((0.0, 0.0), 30, n=11, step=2.0))
    assert line.extent_mm == pytest.approx(20.0)
    assert line.curve_fit == 1.0
    assert line.anisotropy > 5
    far_along = 100.0 * np.array([np.sin(np.radians(30)), np.cos(np.radians(30))])
    assert line.alignment(far_along) == pytest.approx(1.0)
    ball = layout(_ball(np.random.default_rng(8), (0.0, 0.0), n=40, radius=5.0))
    assert ball.anisotropy < 1.6


def _tree():
    """A 14 mm duct forking into two 12 mm branches 30 degrees to either side, a speck every 2 mm."""
    stem = _line((0.0, 0.0), 0, 8, 2.0)
    return np.vstack([stem] + [_line(stem[-1], angle, 7, 2.0)[1:] for angle in (30, -30)])


@pytest.mark.parametrize(
    ("points", "path_ratio", "linearity"),
    [
        (_line((0.0, 0.0), 20, 12, 2.0), (1.0, 1.0), (0.99, 1.0)),
        (_tree(), (1.5, 2.5), (0.85, 1.0)),
        (_ball(np.random.default_rng(3), (0.0, 0.0), n=40, radius=10.0), (3.0, 6.0), (0.4, 0.85)),
    ],
    ids=["line", "branching-duct", "filled-disc"],
)
def test_spanning_tree_and_linearity_tell_lines_trees_and_areas(points, path_ratio, linearity):
    measured = layout(points)
    assert path_ratio[0] - 1e-9 <= measured.path_ratio <= path_ratio[1]
    assert linearity[0] <= measured.linearity <= linearity[1] + 1e-9


@pytest.mark.parametrize(
    "points",
    [
        np.random.default_rng(11).uniform(0, 30, (60, 2)),
        _line((5.0, 5.0), 40, 9, 1.5),
        np.vstack([np.random.default_rng(12).uniform(0, 10, (20, 2))] * 2),
    ],
    ids=["random", "collinear", "duplicated"],
)
def test_spanning_tree_length_and_extent_match_the_dense_computation(points):
    # Oracle: scipy's spanning tree over every pair of distinct points (a dense graph
    # reads a zero distance as no edge; a repeated point adds nothing), and the
    # largest pairwise distance.
    distinct = squareform(pdist(np.unique(points, axis=0)))
    assert spanning_tree_length(points) == pytest.approx(minimum_spanning_tree(distinct).sum())
    assert layout(points).extent_mm == pytest.approx(distinct.max())


def test_suspicion_follows_the_published_ppvs():
    flb_segmental = suspicion(Morphology.FINE_LINEAR_BRANCHING, Distribution.SEGMENTAL, extent_mm=30)
    pleo_grouped = suspicion(Morphology.FINE_PLEOMORPHIC, Distribution.GROUPED, extent_mm=8)
    amorphous_diffuse = suspicion(Morphology.AMORPHOUS, Distribution.DIFFUSE, extent_mm=8)
    punctate = suspicion(Morphology.PUNCTATE, Distribution.SEGMENTAL, extent_mm=30)
    vascular = suspicion(Morphology.VASCULAR, Distribution.LINEAR, extent_mm=30)
    assert 0 < vascular < punctate < amorphous_diffuse < pleo_grouped < flb_segmental < 1
    assert vascular == pytest.approx(BENIGN_PPV)  # benign stays benign whatever its arrangement
    # A grouped cluster with the base-rate PPV under 10 mm keeps its morphology's PPV.
    assert pleo_grouped == pytest.approx(0.29, abs=0.03)
    # Extent and several clusters raise suspicion, as published.
    small, large = (suspicion(Morphology.FINE_PLEOMORPHIC, Distribution.GROUPED, extent_mm=e) for e in (5, 25))
    assert large > small
    assert suspicion(Morphology.FINE_PLEOMORPHIC, Distribution.GROUPED, extent_mm=5, several_clusters=True) > small
    # ... but not for a diffuse scatter, which is no cluster.
    diffuse = [suspicion(Morphology.FINE_PLEOMORPHIC, Distribution.DIFFUSE, extent_mm=e, several_clusters=several)
               for e, several in ((5, False), (40, True))]
    assert diffuse[0] == diffuse[1] < small


# ---------------------------------------------------------------------------
# Chance groups of a scatter


def _scatter_and_triple(rng, *, scatter_probability):
    """150 specks scattered over the breast (probability `scatter_probability` of being
    calcifications, outside clusters) and a group of 3 faint, irregular (amorphous) specks
    (cluster 0)."""
    scatter = rng.uniform((0, 0), (150, 100), (150, 2))
    triple = _ball(rng, (80.0, 60.0), n=3, radius=1.5)
    specks, shapes = _specks(np.vstack([triple, scatter]), diameter_mm=0.25, elongation=2.0, solidity=0.7,
                             significance=6.0)
    labels = np.r_[np.zeros(3, int), np.full(150, -1)]
    probability = np.r_[np.full(3, 0.9), np.full(150, scatter_probability)]
    return specks, shapes, labels, probability


def _describe_with(specks, shapes, labels, probability):
    return describe_clusters(specks, shapes, labels, spacing=SPACING, nipple=(1000.0, 0.0),
                             skin_depth_mm=np.full(len(specks), 50.0), breast_area_mm2=BREAST_MM2,
                             calcification_probability=probability)


def _faint(points):
    return _specks(points, diameter_mm=0.25, elongation=2.0, solidity=0.7, significance=6.0)


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_a_chance_group_of_a_scatter_is_diffuse_and_not_suspicious(seed):
    rng = np.random.default_rng(seed)
    specks, shapes, labels, probability = _scatter_and_triple(rng, scatter_probability=0.9)
    described = _describe_with(specks, shapes, labels, probability)
    assert described.distribution[0] == Distribution.DIFFUSE
    assert described.ppv[0] < 0.1 and described.n_suspicious == 0
    # The same group among specks the model rejects is a group of its own.
    specks, shapes, labels, probability = _scatter_and_triple(np.random.default_rng(seed), scatter_probability=0.2)
    assert _describe_with(specks, shapes, labels, probability).distribution[0] != Distribution.DIFFUSE


def test_a_dense_cluster_in_a_scatter_stays_a_cluster_and_vessels_are_no_scatter():
    rng = np.random.default_rng(4)
    specks, shapes, labels, probability = _scatter_and_triple(rng, scatter_probability=0.9)
    dense, dense_shapes = _specks(_ball(rng, (40.0, 30.0), n=12, radius=2.5), diameter_mm=0.25, elongation=2.0,
                                  solidity=0.7, significance=6.0)
    both = _join((specks, shapes), (dense, dense_shapes))
    described = _describe_with(*both, np.r_[labels, np.ones(12, int)], np.r_[probability, np.full(12, 0.9)])
    assert described.distribution[0] == Distribution.DIFFUSE and described.distribution[1] != Distribution.DIFFUSE
    # 80 pieces of a calcified vessel (cluster 1: two rails of linear specks) are not a scatter
    # of calcifications round the group of 3.
    rail = _line((20.0, 10.0), 0, n=40, step=2.0)
    vessel, vessel_shapes = _specks(np.vstack([rail, rail + [1.5, 0.0]]), diameter_mm=0.5, elongation=8.0,
                                    shape="linear", width_mm=0.25, length_mm=2.0, orientation=np.pi / 2)
    triple = (specks.take(np.arange(3)), shapes.take(np.arange(3)))
    with_vessel = _join(triple, (vessel, vessel_shapes))
    described = _describe_with(*with_vessel, np.r_[np.zeros(3, int), np.ones(80, int)], np.full(83, 0.9))
    assert described.morphology[1] == Morphology.VASCULAR
    assert described.distribution[0] != Distribution.DIFFUSE


def test_pieces_of_one_finding_are_judged_together_and_a_cluster_is_no_scatter():
    rng = np.random.default_rng(7)
    # Three groups of 3 within 10 mm (one finding) among 60 scattered likely calcifications:
    # each alone is what the scatter makes, the 9 together are not.
    pieces = np.vstack([_ball(rng, (80.0 + 4.0 * k, 60.0), n=3, radius=1.0) for k in range(3)])
    scatter = rng.uniform((0, 0), (150, 100), (60, 2))
    specks, shapes = _faint(np.vstack([pieces, scatter]))
    labels = np.r_[np.repeat([0, 1, 2], 3), np.full(60, -1)]
    described = _describe_with(specks, shapes, labels, np.full(len(labels), 0.9))
    assert set(described.finding_id) == {0}
    assert Distribution.DIFFUSE not in set(described.distribution)
    assert np.all(described.chance_groups < 1e-3)
    # A group of 3 far from a cluster of 100, with no scatter: the cluster is no scatter.
    big, triple = _ball(rng, (40.0, 30.0), n=100, radius=4.0), _ball(rng, (120.0, 70.0), n=3, radius=1.0)
    specks, shapes = _faint(np.vstack([big, triple]))
    described = _describe_with(specks, shapes, np.r_[np.zeros(100, int), np.ones(3, int)], np.full(103, 0.9))
    assert Distribution.DIFFUSE not in set(described.distribution)
    assert described.chance_groups[1] == 0.0


def test_a_cluster_without_likely_calcifications_is_not_judged_and_probabilities_must_match():
    rng = np.random.default_rng(8)
    specks, shapes = _faint(_ball(rng, (80.0, 60.0), n=4, radius=1.5))
    described = _describe_with(specks, shapes, np.zeros(4, int), np.full(4, 0.4))
    assert np.isnan(described.chance_groups[0]) and described.distribution[0] != Distribution.DIFFUSE
    with pytest.raises(ValueError, match=r"calcification_probability must hold one value per speck \(4\); "
                                         r"got shape \(3,\)"):
        _describe_with(specks, shapes, np.zeros(4, int), np.full(3, 0.9))
    with pytest.raises(ValueError, match=r"calcification_probability must lie in \[0, 1\]; got \[nan 1.5\]"):
        _describe_with(specks, shapes, np.zeros(4, int), np.array([0.9, np.nan, 1.5, 0.2]))


def test_most_groups_of_a_uniform_scatter_are_diffuse():
    # 150 likely calcifications scattered uniformly over the breast, 5 seeds: the clusters the
    # CAD convention finds in them are what such a scatter makes. Findings of several linked
    # clusters can still read as real (the disjoint-footprint count understates chance).
    diffuse = total = 0
    for seed in range(5):
        points = np.random.default_rng(seed).uniform((0, 0), (150, 100), (150, 2))
        labels = cluster_labels(points[:, 0] / SPACING[0], points[:, 1] / SPACING[1], spacing=SPACING)
        described = _describe_with(*_faint(points), labels, np.full(150, 0.9))
        diffuse += np.count_nonzero(described.distribution == Distribution.DIFFUSE)
        total += len(described)
    assert total >= 50 and diffuse / total >= 0.75


def test_groups_that_are_chance_make_the_scatter_for_one_another():
    # 40 groups of 3 on a grid 18-20 mm apart (40 findings), nothing else: each is what the
    # other 117 calcifications make by chance.
    rng = np.random.default_rng(5)
    centres = [(10.0 + 18 * i, 10.0 + 20 * j) for i in range(8) for j in range(5)]
    specks, shapes = _faint(np.vstack([_ball(rng, c, n=3, radius=1.0) for c in centres]))
    described = _describe_with(specks, shapes, np.repeat(np.arange(40), 3), np.full(120, 0.9))
    assert len(set(described.finding_id)) == 40
    assert set(described.distribution) == {Distribution.DIFFUSE}


def test_a_chance_group_keeps_its_own_morphology():
    # Three fine linear specks among 150 faint likely calcifications and 10 bright round specks:
    # diffuse by the count, still fine linear (not judged with the bright specks, which the
    # distribution model's own diffuse would do), and the distribution model alone says grouped.
    rng = np.random.default_rng(6)
    casts = _specks(_ball(rng, (80.0, 60.0), n=3, radius=1.0), diameter_mm=0.4, elongation=6.0, shape="linear",
                    width_mm=0.2, length_mm=1.5, significance=6.0, orientation=rng.uniform(-1.5, 1.5, 3))
    bright = _specks(rng.uniform((0, 0), (150, 100), (10, 2)), diameter_mm=0.8, significance=12.0)
    specks, shapes = _join(casts, _faint(rng.uniform((0, 0), (150, 100), (150, 2))), bright)
    labels = np.r_[np.zeros(3, int), np.full(160, -1)]
    described = _describe_with(specks, shapes, labels, np.full(163, 0.9))
    assert (described.distribution[0], described.morphology[0]) == (Distribution.DIFFUSE,
                                                                    Morphology.FINE_LINEAR_BRANCHING)
    assert _describe(specks, shapes, labels).distribution[0] == Distribution.GROUPED


def test_vessel_walls_and_popcorn_are_no_scatter():
    rng = np.random.default_rng(9)
    specks, shapes, labels, probability = _scatter_and_triple(rng, scatter_probability=0.9)
    # The 150 scattered specks as likely pieces of a vessel's wall: no scatter left.
    for wall, diffuse in ((0.9, False), (0.1, True)):
        vascular = np.r_[np.full(3, 0.1), np.full(150, wall)]
        described = describe_clusters(specks, shapes, labels, spacing=SPACING, nipple=(1000.0, 0.0),
                                      skin_depth_mm=np.full(len(specks), 50.0), breast_area_mm2=BREAST_MM2,
                                      vascular=vascular, calcification_probability=probability)
        assert (described.distribution[0] == Distribution.DIFFUSE) == diffuse
    # Popcorn calcifications (3 pieces each) on a grid 18-20 mm apart over the breast: coarse,
    # keeping their description (chance not judged), and no scatter round the group of 3.
    grid = np.array([(10.0 + 18 * i, 10.0 + 20 * j) for i in range(8) for j in range(5)])
    centres = grid[np.hypot(*(grid - (80.0, 60.0)).T) > 15]
    n = len(centres)
    popcorn = _specks(np.vstack([_ball(rng, c, n=3, radius=1.5) for c in centres]), diameter_mm=0.9, shape="coarse",
                      object_width_mm=2.6)
    triple = (specks.take(np.arange(3)), shapes.take(np.arange(3)))
    described = _describe_with(*_join(triple, popcorn), np.r_[np.zeros(3, int), np.repeat(np.arange(1, n + 1), 3)],
                               np.full(3 + 3 * n, 0.9))
    assert set(described.morphology[1:]) == {Morphology.COARSE} and np.all(np.isnan(described.chance_groups[1:]))
    assert described.distribution[0] != Distribution.DIFFUSE


def test_a_coarse_cluster_in_a_chance_finding_keeps_its_description():
    # Popcorn 8 mm from a faint group of 3 (one finding) among 150 likely calcifications: the
    # group is diffuse, the popcorn stays coarse and keeps its own distribution (not judged).
    rng = np.random.default_rng(10)
    specks, shapes, labels, probability = _scatter_and_triple(rng, scatter_probability=0.9)
    popcorn = _specks(_ball(rng, (80.0, 68.0), n=4, radius=1.0), diameter_mm=0.9, shape="coarse",
                      object_width_mm=2.6)
    described = _describe_with(*_join((specks, shapes), popcorn), np.r_[labels, np.ones(4, int)],
                               np.r_[probability, np.full(4, 0.9)])
    assert described.finding_id[0] == described.finding_id[1]
    assert described.morphology[1] == Morphology.COARSE and np.isnan(described.chance_groups[1])
    assert described.distribution[0] == Distribution.DIFFUSE != described.distribution[1]


def test_findings_the_model_calls_diffuse_stay_in_the_scatter():
    # 19 tight groups of 5 likely calcifications among 200 bright specks the false-positive
    # model rejects: the distribution model calls each group diffuse (a chance group of the
    # bright specks), though by the count each is real (chance_groups < 1); they stay in the
    # scatter, of which a group of 3 is a chance group.
    rng = np.random.default_rng(11)
    grid = np.array([(15.0 + 30 * i, 12.0 + 25 * j) for i in range(5) for j in range(4)])
    grid = grid[np.hypot(*(grid - (80.0, 60.0)).T) > 15]
    n = len(grid)
    groups = _faint(np.vstack([_ball(rng, c, n=5, radius=1.0) for c in grid]))
    bright = _specks(rng.uniform((0, 0), (150, 100), (200, 2)), diameter_mm=0.4, significance=12.0)
    specks, shapes = _join(_faint(_ball(rng, (80.0, 60.0), n=3, radius=1.0)), groups, bright)
    labels = np.r_[np.zeros(3, int), np.repeat(np.arange(1, n + 1), 5), np.full(200, -1)]
    described = _describe_with(specks, shapes, labels, np.r_[np.full(3 + 5 * n, 0.9), np.full(200, 0.2)])
    assert set(described.distribution[1:]) == {Distribution.DIFFUSE} and np.all(described.chance_groups[1:] < 1)
    assert described.chance_groups[0] >= 1
