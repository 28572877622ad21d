"""Saturated plateaus of clipped exports: found, left out of the search, and reported."""

import cv2
import numpy as np
import pytest

from calcdetect.batch import process_file
from calcdetect.io import write_mammogram
from calcdetect.pipeline import detect
from calcdetect.saturation import SATURATED_MARGIN_MM, saturated_plateaus, without_plateaus
from calcdetect.synth import SynthSettings, synthesize

SPACING = (0.07, 0.07)


def _breast(seed):
    planted = synthesize(rng=np.random.default_rng(seed), clusters=[("grouped", "punctate", 12.0)], isolated=0,
                         settings=SynthSettings(scale=0.5, spacing_mm=SPACING[0], bits_stored=14), view="CC")
    return planted.pixels.astype(np.float32), planted.breast_mask, planted.clusters[0]


def _clip(image, mask, percent):
    """A windowed export: the top `percent` % of the breast's grey levels clipped to one value."""
    return np.minimum(image, np.percentile(image[mask], 100 - percent))


def test_a_clipped_image_has_plateaus_and_an_unclipped_one_none():
    rng = np.random.default_rng(1)
    image = rng.normal(1000, 10, (1000, 1000)).astype(np.float32)  # 70 x 70 mm
    assert not saturated_plateaus(image, spacing=SPACING).any()
    # A white rod (1 x 8 mm) and a white speck at the maximum: the brightest calcifications of
    # an unclipped image, 0.2 % of it.
    cv2.line(image, (100, 100), (100 + 114, 100), 5000.0, 14)
    image[700:703, 700:703] = 5000.0
    assert not saturated_plateaus(image, spacing=SPACING).any()
    # Clipped: 2 % of the image flat at the top, in two blocks; the lone white speck (0.04 mm^2)
    # is no plateau and keeps its chance.
    image[200:290, 200:290] = 5000.0
    image[20:50, 300:680] = 5000.0
    plateaus = saturated_plateaus(image, spacing=SPACING)
    assert plateaus[200:290, 200:290].all() and plateaus[20:50, 300:680].all()
    assert not plateaus[700:703, 700:703].any()
    margin = round(SATURATED_MARGIN_MM / SPACING[0])
    searched = without_plateaus(np.ones(image.shape, bool), plateaus, spacing=SPACING)
    assert not searched[200 - margin:290 + margin, 245].any() and searched[200 - margin - 2, 245]


@pytest.mark.parametrize("percent", [2, 5, 10], ids=["clip-2pc", "clip-5pc", "clip-10pc"])
@pytest.mark.parametrize("seed", [52, 53], ids=["breast-52", "breast-53"])
def test_clipping_dense_tissue_adds_no_cluster_and_keeps_the_planted_one(seed, percent):
    image, mask, truth = _breast(seed)
    before = detect(image, spacing=SPACING)
    after = detect(_clip(image, mask, percent), spacing=SPACING)
    assert len(after.clusters) == len(before.clusters) == 1
    for result in (before, after):
        assert np.hypot(result.clusters.row[0] - truth.row, result.clusters.col[0] - truth.col) * SPACING[0] < 5
    assert after.descriptions.morphology[0] == before.descriptions.morphology[0]
    assert after.saturated_fraction > 0.25 * percent / 100 and before.saturated_fraction == 0


def test_the_batch_warns_of_the_saturated_fraction(tmp_path):
    image, mask, _ = _breast(52)
    clipped = _clip(image, mask, 5)
    path = write_mammogram(tmp_path / "clipped.dcm", np.round(clipped).astype(np.uint16), spacing=SPACING,
                           bits_stored=14, view="CC", laterality="L")
    warnings = process_file(path, image_id="clipped.dcm").image["warnings"]
    assert "% of the searched breast is saturated flat" in warnings
