import numpy as np
import pytest

from calcdetect.filters.hdome import h_dome

SPACINGS = [pytest.param((0.07, 0.07), id="iso-0.07"), pytest.param((0.05, 0.08), id="aniso")]


@pytest.fixture(scope="module")
def mammogram(breast_window):
    return breast_window(100)


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize(
    ("dtype", "high"),
    [(np.uint16, 250), (np.uint16, 65536), (np.uint8, 256), (np.int32, 250), (np.float32, 250), (np.float64, 250)],
    ids=["uint16", "uint16-full-range", "uint8", "int32", "float32", "float64"],
)
@pytest.mark.parametrize("h", [4, 30.5, 300], ids=["h4", "h30.5", "h300"])
def test_skimage_reconstruction_equals_geodesic_dilations(spacing, dtype, high, h):
    rng = np.random.default_rng(41)
    image = rng.integers(0, high, (97, 83)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        image = image + rng.random(image.shape).astype(dtype)  # not integer-valued
    fast = h_dome(image, h, spacing=spacing)
    slow = h_dome(image, h, spacing=spacing, backend="reference")
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_array_equal(fast, slow)
    assert 0 <= fast.min() and fast.max() <= h


@pytest.mark.parametrize("h", [20, 100], ids=["h20", "h100"])
def test_synthetic_mammogram_fast_equals_reference(mammogram, h):
    image, spacing = mammogram
    np.testing.assert_array_equal(
        h_dome(image, h, spacing=spacing), h_dome(image, h, spacing=spacing, backend="reference")
    )


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_plateau_keeps_the_top_h_of_its_height(backend):
    image = np.full((30, 40), 1000, np.uint16)
    image[10:16, 12:30] += 50
    response = h_dome(image, 30, spacing=(0.07, 0.07), backend=backend)
    assert (response[10:16, 12:30] == 30).all()
    assert response.sum() == 30 * 6 * 18


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_plateau_lower_than_h_keeps_its_height_next_to_brighter_tissue(backend):
    image = np.full((30, 40), 1000, np.uint16)
    image[10:16, 12:30] += 20
    image[25:, 35:] += 200  # brighter tissue: the background joins it
    response = h_dome(image, 30, spacing=(0.07, 0.07), backend=backend)
    assert (response[10:16, 12:30] == 20).all() and (response[25:, 35:] == 30).all()
    assert response.sum() == 20 * 6 * 18 + 30 * 5 * 5


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_brightest_region_lower_than_h_lifts_its_surroundings(backend):
    image = np.full((20, 20), 1000, np.uint16)
    image[5:8, 5:8] += 20
    response = h_dome(image, 30, spacing=(0.07, 0.07), backend=backend)
    assert (response[5:8, 5:8] == 30).all()
    assert response[0, 0] == 10


def test_unsigned_image_near_zero_does_not_wrap():
    image = np.zeros((20, 20), np.uint16)
    image[5, 5], image[12:14, 12:14], image[18:, 18:] = 10, 3, 100
    response = h_dome(image, 30, spacing=(0.1, 0.1))
    assert response[5, 5] == 10 and (response[12:14, 12:14] == 3).all() and (response[18:, 18:] == 30).all()
    assert response.sum() == 10 + 4 * 3 + 4 * 30


def test_response_does_not_depend_on_the_spacing():
    image = np.random.default_rng(42).integers(0, 4096, (40, 30)).astype(np.uint16)
    np.testing.assert_array_equal(h_dome(image, 50, spacing=(0.05, 0.1)), h_dome(image, 50, spacing=(1.0, 1.0)))


def test_domes_connect_diagonally():
    image = np.zeros((9, 9), np.float32)
    image[2, 2], image[3, 3] = 40, 45  # one 8-connected dome, not two
    response = h_dome(image, 30, spacing=(0.1, 0.1))
    assert (response[2, 2], response[3, 3]) == (25, 30)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"h": 0, "spacing": (0.1, 0.1)}, r"h must be > 0; got 0.0"),
        ({"h": -5, "spacing": (0.1, 0.1)}, r"h must be > 0; got -5.0"),
        ({"h": 5, "spacing": (0.1, 0.0)}, "spacing must be two positive numbers"),
        ({"h": 5, "spacing": None}, r"spacing must be \(row_mm, col_mm\); got None"),
        ({"h": 5, "spacing": (0.1, 0.1), "backend": "cuda"}, "backend must be one of"),
    ],
    ids=["zero-h", "negative-h", "zero-spacing", "no-spacing", "unknown-backend"],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        h_dome(np.zeros((8, 8)), **kwargs)


def test_rejects_3d_image():
    with pytest.raises(ValueError, match=r"image must be 2-D \(rows, cols\); got shape \(2, 8, 8\)"):
        h_dome(np.zeros((2, 8, 8)), 5, spacing=(0.1, 0.1))
