"""The wide domain: drawn per image, reproducible, truth exact after the acquisition chain."""

import json

import cv2
import numpy as np
import pytest

from calcdetect import synth
from calcdetect.cli import main
from calcdetect.io import read_mammogram
from calcdetect.lexicon import Category, Distribution, Morphology
from calcdetect.synth import Domain, Source, SynthSettings
from calcdetect.synth.calcifications import _draw_content
from calcdetect.truth import image_to_dict, read_truth

WIDE = SynthSettings(scale=0.25, domain="wide")
FLAT_WIDE = SynthSettings(scale=0.25, domain="wide", texture=False)


def _image(seed, settings=WIDE, **kwargs):
    return synth.synthesize(rng=np.random.default_rng(seed), settings=settings, **kwargs)


def _maxv(image):
    return 2**image.bits_stored - 1


# ---------------------------------------------------------------- settings


def test_wide_defaults_make_normal_images_common_and_benign_clusters_frequent():
    assert WIDE.domain == Domain.WIDE
    assert (WIDE.normal_fraction, WIDE.benign_fraction) == (0.5, 0.6)
    assert WIDE.to_dict()["domain"] == "wide"
    assert SynthSettings(domain="wide", normal_fraction=0.1).normal_fraction == 0.1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"domain": "medium"}, "domain must be one of classic, wide"),
        ({"domain": "wide", "normal_fraction": 2.0}, "normal_fraction must be"),
    ],
    ids=["domain", "normal-fraction"],
)
def test_invalid_wide_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthSettings(**kwargs)


@pytest.mark.parametrize(
    "settings, source, match",
    [
        (SynthSettings(scale=0.25), "film", "needs settings.domain='wide'"),
        (WIDE, "xray", "source must be one of ffdm, film"),
    ],
    ids=["film-in-classic", "unknown-source"],
)
def test_invalid_source_is_refused(settings, source, match):
    with pytest.raises(ValueError, match=match):
        _image(0, settings, source=source)


def test_fixed_spacing_and_bits_are_kept_for_film():
    image = _image(3, SynthSettings(scale=0.25, domain="wide", spacing_mm=0.07, bits_stored=14), source="film")
    assert image.source == Source.FILM
    assert image.spacing == (0.07, 0.07)
    assert image.bits_stored == 14


# ---------------------------------------------------------------- reproducibility and content


def test_same_seed_gives_the_same_wide_image_and_truth():
    a, b = _image(5), _image(5)
    assert np.array_equal(a.pixels, b.pixels)
    assert (a.clusters, a.isolated, a.artefacts, a.acquisition) == (b.clusters, b.isolated, b.artefacts, b.acquisition)


def test_different_seeds_give_different_wide_images():
    assert not np.array_equal(_image(5).pixels, _image(6).pixels)


def test_wide_set_draws_every_source_and_processing(wide_images):
    acquisitions = [im.acquisition for im in wide_images]
    assert {a.source for a in acquisitions} == set(Source)
    digital = [a for a in acquisitions if a.source == Source.FFDM]
    assert any(a.export_bits == 8 for a in digital)
    assert any(a.clip_fraction > 0 for a in digital)
    assert any(a.unsharp_amount is not None for a in digital)
    assert any(a.equalisation is not None for a in digital)
    assert any(not a.processed for a in digital)


def test_about_half_of_wide_images_are_normal(wide_images):
    rng = np.random.default_rng(0)
    drawn = [_draw_content(rng, WIDE)[0] for _ in range(400)]
    assert np.mean([not specs for specs in drawn]) == pytest.approx(0.5, abs=0.07)
    assert 0.3 <= np.mean([im.is_normal for im in wide_images]) <= 0.7


def test_wide_draws_every_benign_pattern():
    rng = np.random.default_rng(1)
    benign = {s.morphology for _ in range(400) for s in _draw_content(rng, WIDE)[0] if s.morphology.value in {
        "vascular", "coarse", "rim", "skin", "large_rodlike"}}
    assert benign == {Morphology.VASCULAR, Morphology.COARSE, Morphology.RIM, Morphology.SKIN, Morphology.LARGE_RODLIKE}


