"""BI-RADS morphology of a cluster's members: the decision rules and their cut points.

The lexicon's sizes, the rules applied in order (skin, coarse, large rod-like, vascular,
fine linear branching, rim, round or coarse heterogeneous, amorphous, fine pleomorphic or
punctate; see :func:`calcdetect.birads.describe.describe_clusters`, Notes), the vessel-wall
evidence of the learned vascular model, and the two fitted shape models
(:data:`ROUND_WEIGHTS`, :data:`PLEOMORPHIC_WEIGHTS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calcdetect.arrays import StructOfArrays
from calcdetect.birads.layout import tram_track_fraction
from calcdetect.geometry import largest_distance
from calcdetect.lexicon import Morphology
from calcdetect.specks.candidates import Specks
from calcdetect.specks.features import linearity_around
from calcdetect.specks.shape import ELONGATED, SpeckFeatures, SpeckShape

# -- Lexicon sizes (mm) ------------------------------------------------------------------

#: Punctate and fine calcifications are under 0.5 mm; round, coarse heterogeneous 0.5-1 mm.
FINE_MAX_MM = 0.5
#: A sphere's partial-volume diameter (see :class:`calcdetect.specks.candidates.Specks`) is
#: sqrt(2/3) of its true diameter: the lexicon's 0.5 mm is 0.41 mm measured.
SPHERE_DIAMETER_FACTOR = math.sqrt(2 / 3)
#: Large rod-like calcifications are at least 0.5 mm wide.
ROD_MIN_WIDTH_MM = 0.5
#: Skin calcifications lie in the skin (about 1.5 mm thick) or just under it; specks
#: are searched from 2 mm inside the skin line (``Params.skin_margin_mm``), so a group
#: of them is found 2-4 mm deep (no other cluster of the tuning sets has a median depth
#: between 3 and 5 mm).
SKIN_DEPTH_MM = 4.0

# -- Cut points chosen on the tuning set ---------------------------------------------------

#: A cluster is linear-shaped (fine linear, vascular, rod-like) when this fraction
#: of its members is linear or branching.
LINEAR_SPECKS = 0.4
#: Vascular: this fraction of linear members has a parallel (within 10 degrees)
#: linear neighbour 0.6-3 mm to its side (the two walls of a vessel); branches of
#: a ductal cast part at 10-35 degrees.
TRAM_TRACK = 0.4
#: Vascular calcifications line a vessel for some length: a cluster shorter than
#: this (mm) is not called vascular on :data:`TRAM_TRACK` alone (side-by-side fine
#: casts or popcorn fragments can pair up over a few mm; 95 % of detected vascular
#: clusters are longer).
VASCULAR_MIN_MM = 8.0
#: ... but a shorter one is, when nearly all its linear members pair up: this fraction
#: (0-1) of them have a parallel partner (a short piece of a vessel's two walls). Chosen
#: on the balanced synthetic tuning sets of seeds 2027 and 2053: their linear-shaped
#: clusters under 8 mm that are not vascular pair up 0.40 at most, their short vessels
#: 1.0. Our generator paints no parallel casts, so two fine casts that run side by side
#: all along, 0.6-3 mm apart, would be called vascular: the risk this rule takes.
SHORT_TRAM_TRACK = 0.75
#: ... and at least this many paired linear members (one pair alone is two casts).
SHORT_TRACK_PIECES = 3
#: Vascular, learned: this fraction (0-1) of members is a likely piece of a calcified
#: vessel's wall (:data:`VASCULAR_PROBABILITY`) on a straight course (:data:`VASCULAR_LINEARITY`).
#: Chosen on the balanced synthetic tuning set of seed 2027, where the straight course keeps
#: the 4 vessels the model finds (54-78 % of their members qualify) and turns away the 2
#: fine linear clusters it takes for vessels (0 %); seed 2053's vessel calls were also seen.
VASCULAR_SPECKS = 0.4
#: ... a likely piece: its probability (0-1) of being a vessel's wall
#: (:func:`calcdetect.specks.model.vascular_probability`) is at least this.
VASCULAR_PROBABILITY = 0.5
#: ... a straight course: the positions of the candidates within
#: :data:`calcdetect.specks.features.AROUND_MM` of it have at least this linearity
#: (``linearity_around`` of :class:`calcdetect.specks.features.CandidateFeatures`,
#: ``1 - minor / major`` eigenvalue, 0-1). A vessel runs straight over centimetres, a
#: segment of ductal casts fans out. Limit: two walls 2.5 mm or more apart spread too wide
#: within that radius (linearity about ``1 - s^2 / 42`` for separation s mm); such
#: vessels are left to the tram-track rule (walls up to 3 mm apart, :data:`TRAM_TRACK`).
VASCULAR_LINEARITY = 0.85
#: Vascular, learned, on a course that bends or crosses: at least half the members
#: (:data:`VASCULAR_COURSE_SPECKS`) are likely pieces of a vessel's wall, those pieces spread
#: over at least :data:`VASCULAR_SPREAD_MM` (largest distance) and lie along lines among
#: themselves: the median of their linearity within :data:`calcdetect.specks.features.AROUND_MM`
#: of each (:func:`calcdetect.specks.features.linearity_around`) is at least
#: :data:`VASCULAR_COURSE_LINEARITY`, a piece with fewer than :data:`VASCULAR_COURSE_NEIGHBOURS`
#: pieces there (itself included) counting 0, as three points line up by chance. Calcified
#: vessels cross and run across the breast for centimetres, which the straight-course rule
#: (:data:`VASCULAR_LINEARITY`, of all candidates round a piece) misses where they cross.
#: The spread is longer than the clusters of the synthetic sets of seeds 2026, 2027, 2053 and
#: 3100 (224 images) most of whose members the model takes for vessel walls, vessel or not
#: (vessels of seeds 2027 and 2053 up to 33 mm; a segment of fine linear casts over 26 mm on
#: seed 2026, which 20 mm called vascular): the rule changes no description there (same
#: tables before and after). It serves networks of crossing vessels, as on digitised film
#: (the DDSM film MG1_J2KI: 47 mm, 58 % likely pieces, linearity 0.70; it was in view when
#: the spread was chosen). A fanned-out segment of ductal casts (40 pieces in a 20 mm wedge)
#: has linearity 0.54-0.60, straight vessels 0.9 and more. On seed 2053, two straight fine
#: linear clusters of 28 mm have 44 and 46 % likely pieces (hence half, not
#: :data:`VASCULAR_SPECKS`).
VASCULAR_COURSE_SPECKS = 0.5
VASCULAR_SPREAD_MM = 40.0
VASCULAR_COURSE_LINEARITY = 0.65
VASCULAR_COURSE_NEIGHBOURS = 5
#: Rim: this fraction of members has a lucent centre.
RIM_SPECKS = 0.5
#: Vascular, on the lines they lie on: a cluster at least :data:`ON_LINE_SPECKS` of whose
#: members lie on thin bright ridges that run on (``SpeckFeatures.ridge_length_mm``) is the
#: calcified wall of a vessel seen in pieces, or bumps on the lines of the breast's tissue
#: (strands, ligaments, the edges of dense tissue): not a group of calcifications either
#: way. For a cluster of compact specks (not linear-shaped) the ridges run
#: :data:`ON_LINE_MM` or more: a compact calcification's ridge is about its own size and blur
#: (under 2 mm). For a linear-shaped cluster they run :data:`ON_LONG_LINE_MM` or more: a fine
#: linear cast is thin, irregular and discontinuous, its pieces a few mm at most, where a
#: vessel's calcified wall runs on. Chosen on the synthetic sets of seeds 2026, 2027, 2053
#: and 3100 (224 images; ridges measured on the clusters detected there): of their non-linear
#: suspicious clusters (amorphous, fine pleomorphic, punctate, coarse heterogeneous; 276) one,
#: a diffuse group of 3, has 40 % of its members on 3 mm ridges (the others at most a third);
#: of the fine linear ones (58) none has 40 % on 5 mm ridges (at most a third, 90 % under
#: 0.11); of the false clusters 50 of 93 pass the first, 17 of them scored 0.3-0.95 before
#: (coarse heterogeneous on the edges of dense tissue); of the vessels 9 of 10 the first and
#: 6 the second. 40 %, not half, because the DDSM film MG1_J2KI was in view: three of its
#: clusters on vessels sit at 43-55 % there, where noise-estimation details move them
#: across half. The risks this takes: a cast that runs on unbroken for 5 mm or more (comedo
#: casting) is called vascular, and so may be a row of calcifications about 0.5 mm apart or
#: calcifications along a blurred edge (the limits of :func:`calcdetect.specks.ridges.ridge_length`).
ON_LINE_SPECKS = 0.4
ON_LINE_MM = 3.0
ON_LONG_LINE_MM = 5.0
#: Coarse (popcorn, over 2 mm): this fraction of members is coarse, most of them pieces
#: of an object wider than the speck size window (see
#: :func:`calcdetect.specks.shape.enclosing_objects`).
COARSE_SPECKS = 0.5
#: Morphologies of a cluster's own calcifications (a vessel, popcorn, skin, secretory
#: rods, diffuse by nature), kept when its layout looks diffuse; other diffuse clusters
#: are judged with the scatter.
OWN_MORPHOLOGIES = frozenset({Morphology.VASCULAR, Morphology.COARSE, Morphology.SKIN, Morphology.LARGE_RODLIKE})
#: Amorphous: faint (median detection significance below this, in noise sigmas).
AMORPHOUS_MAX_SIGNIFICANCE = 7.0
#: What the two shape models below weigh: a cluster's median diameter (mm), median
#: elongation, irregular fraction and pleomorphism (:func:`pleomorphic_features`).
PLEOMORPHIC_FEATURES = ("median_diameter_mm", "median_elongation", "irregular_fraction", "pleomorphism")
#: Round rather than coarse heterogeneous (both 0.5-1 mm): smooth, uniform specks
#: against irregular, varied ones. A logistic regression on :data:`PLEOMORPHIC_FEATURES`,
#: fitted on the round and coarse heterogeneous clusters of seven balanced tuning
#: sets (seeds 500-505, 2027; ``benchmarks/fit_description.py round``): round when
#: ``bias + weights . features > 0``. In-sample accuracy 0.975 on 197 clusters.
ROUND_WEIGHTS = {"bias": -0.7717, "median_diameter_mm": 23.02, "median_elongation": -8.085,
                 "irregular_fraction": -3.834, "pleomorphism": -2.078}
#: Fine pleomorphic rather than punctate (both under 0.5 mm): finer, more elongated,
#: more irregular and more varied specks. A logistic regression on
#: :data:`PLEOMORPHIC_FEATURES`, fitted on the small-speck clusters of seven
#: balanced tuning sets (seeds 500-505, 2027; ``benchmarks/fit_description.py
#: pleomorphic``): fine pleomorphic when ``bias + weights . features > 0`` and the
#: pleomorphism is at least :data:`PLEOMORPHIC` (equal specks are never pleomorphic,
#: however fine). In-sample accuracy 0.84 on 253 clusters (pleomorphism alone: 0.74
#: leaving one set out). Fitted before speck widths gained each pixel's own extent: refitted
#: on today's measurements (-6.909, -23.58, 10.05, 2.282, 1.211; in-sample 0.824 on 250), the
#: out-of-sample balanced set of seed 2053 called benign patterns benign 0.837 instead of
#: 0.930, so these weights stay (the round weights likewise: 0.979 in-sample refitted).
PLEOMORPHIC_WEIGHTS = {"bias": -2.29, "median_diameter_mm": -25.03, "median_elongation": 6.613,
                       "irregular_fraction": 2.48, "pleomorphism": 0.2842}
PLEOMORPHIC = 0.3

#: A member counts as uneven, for the pleomorphism of its cluster, when this elongated or
#: this far from convex: a looser cut than the speck class `irregular`
#: (:data:`calcdetect.specks.shape.IRREGULAR_SOLIDITY`), to which the pleomorphic weights
#: above were fitted.
UNEVEN_ELONGATION = 1.5
UNEVEN_SOLIDITY = 0.9


def pleomorphism(diameter_mm, elongation, solidity) -> float:
    """Variation of size and shape within a cluster: 0 for equal round specks.

    The fraction of members that are irregular (elongation >= 1.5 or solidity
    < 0.9) plus the coefficient of variation of their diameters.

    Parameters
    ----------
    diameter_mm, elongation, solidity : (K,) array_like
        Member measurements (see :class:`~calcdetect.specks.shape.SpeckFeatures`).
    """
    diameter_mm = np.asarray(diameter_mm, float)
    return float(_uneven(elongation, solidity).mean() + diameter_mm.std() / diameter_mm.mean())


def _uneven(elongation, solidity) -> np.ndarray:
    """Members elongated (>= 1.5) or far from convex (solidity < 0.9)."""
    return (np.asarray(elongation) >= UNEVEN_ELONGATION) | (np.asarray(solidity) < UNEVEN_SOLIDITY)


def _check_weights(weights: dict[str, float], names, *, model: str) -> None:
    """Raise ValueError unless `weights` holds a "bias" and one weight for each feature in `names`, and no other."""
    expected = ("bias", *names)
    unknown = [name for name in weights if name not in expected]
    if unknown:
        raise ValueError(f"{model} has a weight for {', '.join(map(repr, unknown))}, which is no feature of the model "
                         f"(features: {', '.join(names)}); refit with benchmarks/fit_description.py")
    missing = [name for name in expected if name not in weights]
    if missing:
        raise ValueError(f"{model} has no weight for {', '.join(map(repr, missing))}; "
                         f"refit with benchmarks/fit_description.py")


@dataclass(frozen=True, eq=False)
class _VesselWalls(StructOfArrays):
    """Which of K specks are likely pieces of a calcified vessel's wall (see :func:`describe_clusters`).

    Attributes
    ----------
    likely : (K,) ndarray of bool
        Vessel-wall probability at least :data:`VASCULAR_PROBABILITY`.
    straight : (K,) ndarray of bool
        Likely and on a straight course (:data:`VASCULAR_LINEARITY`), or `likely`
        itself where the course is not known.
    """

    likely: np.ndarray
    straight: np.ndarray


def _vessel_walls(vascular, linearity, *, k: int) -> _VesselWalls | None:
    """Each speck's vessel-wall evidence, or None without `vascular`."""
    if vascular is None:
        if linearity is not None:
            raise ValueError("linearity needs vascular (each speck's vessel-wall probability); got vascular=None")
        return None
    vascular = np.asarray(vascular, float)
    if vascular.shape != (k,):
        raise ValueError(f"vascular must hold one probability per speck ({k}); got shape {vascular.shape}")
    likely = vascular >= VASCULAR_PROBABILITY
    if linearity is None:
        return _VesselWalls(likely, likely)
    linearity = np.asarray(linearity, float)
    if linearity.shape != (k,):
        raise ValueError(f"linearity must hold one value per speck ({k}); got shape {linearity.shape}")
    return _VesselWalls(likely, likely & (linearity >= VASCULAR_LINEARITY))  # NaN (too few neighbours) is not straight


