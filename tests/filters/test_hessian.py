import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.feature import hessian_matrix, hessian_matrix_eigvals

from calcdetect.filters.hessian import hessian_blob, hessian_eigenvalues, hessian_line

SPACINGS = [pytest.param((0.07, 0.07), id="iso-0.07"), pytest.param((0.05, 0.08), id="aniso")]
SIGMAS_MM = [
    pytest.param(0.035, id="sigma0.035"), pytest.param(0.12, id="sigma0.12"), pytest.param(0.35, id="sigma0.35")
]
MEASURES = [pytest.param(hessian_blob, id="blob"), pytest.param(hessian_line, id="line")]


def blob_atol(e, l1):
    # sqrt(l1 * l2) turns an error e in l2 near 0 into one of sqrt(|l1| * e).
    return math.sqrt(float(np.abs(l1).max()) * e) + e


def assert_fast_equals_reference(image, sigma_mm, spacing, atol):
    fast = hessian_eigenvalues(image, sigma_mm, spacing=spacing)
    slow = hessian_eigenvalues(image, sigma_mm, spacing=spacing, backend="reference")
    assert all(a.dtype == np.float32 and a.shape == image.shape for a in fast + slow)
    np.testing.assert_allclose(fast[0], slow[0], rtol=0, atol=atol)
    np.testing.assert_allclose(fast[1], slow[1], rtol=0, atol=atol)
    np.testing.assert_allclose(
        hessian_line(image, sigma_mm, spacing=spacing),
        hessian_line(image, sigma_mm, spacing=spacing, backend="reference"), rtol=0, atol=atol,
    )
    np.testing.assert_allclose(
        hessian_blob(image, sigma_mm, spacing=spacing),
        hessian_blob(image, sigma_mm, spacing=spacing, backend="reference"), rtol=0, atol=blob_atol(atol, slow[0]),
    )


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("sigma_mm", SIGMAS_MM)
def test_opencv_equals_scipy_reference(float32_atol, spacing, dtype, sigma_mm):
    rng = np.random.default_rng(21)
    image = (rng.random((97, 83)) * 4095).astype(dtype)
    assert_fast_equals_reference(image, sigma_mm, spacing, float32_atol(image))


@pytest.mark.parametrize("sigma_mm", [pytest.param(0.05, id="sigma0.05"), pytest.param(0.2, id="sigma0.2")])
def test_synthetic_mammogram_opencv_equals_reference(float32_atol, mammogram, sigma_mm):
    image, spacing = mammogram
    assert_fast_equals_reference(image, sigma_mm, spacing, float32_atol(image))


def test_image_smaller_than_the_kernel_takes_the_reference_path():
    image = np.random.default_rng(22).random((40, 9)).astype(np.float32)
    fast = hessian_eigenvalues(image, 0.1, spacing=(0.07, 0.07))
    slow = hessian_eigenvalues(image, 0.1, spacing=(0.07, 0.07), backend="reference")
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_eigenvalues_of_a_quadratic_are_its_hessian_in_mm(float32_atol, backend):
    spacing = (0.05, 0.08)
    rows, cols = np.mgrid[0:60, 0:50] * np.array(spacing)[:, None, None]  # mm
    image = 500 + 4 * rows**2 - 2 * cols**2 + 6 * rows * cols  # Hessian [[8, 6], [6, -4]] per mm^2
    sigma_mm = 0.2
    l1, l2 = hessian_eigenvalues(image, sigma_mm, spacing=spacing, backend=backend)
    inner = (slice(17, -17), slice(11, -11))  # beyond the kernel's reach of the border
    expected = sigma_mm**2 * np.linalg.eigvalsh([[8.0, 6.0], [6.0, -4.0]])
    np.testing.assert_allclose(l1[inner], expected[0], rtol=1e-6, atol=float32_atol(image))
    np.testing.assert_allclose(l2[inner], expected[1], rtol=1e-6, atol=float32_atol(image))


def test_agrees_with_skimage_for_a_wide_gaussian():
    # skimage truncates at 8 sigma and differentiates twice at sigma / sqrt(2): not the
    # same kernels, so equal only to the 4-sigma truncation (well under 1 %).
    image = ndi.gaussian_filter(np.random.default_rng(23).random((80, 80)), 2) * 1000
    l1, l2 = hessian_eigenvalues(image, 0.3, spacing=(0.1, 0.1), backend="reference")  # 3 px
    h_rr, h_rc, h_cc = hessian_matrix(image, sigma=3, mode="reflect", order="rc", use_gaussian_derivatives=True)
    high, low = 9 * hessian_matrix_eigvals([h_rr, h_rc, h_cc])  # descending
    inner = (slice(25, -25), slice(25, -25))
    np.testing.assert_allclose(l1[inner], low[inner], rtol=0, atol=1e-2 * np.abs(low[inner]).max())
    np.testing.assert_allclose(l2[inner], high[inner], rtol=0, atol=1e-2 * np.abs(high[inner]).max())