def test_calcified_vessels_come_in_every_length_and_dash_pattern():
    clusters = [_image(seed, clusters=[(Distribution.LINEAR, Morphology.VASCULAR)], isolated=0).clusters[0]
                for seed in range(8)]
    extents = [c.extent_mm for c in clusters]
    pieces = [m.length_mm for c in clusters for m in c.calcifications]
    assert all(c.category == Category.BENIGN for c in clusters)
    assert min(extents) < 8.0 and max(extents) > 20.0
    assert min(pieces) < 1.5 and max(pieces) > 5.0


# ---------------------------------------------------------------- truth after the chain


def _excess(peak_over_background, image, cluster, calc):
    """Peak over the local background of a planted calcification, in noise std of its cluster."""
    sigma = np.median([m.contrast for m in cluster.calcifications]) / cluster.cnr
    inner, outer = round(0.45 / image.spacing[0]), round(0.75 / image.spacing[0])
    return peak_over_background(image.pixels, round(calc.row), round(calc.col), inner=inner, outer=outer) / sigma


@pytest.mark.parametrize("source", list(Source), ids=[str(s) for s in Source])
def test_truth_lands_on_bright_spots_after_film_or_processing(wide_images, source, peak_over_background):
    excess = [
        _excess(peak_over_background, im, cl, m)
        for im in wide_images
        if im.source == source
        for cl in im.clusters
        for m in cl.calcifications
        if m.length_mm <= 0.6 and m.contrast >= 6 * np.median([k.contrast for k in cl.calcifications]) / cl.cnr
    ]
    assert len(excess) > 10
    assert np.mean(np.array(excess) > 2) > 0.9


def _measured_cnr(image):
    """Median member contrast over the std of a flat breast round the cluster (quadratic fit, stripes removed)."""
    (cluster,) = image.clusters
    h = round(3.5 / image.spacing[0])
    r0, c0 = round(cluster.row), round(cluster.col)
    window = image.pixels[r0 - h : r0 + h, c0 - h : c0 + h].astype(float)
    yy, xx = np.mgrid[r0 - h : r0 + h, c0 - h : c0 + h]
    inside_mm = cv2.distanceTransform(image.breast_mask.astype(np.uint8), cv2.DIST_L2, 5) * image.spacing[0]
    keep = inside_mm[r0 - h : r0 + h, c0 - h : c0 + h] > 8.0  # off the skin roll-off
    for m in list(cluster.calcifications) + list(image.artefacts):
        keep &= np.hypot(yy - m.row, xx - m.col) > 0.8 / image.spacing[0]
    y, x = (yy[keep] - r0) / h, (xx[keep] - c0) / h
    design = np.column_stack([np.ones_like(y), y, x, y * y, x * x, x * y])
    residual = np.full(window.shape, np.nan)
    residual[keep] = window[keep] - design @ np.linalg.lstsq(design, window[keep], rcond=None)[0]
    if image.acquisition.banding is not None:  # digitiser stripes are structure, not noise
        axis = 1 if image.acquisition.banding == "rows" else 0
        valid = ~np.isnan(residual)
        total = np.where(valid, residual, 0.0).sum(axis=axis, keepdims=True)
        residual -= total / np.maximum(valid.sum(axis=axis, keepdims=True), 1)
    return np.median([m.contrast for m in cluster.calcifications]) / np.nanstd(residual)


# Seeds whose drawn chain has no unsharp masking (its halo round a bright cluster is
# structure, which a smooth fit cannot remove): film with its curve, grain and stripes
# along rows, columns or none, 12 and 16 bits; digital 8-bit exports with equalisation
# and tone curves, and 12-bit equalised ones.
CALIBRATION = [
    ("film", 15), ("film", 16), ("film", 18), ("film", 20),
    ("ffdm", 24), ("ffdm", 35), ("ffdm", 58), ("ffdm", 59),
]


