import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.specks.candidates import find_specks
from calcdetect.filters import white_tophat
from calcdetect.pipeline import Params, detect


def _noisy_background(shape, rng, sigma=10.0):
    return rng.normal(1000.0, sigma, shape)


@pytest.mark.parametrize("spacing_mm", [0.07, 0.1], ids=["0.07mm", "0.1mm"])
@pytest.mark.parametrize("diameter_mm", [0.3, 0.5], ids=["d0.3", "d0.5"])
def test_planted_speck_found_at_right_place_with_right_area(disks, spacing_mm, diameter_mm):
    rng = np.random.default_rng(11)
    center = (140.3, 121.6)
    coverage = disks((280, 260), [center], [diameter_mm / spacing_mm])
    image = _noisy_background(coverage.shape, rng) + 250.0 * coverage
    spacing = (spacing_mm, spacing_mm)
    specks = find_specks(white_tophat(image, 0.6, spacing=spacing), spacing=spacing, threshold=6.0)

    assert len(specks) == 1
    pixel_area = spacing_mm**2
    assert abs(specks.row[0] - center[0]) < 0.5
    assert abs(specks.col[0] - center[1]) < 0.5
    true_area = coverage.sum() * pixel_area  # the rendered disk, pi d^2 / 4 to within 0.1 %
    assert specks.area_mm2[0] == pytest.approx(true_area, abs=pixel_area)
    assert specks.diameter_mm[0] == pytest.approx(diameter_mm, abs=spacing_mm / 2)
    assert specks.length_mm[0] == pytest.approx(diameter_mm, abs=spacing_mm)
    assert specks.width_mm[0] == pytest.approx(diameter_mm, abs=spacing_mm)


def test_elongated_speck_has_length_and_width(disks):
    # A row of overlapping disks: a rod 0.2 mm wide and about 1.2 mm long.
    centers = [(60.0, 40.0 + k) for k in range(15)]
    coverage = np.minimum(disks((120, 100), centers, [2.86] * 15), 1.0)
    image = 1000.0 + 300.0 * coverage + np.random.default_rng(2).normal(0, 5, coverage.shape)
    specks = find_specks(white_tophat(image, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07))
    assert len(specks) == 1
    assert specks.length_mm[0] == pytest.approx(14 * 0.07 + 0.2, rel=0.15)
    assert specks.width_mm[0] == pytest.approx(0.2, abs=0.07)


@pytest.mark.parametrize("angle_deg", [0, 30, 90, -60], ids=["along-rows", "30deg", "along-cols", "-60deg"])
def test_elongated_speck_orientation(disks, angle_deg):
    # A rod 1 mm long at a known angle from the row axis (towards the column axis).
    theta = np.radians(angle_deg)
    centers = [(60.0 + t * np.cos(theta), 60.0 + t * np.sin(theta)) for t in np.linspace(-7, 7, 29)]
    coverage = np.minimum(disks((120, 120), centers, [2.86] * len(centers)), 1.0)
    image = 1000.0 + 300.0 * coverage + np.random.default_rng(3).normal(0, 5, coverage.shape)
    specks = find_specks(white_tophat(image, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07))
    assert len(specks) == 1
    # Angles are axial: compare modulo pi.
    error = (specks.orientation[0] - theta + np.pi / 2) % np.pi - np.pi / 2
    assert abs(error) < np.radians(3)


@pytest.mark.parametrize("scale", [1.0, 4.0, 16.0], ids=["12bit", "14bit", "16bit"])
def test_threshold_is_relative_to_noise_so_bit_depth_does_not_matter(disks, scale):
    rng = np.random.default_rng(7)
    centers = [(40.0, 40.0), (40.0, 120.0), (120.0, 40.0), (120.0, 120.0)]
    coverage = disks((160, 160), centers, [5, 5, 5, 5])
    base = _noisy_background(coverage.shape, rng, sigma=10.0) + 120.0 * coverage
    image = base * scale
    specks = find_specks(white_tophat(image, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07), threshold=6.0)
    reference = find_specks(white_tophat(base, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07), threshold=6.0)
    assert len(specks) == len(reference) == 4
    np.testing.assert_allclose(specks.contrast, reference.contrast, rtol=1e-4)


def test_pure_noise_gives_few_specks():
    rng = np.random.default_rng(8)
    image = _noisy_background((1000, 1000), rng)  # 49 cm^2 at 0.07 mm
    specks = find_specks(white_tophat(image, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07),
                         threshold=Params().threshold)
    assert len(specks) / 49.0 < 0.5  # false specks per cm^2


def test_mask_drops_specks_outside(disks):
    coverage = disks((100, 100), [(50.0, 20.0), (50.0, 80.0)], [5, 5])
    image = 1000.0 + 200.0 * coverage + np.random.default_rng(1).normal(0, 5, coverage.shape)
    mask = np.zeros(image.shape, bool)
    mask[:, :50] = True
    specks = find_specks(white_tophat(image, 0.6, spacing=(0.07, 0.07)), spacing=(0.07, 0.07), mask=mask)
    assert len(specks) == 1
    assert specks.col[0] == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize("shift", [(0, 0), (7, -3), (20, 11)], ids=["none", "small", "large"])
