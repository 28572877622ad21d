import cv2
import numpy as np
import pytest

from calcdetect.specks.shape import SpeckShape, speck_features
from calcdetect.pipeline import Params, detect

SPACING = (0.05, 0.05)


def _canvas():
    return np.zeros((160, 160), np.float32)


def _disk(diameter_mm):
    image = _canvas()
    cv2.circle(image, (80, 80), int(round(diameter_mm / 2 / SPACING[0])), 1.0, -1, lineType=cv2.LINE_AA)
    return image


def _rod():
    image = _canvas()
    cv2.line(image, (50, 80), (110, 80), 1.0, 4, lineType=cv2.LINE_AA)  # 3 mm x 0.2 mm
    return image


def _y():
    image = _canvas()
    for end in [(80, 65), (66, 98), (94, 98)]:  # arms of about 1 mm
        cv2.line(image, (80, 85), end, 1.0, 4, lineType=cv2.LINE_AA)
    return image


def _ring():
    image = _canvas()
    cv2.circle(image, (80, 80), 8, 1.0, 3, lineType=cv2.LINE_AA)  # 0.8 mm shell, lucent centre
    return image


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        (lambda: _disk(0.3), SpeckShape.PUNCTATE),
        (lambda: _disk(0.8), SpeckShape.ROUND),
        (lambda: _disk(1.6), SpeckShape.COARSE),
        (_rod, SpeckShape.LINEAR),
        (_y, SpeckShape.BRANCHING),
        (_ring, SpeckShape.RIM),
    ],
    ids=["punctate", "round", "coarse", "linear", "branching", "rim"],
)
def test_hand_drawn_specks_get_their_shape(draw, expected):
    rng = np.random.default_rng(3)
    image = 1000.0 + 400.0 * cv2.GaussianBlur(draw(), (0, 0), 0.6) + rng.normal(0, 4, (160, 160))
    params = Params(max_diameter_mm=2.0, max_length_mm=8.0, fp_model=False)  # shapes, not the model
    result = detect(image, spacing=SPACING, params=params, mask=np.ones(image.shape, bool))
    main = int(np.argmax(result.specks.area_mm2))
    assert result.shapes.shape[main] == expected


@pytest.mark.parametrize(
    ("draw", "expected"),
    [(lambda: _disk(0.4), SpeckShape.PUNCTATE), (lambda: _disk(0.8), SpeckShape.ROUND), (_rod, SpeckShape.LINEAR),
     (_y, SpeckShape.BRANCHING)],
    ids=["punctate", "round", "linear", "branching"],
)
def test_non_square_pixels_measure_shapes_in_mm(draw, expected):
    # The same specks sampled at 0.10 x 0.05 mm (every two rows averaged): shapes and
    # elongations are those of the square-pixel image, not stretched two to one.
    rng = np.random.default_rng(4)
    fine = 1000.0 + 400.0 * cv2.GaussianBlur(draw(), (0, 0), 0.6)
    results = []
    for spacing, image in ((SPACING, fine), ((2 * SPACING[0], SPACING[1]), (fine[0::2] + fine[1::2]) / 2)):
        image = image + rng.normal(0, 4, image.shape)
        params = Params(max_diameter_mm=2.0, max_length_mm=8.0, fp_model=False)
        result = detect(image, spacing=spacing, params=params, mask=np.ones(image.shape, bool))
        main = int(np.argmax(result.specks.area_mm2))
        results.append((result.shapes.shape[main], result.shapes.elongation[main]))
    (square_shape, square_elongation), (shape, elongation) = results
    assert square_shape == shape == expected
    assert elongation == pytest.approx(square_elongation, rel=0.35)


def test_features_of_no_specks_are_empty():
    from calcdetect.specks.candidates import Specks

    features = speck_features(np.zeros((4, 4), np.float32), Specks.empty(), spacing=SPACING)
    assert len(features) == 0


# -- Objects wider than the speck size window, measured whole ------------------------------

OBJECT_SPACING = (0.07, 0.07)


def _thickness(shape, centre, radius_mm, spacing=OBJECT_SPACING):
    """Projected thickness (mm) of a sphere of `radius_mm` centred at `centre` (row, col pixels)."""
    rows, cols = np.indices(shape)
    r2 = ((rows - centre[0]) * spacing[0]) ** 2 + ((cols - centre[1]) * spacing[1]) ** 2
    return 2 * np.sqrt(np.maximum(radius_mm**2 - r2, 0.0))