@pytest.fixture
def line_and_blob():
    """A bright vertical line and a bright round blob, both Gaussian profiles of 1.5 px."""
    r, c = np.mgrid[0:61, 0:61]
    line = 100 * np.exp(-((c - 30) ** 2) / (2 * 1.5**2))
    blob = 100 * np.exp(-((r - 30) ** 2 + (c - 30) ** 2) / (2 * 1.5**2))
    return line, blob


@pytest.mark.parametrize("backend", ["opencv", "reference"])
def test_line_answers_the_line_measure_and_blob_the_blob_measure(line_and_blob, backend):
    line, blob = line_and_blob
    kwargs = {"spacing": (0.1, 0.1), "backend": backend}
    on_line = hessian_line(line, 0.15, **kwargs)[30, 30], hessian_blob(line, 0.15, **kwargs)[30, 30]
    on_blob = hessian_line(blob, 0.15, **kwargs)[30, 30], hessian_blob(blob, 0.15, **kwargs)[30, 30]
    assert on_line[0] > 20 and on_line[1] < 0.01 * on_line[0]
    assert on_blob[1] > 20 and on_blob[0] < 0.01 * on_blob[1]


@pytest.mark.parametrize("measure", MEASURES)
def test_flat_and_ramp_backgrounds_answer_zero(measure):
    spacing = (0.05, 0.08)
    rows, cols = np.mgrid[0:60, 0:50] * np.array(spacing)[:, None, None]
    ramp = (1000 + 30 * rows - 20 * cols).astype(np.float32)
    inner = (slice(17, -17), slice(11, -11))
    np.testing.assert_allclose(measure(ramp, 0.2, spacing=spacing)[inner], 0, atol=1e-2)
    flat = np.full((20, 20), 3000, np.uint16)
    np.testing.assert_allclose(measure(flat, 0.035, spacing=(0.07, 0.07)), 0, atol=1e-2)


@pytest.mark.parametrize(
    ("shape", "measure", "best_sigma_px"),
    [("disk-d12", hessian_blob, 12 / (2 * math.sqrt(2))), ("bar-w8", hessian_line, 8 / 2)],
    ids=["blob-disk", "line-bar"],
)
def test_answers_most_at_the_documented_scale(disks, shape, measure, best_sigma_px):
    if shape == "disk-d12":
        image = 100 * disks((65, 65), [(32, 32)], [12.0])
    else:
        image = np.zeros((65, 65))
        image[:, 28:36] = 100  # 8 px wide
    sigmas_px = np.geomspace(0.5, 2, 41) * best_sigma_px
    at_centre = [measure(image, s * 0.1, spacing=(0.1, 0.1))[32, 32] for s in sigmas_px]
    assert sigmas_px[np.argmax(at_centre)] == pytest.approx(best_sigma_px, rel=0.05)


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma_mm": 0.0, "spacing": (0.1, 0.1)}, r"sigma_mm must be > 0; got 0.0"),
        ({"sigma_mm": 0.02, "spacing": (0.1, 0.05)}, r"sigma_mm must be at least 0.25 pixel; got 0.02 mm, 0.2 pixel"),
        ({"sigma_mm": 0.5, "spacing": (-0.1, 0.1)}, "spacing must be two positive numbers"),
        ({"sigma_mm": 0.5, "spacing": (0.1, 0.1), "backend": "gpu"}, "backend must be one of"),
    ],
    ids=["zero-sigma", "sub-pixel-sigma", "negative-spacing", "unknown-backend"],
)
def test_bad_arguments_name_the_parameter(measure, kwargs, match):
    with pytest.raises(ValueError, match=match):
        measure(np.zeros((8, 8)), **kwargs)


@pytest.mark.parametrize("measure", MEASURES)
def test_rejects_3d_image(measure):
    with pytest.raises(ValueError, match=r"image must be 2-D \(rows, cols\); got shape \(2, 8, 8\)"):
        measure(np.zeros((2, 8, 8)), 0.5, spacing=(0.1, 0.1))