def _vessel_course(points_mm: np.ndarray) -> bool:
    """Do likely vessel-wall pieces ((K, 2) positions, mm) make a vessel's course, bent or crossing
    (:data:`VASCULAR_SPREAD_MM`, :data:`VASCULAR_COURSE_LINEARITY`)? A piece with fewer than
    :data:`VASCULAR_COURSE_NEIGHBOURS` pieces round it is on no course (a few scattered points
    line up by chance)."""
    if len(points_mm) < VASCULAR_COURSE_NEIGHBOURS or largest_distance(points_mm) < VASCULAR_SPREAD_MM:
        return False
    linearity = linearity_around(points_mm, min_points=VASCULAR_COURSE_NEIGHBOURS)
    return bool(np.median(np.nan_to_num(linearity, nan=0.0)) >= VASCULAR_COURSE_LINEARITY)


def _judge(specks: Specks, shapes: SpeckFeatures, member, *, points_mm, depth_mm,
           extent_mm: float, walls: _VesselWalls | None = None) -> tuple[Morphology, float, float]:
    """Morphology, pleomorphism and linear fraction of the specks in `member` ((K,) bool);
    `points_mm`, `depth_mm` and `walls` (or None, see :func:`_vessel_walls`) are of all K specks."""
    members, member_shapes = specks.take(member), shapes.take(member)
    pleo = pleomorphism(members.diameter_mm, member_shapes.elongation, member_shapes.solidity)
    morphology = _morphology(members, member_shapes, points_mm[member], None if depth_mm is None else depth_mm[member],
                             pleo=pleo, extent_mm=extent_mm, walls=None if walls is None else walls.take(member))
    return morphology, pleo, float(_linear(member_shapes).mean())


