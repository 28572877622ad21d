import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcdetect.breast import breast_mask


def _half_disk(shape=(800, 600), radius=350, level=3000.0, background=200.0, sigma=20.0, seed=0):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    breast = (rows - shape[0] / 2) ** 2 + cols**2 < radius**2
    rng = np.random.default_rng(seed)
    return np.where(breast, level, background) + rng.normal(0, sigma, shape), breast


@pytest.mark.parametrize("margin_mm", [0.0, 1.0, 3.0], ids=["no-margin", "1mm", "3mm"])
def test_mask_is_breast_shrunk_by_margin(margin_mm):
    image, breast = _half_disk()
    spacing = (0.1, 0.1)
    mask = breast_mask(image, spacing=spacing, margin_mm=margin_mm)
    rows, cols = np.nonzero(mask)
    distance_to_skin_mm = (350 - np.hypot(rows - 400, cols)) * 0.1
    assert distance_to_skin_mm.min() >= margin_mm - 0.5  # the mask is computed on a 0.5 mm grid
    # the chest wall (image border at col 0) is not skin: no margin there
    assert mask[400, 0]
    # almost everything deeper than the margin is kept
    all_rows, all_cols = np.mgrid[0:800, 0:600]
    deep = (350 - np.hypot(all_rows - 400, all_cols)) * 0.1 > margin_mm + 0.5
    assert mask[deep].mean() > 0.99


def test_depth_below_the_skin_and_breast_area():
    image, breast = _half_disk()
    geometry = breast_geometry(image, spacing=(0.1, 0.1), margin_mm=2.0)
    rows = np.array([400.0, 400.0, 100.0, 400.0])
    cols = np.array([340.0, 200.0, 100.0, 0.0])
    # The half-disk's radius is 35 mm: depth is 35 mm less the distance from its centre,
    # and the chest wall (the image border at col 0) is no skin.
    expected = 35.0 - np.hypot(rows - 400, cols) * 0.1
    depth = geometry.depth_mm(rows, cols)
    np.testing.assert_allclose(depth[:3], expected[:3], atol=0.6)
    assert depth[3] > 30.0
    assert geometry.area_mm2 == pytest.approx(breast.sum() * 0.01, rel=0.02)


@pytest.mark.parametrize(
    "image",
    [
        np.full((100, 100), 7.0),
        np.random.default_rng(1).normal(1000, 10, (300, 300)),
        np.pad(np.full((6, 6), 900.0), 147) + np.random.default_rng(2).normal(100, 1, (300, 300)),
    ],
    ids=["constant", "noise-only", "one-bright-spot"],
)
def test_no_background_gives_full_mask(image):
    assert breast_mask(image, spacing=(0.1, 0.1)).all()


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin_mm must be >= 0; got -1"):
        breast_mask(np.zeros((10, 10)), spacing=(0.1, 0.1), margin_mm=-1)


# --------------------------------------------------------------------------------------
# breast_geometry: chest wall, nipple, pectoral muscle (synthetic truth), real film

from calcdetect.breast import PECTORAL_VIEWS, BreastGeometry, breast_geometry  # noqa: E402
from calcdetect.synth import SynthSettings, synthesize  # noqa: E402


def _synth(seed, view, laterality=None):
    return synthesize(rng=np.random.default_rng(seed), settings=SynthSettings(scale=0.3, spacing_mm=0.1),
                      view=view, laterality=laterality)


def _dice(a, b):
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


@pytest.mark.parametrize("seed", [1000, 1001, 1003, 1008, 1010, 1011, 1017, 1])
def test_pectoral_muscle_matches_the_synthetic_truth(seed):
    """Measured on 20 synthetic MLO images at scale 0.3: Dice 0.93-0.97, mean 0.954."""
    image = _synth(seed, "MLO")
    geometry = breast_geometry(image.pixels, spacing=image.spacing, margin_mm=0, view="MLO")
    assert geometry.chest_wall == image.chest_wall
    assert geometry.pectoral is not None
    assert _dice(geometry.pectoral, image.pectoral_mask) >= 0.88
    assert not (geometry.mask & geometry.pectoral).any()


@pytest.mark.parametrize(("seed", "laterality"), [(5, "L"), (6, "R")], ids=["left", "right"])
def test_cranio_caudal_view_chest_wall_nipple_and_no_pectoral(seed, laterality):
    image = _synth(seed, "CC", laterality)
    for view in ("CC", "MLO"):  # a CC image has no muscle corner even when called MLO
        geometry = breast_geometry(image.pixels, spacing=image.spacing, margin_mm=0, view=view)
        assert isinstance(geometry, BreastGeometry) and geometry.found
        assert geometry.pectoral is None
        assert geometry.chest_wall == image.chest_wall
        assert np.hypot(*np.subtract(geometry.nipple, image.nipple)) * image.spacing[0] < 2.0
        assert _dice(geometry.mask, image.breast_mask) > 0.99


