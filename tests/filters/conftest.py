"""What the filter tests share: windows of a synthetic mammogram's breast, and the float32 tolerance."""

import numpy as np
import pytest

from calcdetect.synth import SynthSettings, synthesize


@pytest.fixture(scope="session")
def breast_window():
    """``window(size)``: a size x size window round the middle of the breast of one synthetic
    mammogram (seed 7, scale 0.25), and its spacing."""
    synth = synthesize(rng=np.random.default_rng(7), settings=SynthSettings(scale=0.25))
    rows, cols = np.nonzero(synth.breast_mask)

    def window(size: int):
        r0 = int(np.clip(np.median(rows) - size // 2, 0, synth.pixels.shape[0] - size))
        c0 = int(np.clip(np.median(cols) - size // 2, 0, synth.pixels.shape[1] - size))
        assert synth.breast_mask[r0 + size // 4: r0 + 3 * size // 4, c0 + size // 4: c0 + 3 * size // 4].all()
        return synth.pixels[r0:r0 + size, c0:c0 + size], synth.spacing

    return window


@pytest.fixture(scope="session")
def mammogram(breast_window):
    """A 400 x 400 window of the breast (:func:`breast_window`), and its spacing."""
    return breast_window(400)


def _float32_atol(image) -> float:
    # float32 carries 2**-24 (6e-8) relative: the input and every partial sum round by
    # about one ulp of the image's largest value; 16 of those bound the difference.
    return 16 * 2.0**-24 * float(np.abs(image).max())


@pytest.fixture(scope="session")
def float32_atol():
    """``atol(image)``: how far a float32 fast path and its float64 reference may differ."""
    return _float32_atol
