"""Artefacts of the wide domain: each kind is drawn, and its truth lies on what it says."""

import numpy as np
import pytest

from calcdetect.synth import Source
from calcdetect.truth import ArtefactKind


def _maxv(image):
    return 2**image.bits_stored - 1


def _of(images, kind):
    """(image, artefact) pairs of one kind over a set."""
    return [(im, a) for im in images for a in im.artefacts if a.kind == kind]


def _window(image, artefact, half_px):
    r, c = round(artefact.row), round(artefact.col)
    return image.pixels[max(0, r - half_px) : r + half_px + 1, max(0, c - half_px) : c + half_px + 1].astype(float)


def _value(image, artefact):
    return float(image.pixels[round(artefact.row), round(artefact.col)])


def _ring(image, artefact, radius_px):
    """Pixels on the square ring at Chebyshev distance `radius_px` round an artefact."""
    r, c = round(artefact.row), round(artefact.col)
    w = image.pixels[r - radius_px : r + radius_px + 1, c - radius_px : c + radius_px + 1].astype(float)
    return np.concatenate([w[0], w[-1], w[1:-1, 0], w[1:-1, -1]])


@pytest.mark.parametrize("kind", list(ArtefactKind), ids=[str(k) for k in ArtefactKind])
def test_every_artefact_kind_is_drawn_in_a_small_set(wide_images, kind):
    assert _of(wide_images, kind)


def test_film_borders_are_mostly_on_film(wide_images):
    borders = _of(wide_images, ArtefactKind.FILM_BORDER)
    assert np.mean([im.source == Source.FILM for im, _ in borders]) > 0.5


def test_artefacts_lie_in_the_image_and_off_the_calcifications(wide_images):
    for im in wide_images:
        calcs = np.array([(m.row, m.col) for c in im.clusters for m in c.calcifications] +
                         [(m.row, m.col) for m in im.isolated]).reshape(-1, 2)
        for a in im.artefacts:
            assert 0 <= a.row <= im.pixels.shape[0] - 1 and 0 <= a.col <= im.pixels.shape[1] - 1
            if len(calcs) and a.kind != ArtefactKind.FILM_BORDER:  # a strip's centre says little
                assert np.hypot(*(calcs - (a.row, a.col)).T).min() * im.spacing[0] > 2.0


def _noise(image, artefact):
    """Robust pixel noise round an artefact (MAD of horizontal differences / sqrt 2)."""
    d = np.diff(_window(image, artefact, 8), axis=1).ravel()
    return max(1.0, 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2))


@pytest.mark.parametrize(
    "kind, sigmas",
    [(ArtefactKind.DUST, 4.0), (ArtefactKind.HOT_PIXEL, 6.0)],
    ids=["dust", "hot_pixel"],
)
def test_specks_are_sharp_and_stand_out_of_the_noise(wide_images, kind, sigmas):
    # At the truth position, several noise sigmas above the pixels three away: sharper
    # than any detector blur, from faint to near white.
    found = _of(wide_images, kind)
    above_ring = np.array([(_value(im, a) - np.median(_ring(im, a, 3))) / _noise(im, a) for im, a in found])
    assert np.quantile(above_ring, 0.1) > sigmas
    assert above_ring.max() > 100  # and some near white


@pytest.mark.parametrize("kind", [ArtefactKind.DUST, ArtefactKind.HOT_PIXEL], ids=["dust", "hot_pixel"])
def test_specks_come_alone_and_in_clumps(wide_images, kind):
    found = _of(wide_images, kind)
    clumped = [sum(np.hypot(b.row - a.row, b.col - a.col) * im.spacing[0] < 8.0
                   for b in im.artefacts if b.kind == kind) >= 3 for im, a in found]
    assert any(clumped) and not all(clumped)


def test_fibres_are_far_brighter_than_their_surroundings(wide_images):
    found = _of(wide_images, ArtefactKind.FIBER)
    above_median = [(_value(im, a) - np.median(_window(im, a, 4))) / _maxv(im) for im, a in found]
    above_ring = [(_value(im, a) - np.median(_ring(im, a, 3))) / _maxv(im) for im, a in found]
    assert min(above_median) > 0.15
    assert min(above_ring) > 0.15


def test_labels_are_bright_text_beside_the_breast(wide_images):
    for im, a in _of(wide_images, ArtefactKind.LABEL):
        half = round(2.0 / im.spacing[0])
        r, c = round(a.row), round(a.col)
        assert _window(im, a, half).max() >= 0.7 * _maxv(im)
        assert im.breast_mask[max(0, r - half) : r + half + 1, max(0, c - half) : c + half + 1].mean() <= 0.5


def test_film_borders_are_flat_bright_or_dark_strips_at_an_edge(wide_images):
    for im, a in _of(wide_images, ArtefactKind.FILM_BORDER):
        value = _value(im, a) / _maxv(im)
        to_edge = min(a.row, a.col, im.pixels.shape[0] - 1 - a.row, im.pixels.shape[1] - 1 - a.col)
        assert value >= 0.75 or value <= 0.06
        assert _window(im, a, 1).std() <= 0.01 * _maxv(im)
        assert to_edge * im.spacing[0] <= 3.5


def test_skin_markers_are_bright_and_on_the_skin_line(wide_images):
    for im, a in _of(wide_images, ArtefactKind.MARKER):
        near = _window(im, a, round(5.0 / im.spacing[0]))
        half = round(1.5 / im.spacing[0])
        r, c = round(a.row), round(a.col)
        skin = im.breast_mask[r - half : r + half + 1, c - half : c + half + 1]
        assert near.max() - np.median(near) > 0.3 * _maxv(im)
        assert skin.any() and not skin.all()
