"""Tests of calcdetect.synth: synthetic mammograms and their ground truth."""

import json

import numpy as np
import pytest

from calcdetect import synth
from calcdetect.io import SpacingSource, read_mammogram
from calcdetect.lexicon import Category, Distribution, Morphology, category_of
from calcdetect.synth import ClusterSpec, Density, SynthSettings
from calcdetect.truth import read_truth

SMALL = SynthSettings(scale=0.25)
FLAT = SynthSettings(scale=0.25, texture=False)

SUSPICIOUS_OR_PUNCTATE = {
    Morphology.PUNCTATE,
    Morphology.AMORPHOUS,
    Morphology.COARSE_HETEROGENEOUS,
    Morphology.FINE_PLEOMORPHIC,
    Morphology.FINE_LINEAR_BRANCHING,
}

# Every (distribution, morphology) pair the random mix and the benign distractors use.
PAIRS = [
    (Distribution.GROUPED, Morphology.PUNCTATE),
    (Distribution.GROUPED, Morphology.ROUND),
    (Distribution.GROUPED, Morphology.AMORPHOUS),
    (Distribution.GROUPED, Morphology.COARSE_HETEROGENEOUS),
    (Distribution.GROUPED, Morphology.FINE_PLEOMORPHIC),
    (Distribution.GROUPED, Morphology.FINE_LINEAR_BRANCHING),
    (Distribution.LINEAR, Morphology.FINE_LINEAR_BRANCHING),
    (Distribution.LINEAR, Morphology.FINE_PLEOMORPHIC),
    (Distribution.SEGMENTAL, Morphology.FINE_LINEAR_BRANCHING),
    (Distribution.SEGMENTAL, Morphology.AMORPHOUS),
    (Distribution.REGIONAL, Morphology.COARSE_HETEROGENEOUS),
    (Distribution.REGIONAL, Morphology.PUNCTATE),
    (Distribution.DIFFUSE, Morphology.PUNCTATE),
    (Distribution.DIFFUSE, Morphology.AMORPHOUS),
    (Distribution.LINEAR, Morphology.VASCULAR),
    (Distribution.GROUPED, Morphology.COARSE),
    (Distribution.GROUPED, Morphology.SKIN),
]


def _ids(pairs):
    return [f"{d}-{m}" for d, m in pairs]


def _image(seed, settings=SMALL, **kwargs):
    return synth.synthesize(rng=np.random.default_rng(seed), settings=settings, **kwargs)


def _all_calcs(image):
    return [m for c in image.clusters for m in c.calcifications] + list(image.isolated)


@pytest.fixture(scope="module")
def default_images():
    """Eight small images with the default content mix."""
    return [_image(seed) for seed in range(8)]


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("set")
    truth_path = synth.make_set(out, n=3, seed=11, settings=SMALL)
    return out, truth_path


# ---------------------------------------------------------------- shape, range, header


def test_image_arrays_have_the_documented_shapes_and_types():
    image = _image(0)
    assert image.pixels.dtype == np.uint16
    assert image.pixels.shape == SMALL.image_shape == (1024, 832)
    assert image.breast_mask.dtype == bool
    assert image.breast_mask.shape == image.pixels.shape


@pytest.mark.parametrize("bits", [12, 14], ids=["12bit", "14bit"])
def test_values_use_most_of_bits_stored_and_background_is_dark(bits):
    image = _image(1, SynthSettings(scale=0.25, bits_stored=bits))
    pixels = image.pixels
    assert image.bits_stored == bits
    assert int(pixels.max()) < 2**bits
    assert np.percentile(pixels[image.breast_mask], 99) > 0.6 * 2**bits
    assert pixels[~image.breast_mask].mean() < 0.06 * 2**bits


