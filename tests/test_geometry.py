"""calcdetect.geometry against shapely and brute force."""

import numpy as np
import pytest
import shapely
from scipy.spatial.distance import pdist

from calcdetect.geometry import (
    convex_hull,
    distance_to_hull,
    grown_hull_area,
    hull_area,
    largest_distance,
    polygon_area,
)

SEEDS = [0, 1, 2]


def _points(seed: int, n: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 2))


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_convex_hull_is_shapelys_counter_clockwise_from_the_smallest_point(seed):
    points = _points(seed)
    ours = convex_hull(points)
    reference = shapely.convex_hull(shapely.multipoints(points))
    vertices = np.asarray(reference.exterior.coords)[:-1]
    assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, vertices.tolist()))
    assert tuple(ours[0]) == min(map(tuple, ours.tolist()))
    edge, following = np.roll(ours, -1, axis=0) - ours, np.roll(ours, -2, axis=0) - np.roll(ours, -1, axis=0)
    turn = edge[:, 0] * following[:, 1] - edge[:, 1] * following[:, 0]
    assert (turn > 0).all()  # counter-clockwise in the (row, col) plane, no point on an edge


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_hull_area_is_shapelys(seed):
    points = _points(seed)
    assert hull_area(points) == pytest.approx(shapely.convex_hull(shapely.multipoints(points)).area, rel=1e-12)
    assert polygon_area(convex_hull(points)[::-1]) == pytest.approx(hull_area(points), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_largest_distance_is_the_largest_pairwise_distance(seed):
    points = _points(seed, 200)
    assert largest_distance(points) == pytest.approx(pdist(points).max(), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_distance_to_hull_is_shapelys(seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(12, 2))
    hull = convex_hull(points)
    queries = rng.uniform(-4, 4, size=(200, 2))
    reference = shapely.distance(shapely.convex_hull(shapely.multipoints(points)), shapely.points(queries))
    np.testing.assert_allclose(distance_to_hull(queries, hull), reference, atol=1e-12)


@pytest.mark.parametrize(
    ("points", "vertices", "area", "span"),
    [([(1, 1)] * 3, [(1, 1)], 0.0, 0.0),
     ([(0, 0), (2, 2), (1, 1), (2, 2)], [(0, 0), (2, 2)], 0.0, 8**0.5),
     ([(0, 0), (0, 2), (2, 0), (1, 1), (0, 1)], [(0, 0), (2, 0), (0, 2)], 2.0, 8**0.5)],
    ids=["one-point", "collinear", "edge-point"],
)
def test_degenerate_point_sets(points, vertices, area, span):
    assert convex_hull(points).tolist() == [list(map(float, v)) for v in vertices]
    assert hull_area(points) == area
    assert largest_distance(points) == pytest.approx(span)


@pytest.mark.parametrize(("hull", "query", "expected"), [([(0, 0)], (3, 4), 5.0), ([(0, 0), (0, 2)], (3, 1), 3.0),
                                                       ([(0, 0), (0, 2)], (0, 6), 4.0)],
                         ids=["point", "segment-side", "segment-end"])
def test_distance_to_a_point_or_a_segment(hull, query, expected):
    assert distance_to_hull([query], hull).tolist() == [expected]


@pytest.mark.parametrize("points", [np.zeros((0, 2)), np.zeros((3, 3))], ids=["empty", "three-columns"])
def test_bad_point_sets_are_refused(points):
    with pytest.raises(ValueError, match="points must"):
        convex_hull(points)


@pytest.mark.parametrize("n", [1, 2, 3, 12], ids=["point", "segment", "triangle", "cloud"])
def test_grown_hull_area_matches_shapely_buffer(n):
    # Oracle: shapely's buffer of the hull, its round ends drawn with 256 segments a quarter.
    rng = np.random.default_rng(n)
    points = rng.uniform(0, 10, (n, 2))
    reference = shapely.MultiPoint(points).convex_hull.buffer(2.5, quad_segs=256).area
    assert grown_hull_area(points, 2.5) == pytest.approx(reference, rel=1e-4)
    with pytest.raises(ValueError, match="radius must be finite and >= 0; got -1.0"):
        grown_hull_area(points, -1.0)
    with pytest.raises(ValueError, match=r"points must be finite; got \[\[nan, 0.0\]\]"):
        grown_hull_area(np.vstack([points, [np.nan, 0.0]]), 1.0)
