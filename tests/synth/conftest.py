"""Fixtures of the synthetic-mammogram tests: one small wide-domain set, made once."""

import numpy as np
import pytest

from calcdetect import synth
from calcdetect.synth import SynthSettings

#: Small wide-domain images (field of view 1/4 of the detector's per side).
WIDE = SynthSettings(scale=0.25, domain="wide")


@pytest.fixture(scope="session")
def wide_images():
    """Thirty small wide-domain images, seeds 1000-1029 (about 5 s)."""
    return [synth.synthesize(rng=np.random.default_rng(1000 + i), settings=WIDE) for i in range(30)]
