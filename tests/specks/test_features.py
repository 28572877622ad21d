import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.pipeline import Params, detect
from calcdetect.specks.candidates import Specks
from calcdetect.specks.features import AROUND_MM, CandidateFeatures, _neighbourhood, linearity_around

SPACING = (0.07, 0.07)


def _background(seed: int, shape=(400, 400)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000.0 + ndi.gaussian_filter(rng.normal(0.0, 6.0, shape), 0.6)


def _blurred_disk(shape, centre, diameter_px: float, height: float) -> np.ndarray:
    rr, cc = np.indices(shape)
    disk = ((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= (diameter_px / 2) ** 2).astype(float)
    return height * ndi.gaussian_filter(disk, 0.7)  # the detector's blur


def _features_at(image, point) -> dict:
    result = detect(image.astype(np.float32), spacing=SPACING, params=Params(fp_model=False),
                    mask=np.ones(image.shape, bool))
    f = result.features
    distance = np.hypot(result.specks.row - point[0], result.specks.col - point[1])
    assert distance.size and distance.min() < 2, "the planted object was not found"
    i = int(np.argmin(distance))
    return {name: float(getattr(f, name)[i]) for name in CandidateFeatures.names()}


def test_a_hot_pixel_is_a_spike_and_a_blurred_calcification_is_not():
    image = _background(1)
    image[100:102, 100:102] += 400.0  # 2 x 2 (a single pixel is below the smallest speck)
    image += _blurred_disk(image.shape, (300, 300), 5, 150.0)
    hot, calcification = _features_at(image, (100.5, 100.5)), _features_at(image, (300, 300))
    assert hot["spike"] > 0.5  # 5/8 for a 2 x 2 square, 1 for a single pixel
    assert calcification["spike"] < 0.35
    assert hot["sharpness_ratio"] > calcification["sharpness_ratio"]


def test_a_speck_on_a_thin_line_has_line_context_and_an_isolated_one_has_none():
    image = _background(2)
    rr, cc = np.indices(image.shape)
    line = (np.abs(rr - 100) <= 1).astype(float)  # a ligament, 3 px wide, across the image
    image += 20.0 * ndi.gaussian_filter(line, 0.7)
    image += _blurred_disk(image.shape, (100, 200), 5, 30.0)  # a knot on it
    image += _blurred_disk(image.shape, (300, 200), 5, 120.0)
    on_line, alone = _features_at(image, (100, 200)), _features_at(image, (300, 200))
    assert on_line["line_context"] > 0.3
    assert alone["line_context"] < 0.15


def test_neighbours_and_linearity_follow_the_layout():
    image = _background(3, shape=(500, 500))
    row_of_specks = [(100, 100 + 14 * i) for i in range(6)]  # 1 mm apart along a row
    scatter = [(350, 250), (380, 290), (330, 300), (390, 240)]  # a compact group
    for point in row_of_specks + scatter:
        image += _blurred_disk(image.shape, point, 5, 150.0)
    on_row, in_group = _features_at(image, row_of_specks[2]), _features_at(image, scatter[0])
    assert on_row["neighbours_around"] == 5 and in_group["neighbours_around"] == 3
    assert on_row["neighbours_near"] == 4  # within 2 mm: two each side
    assert on_row["linearity_around"] > 0.95 > in_group["linearity_around"]


def test_distances_to_the_border_are_in_mm():
    image = _background(4)
    image += _blurred_disk(image.shape, (40, 200), 5, 150.0)
    features = _features_at(image, (40, 200))
    assert features["border_mm"] == pytest.approx(40 * SPACING[0], abs=0.1)
    # No skin line without a breast search: the searched region's edge (the border margin) stands for it.
    assert features["depth_mm"] == features["search_edge_mm"]
    assert features["search_edge_mm"] == pytest.approx(40 * SPACING[0] - 2.0, abs=0.6)


@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
def test_linearity_around_points_matches_an_eigen_decomposition_and_the_candidate_feature(seed):
    # A line of 20 points and 30 scattered ones; oracle: each point's neighbourhood's covariance.
    rng = np.random.default_rng(seed)
    points = np.vstack([np.column_stack([np.linspace(10, 40, 20), np.full(20, 10.0)]), rng.uniform(0, 50, (30, 2))])
    got = linearity_around(points)
    near = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) <= AROUND_MM  # (K, K)
    n = near.sum(axis=1)
    mean = near @ points / n[:, None]
    second = np.einsum("ij,jk,jl->ikl", near.astype(float), points, points) / n[:, None, None]
    small, large = np.linalg.eigvalsh(second - np.einsum("ik,il->ikl", mean, mean)).T
    expected = 1 - np.divide(small, large, out=np.full(len(points), np.nan), where=n >= 3)
    np.testing.assert_allclose(got, expected, atol=1e-9, equal_nan=True)
    specks = Specks(row=points[:, 0], col=points[:, 1], **{name: np.zeros(len(points)) for name in
                    ("area_mm2", "diameter_mm", "length_mm", "width_mm", "orientation", "contrast", "significance",
                     "score")}, bbox=np.zeros((len(points), 4), np.int64))
    np.testing.assert_allclose(_neighbourhood(specks, spacing=(1.0, 1.0))["linearity_around"], got, equal_nan=True)
    assert np.isnan(linearity_around(points, min_points=5)[n < 5]).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"points_mm": np.zeros((3, 4))}, r"points_mm must be a finite \(K, 2\) array"),
    ({"points_mm": np.array([[0.0, np.nan]])}, "non-finite"),
    ({"points_mm": np.zeros((3, 2)), "radius_mm": 0.0}, "radius_mm must be > 0"),
    ({"points_mm": np.zeros((3, 2)), "min_points": 2}, "min_points must be an integer >= 3"),
], ids=["shape", "nan", "radius", "min-points"])
def test_linearity_around_points_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linearity_around(**kwargs)


def test_distances_to_a_region_are_exact_and_the_same_on_every_call():
    from scipy import ndimage as ndi

    from calcdetect.specks.features import _distance_to

    rng = np.random.default_rng(12)
    region = np.zeros((700, 560), bool)
    region[:, :150] = True
    region[rng.integers(0, 700, 40), rng.integers(0, 560, 40)] = True
    r, c = rng.integers(0, 700, 500), rng.integers(0, 560, 500)
    first = _distance_to(region, r, c, spacing=(0.1, 0.1))  # 0.5 mm cells of 5 x 5 pixels
    for _ in range(20):  # OpenCV's DIST_MASK_PRECISE varied in the last bit from call to call
        np.testing.assert_array_equal(_distance_to(region, r, c, spacing=(0.1, 0.1)), first)
    cells = region.reshape(140, 5, 112, 5).any(axis=(1, 3))
    exact = ndi.distance_transform_edt(~cells) * 0.5
    np.testing.assert_allclose(first, exact[r // 5, c // 5], rtol=1e-6)
