import numpy as np
import pytest

from calcdetect.filters import difference_of_gaussians, gaussian


@pytest.mark.parametrize("spacing", [(0.07, 0.07), (0.05, 0.08)], ids=["iso", "aniso"])
@pytest.mark.parametrize(("low", "high"), [(0.035, 1.0), (0.1, 0.3)], ids=["wide-band", "narrow-band"])
def test_difference_of_gaussians_equals_skimage(spacing, low, high):
    rng = np.random.default_rng(5)
    image = (rng.random((120, 90)) * 4095).astype(np.float32)
    fast = difference_of_gaussians(image, low, high, spacing=spacing)
    slow = difference_of_gaussians(image, low, high, spacing=spacing, backend="reference")
    assert fast.dtype == np.float32
    # float32 arithmetic against skimage's float64: equal to float32 rounding of the inputs
    np.testing.assert_allclose(fast, slow, rtol=0, atol=4095 * 2e-6)


@pytest.mark.parametrize("sigma_mm", [0.05, 0.4], ids=["sub-pixel", "several-pixels"])
def test_gaussian_equals_scipy(sigma_mm):
    rng = np.random.default_rng(6)
    image = rng.integers(0, 16384, (70, 66)).astype(np.uint16)
    fast = gaussian(image, sigma_mm, spacing=(0.07, 0.1))
    slow = gaussian(image, sigma_mm, spacing=(0.07, 0.1), backend="reference")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=16384 * 2e-6)


def test_low_sigma_must_be_below_high_sigma():
    with pytest.raises(ValueError, match="low_sigma_mm must be < high_sigma_mm; got 0.5 and 0.2"):
        difference_of_gaussians(np.zeros((8, 8)), 0.5, 0.2, spacing=(0.1, 0.1))
