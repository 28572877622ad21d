"""What the filter tests share: windows of a synthetic mammogram's breast."""

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
