import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.filters.log import gaussian_derivative_kernel, laplacian_of_gaussian, laplacian_of_gaussian_max

SPACINGS = [pytest.param((0.07, 0.07), id="iso-0.07"), pytest.param((0.05, 0.08), id="aniso")]
# The calcification window 0.1-1.0 mm: sigma = d / (2 sqrt 2) from 0.035 mm (half a pixel) to 0.35 mm.
SIGMAS_MM = [
    pytest.param(0.035, id="sigma0.035"), pytest.param(0.12, id="sigma0.12"), pytest.param(0.35, id="sigma0.35")
]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("sigma_mm", SIGMAS_MM)
def test_opencv_equals_scipy_reference(float32_atol, spacing, dtype, sigma_mm):
    rng = np.random.default_rng(11)
    image = (rng.random((97, 83)) * 4095).astype(dtype)
    fast = laplacian_of_gaussian(image, sigma_mm, spacing=spacing)
    slow = laplacian_of_gaussian(image, sigma_mm, spacing=spacing, backend="reference")
    assert fast.dtype == slow.dtype == np.float32
    assert fast.shape == image.shape
    np.testing.assert_allclose(fast, slow, rtol=0, atol=float32_atol(image))


@pytest.mark.parametrize("spacing", SPACINGS)
def test_multiscale_opencv_equals_reference_and_is_the_maximum(float32_atol, spacing):
    rng = np.random.default_rng(12)
    image = rng.integers(0, 16384, (97, 83)).astype(np.uint16)
    fast = laplacian_of_gaussian_max(image, 0.035, 0.35, spacing=spacing, n_scales=3)
    slow = laplacian_of_gaussian_max(image, 0.035, 0.35, spacing=spacing, n_scales=3, backend="reference")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=float32_atol(image))
    single = [laplacian_of_gaussian(image, s, spacing=spacing) for s in (0.035, math.sqrt(0.035 * 0.35), 0.35)]
    np.testing.assert_allclose(fast, np.max(single, axis=0), rtol=0, atol=float32_atol(image))


def test_synthetic_mammogram_opencv_equals_reference(float32_atol, mammogram):
    image, spacing = mammogram
    fast = laplacian_of_gaussian_max(image, 0.035, 0.35, spacing=spacing)
    slow = laplacian_of_gaussian_max(image, 0.035, 0.35, spacing=spacing, backend="reference")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=float32_atol(image))


def test_image_smaller_than_the_kernel_takes_the_reference_path():
    image = np.random.default_rng(13).random((9, 40)).astype(np.float32)  # kernel 2 * 6 + 1 = 13 rows
    np.testing.assert_array_equal(
        laplacian_of_gaussian(image, 0.1, spacing=(0.07, 0.07)),
        laplacian_of_gaussian(image, 0.1, spacing=(0.07, 0.07), backend="reference"),
    )


