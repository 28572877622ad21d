import numpy as np
import pytest

from calcdetect.specks.noise import pixel_noise_sigma


@pytest.mark.parametrize("sigma", [2.0, 30.0], ids=["faint", "strong"])
def test_pixel_noise_sigma_recovers_the_noise_under_smooth_structure(sigma):
    rng = np.random.default_rng(8)
    rows, cols = np.mgrid[0:400, 0:300]
    smooth = 1000 + 2.0 * cols + 300 * np.sin(rows / 40)  # a ramp and a wave: hardly in the differences
    image = smooth + rng.normal(0, sigma, smooth.shape)
    assert pixel_noise_sigma(image) == pytest.approx(sigma, rel=0.06)


def test_flat_air_is_skipped_only_when_asked():
    rng = np.random.default_rng(9)
    image = np.zeros((200, 200))
    image[:, 140:] = 500 + rng.normal(0, 5, (200, 60))  # 70 % air at the lowest value
    assert pixel_noise_sigma(image) == 0.0
    assert pixel_noise_sigma(image, skip_flat=True) == pytest.approx(5.0, rel=0.1)


def test_no_pair_left_is_zero():
    assert pixel_noise_sigma(np.ones((5, 1))) == 0.0
    assert pixel_noise_sigma(np.full((4, 4), 3.0), skip_flat=True) == 0.0


def test_a_quantised_image_falls_back_to_the_mean_absolute_deviation_when_asked():
    rng = np.random.default_rng(10)
    image = np.round(rng.normal(100, 0.4, (300, 300)))  # most neighbours equal: MAD 0
    assert pixel_noise_sigma(image) == 0.0
    assert pixel_noise_sigma(image, quantised=True) == pytest.approx(0.45, rel=0.25)
