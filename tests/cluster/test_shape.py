import cv2
import numpy as np
import pytest

from calcdetect.cluster.shape import SpeckShape, speck_features
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
    params = Params(max_diameter_mm=2.0, max_length_mm=8.0)
    result = detect(image, spacing=SPACING, params=params, mask=np.ones(image.shape, bool))
    main = int(np.argmax(result.specks.area_mm2))
    assert result.shapes.shape[main] == expected


def test_features_of_no_specks_are_empty():
    from calcdetect.candidates import Specks

    features = speck_features(np.zeros((4, 4), np.float32), Specks.empty(), spacing=SPACING)
    assert len(features) == 0
