import numpy as np
import pytest

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