def _morphology(specks: Specks, shapes: SpeckFeatures, points_mm, depth_mm, *, pleo: float,
                extent_mm: float, walls: _VesselWalls | None = None) -> Morphology:
    """The first rule of :func:`describe_clusters` (Notes) that the members meet."""
    linear = _linear(shapes)
    linear_shaped = linear.mean() >= LINEAR_SPECKS
    if depth_mm is not None and np.median(depth_mm) <= SKIN_DEPTH_MM:
        return Morphology.SKIN
    if np.mean(shapes.shape == str(SpeckShape.COARSE)) >= COARSE_SPECKS:
        return Morphology.COARSE
    if linear_shaped and np.median(specks.width_mm[linear]) >= ROD_MIN_WIDTH_MM:
        return Morphology.LARGE_RODLIKE
    if walls is not None and (
            np.mean(walls.straight) >= VASCULAR_SPECKS
            or (np.mean(walls.likely) >= VASCULAR_COURSE_SPECKS and _vessel_course(points_mm[walls.likely]))):
        return Morphology.VASCULAR
    if linear_shaped:
        if _on_lines(shapes, ON_LONG_LINE_MM):
            return Morphology.VASCULAR
        paired = tram_track_fraction(points_mm[linear], specks.orientation[linear], specks.length_mm[linear])
        if extent_mm >= VASCULAR_MIN_MM:
            tracks = paired >= TRAM_TRACK
        else:
            tracks = bool(paired >= SHORT_TRAM_TRACK and paired * np.count_nonzero(linear) >= SHORT_TRACK_PIECES)
        return Morphology.VASCULAR if tracks else Morphology.FINE_LINEAR_BRANCHING
    if np.mean(shapes.shape == str(SpeckShape.RIM)) >= RIM_SPECKS:
        return Morphology.RIM
    if _on_lines(shapes, ON_LINE_MM):
        return Morphology.VASCULAR
    if np.median(specks.diameter_mm) >= FINE_MAX_MM * SPHERE_DIAMETER_FACTOR:
        is_round = _evidence(ROUND_WEIGHTS, specks, shapes, model="ROUND_WEIGHTS") > 0
        return Morphology.ROUND if is_round else Morphology.COARSE_HETEROGENEOUS
    if np.median(specks.significance) < AMORPHOUS_MAX_SIGNIFICANCE:
        return Morphology.AMORPHOUS
    if pleo >= PLEOMORPHIC and _evidence(PLEOMORPHIC_WEIGHTS, specks, shapes, model="PLEOMORPHIC_WEIGHTS") > 0:
        return Morphology.FINE_PLEOMORPHIC
    return Morphology.PUNCTATE