@pytest.mark.parametrize(("order", "tolerance"), [(0, 1e-15), (1, 1e-3), (2, 7e-3)], ids=["order0", "order1", "order2"])
@pytest.mark.parametrize("sigma_px", [1.0, 5.5], ids=["1px", "5.5px"])
def test_kernels_are_scipys_up_to_the_moment_correction(order, tolerance, sigma_px):
    kernel = gaussian_derivative_kernel(sigma_px, order)
    impulse = np.zeros(kernel.size)
    impulse[kernel.size // 2] = 1
    scipy_kernel = ndi.gaussian_filter1d(impulse, sigma_px, order=order, mode="constant", truncate=4.0)
    np.testing.assert_allclose(kernel, scipy_kernel, rtol=0, atol=tolerance * np.abs(scipy_kernel).max())


@pytest.mark.parametrize("sigma_px", [0.25, 0.5, 1.0, 3.0], ids=["0.25px", "0.5px", "1px", "3px"])
def test_kernels_differentiate_polynomials_exactly(sigma_px):
    x = np.arange(-(kernel_radius := int(4 * sigma_px + 0.5)), kernel_radius + 1)
    # convolution at 0: sum_x k(x) f(-x)
    np.testing.assert_allclose(
        [gaussian_derivative_kernel(sigma_px, 0).sum(), gaussian_derivative_kernel(sigma_px, 1) @ -x,
         gaussian_derivative_kernel(sigma_px, 2).sum(), gaussian_derivative_kernel(sigma_px, 2) @ x**2],
        [1, 1, 0, 2], atol=1e-12,
    )


def test_flat_ramp_and_quadratic_backgrounds_answer_their_curvature(float32_atol):
    spacing = (0.05, 0.08)
    rows, cols = np.mgrid[0:60, 0:50] * np.array(spacing)[:, None, None]  # mm
    sigma_mm = 0.2
    inner = (slice(17, -17), slice(11, -11))  # beyond the kernel's reach (16 and 10 px) of the border
    ramp = 1000 + 30 * rows - 20 * cols
    np.testing.assert_allclose(laplacian_of_gaussian(ramp, sigma_mm, spacing=spacing)[inner], 0, atol=1e-3)
    quadratic = 1000 + 5 * rows**2 + 3 * cols**2  # Laplacian 16 per mm^2
    np.testing.assert_allclose(
        laplacian_of_gaussian(quadratic, sigma_mm, spacing=spacing, backend="reference")[inner],
        -(sigma_mm**2) * 16, rtol=1e-6,
    )
    flat = np.full((20, 20), 3000, np.uint16)
    np.testing.assert_allclose(laplacian_of_gaussian(flat, 0.035, spacing=(0.07, 0.07)), 0, atol=float32_atol(flat))


@pytest.mark.parametrize(
    ("blob", "size_px", "best_sigma_px"),
    [("gaussian", 3.0, 3.0), ("disk", 12.0, 12.0 / (2 * math.sqrt(2)))],
    ids=["gaussian-std3", "disk-d12"],
)
def test_blob_answers_most_at_its_centre_and_at_the_lindeberg_scale(disks, blob, size_px, best_sigma_px):
    shape, centre = (65, 65), (32, 32)
    if blob == "gaussian":
        r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
        image = 100 * np.exp(-((r - centre[0]) ** 2 + (c - centre[1]) ** 2) / (2 * size_px**2))
    else:
        image = 100 * disks(shape, [centre], [size_px])
    spacing = (0.1, 0.1)
    sigmas_px = np.geomspace(0.5, 2, 41) * best_sigma_px
    at_centre = [laplacian_of_gaussian(image, s * 0.1, spacing=spacing)[centre] for s in sigmas_px]
    assert sigmas_px[np.argmax(at_centre)] == pytest.approx(best_sigma_px, rel=0.05)
    response = laplacian_of_gaussian(image, best_sigma_px * 0.1, spacing=spacing)
    assert np.unravel_index(np.argmax(response), shape) == centre


def test_reach_is_four_sigma_per_axis():
    image = np.zeros((41, 41), np.float32)
    image[20, 20] = 1
    response = laplacian_of_gaussian(image, 0.2, spacing=(0.05, 0.1))  # 4 and 2 px: 16 and 8 px
    rows, cols = np.nonzero(response)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 36, 12, 28)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma_mm": -1.0, "spacing": (0.1, 0.1)}, r"sigma_mm must be > 0; got -1.0"),
        ({"sigma_mm": 0.01, "spacing": (0.1, 0.1)}, r"sigma_mm must be at least 0.25 pixel; got 0.01 mm, 0.1 pixel"),
        ({"sigma_mm": 0.5, "spacing": (0.1, 0.0)}, "spacing must be two positive numbers"),
        ({"sigma_mm": 0.5, "spacing": (0.1,)}, r"spacing must be \(row_mm, col_mm\)"),
        ({"sigma_mm": 0.5, "spacing": (0.1, 0.1), "backend": "cuda"}, "backend must be one of"),
    ],
    ids=["negative-sigma", "sub-pixel-sigma", "zero-spacing", "one-spacing", "unknown-backend"],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        laplacian_of_gaussian(np.zeros((8, 8)), **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.3, 0.1), {}, "min_sigma_mm must be < max_sigma_mm; got 0.3 and 0.1"),
        ((0.0, 0.1), {}, "min_sigma_mm must be > 0; got 0.0"),
        ((0.1, 0.3), {"n_scales": 1}, "n_scales must be an integer >= 2; got 1"),
        ((0.1, 0.3), {"n_scales": 2.5}, "n_scales must be an integer >= 2; got 2.5"),
    ],
    ids=["min-above-max", "zero-min", "one-scale", "fractional-scales"],
)
def test_multiscale_bad_arguments_name_the_parameter(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        laplacian_of_gaussian_max(np.zeros((8, 8)), *args, spacing=(0.1, 0.1), **kwargs)


def test_rejects_3d_image():
    with pytest.raises(ValueError, match=r"image must be 2-D \(rows, cols\); got shape \(2, 8, 8\)"):
        laplacian_of_gaussian(np.zeros((2, 8, 8)), 0.5, spacing=(0.1, 0.1))