@pytest.mark.parametrize("laterality, side", [("L", "left"), ("R", "right")], ids=["L", "R"])
def test_chest_wall_is_on_the_side_of_the_laterality(laterality, side):
    image = _image(2, laterality=laterality)
    mask = image.breast_mask
    edge = mask[:, 0] if side == "left" else mask[:, -1]
    far = mask[:, -1] if side == "left" else mask[:, 0]
    assert image.chest_wall == side
    assert edge.mean() > 0.5  # the breast leans on the chest-wall edge
    assert not far.any()
    assert mask[int(image.nipple[0])].any()


def test_right_breast_is_the_mirror_of_the_left_one():
    left = _image(3, laterality="L")
    right = _image(3, laterality="R")
    cols = left.pixels.shape[1]
    assert np.array_equal(right.pixels, left.pixels[:, ::-1])
    assert right.nipple[1] == pytest.approx(cols - 1 - left.nipple[1], abs=1e-6)
    for a, b in zip(_all_calcs(left), _all_calcs(right)):
        assert (b.row, b.col) == pytest.approx((a.row, cols - 1 - a.col), abs=2e-3)


def test_mlo_has_a_bright_pectoral_wedge_in_the_upper_chest_wall_corner():
    image = _image(4, view="MLO", laterality="L")
    pect = image.pectoral_mask
    rows, cols = pect.shape
    assert pect[0, 0] and pect[:, 0].sum() < 0.8 * rows  # touches the top, ends on the chest wall
    assert not pect[rows // 2 :, cols // 2 :].any()
    tissue = image.breast_mask & ~pect
    assert image.pixels[pect].mean() > image.pixels[tissue].mean()


def test_cc_has_no_pectoral_mask():
    assert _image(4, view="CC").pectoral_mask is None


def test_denser_classes_are_brighter():
    # Same anatomy and exposure draws, only the glandular fraction changes.
    images = [_image(5, density=d, normal=True, isolated=0) for d in Density]
    brightness = [float(im.pixels[im.breast_mask].mean()) for im in images]
    assert [im.density for im in images] == list(Density)
    assert np.all(np.diff(brightness) > 0)


# ---------------------------------------------------------------- reproducibility


def test_same_rng_seed_gives_the_same_image_and_truth():
    a, b = _image(6), _image(6)
    assert np.array_equal(a.pixels, b.pixels)
    assert a.clusters == b.clusters
    assert a.isolated == b.isolated


def test_different_seeds_give_different_images():
    assert not np.array_equal(_image(6).pixels, _image(7).pixels)


def test_set_image_is_synthesize_with_the_image_rng(small_set):
    out, truth_path = small_set
    truth = read_truth(truth_path)
    image = synth.synthesize(rng=synth.image_rng(11, 2), settings=SMALL)
    mammogram = read_mammogram(out / "synth_0002.dcm")
    assert np.array_equal(mammogram.image, image.pixels.astype(np.float32))
    assert truth.images[2] == image.to_truth("synth_0002.dcm")


def test_set_made_in_parts_equals_set_made_at_once(small_set, tmp_path):
    _, whole = small_set
    synth.make_set(tmp_path, n=2, seed=11, settings=SMALL)
    parts = synth.make_set(tmp_path, n=1, seed=11, settings=SMALL, start=2)
    assert parts.read_text() == whole.read_text()


def test_make_set_refuses_to_mix_two_sets(small_set):
    out, _ = small_set
    with pytest.raises(ValueError, match="another seed or settings"):
        synth.make_set(out, n=1, seed=12, settings=SMALL)


# ---------------------------------------------------------------- files


def test_dicom_reads_back_with_the_same_pixels_spacing_and_header(small_set):
    out, truth_path = small_set
    entry = read_truth(truth_path).images[0]
    mammogram = read_mammogram(out / entry.image_id)
    image = synth.synthesize(rng=synth.image_rng(11, 0), settings=SMALL)
    assert np.array_equal(mammogram.image, image.pixels.astype(np.float32))
    assert mammogram.spacing == image.spacing == entry.spacing_mm
    assert mammogram.spacing_source == SpacingSource.IMAGER_PIXEL_SPACING
    assert (mammogram.laterality, mammogram.view) == (entry.laterality, entry.view)
    assert mammogram.bits_stored == image.bits_stored
    assert mammogram.metadata["modality"] == "MG"


@pytest.mark.parametrize(
    "photometric, compress",
    [("MONOCHROME1", True), ("MONOCHROME2", False)],
    ids=["monochrome1-jpegls", "monochrome2-raw"],
)
def test_other_encodings_read_back_the_same(tmp_path, photometric, compress):
    settings = SynthSettings(scale=0.25, photometric=photometric, compress=compress)
    synth.make_set(tmp_path, n=1, seed=3, settings=settings)
    mammogram = read_mammogram(tmp_path / "synth_0000.dcm")
    image = synth.synthesize(rng=synth.image_rng(3, 0), settings=settings)
    assert mammogram.metadata["photometric"] == photometric
    assert np.array_equal(mammogram.image, image.pixels.astype(np.float32))


def test_truth_json_follows_the_documented_format(small_set):
    _, truth_path = small_set
    truth = json.loads(truth_path.read_text())
    assert truth["format_version"] == 1
    assert truth["generator"] == "calcdetect.synth"
    assert truth["seed"] == 11
    assert truth["settings"]["n"] == 3
    assert truth["settings"]["scale"] == 0.25
    assert [e["image_id"] for e in truth["images"]] == ["synth_0000.dcm", "synth_0001.dcm", "synth_0002.dcm"]
    image_keys = {"image_id", "rows", "columns", "spacing_mm", "laterality", "view", "density", "nipple",
                  "chest_wall", "clusters", "isolated"}
    cluster_keys = {"cluster_id", "category", "distribution", "morphology", "extent_mm", "cnr", "row", "col",
                    "calcifications"}
    calc_keys = {"row", "col", "diameter_mm", "length_mm", "width_mm", "contrast"}
    for entry in truth["images"]:
        assert set(entry) == image_keys
        for cluster in entry["clusters"]:
            assert set(cluster) == cluster_keys
            assert cluster["category"] == category_of(cluster["morphology"])
            assert all(set(c) == calc_keys for c in cluster["calcifications"])
        assert all(set(c) == calc_keys for c in entry["isolated"])


def test_read_truth_rejects_another_format_version(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"format_version": 2, "images": []}))
    with pytest.raises(ValueError, match="format_version 2 is not supported"):
        read_truth(path)