def test_pectoral_is_searched_only_on_oblique_and_lateral_views():
    image = _synth(1000, "MLO")
    assert breast_geometry(image.pixels, spacing=image.spacing, view=None).pectoral is None
    assert breast_geometry(image.pixels, spacing=image.spacing, view="MLO", exclude_pectoral=False).pectoral is None
    assert {"MLO", "ML", "LM"} <= PECTORAL_VIEWS and "CC" not in PECTORAL_VIEWS


def test_nothing_to_find_gives_a_full_mask_and_no_geometry():
    geometry = breast_geometry(np.full((100, 100), 7.0), spacing=(0.1, 0.1), view="MLO")
    assert (geometry.found, geometry.chest_wall, geometry.nipple, geometry.pectoral) == (False, None, None, None)
    assert geometry.mask.all()


def test_bright_strip_along_the_border_is_cut_off():
    """A film edge: a 2 mm bright strip along the bottom touching the breast is not breast."""
    image, breast = _half_disk()
    image[-20:, :] = 4000.0
    mask = breast_mask(image, spacing=(0.1, 0.1), margin_mm=0)
    assert not mask[-10:, 400:].any()
    assert mask[breast & (np.arange(800)[:, None] < 700)].mean() > 0.98


@pytest.fixture(scope="module")
def film(shared_dicom):
    from calcdetect.io import read_mammogram

    mammogram = read_mammogram(shared_dicom / "MG1_J2KI.dcm")
    geometry = breast_geometry(mammogram.image, spacing=mammogram.spacing, margin_mm=2.0, view=mammogram.view)
    return mammogram, geometry


# Regions of MG1_J2KI.dcm found by looking at it (rows, cols in pixels of the 4664 x 3064 image).
FILM_LABEL = (slice(250, 650), slice(2350, 2800))  # the bright "L MLO" film label
FILM_BAR = (slice(1607, 2539), slice(2767, 3000))  # the black redaction bar
FILM_EDGE = (slice(4600, 4664), slice(1000, 3064))  # the bright unexposed film edge along the bottom
FILM_BREAST = (slice(2500, 3000), slice(500, 1500))  # dense breast tissue
FILM_MUSCLE = (slice(0, 400), slice(0, 400))  # the pectoral muscle's corner


def test_real_film_mask_excludes_label_bar_and_film_edge(film):
    mammogram, geometry = film
    assert (mammogram.image[FILM_LABEL] > 3500).any() and (mammogram.image[FILM_BAR] < 50).mean() > 0.8
    for region in (FILM_LABEL, FILM_BAR, FILM_EDGE, FILM_MUSCLE):
        assert not geometry.mask[region].any()
    assert geometry.mask[FILM_BREAST].all()
    assert geometry.chest_wall == "left"


def test_real_film_pectoral_and_nipple(film):
    _, geometry = film
    assert geometry.pectoral is not None and geometry.pectoral[FILM_MUSCLE].all()
    assert not geometry.pectoral[FILM_BREAST].any()
    row, col = geometry.nipple  # the nipple seen in profile at about row 3250, column 2000
    assert 2900 < row < 3500 and 1900 < col < 2100


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    rows=st.integers(16, 160), cols=st.integers(16, 160), spacing=st.sampled_from([0.05, 0.1, 0.2, 0.5]),
    view=st.sampled_from([None, "CC", "MLO"]), kind=st.sampled_from(["noise", "blob", "corner", "gradient"]),
    seed=st.integers(0, 2**16),
)
def test_any_image_gives_a_geometry_of_its_shape(rows, cols, spacing, view, kind, seed):
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:rows, 0:cols]
    image = {
        "noise": rng.normal(100, 10, (rows, cols)),
        "blob": 1000.0 * (np.hypot(r - rows / 2, c) < rows / 3) + rng.normal(0, 5, (rows, cols)),
        "corner": 1000.0 * (r + c < min(rows, cols) / 2) + 500.0 * (np.hypot(r - rows / 2, c) < rows / 2),
        "gradient": r * 1.0 + c,
    }[kind]
    geometry = breast_geometry(image, spacing=(spacing, spacing), margin_mm=1.0, view=view)
    assert geometry.mask.shape == image.shape and geometry.mask.dtype == bool
    assert geometry.found == (geometry.chest_wall is not None)
    if geometry.pectoral is not None:
        assert geometry.pectoral.shape == image.shape
