import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.filters.chords import STRIP_ROWS, chord_half_widths, chord_opening, chords_faster
from calcdetect.filters.tophat import disk_footprint, octagon_footprint

FOOTPRINTS = {
    "disk 0.6 mm at 0.07": disk_footprint(0.6, spacing=(0.07, 0.07)),
    "disk 0.6 mm at 0.05": disk_footprint(0.6, spacing=(0.05, 0.05)),
    "disk 0.3 mm at 0.1": disk_footprint(0.3, spacing=(0.1, 0.1)),  # single-pixel first and last rows
    "ellipse 0.6 mm at 0.05 x 0.1": disk_footprint(0.6, spacing=(0.05, 0.1)),
    "ellipse 0.6 mm at 0.1 x 0.05": disk_footprint(0.6, spacing=(0.1, 0.05)),
    "octagon 0.6 mm at 0.07": octagon_footprint(0.6, spacing=(0.07, 0.07)),
    "vertical line": np.ones((9, 1), bool),
    "horizontal line": np.ones((1, 23), bool),
    "point": np.ones((1, 1), bool),
    "rows with gaps": np.array([[0, 1, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 1, 0]], bool),
    "empty middle row": np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]], bool),
    # A chord of half width 5 made straight from one of 2 (two copies 6 apart, overlapping by one).
    "half widths 2, 5, 2": np.array([[0] * 3 + [1] * 5 + [0] * 3, [1] * 11, [0] * 3 + [1] * 5 + [0] * 3], bool),
    "half widths 0 and 13": np.array([[0] * 13 + [1] + [0] * 13, [1] * 27, [0] * 13 + [1] + [0] * 13], bool),
}

# Rows below, at and across a strip's height, so that strips of every kind are met.
SHAPES = [(1, 1), (5, 3), (STRIP_ROWS - 1, 40), (STRIP_ROWS, 37), (STRIP_ROWS + 1, 50), (2 * STRIP_ROWS + 17, 61)]


@pytest.mark.parametrize("footprint", list(FOOTPRINTS.values()), ids=list(FOOTPRINTS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_equals_the_opening_by_the_whole_footprint(footprint, shape, dtype, opening_oracle):
    """Bit-identical to OpenCV's opening (reflected borders) and to the numpy-reflection
    oracle for any size, and to scipy's where the image holds the footprint (scipy's
    reflection goes wrong for images much smaller than the footprint)."""
    rng = np.random.default_rng(sum(shape) + footprint.size)
    image = rng.integers(0, 4096, shape).astype(dtype)
    if dtype == np.float32:
        image += rng.random(shape, dtype=np.float32)
    opened = chord_opening(image, footprint)
    assert opened.dtype == image.dtype and opened.shape == image.shape
    np.testing.assert_array_equal(image.astype(np.float32) - opened.astype(np.float32),
                                  opening_oracle(image, footprint))
    expected = cv2.morphologyEx(image, cv2.MORPH_OPEN, footprint.astype(np.uint8), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_array_equal(opened, expected)
    if all(n >= k for n, k in zip(shape, footprint.shape)):
        np.testing.assert_array_equal(opened, ndi.grey_opening(image, footprint=footprint, mode="reflect"))


@pytest.mark.parametrize("layout", ["stepped", "fortran", "transposed"])
def test_any_memory_layout_gives_the_same_opening(layout):
    image = np.random.default_rng(3).integers(0, 4096, (150, 90)).astype(np.uint16)
    view = {"stepped": image[::2, ::3], "fortran": np.asfortranarray(image), "transposed": image.T}[layout]
    footprint = FOOTPRINTS["disk 0.6 mm at 0.07"]
    np.testing.assert_array_equal(chord_opening(view, footprint), chord_opening(np.ascontiguousarray(view), footprint))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)], ids=str)
def test_an_empty_image_gives_an_empty_opening(shape):
    opened = chord_opening(np.zeros(shape, np.uint16), FOOTPRINTS["disk 0.6 mm at 0.07"])
    assert opened.shape == shape and opened.dtype == np.uint16


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4, 2), np.uint16), np.zeros(9, np.uint16), np.zeros((9, 9), np.int64),
     np.zeros((9, 9), ">u2"), np.zeros((9, 9), np.float64)],
    ids=["3-D", "1-D", "int64", "big-endian", "float64"],
)
def test_an_image_of_another_kind_is_refused(image):
    with pytest.raises(ValueError, match="image must be 2-D uint16 or float32 in native byte order"):
        chord_opening(image, np.ones((3, 3), bool))


def test_equals_opencv_on_a_synthetic_mammogram(mammogram):
    image, spacing = mammogram
    footprint = disk_footprint(0.6, spacing=spacing)
    expected = cv2.morphologyEx(image, cv2.MORPH_OPEN, footprint.astype(np.uint8), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_array_equal(chord_opening(image, footprint), expected)


@pytest.mark.parametrize(
    "footprint, expected",
    [
        (disk_footprint(0.3, spacing=(0.1, 0.1)), [0, 2, 2, 3, 2, 2, 0]),
        (np.array([[0, 1, 0], [0, 0, 0], [1, 1, 1]], bool), [0, -1, 1]),
    ],
    ids=["disk", "empty row"],
)
def test_half_widths_of_the_rows(footprint, expected):
    np.testing.assert_array_equal(chord_half_widths(footprint), expected)


@pytest.mark.parametrize(
    "footprint, match",
    [
        (np.ones((2, 3), bool), "odd sides"),
        (np.ones((3, 4), bool), "odd sides"),
        (np.zeros((3, 3), bool), "at least one pixel"),
        (np.ones((3,), bool), "2-D"),
        (np.array([[1, 0, 1]], bool), r"row 0 must be one run .* got columns \[0, 2\]"),
        (np.array([[0, 1, 1]], bool), r"row 0 must be one run of pixels centred on column 1; got columns \[1, 2\]"),
    ],
    ids=["even rows", "even columns", "empty", "1-D", "two runs", "off centre"],
)
def test_a_footprint_not_made_of_centred_chords_is_refused(footprint, match):
    with pytest.raises(ValueError, match=match):
        chord_half_widths(footprint)


def test_an_asymmetric_footprint_is_refused():
    footprint = np.array([[0, 1, 0], [1, 1, 1], [1, 1, 1]], bool)
    with pytest.raises(ValueError, match=r"mirror symmetric .* got row half widths \[0, 1, 1\]"):
        chord_opening(np.zeros((9, 9), np.uint16), footprint)


@pytest.mark.parametrize(
    "footprint, faster",
    [(FOOTPRINTS["disk 0.3 mm at 0.1"], False), (FOOTPRINTS["disk 0.6 mm at 0.07"], True),
     (FOOTPRINTS["disk 0.6 mm at 0.05"], True), (np.ones((1, 23), bool), True), (np.ones((9, 1), bool), False)],
    ids=["small disk", "233-pixel disk", "441-pixel disk", "long row", "column"],
)
def test_chords_are_chosen_for_footprints_with_many_pixels_per_pass(footprint, faster):
    assert chords_faster(footprint) is faster
