import numpy as np
import pytest

from calcdetect.filters.atrous import atrous_band, atrous_levels

SPACINGS = [pytest.param((0.07, 0.07), id="iso-0.07"), pytest.param((0.05, 0.08), id="aniso")]
# levels (1, 1), (2, 2) / (3, 2) and (4, 4): from the smallest calcification to the largest
SCALES_MM = [pytest.param(0.1, id="scale0.1"), pytest.param(0.3, id="scale0.3"), pytest.param(1.0, id="scale1.0")]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("scale_mm", SCALES_MM)
def test_opencv_equals_scipy_reference(float32_atol, spacing, dtype, scale_mm):
    rng = np.random.default_rng(31)
    image = (rng.random((97, 83)) * 4095).astype(dtype)
    fast = atrous_band(image, scale_mm, spacing=spacing)
    slow = atrous_band(image, scale_mm, spacing=spacing, backend="reference")
    assert fast.dtype == slow.dtype == np.float32
    assert fast.shape == image.shape
    np.testing.assert_allclose(fast, slow, rtol=0, atol=float32_atol(image))


@pytest.mark.parametrize("scale_mm", [pytest.param(0.3, id="scale0.3"), pytest.param(1.0, id="scale1.0")])
def test_synthetic_mammogram_opencv_equals_reference(float32_atol, mammogram, scale_mm):
    image, spacing = mammogram
    fast = atrous_band(image, scale_mm, spacing=spacing)
    slow = atrous_band(image, scale_mm, spacing=spacing, backend="reference")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=float32_atol(image))


def test_image_smaller_than_the_kernel_takes_the_reference_path():
    image = np.random.default_rng(32).random((20, 40)).astype(np.float32)  # level 4: 33 taps
    np.testing.assert_array_equal(
        atrous_band(image, 1.0, spacing=(0.07, 0.07)),
        atrous_band(image, 1.0, spacing=(0.07, 0.07), backend="reference"),
    )


@pytest.mark.parametrize(
    ("scale_mm", "spacing", "levels"),
    [
        (0.1, (0.07, 0.07), (1, 1)), (0.01, (0.07, 0.07), (1, 1)),
        (0.3, (0.05, 0.08), (3, 2)), (1.0, (0.07, 0.1), (4, 3)),
    ],
    ids=["finest", "below-a-pixel", "aniso", "largest-calcification"],
)
def test_levels_are_the_nearest_power_of_two_per_axis(scale_mm, spacing, levels):
    assert atrous_levels(scale_mm, spacing=spacing) == levels


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_reach_is_two_to_the_level_plus_one_minus_two_pixels(backend):
    image = np.zeros((41, 41), np.float32)
    image[20, 20] = 1
    response = atrous_band(image, 0.3, spacing=(0.05, 0.08), backend=backend)  # levels (3, 2): 14 and 6 px
    rows, cols = np.nonzero(response)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (6, 34, 14, 26)


def test_flat_and_ramp_backgrounds_answer_zero(float32_atol):
    np.testing.assert_array_equal(atrous_band(np.full((40, 40), 3000, np.uint16), 1.0, spacing=(0.07, 0.07)), 0)
    rows, cols = np.mgrid[0:60, 0:50]
    ramp = (1000 + 3 * rows - 2 * cols).astype(np.float32)
    response = atrous_band(ramp, 0.3, spacing=(0.05, 0.08))  # reach 14 and 6 px
    np.testing.assert_allclose(response[14:-14, 6:-6], 0, atol=float32_atol(ramp))


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_speck_up_to_the_scale_keeps_its_contrast_and_wider_tissue_vanishes(disks, backend):
    spacing = (0.07, 0.07)
    speck = 1000 + 100 * disks((81, 81), [(40, 40)], [0.5 / 0.07])  # 0.5 mm
    kept = atrous_band(speck, 1.0, spacing=spacing, backend=backend)[40, 40]
    assert 70 < kept < 100
    tissue = 1000 + 100 * disks((161, 161), [(80, 80)], [8 / 0.07])  # 8 mm
    assert abs(atrous_band(tissue, 1.0, spacing=spacing, backend=backend)[80, 80]) < 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale_mm": -0.5, "spacing": (0.1, 0.1)}, r"scale_mm must be > 0; got -0.5"),
        ({"scale_mm": 0.5, "spacing": (0.1, np.nan)}, "spacing must be two positive numbers"),
        ({"scale_mm": 0.5, "spacing": "0.1"}, r"spacing must be \(row_mm, col_mm\)"),
        ({"scale_mm": 0.5, "spacing": (0.1, 0.1), "backend": "skimage"}, "backend must be one of"),
    ],
    ids=["negative-scale", "nan-spacing", "string-spacing", "unknown-backend"],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        atrous_band(np.zeros((8, 8)), **kwargs)


def test_rejects_3d_image():
    with pytest.raises(ValueError, match=r"image must be 2-D \(rows, cols\); got shape \(2, 8, 8\)"):
        atrous_band(np.zeros((2, 8, 8)), 0.5, spacing=(0.1, 0.1))
