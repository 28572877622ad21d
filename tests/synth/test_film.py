"""Digitised film of the wide domain: the H&D curve and what film images look like."""

import numpy as np
import pytest

from calcdetect import synth
from calcdetect.synth import FILM_BITS_CHOICES, Source, SynthSettings, film_density
from calcdetect.synth.acquisition import _Grain

WIDE = SynthSettings(scale=0.25, domain="wide")
CURVES = [
    {"gamma": 2.0, "base_fog": 0.15, "d_max": 3.5, "asymmetry": 1.0},
    {"gamma": 3.5, "base_fog": 0.25, "d_max": 4.2, "asymmetry": 0.5},
    {"gamma": 2.8, "base_fog": 0.2, "d_max": 3.8, "asymmetry": 2.0},
]
CURVE_IDS = ["gamma2-symmetric", "gamma3.5-long-toe", "gamma2.8-long-shoulder"]
U = np.linspace(-4.0, 4.0, 4001)


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
def test_hd_curve_is_monotone_between_base_fog_and_d_max(curve):
    d = film_density(U, **curve)
    assert np.all(np.diff(d) > 0)
    assert curve["base_fog"] < d.min() < curve["base_fog"] + 0.05
    assert curve["d_max"] - 0.05 < d.max() < curve["d_max"]


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
def test_hd_curve_greatest_slope_is_gamma(curve):
    slope = np.gradient(film_density(U, **curve), U)
    assert slope.max() == pytest.approx(curve["gamma"], rel=1e-3)


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
def test_hd_curve_compresses_grey_levels_at_the_toe_and_the_shoulder(curve):
    d = film_density(U, **curve)
    slope = np.gradient(d, U)
    span = curve["d_max"] - curve["base_fog"]
    toe = d < curve["base_fog"] + 0.1 * span
    shoulder = d > curve["d_max"] - 0.1 * span
    assert slope[toe].max() < 0.5 * curve["gamma"]
    assert slope[shoulder].max() < 0.5 * curve["gamma"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 0.0, "base_fog": 0.2, "d_max": 4.0}, "gamma must be > 0"),
        ({"gamma": 3.0, "base_fog": -0.1, "d_max": 4.0}, "base_fog must be >= 0"),
        ({"gamma": 3.0, "base_fog": 0.2, "d_max": 0.1}, "d_max must be > base_fog"),
        ({"gamma": 3.0, "base_fog": 0.2, "d_max": 4.0, "asymmetry": 0.0}, "asymmetry must be > 0"),
    ],
    ids=["gamma", "base-fog", "d-max", "asymmetry"],
)
def test_hd_curve_refuses_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        film_density(0.0, **kwargs)


@pytest.fixture(scope="module")
def film_images():
    return [synth.synthesize(rng=np.random.default_rng(seed), settings=WIDE, source="film") for seed in range(4)]


def test_film_images_have_film_spacing_bits_and_source(film_images):
    for im in film_images:
        assert 0.04 <= im.spacing[0] == im.spacing[1] <= 0.05
        assert im.bits_stored in FILM_BITS_CHOICES
        assert im.source == Source.FILM
        assert im.to_truth("f.dcm").source == "film"
        assert im.pixels.shape == WIDE.image_shape  # the field of view, not the pixel count, shrinks


def test_dense_film_tissue_stays_below_the_toe_and_direct_exposure_is_dark(film_images):
    # No tissue gets brighter than unexposed film (base plus fog) allows; the
    # direct exposure round the breast is in the shoulder: dark.
    for im in film_images:
        a = im.acquisition
        maxv = 2**im.bits_stored - 1
        toe = maxv * (1.0 - a.film_base_fog / a.film_scan_d_max)
        assert np.percentile(im.pixels[im.breast_mask], 99) <= 1.02 * toe
        assert np.median(im.pixels[~im.breast_mask]) <= 0.15 * maxv


def test_film_grain_is_stronger_in_the_toe():
    grain = _Grain(sigma0=0.02, toe_boost=2.0, d_mid=2.0, base_fog=0.2, corr_px=1.0)
    sigma = grain.sigma(np.array([0.2, 1.1, 2.0, 3.5]))
    assert sigma[0] == pytest.approx(0.06) and sigma[2] == pytest.approx(0.02) == sigma[3]
    assert sigma[0] > sigma[1] > sigma[2]