def test_shifting_the_image_shifts_the_specks(disks, shift):
    rng = np.random.default_rng(9)
    coverage = disks((200, 200), [(70.2, 80.7), (120.0, 60.4), (90.5, 130.1)], [4, 6, 8])
    image = 1000.0 + 150.0 * coverage + rng.normal(0, 5, coverage.shape)
    shifted = np.roll(image, shift, axis=(0, 1))
    a = detect(image, spacing=(0.07, 0.07), mask=np.ones(image.shape, bool)).specks
    b = detect(shifted, spacing=(0.07, 0.07), mask=np.ones(image.shape, bool)).specks
    assert len(a) == len(b) == 3
    order_a, order_b = np.argsort(a.row), np.argsort(b.row)
    np.testing.assert_allclose(b.row[order_b], a.row[order_a] + shift[0], atol=0.05)
    np.testing.assert_allclose(b.col[order_b], a.col[order_a] + shift[1], atol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0}, "threshold must be > 0; got 0.0"),
        ({"threshold": 3, "low_threshold": 4}, r"low_threshold must be <= threshold \(3.0\); got 4.0"),
        ({"mask": np.ones((3, 3), bool)}, r"mask shape \(3, 3\) differs from response shape \(20, 20\)"),
    ],
    ids=["zero-threshold", "low-above-high", "mask-shape"],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_specks(np.zeros((20, 20)), spacing=(0.1, 0.1), **kwargs)


def test_reference_backend_gives_identical_specks(disks):
    rng = np.random.default_rng(12)
    coverage = disks((200, 180), [(50.0, 60.0), (120.5, 90.2), (150.0, 45.0)], [4, 7, 3])
    image = _noisy_background(coverage.shape, rng) + 150.0 * coverage
    fast = detect(image, spacing=(0.07, 0.07), params=Params(threshold=8, fp_model=False))
    slow = detect(image, spacing=(0.07, 0.07), params=Params(threshold=8, backend="reference", fp_model=False))
    assert len(fast.specks) == len(slow.specks) >= 3
    np.testing.assert_allclose(fast.specks.row, slow.specks.row)
    np.testing.assert_allclose(fast.specks.area_mm2, slow.specks.area_mm2)


def test_speck_on_a_flat_response_is_dropped_not_nan(disks):
    # Found on the detection image, a speck where the response is flat at its local level
    # (a clipped export, a saturated region) has no weight to be measured by: dropped,
    # with no NaN row and no warning.
    rng = np.random.default_rng(9)
    spacing = (0.07, 0.07)
    detection = rng.normal(0.0, 1.0, (400, 400)) + 30 * disks((400, 400), [(100, 100), (300, 300)], [6, 6])
    response = rng.normal(0.0, 1.0, (400, 400)) + 30 * disks((400, 400), [(300, 300)], [6])
    response[:200, :200] = 0.0  # flat (a clipped region's top-hat) where the detection has a speck
    specks = find_specks(response, spacing=spacing, detection=detection)
    assert np.all(np.hypot(specks.row - 100, specks.col - 100) > 10)
    assert np.any(np.hypot(specks.row - 300, specks.col - 300) < 1.5)
    assert all(np.isfinite(getattr(specks, name)).all() for name in ("row", "col", "area_mm2", "length_mm"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_diameter_mm": 1.0}, r"min_diameter_mm must be < max_diameter_mm; got 1.0 and 1.0"),
     ({"max_length_mm": 0.5}, r"max_length_mm must be >= max_diameter_mm \(1.0\).*got 0.5"),
     ({"min_confidence": 1.0}, r"min_confidence must be a number in \[0, 1\); got 1.0")],
    ids=["diameter-window", "length-below-width", "confidence"],
)
def test_bad_detection_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Params(**kwargs)


@pytest.mark.parametrize("seed", [1, 2, 3, 4], ids=["seed1", "seed2", "seed3", "seed4"])
def test_no_speck_is_thinner_than_a_pixel(seed):
    """Tiny faint specks on noise (signed weights can break Cauchy-Schwarz of the raw moments)
    are never measured thinner than a pixel's own extent, 4 sqrt(1/12) px: a one-pixel-wide
    speck is not a line of zero width."""
    rng = np.random.default_rng(seed)
    spacing = (0.07, 0.09)
    response = rng.normal(0.0, 1.0, (300, 300))
    for r, c in rng.integers(20, 280, (40, 2)):
        response[r, c] += 7.0
        response[r, c + 1] += 5.0  # two-pixel specks
    specks = find_specks(response, spacing=spacing, threshold=4.0, min_diameter_mm=0.01)
    assert len(specks) >= 20
    assert specks.width_mm.min() >= 4 * np.sqrt(1 / 12) * min(spacing) * (1 - 1e-9)
    assert np.all(specks.length_mm >= specks.width_mm)


