import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.filters import disk_footprint, octagon_footprint, octagon_tophat, white_tophat
from calcdetect.filters.chords import chords_faster
from calcdetect.filters.tophat import _as_uint16_if_exact

SPACINGS = [pytest.param((0.07, 0.07), id="iso-0.07"), pytest.param((0.05, 0.08), id="aniso")]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.int32, np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("radius_mm", [0.2, 0.5], ids=["r0.2", "r0.5"])
def test_opencv_equals_scipy_reference(spacing, dtype, radius_mm):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 250, (97, 83)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        image = image + rng.random(image.shape).astype(dtype)  # not integer-valued: float path
    fast = white_tophat(image, radius_mm, spacing=spacing)
    slow = white_tophat(image, radius_mm, spacing=spacing, backend="reference")
    assert fast.dtype == np.float32
    np.testing.assert_array_equal(fast, slow)


def test_integer_valued_float_uses_exact_uint16_path():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 16384, (64, 64)).astype(np.float32)
    np.testing.assert_array_equal(
        white_tophat(image, 0.3, spacing=(0.07, 0.07)),
        white_tophat(image.astype(np.uint16), 0.3, spacing=(0.07, 0.07), backend="reference"),
    )


@pytest.mark.parametrize(
    ("radius_mm", "spacing", "shape"),
    [(0.35, (0.07, 0.07), (11, 11)), (0.5, (0.1, 0.05), (11, 21)), (0.06, (0.07, 0.07), (1, 1))],
    ids=["exact-boundary", "anisotropic", "single-pixel"],
)
def test_disk_footprint_is_a_disk_in_mm(radius_mm, spacing, shape):
    footprint = disk_footprint(radius_mm, spacing=spacing)
    assert footprint.shape == shape
    i, j = np.nonzero(footprint)
    centre = np.array(shape) // 2
    distance = np.hypot((i - centre[0]) * spacing[0], (j - centre[1]) * spacing[1])
    assert distance.max() <= radius_mm + 1e-9
    assert footprint[tuple(centre)]


def test_speck_narrower_than_disk_keeps_full_height_and_background_vanishes():
    image = np.full((41, 41), 1000, np.uint16)
    image[18:21, 18:21] += 70  # 0.21 mm square speck, disk 0.8 mm wide
    response = white_tophat(image, 0.4, spacing=(0.07, 0.07))
    assert response[19, 19] == 70
    assert response.sum() == 70 * 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"radius_mm": -1.0, "spacing": (0.1, 0.1)}, "radius_mm must be > 0; got -1.0"),
        ({"radius_mm": 0.5, "spacing": (0.1, 0.0)}, "spacing must be two positive numbers"),
        ({"radius_mm": 0.5, "spacing": (0.1, 0.1), "backend": "cuda"}, "backend must be one of"),
    ],
    ids=["negative-radius", "zero-spacing", "unknown-backend"],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        white_tophat(np.zeros((8, 8)), **kwargs)


def test_rejects_3d_image():
    with pytest.raises(ValueError, match=r"image must be 2-D \(rows, cols\); got shape \(2, 8, 8\)"):
        white_tophat(np.zeros((2, 8, 8)), 0.5, spacing=(0.1, 0.1))


@pytest.mark.parametrize("spacing", [*SPACINGS, pytest.param((0.1, 0.1), id="iso-0.1")])
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize(("radius_mm", "shape"), [(0.2, (97, 83)), (0.6, (97, 83)), (0.6, (9, 12))],
                         ids=["r0.2", "r0.6", "r0.6-smaller-than-the-octagon"])
def test_octagon_tophat_equals_the_scipy_opening_by_the_octagon(spacing, dtype, radius_mm, shape):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 250, shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        image = image + rng.random(image.shape).astype(dtype)
    fast = octagon_tophat(image, radius_mm, spacing=spacing)
    assert fast.dtype == np.float32
    np.testing.assert_array_equal(fast, octagon_tophat(image, radius_mm, spacing=spacing, backend="reference"))
    reference = ndi.white_tophat(image.astype(np.float32), footprint=octagon_footprint(radius_mm, spacing=spacing),
                                 mode="reflect")
    np.testing.assert_array_equal(fast, reference)


def test_octagon_tophat_equals_the_reference_on_a_synthetic_mammogram(breast_window):
    image, spacing = breast_window(256)
    np.testing.assert_array_equal(octagon_tophat(image, 0.6, spacing=spacing),
                                  octagon_tophat(image, 0.6, spacing=spacing, backend="reference"))