# ---------------------------------------------------------------- content


@pytest.mark.parametrize("pair", PAIRS, ids=_ids(PAIRS))
def test_forced_pair_is_planted_with_its_cnr(pair):
    distribution, morphology = pair
    image = _image(8, clusters=[(distribution, morphology, 9.0)], isolated=0)
    (cluster,) = image.clusters
    assert (cluster.distribution, cluster.morphology) == pair
    assert cluster.category == category_of(morphology)
    # The asked CNR is met, or exceeded where calcium of that size cannot be fainter.
    assert cluster.cnr >= 9.0 - 1e-3
    assert len(cluster.calcifications) >= 2


@pytest.mark.parametrize(
    ("morphology", "exact"),
    [(Morphology.AMORPHOUS, True), (Morphology.ROUND, False), (Morphology.COARSE_HETEROGENEOUS, False)],
    ids=["amorphous-as-asked", "round-brighter", "coarse-heterogeneous-brighter"],
)
def test_large_calcium_is_not_drawn_implausibly_faint(morphology, exact):
    image = _image(8, clusters=[(Distribution.GROUPED, morphology, 3.0)], isolated=0)
    (cluster,) = image.clusters
    if exact:
        assert cluster.cnr == pytest.approx(3.0, abs=1e-3)
    else:
        assert cluster.cnr > 6.0  # 0.5-1 mm of calcium at >= 0.8 / mm is conspicuous


def test_benign_distractors_are_benign():
    image = _image(9, clusters=[ClusterSpec(Distribution.LINEAR, Morphology.VASCULAR)])
    assert image.clusters[0].category == Category.BENIGN


def test_normal_image_has_no_cluster():
    image = _image(10, normal=True)
    assert image.is_normal and image.clusters == ()