def _ring(disks, shape, centre, diameter_px, shell_px, *, open_deg=0.0):
    """Coverage of a ring (a disk less its inner disk), with an `open_deg` gap facing +col."""
    ring = disks(shape, [centre], [diameter_px]) - disks(shape, [centre], [diameter_px - 2 * shell_px])
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    angle = np.degrees(np.abs(np.arctan2(rows - centre[0], cols - centre[1])))
    return ring * (angle >= open_deg / 2)


@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
@pytest.mark.parametrize("diameter_mm", [1.5, 3.0], ids=["d1.5", "d3.0"])
@pytest.mark.parametrize("form, kept", [("ring", True), ("disk", False), ("c-270deg", False)],
                         ids=["ring", "disk", "c-270deg"])
def test_a_rim_wider_than_the_size_window_is_kept_whole_but_a_disk_or_an_open_ring_is_not(disks, seed, diameter_mm,
                                                                                            form, kept):
    # A rim calcification's thin shell (0.25 mm) closed round a lucent centre is as wide as
    # long, wider than the 1 mm size window: kept whole, centred on the lucent centre. A
    # solid disk (no hollow centre) and a ring open over 90 degrees (a C, whose centroid
    # also falls off its pixels) are not.
    rng = np.random.default_rng(seed)
    spacing = (0.07, 0.07)
    centre = (150.2, 149.7)
    if form == "disk":
        coverage = disks((300, 300), [centre], [diameter_mm / spacing[0]])
    else:
        coverage = _ring(disks, (300, 300), centre, diameter_mm / spacing[0], 0.25 / spacing[0],
                         open_deg=90.0 if form == "c-270deg" else 0.0)
    response = rng.normal(0.0, 10.0, coverage.shape) + 250.0 * coverage
    found = find_specks(response, spacing=spacing, threshold=6.0, max_diameter_mm=1.0)
    wide = found.take(found.width_mm > 1.0)
    assert len(wide) == (1 if kept else 0)
    if kept:
        assert len(found) == 1
        assert (wide.row[0], wide.col[0]) == pytest.approx(centre, abs=1.0)


@pytest.mark.parametrize("diameter_mm", [5.0, 10.0], ids=["d5", "d10-oil-cyst"])
def test_a_ring_above_the_largest_rim_is_not_kept(disks, diameter_mm):
    spacing = (0.1, 0.1)
    coverage = _ring(disks, (400, 400), (200.0, 200.0), diameter_mm / spacing[0], 3.0)
    response = np.random.default_rng(5).normal(0.0, 10.0, coverage.shape) + 250.0 * coverage
    assert len(find_specks(response, spacing=spacing, threshold=6.0, max_diameter_mm=1.0, max_length_mm=20.0)) == 0


def test_a_rim_longer_than_max_length_is_not_kept(disks):
    spacing = (0.07, 0.07)
    coverage = _ring(disks, (300, 300), (150.0, 150.0), 3.0 / spacing[0], 0.25 / spacing[0])
    response = np.random.default_rng(6).normal(0.0, 10.0, coverage.shape) + 250.0 * coverage
    kept = find_specks(response, spacing=spacing, threshold=6.0, max_diameter_mm=1.0, max_length_mm=12.0)
    assert len(kept) == 1 and kept.length_mm[0] > 3.0  # sqrt(2) x 3 mm
    assert len(find_specks(response, spacing=spacing, threshold=6.0, max_diameter_mm=1.0, max_length_mm=3.0)) == 0


def test_a_group_of_large_rims_is_found_and_described_as_rim(disks):
    # Eggshell calcifications 1.2-2.8 mm across (wider than the 1 mm size window), blurred
    # by the detector, on a noisy background: one cluster, described as rim.
    rng = np.random.default_rng(3)
    spacing = (0.07, 0.07)
    shape = (700, 700)
    grid = [(300.0 + 50 * (i // 3), 300.0 + 50 * (i % 3)) for i in range(6)]  # 3.5 mm apart
    centres = [(r + rng.uniform(-3, 3), c + rng.uniform(-3, 3)) for r, c in grid]
    diameters = rng.uniform(1.2, 2.8, len(centres))
    shell = sum(disks(shape, [c], [d / spacing[0]]) - disks(shape, [c], [(d - 0.5) / spacing[0]])
                for c, d in zip(centres, diameters))
    image = _noisy_background(shape, rng, sigma=4.0) + ndi.gaussian_filter(300.0 * shell, 1.0)
    result = detect(image, spacing=spacing, mask=np.ones(shape, bool))
    assert len(result.clusters) == 1
    assert result.descriptions.morphology[0] == "rim"
    assert result.clusters.n_calcifications[0] >= 5