def _on_lines(shapes: SpeckFeatures, length_mm: float) -> bool:
    """Do :data:`ON_LINE_SPECKS` of the specks lie on ridges running `length_mm` or more? (NaN: not measured.)"""
    assert shapes.ridge_length_mm is not None  # SpeckFeatures.__post_init__ fills it in
    return bool(np.mean(shapes.ridge_length_mm >= length_mm) >= ON_LINE_SPECKS)


def pleomorphic_features(specks: Specks, shapes: SpeckFeatures) -> dict[str, float]:
    """The :data:`PLEOMORPHIC_FEATURES` of a cluster's members."""
    return {
        "median_diameter_mm": float(np.median(specks.diameter_mm)),
        "median_elongation": float(np.median(shapes.elongation)),
        "irregular_fraction": float(_uneven(shapes.elongation, shapes.solidity).mean()),
        "pleomorphism": pleomorphism(specks.diameter_mm, shapes.elongation, shapes.solidity),
    }


def _evidence(weights: dict[str, float], specks: Specks, shapes: SpeckFeatures, *, model: str) -> float:
    """Log-odds of a shape model (:data:`ROUND_WEIGHTS`, :data:`PLEOMORPHIC_WEIGHTS`, named `model`)
    for a cluster's members; weights are matched to the features by name."""
    features = pleomorphic_features(specks, shapes)
    _check_weights(weights, list(features), model=model)
    return weights["bias"] + sum(weights[name] * v for name, v in features.items())


def rod_specks(specks: Specks, shapes: SpeckFeatures) -> np.ndarray:
    """(K,) bool: large rod-like specks, linear or branching (as for the morphology rules) and at
    least :data:`ROD_MIN_WIDTH_MM` wide."""
    return _linear(shapes) & (np.asarray(specks.width_mm) >= ROD_MIN_WIDTH_MM)


def _linear(shapes: SpeckFeatures) -> np.ndarray:
    """Linear or branching members, also those that are pieces of a wide object (class coarse):
    a calcified vessel's two walls make one such object over a few mm."""
    return (shapes.elongation >= ELONGATED) & (shapes.shape != str(SpeckShape.RIM))