def test_calcifications_are_inside_the_breast_and_off_the_muscle(default_images):
    for image in default_images:
        rows, cols = image.pixels.shape
        margin = 5.0 / image.spacing[0] - 1
        for calc in _all_calcs(image):
            r, c = round(calc.row), round(calc.col)
            assert image.breast_mask[r, c]
            assert image.pectoral_mask is None or not image.pectoral_mask[r, c]
            assert margin <= calc.row <= rows - 1 - margin and margin <= calc.col <= cols - 1 - margin


def test_extent_and_centre_follow_the_documented_formulas(default_images):
    for image in default_images:
        for cluster in image.clusters:
            pts = np.array([(m.row, m.col) for m in cluster.calcifications]) * image.spacing
            span = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).max()
            diameter = np.mean([m.diameter_mm for m in cluster.calcifications])
            assert cluster.extent_mm == pytest.approx(span + diameter, abs=2e-3)
            assert cluster.row == pytest.approx(np.mean([m.row for m in cluster.calcifications]), abs=2e-3)
            assert cluster.col == pytest.approx(np.mean([m.col for m in cluster.calcifications]), abs=2e-3)


def test_member_sizes_follow_the_lexicon():
    # Grouped clusters of each speck class: equivalent diameters in the lexicon's ranges (mm).
    limits = {
        Morphology.PUNCTATE: (0.1, 0.5),
        Morphology.ROUND: (0.45, 1.05),
        Morphology.AMORPHOUS: (0.05, 0.3),
        Morphology.FINE_PLEOMORPHIC: (0.05, 0.55),
        Morphology.COARSE_HETEROGENEOUS: (0.3, 1.1),
        Morphology.COARSE: (1.5, 4.5),
    }
    specs = [(Distribution.GROUPED, m) for m in limits]
    image = _image(12, settings=SynthSettings(scale=0.5), clusters=specs, isolated=0)
    for cluster in image.clusters:
        lo, hi = limits[cluster.morphology]
        assert all(lo <= m.diameter_mm <= hi for m in cluster.calcifications), cluster.morphology


def test_fine_linear_branching_members_are_thin_and_long():
    image = _image(13, clusters=[(Distribution.LINEAR, Morphology.FINE_LINEAR_BRANCHING)], isolated=0)
    members = image.clusters[0].calcifications
    caliber = [np.pi / 4 * m.diameter_mm**2 / m.length_mm for m in members]  # area / length, mm
    assert max(m.length_mm for m in members) > 1.0
    assert max(caliber) < 0.35


def test_default_mix_covers_every_suspicious_class_and_distribution():
    # Twenty small images with the default mix, as `make_set` draws them.
    images = [synth.synthesize(rng=synth.image_rng(0, i), settings=SMALL) for i in range(20)]
    morphologies = {c.morphology for im in images for c in im.clusters}
    distributions = {c.distribution for im in images for c in im.clusters}
    assert SUSPICIOUS_OR_PUNCTATE <= morphologies
    assert set(Distribution) <= distributions
    assert any(im.is_normal for im in images)
    assert any(c.category == Category.BENIGN for im in images for c in im.clusters)


# ---------------------------------------------------------------- contrast and noise


def _peak(peak_over_background, image, calc):
    return peak_over_background(image.pixels, round(calc.row), round(calc.col), inner=6, outer=10)


def test_truth_lands_on_bright_spots_in_a_flat_breast(peak_over_background):
    specs = [(Distribution.GROUPED, Morphology.PUNCTATE, 8.0), (Distribution.GROUPED, Morphology.FINE_PLEOMORPHIC, 8.0)]
    image = _image(14, settings=FLAT, clusters=specs, isolated=0)
    for cluster in image.clusters:
        sigma = np.median([m.contrast for m in cluster.calcifications]) / cluster.cnr
        visible = [m for m in cluster.calcifications if m.contrast >= 4 * sigma]
        assert len(visible) >= 3
        for calc in visible:
            assert _peak(peak_over_background, image, calc) > 0.5 * calc.contrast