def _tissue(rng, shape=(400, 400)):
    """Smooth tissue texture (blobs of about 1.5 mm) plus quantum noise, in detector units."""
    texture = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.5 / OBJECT_SPACING[0])
    return 1000.0 + 20.0 * texture / texture.std() + rng.normal(0, 4.0, shape)


def _at(points):
    """Specks at pixel positions (row, col), measurements irrelevant here."""
    from calcdetect.specks.candidates import Specks

    points = np.asarray(points, float).reshape(-1, 2)
    k = len(points)
    ones = np.ones(k)
    return Specks(row=points[:, 0], col=points[:, 1], area_mm2=ones, diameter_mm=ones, length_mm=ones, width_mm=ones,
                  orientation=0 * ones, contrast=ones, significance=ones, score=ones, bbox=np.zeros((k, 4), np.int64))


@pytest.mark.parametrize("diameter_mm", [0.8, 2.0, 3.0, 4.0], ids=["0.8mm", "2mm", "3mm", "4mm"])
def test_enclosing_object_of_a_sphere_is_measured_whole_from_its_centre_and_its_edge(diameter_mm):
    from calcdetect.specks.shape import enclosing_objects

    rng = np.random.default_rng(11)
    centre = (200.3, 190.6)
    image = _tissue(rng) + 300.0 * _thickness((400, 400), centre, diameter_mm / 2)
    edge = (centre[0] + 0.35 * diameter_mm / OBJECT_SPACING[0], centre[1])  # a piece near the rim
    objects = enclosing_objects(image, _at([centre, edge]), spacing=OBJECT_SPACING)
    # A sphere's projected thickness is above half its peak over sqrt(3)/2 of its diameter.
    np.testing.assert_allclose(objects.width_mm, np.sqrt(3) / 2 * diameter_mm, atol=0.25)
    np.testing.assert_allclose(objects.length_mm, objects.width_mm, atol=0.2)  # round
    assert not objects.lucent_centre.any()


def test_enclosing_object_of_a_shell_has_a_lucent_centre_and_texture_is_no_object():
    from calcdetect.specks.shape import enclosing_objects

    rng = np.random.default_rng(12)
    centre, radius = (200.0, 200.0), 1.4
    shell = _thickness((400, 400), centre, radius) - _thickness((400, 400), centre, radius - 0.15)
    image = _tissue(rng) + 600.0 * shell
    ring = (centre[0], centre[1] + (radius - 0.1) / OBJECT_SPACING[1])
    far = (80.0, 320.0)  # tissue only
    objects = enclosing_objects(image, _at([ring, far]), spacing=OBJECT_SPACING)
    assert objects.width_mm[0] > 2.0 and objects.lucent_centre[0]
    assert np.isnan(objects.width_mm[1])


@pytest.mark.parametrize("seed", range(13, 18))
def test_pieces_of_a_popcorn_calcification_are_coarse_and_make_a_coarse_cluster(seed):
    rng = np.random.default_rng(seed)
    # A lumpy calcification of about 3 mm: seven overlapping spheres of 0.8-1.4 mm.
    thickness = np.zeros((400, 400))
    for _ in range(7):
        offset = rng.uniform(-0.9, 0.9, 2) / OBJECT_SPACING[0]
        thickness = np.maximum(thickness, _thickness((400, 400), (200 + offset[0], 200 + offset[1]),
                                                      rng.uniform(0.4, 0.7)))
    image = _tissue(rng) + 400.0 * thickness
    result = detect(image, spacing=OBJECT_SPACING, mask=np.ones(image.shape, bool))
    inside = np.hypot(result.specks.row - 200, result.specks.col - 200) * OBJECT_SPACING[0] < 2.5
    assert inside.sum() >= 3  # found in pieces by the 1 mm size window
    assert np.mean(result.shapes.shape[inside] == SpeckShape.COARSE) >= 0.75
    assert (result.cluster_id[inside] == 0).all() and result.descriptions.morphology[0] == "coarse"


@pytest.mark.parametrize("option", ["cell_mm", "max_diameter_mm", "min_significance"])
def test_enclosing_objects_names_a_bad_option(option):
    from calcdetect.specks.shape import enclosing_objects

    with pytest.raises(ValueError, match=option):
        enclosing_objects(np.zeros((400, 400)), _at([(200, 200)]), spacing=OBJECT_SPACING, **{option: 0.0})