@pytest.mark.parametrize("source, seed", CALIBRATION, ids=[f"{s}-{n}" for s, n in CALIBRATION])
def test_measured_noise_matches_the_cnr_recorded_in_the_stored_image(source, seed):
    image = _image(seed, FLAT_WIDE, source=source, clusters=[(Distribution.GROUPED, Morphology.PUNCTATE, 8.0)],
                   isolated=0)
    assert image.acquisition.unsharp_amount is None
    assert _measured_cnr(image) == pytest.approx(image.clusters[0].cnr, rel=0.2)


def test_forced_cluster_meets_its_cnr_in_the_stored_image():
    cnrs = [_image(seed, clusters=[(Distribution.GROUPED, Morphology.PUNCTATE, 8.0)], isolated=0).clusters[0].cnr
            for seed in range(6)]
    assert np.median(cnrs) == pytest.approx(8.0, rel=0.25)


def _calcs(image):
    return [m for c in image.clusters for m in c.calcifications] + list(image.isolated)


def _ring_fraction(mask, calc, spacing_mm):
    """Fraction of `mask` on a circle 1 mm beyond a calcification's half length."""
    radius = (0.5 * calc.length_mm + 1.0) / spacing_mm
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    rows = np.clip(np.round(calc.row + radius * np.sin(angles)).astype(int), 0, mask.shape[0] - 1)
    cols = np.clip(np.round(calc.col + radius * np.cos(angles)).astype(int), 0, mask.shape[1] - 1)
    return float(mask[rows, cols].mean())


def test_clipped_images_have_a_flat_top_and_no_calcification_in_it(wide_images):
    clipped = [im for im in wide_images if im.acquisition.clip_fraction > 0]
    assert len(clipped) >= 3
    for im in clipped:
        top = (im.pixels == _maxv(im)) & im.breast_mask
        assert top.sum() >= 0.3 * im.acquisition.clip_fraction * im.breast_mask.sum()
        _n, _labels, stats, _c = cv2.connectedComponentsWithStats(top.astype(np.uint8))
        assert stats[1:, cv2.CC_STAT_AREA].max() >= 20  # flat areas, not isolated saturated pixels
        # Calcifications are planted off the clipped tissue (large ones may saturate themselves).
        assert all(_ring_fraction(top, calc, im.spacing[0]) < 0.5 for calc in _calcs(im))


# ---------------------------------------------------------------- truth file and CLI


def test_wide_truth_adds_source_acquisition_and_artefacts(wide_images):
    image = next(im for im in wide_images if im.artefacts)
    entry = json.loads(json.dumps(image_to_dict(image.to_truth("synth_0000.dcm"))))
    keys = list(entry)
    assert keys[keys.index("chest_wall") + 1 : keys.index("chest_wall") + 3] == ["source", "acquisition"]
    assert keys[-1] == "artefacts"
    assert entry["source"] in ("ffdm", "film")
    assert all(set(a) == {"kind", "row", "col"} for a in entry["artefacts"])
    assert [a["kind"] for a in entry["artefacts"]] == [str(a.kind) for a in image.artefacts]


def test_wide_set_reads_back_with_the_same_pixels(tmp_path):
    truth_path = synth.make_set(tmp_path, n=2, seed=5, settings=WIDE)
    truth = read_truth(truth_path)
    assert truth.settings["domain"] == "wide"
    for i, entry in enumerate(truth.images):
        image = synth.synthesize(rng=synth.image_rng(5, i), settings=WIDE)
        mammogram = read_mammogram(tmp_path / entry.image_id)
        assert np.array_equal(mammogram.image, image.pixels.astype(np.float32))
        assert mammogram.bits_stored == image.bits_stored
        assert entry.source == image.source
        assert entry == image.to_truth(entry.image_id)


def test_cli_synth_makes_a_wide_set(tmp_path, capsys):
    code = main(["synth", "--out", str(tmp_path), "--n", "1", "--scale", "0.25", "--domain", "wide", "--seed", "3"])
    truth = read_truth(tmp_path / "truth.json")
    assert code == 0
    assert truth.settings["domain"] == "wide"
    assert truth.images[0].source is not None and truth.images[0].artefacts is not None
    assert "1 synthetic mammograms" in capsys.readouterr().out
