"""The Euclidean distance transform by OpenCV: scipy's values, bit for bit."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect._distance import euclidean_distance


def _blobs(shape, *, seed, smooth, level=0.5):
    """Smooth random regions: the kind of mask the breast grid and the speck cells give."""
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(shape), smooth) > level


@pytest.mark.parametrize(("shape", "smooth"), [((7, 5), 1.0), ((300, 240), 3.0), ((600, 466), 25.0),
                                               ((1000, 1000), 60.0), ((1, 50), 2.0)],
                         ids=["tiny", "fine", "breast-grid", "largest-by-opencv", "one-row"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_scipy(shape, smooth, seed):
    mask = _blobs(shape, seed=seed, smooth=smooth)
    if mask.all() or not mask.any():
        mask.flat[seed] = not mask.flat[seed]
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask))


@pytest.mark.parametrize("cell_mm", [0.5, 1.0, 0.25], ids=["half-mm", "mm", "quarter-mm"])
def test_scaled_by_a_power_of_two_equals_scipy_with_that_sampling(cell_mm):
    mask = _blobs((400, 300), seed=3, smooth=20.0)
    assert np.array_equal(euclidean_distance(mask) * cell_mm, ndi.distance_transform_edt(mask, sampling=cell_mm))


@pytest.mark.parametrize(("mask", "why"), [(np.ones((40, 30), bool), "no zero pixel"),
                                           (_blobs((1500, 40), seed=4, smooth=5.0), "squares too large")],
                         ids=["all-ones", "long-side"])
def test_cases_left_to_scipy(mask, why):
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask)), why


def test_the_same_on_every_call():
    mask = _blobs((573, 466), seed=5, smooth=30.0)
    first = euclidean_distance(mask)
    assert all(np.array_equal(first, euclidean_distance(mask)) for _ in range(5))


def test_rejects_other_than_2d():
    with pytest.raises(ValueError, match="binary must be 2-D; got shape"):
        euclidean_distance(np.ones((2, 3, 4), bool))