def test_enclosing_objects_refuses_a_mask_of_another_shape():
    from calcdetect.specks.shape import enclosing_objects

    with pytest.raises(ValueError, match="mask shape"):
        enclosing_objects(np.zeros((400, 400)), _at([(200, 200)]), spacing=OBJECT_SPACING, mask=np.ones((40, 40), bool))


@pytest.mark.parametrize("seed", [41, 42], ids=["breast-41", "breast-42"])
def test_a_punctate_cluster_on_non_square_pixels_is_described_as_on_square_pixels(seed):
    # A planted punctate cluster at 0.065 mm, then every two rows averaged (0.13 x 0.065 mm):
    # its specks stay round (not linear) and the cluster is described as on square pixels.
    from calcdetect.synth import SynthSettings, synthesize

    planted = synthesize(rng=np.random.default_rng(seed), clusters=[("grouped", "punctate", 14.0)], isolated=0,
                         settings=SynthSettings(scale=0.5, spacing_mm=0.065, bits_stored=14), view="CC")
    square = planted.pixels.astype(np.float32)
    stretched = (square[0::2] + square[1::2]) / 2
    truth = planted.clusters[0]
    morphologies = []
    for spacing, image, row_scale in (((0.065, 0.065), square, 1), ((0.13, 0.065), stretched, 2)):
        result = detect(image, spacing=spacing)
        near = np.hypot((result.clusters.row - truth.row / row_scale) * spacing[0],
                        (result.clusters.col - truth.col) * spacing[1]) < 5
        assert near.sum() == 1
        members = result.cluster_id == int(np.flatnonzero(near)[0])
        assert np.mean(result.shapes.shape[members] == "linear") < 0.2
        morphologies.append(result.descriptions.morphology[near][0])
    assert morphologies[0] == morphologies[1]


# The per-speck loop's shortcuts give numpy's values exactly: the features, the models' inputs, must not move.

@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (7, 4), (9, 12), (2, 31)], ids=["2x2", "3x5", "7x4", "9x12", "2x31"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_border_median_is_numpys(shape, seed):
    from calcdetect.specks.shape import _border_median

    crop = np.random.default_rng(seed).normal(0, 50, shape).astype(np.float32)
    assert _border_median(crop) == float(np.median(np.r_[crop[0], crop[-1], crop[:, 0], crop[:, -1]]))


@pytest.mark.parametrize("size", [1, 2, 7, 8, 9, 127, 128, 129, 1000], ids=lambda n: f"n{n}")
def test_mean_is_numpys(size):
    from calcdetect.specks.shape import _mean

    values = np.random.default_rng(size).lognormal(3, 2, size).astype(np.float32)
    assert _mean(values) == float(values.mean())


@pytest.mark.parametrize("pixel_mm", [0.07, np.float64(0.07), 0.1, 0.05], ids=["float", "numpy-float64", "0.1", "0.05"])
@pytest.mark.parametrize("shape", [(2, 2), (2, 9), (6, 5), (15, 11)], ids=["2x2", "2x9", "6x5", "15x11"])
def test_gradient_magnitude_at_is_numpys_at_those_pixels(pixel_mm, shape):
    from calcdetect.specks.shape import _gradient_magnitude_at

    rng = np.random.default_rng(3)
    crop = rng.normal(0, 100, shape).astype(np.float32)
    rows, cols = np.divmod(rng.permutation(crop.size), shape[1])  # every pixel, edges and corners included
    expected = np.hypot(*np.gradient(crop, pixel_mm, pixel_mm))[rows, cols]
    got = _gradient_magnitude_at([crop], [rows], [cols], pixel_mm)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_gradient_magnitude_at_takes_crops_of_every_shape_at_once():
    from calcdetect.specks.shape import _gradient_magnitude_at

    rng = np.random.default_rng(4)
    crops = [rng.normal(0, 100, shape).astype(np.float32) for shape in [(5, 7), (2, 3), (9, 4), (3, 3)]]
    points = [np.divmod(rng.permutation(crop.size)[: 1 + crop.size // 2], crop.shape[1]) for crop in crops]
    expected = np.concatenate([np.hypot(*np.gradient(crop, 0.07, 0.07))[r, c] for crop, (r, c) in zip(crops, points)])
    got = _gradient_magnitude_at(crops, [r for r, _ in points], [c for _, c in points], 0.07)
    assert np.array_equal(got, expected)