def test_truth_lands_on_bright_spots_in_textured_breasts(default_images, peak_over_background):
    # Small specks planted well above the noise stand out of the local background.
    excess = []
    for image in default_images:
        for cluster in image.clusters:
            sigma = np.median([m.contrast for m in cluster.calcifications]) / cluster.cnr
            excess += [
                _peak(peak_over_background, image, m) / sigma
                for m in cluster.calcifications
                if m.length_mm <= 1.0 and m.contrast >= 6 * sigma
            ]
    assert len(excess) > 40
    assert np.mean(np.array(excess) > 2) > 0.9


@pytest.mark.parametrize("seed", [15, 16, 17], ids=["seed15", "seed16", "seed17"])
def test_measured_noise_matches_the_cnr_calibration(seed):
    image = _image(seed, settings=FLAT, clusters=[(Distribution.GROUPED, Morphology.PUNCTATE, 8.0)], isolated=0)
    (cluster,) = image.clusters
    r0, c0, h = round(cluster.row), round(cluster.col), 48
    window = image.pixels[r0 - h : r0 + h, c0 - h : c0 + h].astype(float)
    yy, xx = np.mgrid[r0 - h : r0 + h, c0 - h : c0 + h]
    keep = image.breast_mask[r0 - h : r0 + h, c0 - h : c0 + h].copy()
    for m in cluster.calcifications:
        keep &= np.hypot(yy - m.row, xx - m.col) > 1.5 / image.spacing[0]
    design = np.column_stack([np.ones(keep.sum()), yy[keep], xx[keep]])
    residual = window[keep] - design @ np.linalg.lstsq(design, window[keep], rcond=None)[0]
    measured_cnr = np.median([m.contrast for m in cluster.calcifications]) / residual.std()
    assert measured_cnr == pytest.approx(cluster.cnr, rel=0.2)


def test_cnr_spans_near_threshold_to_obvious():
    cnrs = [c.cnr for seed in range(12) for c in _image(seed).clusters if c.morphology != Morphology.COARSE]
    assert min(cnrs) < 6 and max(cnrs) > 12
    assert 3.0 <= min(cnrs)
    faint = [c.cnr for seed in range(12) for c in _image(seed).clusters if c.morphology == Morphology.AMORPHOUS]
    assert faint and max(faint) <= 15.0


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale": 0.0}, "scale must be in"),
        ({"scale": 0.05}, "at least 256 px"),
        ({"spacing_mm": -0.1}, "spacing_mm must be"),
        ({"bits_stored": 10}, "bits_stored must be"),
        ({"normal_fraction": 1.5}, "normal_fraction must be"),
        ({"cnr_range": (5.0, 2.0)}, "cnr_range must be"),
        ({"photometric": "RGB"}, "photometric must be"),
        ({"shape": (100,)}, "shape must be"),
    ],
    ids=["scale-zero", "too-small", "spacing", "bits", "normal-fraction", "cnr-range", "photometric", "shape"],
)
def test_invalid_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthSettings(**kwargs)


def test_a_pair_that_makes_no_sense_is_refused():
    with pytest.raises(ValueError, match="cannot be planted as diffuse"):
        ClusterSpec(Distribution.DIFFUSE, Morphology.FINE_LINEAR_BRANCHING)


def test_normal_and_forced_clusters_are_exclusive():
    with pytest.raises(ValueError, match="cannot be combined"):
        _image(0, normal=True, clusters=[(Distribution.GROUPED, Morphology.PUNCTATE)])


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        synth.synthesize(rng=0)


def test_fixed_spacing_is_used():
    image = _image(0, settings=SynthSettings(scale=0.25, spacing_mm=0.05))
    assert image.spacing == (0.05, 0.05)


@pytest.mark.slow
def test_full_size_image():
    image = synth.synthesize(rng=np.random.default_rng(0))
    assert image.pixels.shape == (4096, 3328)
    assert all(image.breast_mask[round(m.row), round(m.col)] for m in _all_calcs(image))
