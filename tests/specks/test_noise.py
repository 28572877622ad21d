import numpy as np
import pytest

from calcdetect.specks.noise import local_noise, noise_block_px, pixel_noise_sigma


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


@pytest.mark.parametrize("shape", [(500, 433), (130, 97), (39, 39), (400, 30), (3, 100), (2000, 39)],
                         ids=["large", "small", "one-block", "one-column", "one-row", "tall-one-column"])
def test_upsample_of_a_window_is_that_part_of_the_whole_upsample(shape):
    rng = np.random.default_rng(3)
    image = (rng.normal(size=shape) * rng.uniform(0.5, 3.0, size=shape)).astype(np.float32)
    noise = local_noise(image, spacing=(0.1, 0.1))
    whole = noise.upsample(noise.sigma)
    for _ in range(100):
        r0, c0 = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        window = (slice(r0, rng.integers(r0 + 1, shape[0] + 1)), slice(c0, rng.integers(c0 + 1, shape[1] + 1)))
        np.testing.assert_array_equal(noise.upsample(noise.sigma, window), whole[window])


@pytest.mark.parametrize("window", [(slice(0, 0), slice(0, 5)), (slice(0, 5), slice(0, 999)),
                                    (slice(0, 9, 2), slice(0, 5)), (slice(5, 2), slice(0, 5))],
                         ids=["empty", "past-the-end", "strided", "backwards"])
def test_upsample_refuses_a_bad_window(window):
    noise = local_noise(np.random.default_rng(0).normal(size=(100, 100)), spacing=(0.1, 0.1))
    with pytest.raises(ValueError, match="window's"):
        noise.upsample(noise.level, window)


@pytest.mark.parametrize(("spacing", "expected"),
                         [((0.1, 0.1), (39, 39)), ((0.07, 0.05), (57, 78)), ((2.0, 2.0), (6, 6))],
                         ids=["square", "anisotropic", "coarse"])
def test_noise_blocks_are_whole_strided_pixels_and_local_noise_uses_them(spacing, expected):
    assert noise_block_px(spacing, block_mm=4.0) == expected
    image = np.random.default_rng(1).normal(size=(200, 150))
    assert local_noise(image, spacing=spacing, block_mm=4.0).block_px == expected


def test_upsample_windows_may_leave_their_ends_open():
    noise = local_noise(np.random.default_rng(0).normal(size=(100, 100)), spacing=(0.1, 0.1))
    np.testing.assert_array_equal(noise.upsample(noise.level, (slice(None, 5), slice(60, None))),
                                  noise.upsample(noise.level)[:5, 60:])
