import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import line_aa
from skimage.feature import hessian_matrix, hessian_matrix_eigvals

from calcdetect.specks.noise import local_noise
from calcdetect.specks.ridges import (RIDGE_MAX_MM, RIDGE_NOISE_BLOCK_MM, RIDGE_SIGMA_MM, _ridge_maps, ridge_length,
                                      ridge_strength)

SPACING = (0.05, 0.05)
#: A bright line's ridge outlasts its painted ends by its half width and the smoothing
#: (about 0.3 + 2 x 0.15 mm each end at high contrast): the traced length minus the
#: painted one lies in this range (mm).
OVERSHOOT = (-0.5, 1.5)


def _noisy(seed: int, shape=(600, 600), sigma: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000.0 + ndi.gaussian_filter(rng.normal(0.0, sigma, shape), 0.8)


def _paint_line(image, start, end, height: float, width_px: float = 6.0) -> None:
    line = np.zeros(image.shape)
    rr, cc, val = line_aa(*start, *end)
    line[rr, cc] = val
    image += height * np.minimum(ndi.gaussian_filter(line, width_px / 4) * width_px, 1.0)


def _paint_disk(image, centre, diameter_px: float, height: float) -> None:
    rr, cc = np.indices(image.shape)
    disk = (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= (diameter_px / 2) ** 2
    image += height * ndi.gaussian_filter(disk.astype(float), 1.0)


@pytest.mark.parametrize("angle_deg", [0, 30, 90, 135], ids=lambda a: f"{a}deg")
def test_a_line_is_followed_to_its_ends(angle_deg):
    image = _noisy(1)
    half_px = 80  # 4 mm each way: an 8 mm line
    d_r, d_c = math.sin(math.radians(angle_deg)), math.cos(math.radians(angle_deg))
    start = (round(300 - half_px * d_r), round(300 - half_px * d_c))
    end = (round(300 + half_px * d_r), round(300 + half_px * d_c))
    _paint_line(image, start, end, 60.0)
    length = ridge_length(image, [300.0], [300.0], spacing=SPACING)[0]
    assert OVERSHOOT[0] <= length - 8.0 <= OVERSHOOT[1]


def test_a_curved_line_is_followed_round_its_bend():
    image = _noisy(2)
    t = np.linspace(0, math.pi / 2, 400)  # a quarter circle of radius 5 mm: 7.85 mm long
    rr, cc = 200 + 100 * np.sin(t), 200 + 100 * np.cos(t)
    line = np.zeros(image.shape)
    line[np.rint(rr).astype(int), np.rint(cc).astype(int)] = 1.0
    image += 60.0 * np.minimum(ndi.gaussian_filter(line, 1.5) * 6, 1.0)
    middle = 200
    length = ridge_length(image, [rr[middle]], [cc[middle]], spacing=SPACING)[0]
    assert OVERSHOOT[0] <= length - 7.85 <= OVERSHOOT[1]


def test_a_round_speck_stands_on_no_ridge_and_a_long_line_is_capped():
    image = _noisy(3)
    _paint_disk(image, (150, 150), 8, 80.0)  # a 0.4 mm calcification
    _paint_line(image, (450, 20), (450, 580), 60.0)  # 28 mm
    speck, line = ridge_length(image, [150.0, 450.0], [150.0, 300.0], spacing=SPACING)
    assert speck < 1.5  # its own size and blur, far below a line's
    assert line == pytest.approx(2 * RIDGE_MAX_MM, abs=0.3)


def test_a_line_below_the_noise_is_not_followed():
    image = _noisy(4, sigma=20.0)
    _paint_line(image, (300, 220), (300, 380), 3.0)  # far below the noise
    assert ridge_length(image, [300.0], [300.0], spacing=SPACING)[0] < 2.0


def test_a_coarse_image_is_followed_on_its_own_grid():
    """At 0.1 mm and coarser no averaging down: the same line, half the pixels, the same length."""
    fine = _noisy(5)
    _paint_line(fine, (300, 220), (300, 380), 60.0)  # 8 mm at 0.05 mm
    coarse = fine.reshape(300, 2, 300, 2).mean(axis=(1, 3))
    at_fine = ridge_length(fine, [300.0], [300.0], spacing=SPACING)[0]
    at_coarse = ridge_length(coarse, [149.75], [149.75], spacing=(0.1, 0.1))[0]
    assert at_fine == pytest.approx(at_coarse, abs=0.3)
    assert OVERSHOOT[0] <= at_fine - 8.0 <= OVERSHOOT[1]


def test_strength_is_the_hessian_s_most_negative_eigenvalue():
    """Oracle: scikit-image's Gaussian-derivative Hessian, away from the border."""
    rng = np.random.default_rng(6)
    image = ndi.gaussian_filter(rng.normal(0.0, 50.0, (120, 140)), 2.0)
    strength, cos2, sin2 = ridge_strength(image, spacing=(0.1, 0.1), sigma_mm=0.3)
    strength = strength * 0.1**2  # per mm^2 -> per pixel^2
    h_rr, h_rc, h_cc = hessian_matrix(image, sigma=3.0, order="rc", use_gaussian_derivatives=True)
    l2, l1 = hessian_matrix_eigvals([h_rr, h_rc, h_cc])  # descending
    inner = (slice(15, -15), slice(15, -15))
    scale = np.abs(l1[inner]).max()
    assert np.abs(strength[inner] + l1[inner]).max() < 0.05 * scale
    along = 0.5 * np.arctan2(sin2, cos2)
    # the course is l2's eigenvector: H v = l2 v
    v_r, v_c = np.cos(along), np.sin(along)
    residual = np.hypot(h_rr * v_r + h_rc * v_c - l2 * v_r, h_rc * v_r + h_cc * v_c - l2 * v_c)
    steep = np.abs(l1 - l2)[inner] > 0.2 * scale
    assert np.median(residual[inner][steep] / np.abs(l1 - l2)[inner][steep]) < 0.1


@pytest.mark.parametrize("along", ["rows", "cols"])
def test_non_square_pixels_measure_the_same_line_either_way(along):
    """At (0.1, 0.2) mm a line 8 mm long reads the same down the rows or along the columns."""
    spacing = (0.1, 0.2)
    image = _noisy(8, shape=(400, 200))
    if along == "rows":
        _paint_line(image, (160, 100), (240, 100), 60.0, width_px=3.0)  # 80 rows x 0.1 mm
        start = (200.0, 100.0)
    else:
        _paint_line(image, (200, 80), (200, 120), 60.0, width_px=3.0)  # 40 cols x 0.2 mm
        start = (200.0, 100.0)
    length = ridge_length(image, [start[0]], [start[1]], spacing=spacing)[0]
    assert OVERSHOOT[0] <= length - 8.0 <= OVERSHOOT[1] + 0.5


@pytest.mark.parametrize("image, kwargs, message", [
    (np.zeros((50, 50)), dict(rows=[1.0, 2.0], cols=[1.0]), "rows and cols"),
    (np.zeros((50, 50)), dict(rows=[1.0], cols=[1.0], max_mm=0.0), "max_mm"),
    (np.zeros((50, 50)), dict(rows=[1.0], cols=[1.0], min_significance=-1.0), "min_significance"),
    (np.zeros((50, 50)), dict(rows=[1.0], cols=[1.0], mask=np.ones((3, 3), bool)), "mask"),
    (np.zeros((50, 50)), dict(rows=[60.0], cols=[1.0]), "inside the image"),
    (np.zeros((50, 50)), dict(rows=[np.nan], cols=[1.0]), "inside the image"),
    (np.full((50, 50), np.nan), dict(rows=[1.0], cols=[1.0]), "finite"),
    (np.zeros((1, 50)), dict(rows=[0.0], cols=[1.0]), "at least 2 rows"),
], ids=["lengths", "max_mm", "min_significance", "mask_shape", "outside", "nan_point", "nan_image", "one_row"])
def test_bad_arguments_are_named(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ridge_length(image, spacing=SPACING, **kwargs)


def test_no_points_no_lengths():
    assert ridge_length(np.zeros((50, 50)), [], [], spacing=SPACING).shape == (0,)


def test_a_line_running_off_the_image_ends_at_its_edge():
    image = _noisy(7)
    _paint_line(image, (300, 0), (300, 60), 60.0)  # from the left edge, 3 mm in
    length = ridge_length(image, [300.0], [30.0], spacing=SPACING)[0]
    assert OVERSHOOT[0] <= length - 3.0 <= OVERSHOOT[1]


@pytest.mark.parametrize("masked", [False, True], ids=["whole", "masked"])
def test_ridges_made_round_the_points_only_equal_the_whole_images(masked):
    """The maps are made on the noise blocks round the start points only: the courses are
    those over maps of the whole image (oracle: the same points among others that need
    every block)."""
    image = _noisy(5, shape=(900, 1300))
    _paint_line(image, (100, 100), (400, 700), 40.0)
    _paint_line(image, (800, 1200), (650, 900), 30.0)
    _paint_disk(image, (700, 200), 10, 60.0)
    mask = None
    if masked:
        rr, cc = np.indices(image.shape)
        mask = (rr - 450) ** 2 / 440**2 + (cc - 650) ** 2 / 640**2 <= 1
    points = np.array([[250.0, 400.0], [700.0, 200.0], [725.0, 1050.0]])
    everywhere = np.stack(np.meshgrid(np.arange(0, 900, 40.0), np.arange(0, 1300, 40.0)), -1).reshape(-1, 2)
    alone = ridge_length(image, points[:, 0], points[:, 1], spacing=(0.1, 0.1), mask=mask)
    among = ridge_length(image, *np.r_[points, everywhere].T, spacing=(0.1, 0.1), mask=mask)[: len(points)]
    np.testing.assert_array_equal(alone, among)
    assert alone[0] > 6.0 and alone[2] > 4.0 and alone[1] < 2.0  # the lines, and the speck


@pytest.mark.parametrize("points", [[(120.0, 130.0), (880.0, 1250.0), (500.0, 700.0)],
                                    [(100.0, 100.0), (200.0, 200.0)]], ids=["apart", "L-shaped-tile"])
def test_ridge_maps_made_in_tiles_equal_the_whole_images_where_made(points):
    image = _noisy(6, shape=(1000, 1400))
    _paint_line(image, (100, 100), (900, 1300), 40.0)
    rows, cols = np.array(points).T
    strength, cos2, sin2 = _ridge_maps(image, rows, cols, pixel_mm=0.1, mask=None, sigma_mm=RIDGE_SIGMA_MM,
                                       max_mm=RIDGE_MAX_MM)
    made = (strength != 0) | (cos2 != 0) | (sin2 != 0)  # all 0 where not made
    assert 0.02 < made.mean() < 0.5  # tiles round the points, not the whole image
    whole, whole_cos2, whole_sin2 = ridge_strength(image, spacing=(0.1, 0.1))
    noise = local_noise(whole, spacing=(0.1, 0.1), block_mm=RIDGE_NOISE_BLOCK_MM)
    whole = (whole - noise.upsample(noise.level)) / noise.upsample(noise.sigma)
    # The blocks at the edge of those made are the noise's neighbours of the ones inside.
    inside = ndi.minimum_filter(made, size=2 * noise.block_px[0] + 1)
    assert inside.any()
    # to float32 rounding: OpenCV's smoothing may take another path for another size
    np.testing.assert_allclose(strength[inside], whole[inside], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cos2[made], whole_cos2[made], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(sin2[made], whole_sin2[made], rtol=1e-5, atol=1e-3)
