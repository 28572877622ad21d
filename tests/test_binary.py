"""scipy.ndimage's binary operations by OpenCV: scipy's values, bit for bit."""

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect._binary import euclidean_distance, fill_holes


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


@pytest.mark.parametrize("short_side", [1, 2, 5, 11, 12], ids=lambda n: f"short-{n}")
@pytest.mark.parametrize("transpose", [False, True], ids=["wide", "tall"])
def test_thin_images_and_far_distances_equal_scipy(short_side, transpose):
    # A single zero in a corner: distances up to the long side (1400 pixels), where OpenCV's
    # IPP path was seen 9 float32 steps off on images thinner than 12 pixels.
    mask = np.ones((short_side, 1400), bool)
    mask[0, 0] = False
    mask = mask.T if transpose else mask
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask))


@pytest.mark.parametrize("side", [360, 363, 1024], ids=["all-within-512", "just-past-512", "far"])
def test_distances_up_to_the_bound_and_past_it_equal_scipy(side):
    mask = np.ones((side, side), bool)  # distances up to side * sqrt(2) from the corner's zero
    mask[-1, -1] = False
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask))


@pytest.mark.parametrize(("far", "shape"), [(900.0, (20, 1000)), (520.0, (400, 400))], ids=["900", "520"])
def test_distances_opencv_may_get_wrong_are_left_to_scipy(monkeypatch, far, shape):
    # What an IPP result 9 float32 steps off would do past the bound: the answer is still scipy's.
    mask = np.ones(shape, bool)
    mask[0, 0] = False
    exact = ndi.distance_transform_edt(mask).astype(np.float32)
    off = np.where(exact >= far, exact - 9 * np.spacing(exact), exact).astype(np.float32)
    monkeypatch.setattr(cv2, "distanceTransform", lambda *args, **kwargs: off)
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask))


def test_no_zero_pixel_is_left_to_scipy():
    mask = np.ones((40, 30), bool)
    assert np.array_equal(euclidean_distance(mask), ndi.distance_transform_edt(mask))


@pytest.mark.parametrize("function", [euclidean_distance, fill_holes], ids=["distance", "fill-holes"])
def test_rejects_other_than_2d(function):
    with pytest.raises(ValueError, match="binary must be 2-D; got shape"):
        function(np.ones((2, 3, 4), bool))


@pytest.mark.parametrize(("shape", "smooth", "level"), [((1, 1), 1.0, 0.5), ((1, 9), 1.0, 0.5), ((12, 15), 1.0, 0.5),
                                                        ((40, 40), 1.5, 0.45), ((60, 25), 3.0, 0.55),
                                                        ((300, 200), 2.0, 0.5)],
                         ids=["one-pixel", "one-row", "small", "window", "wide-holes", "large"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fill_holes_equals_scipy(shape, smooth, level, seed):
    mask = _blobs(shape, seed=seed, smooth=smooth, level=level)
    assert np.array_equal(fill_holes(mask), ndi.binary_fill_holes(mask))


def test_fill_holes_fills_a_ring_and_not_a_notch_or_a_diagonal_gap():
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[3:6, 3:6] = False  # a hole
    notch = ring.copy()
    notch[4, 6] = False  # opened to the outside through the side
    diagonal = ring.copy()
    diagonal[6, 6] = False  # the ring's corner cut off: the hole touches the outside diagonally only
    assert fill_holes(ring)[3:6, 3:6].all()
    assert not fill_holes(notch)[3:6, 3:6].any()
    # 4-connected background only (scipy's default structure): a diagonal gap does not open the hole
    assert fill_holes(diagonal)[3:6, 3:6].all() and not fill_holes(diagonal)[6, 6]