@pytest.mark.parametrize(("radius_mm", "spacing"), [(0.6, (0.07, 0.07)), (0.6, (0.05, 0.05)), (0.6, (0.1, 0.1)),
                                                    (0.6, (0.0435, 0.0435)), (0.5, (0.05, 0.08)), (0.2, (0.07, 0.07)),
                                                    (0.35, (0.07, 0.07)), (0.06, (0.07, 0.07))],
                         ids=["0.07", "0.05", "0.1", "ddsm", "anisotropic", "small", "exact-boundary", "single-pixel"])
def test_the_octagon_is_close_to_the_disk(radius_mm, spacing):
    disk, octagon = disk_footprint(radius_mm, spacing=spacing), octagon_footprint(radius_mm, spacing=spacing)
    assert octagon.shape == disk.shape
    assert np.count_nonzero(octagon ^ disk) <= 0.2 * disk.sum()  # 7 % for the default 0.6 mm at 0.07 mm
    np.testing.assert_array_equal(octagon, octagon[::-1, ::-1])  # symmetric: reflected borders are exact
    np.testing.assert_array_equal(octagon, octagon[::-1])


def test_a_speck_narrower_than_the_octagon_keeps_full_height():
    image = np.full((41, 41), 1000, np.uint16)
    image[18:21, 18:21] += 70
    response = octagon_tophat(image, 0.4, spacing=(0.07, 0.07))
    assert response[19, 19] == 70
    assert response.sum() == 70 * 9


@pytest.mark.parametrize("value", [-1.0, 65536.0, 70000.0, 0.5, np.nan, np.inf, -np.inf], ids=str)
def test_a_float_image_takes_the_integer_path_only_when_it_is_whole_uint16_values(value):
    image = np.random.default_rng(6).integers(0, 4096, (40, 40)).astype(np.float32)
    assert _as_uint16_if_exact(image) is not None
    image[7, 9] = value
    assert _as_uint16_if_exact(image) is None


@pytest.mark.parametrize("shape", [(2, 2), (3, 7), (1, 9), (12, 5)], ids=str)
@pytest.mark.parametrize("which", ["disk", "octagon"])
def test_an_image_smaller_than_the_footprint_is_reflected_as_often_as_needed(shape, which, opening_oracle):
    """scipy's own reflection goes wrong when the footprint is several times the image; the
    fast paths agree with numpy's reflection then."""
    image = np.random.default_rng(8).integers(0, 250, shape).astype(np.uint16)
    radius_mm, spacing = 0.6, (0.05, 0.08)
    tophat, footprint = ((white_tophat, disk_footprint) if which == "disk" else (octagon_tophat, octagon_footprint))
    np.testing.assert_array_equal(tophat(image, radius_mm, spacing=spacing),
                                  opening_oracle(image, footprint(radius_mm, spacing=spacing)))


@pytest.mark.parametrize("tophat", [white_tophat, octagon_tophat], ids=["disk", "octagon"])
def test_an_empty_image_gives_an_empty_response_and_nan_is_refused(tophat):
    assert tophat(np.zeros((0, 5), np.uint16), 0.3, spacing=(0.07, 0.07)).shape == (0, 5)
    image = np.ones((40, 40), np.float32)
    image[3, 4] = np.nan
    with pytest.raises(ValueError, match="image must be finite"):
        tophat(image, 0.3, spacing=(0.07, 0.07))


def test_no_octagon_has_holes():
    """Diagonals on a single-pixel rectangle would cross as an X (a checkerboard)."""
    for spacing in [(0.07, 0.07), (0.05, 0.05), (0.1, 0.1), (0.05, 0.1)]:
        for radius_mm in np.arange(0.05, 1.5, 0.01):
            octagon = octagon_footprint(float(radius_mm), spacing=spacing)
            assert np.array_equal(ndi.binary_fill_holes(octagon), octagon), (radius_mm, spacing)
            assert ndi.label(octagon)[1] == 1


@pytest.mark.parametrize("spacing, by_chords", [((0.1, 0.1), False), ((0.05, 0.05), True)], ids=["0.1 mm", "0.05 mm"])
def test_both_ways_of_opening_the_disk_equal_the_reference(spacing, by_chords):
    """The disk is opened by its rows where that is faster (large disks), else by OpenCV pixel by
    pixel of it: both are bit-identical to scipy."""
    assert chords_faster(disk_footprint(0.6, spacing=spacing)) is by_chords
    image = np.random.default_rng(9).integers(0, 4096, (120, 90)).astype(np.uint16)
    np.testing.assert_array_equal(white_tophat(image, 0.6, spacing=spacing),
                                  white_tophat(image, 0.6, spacing=spacing, backend="reference"))
