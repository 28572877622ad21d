"""The classic domain is the generator as it was before the wide domain: pinned bit for bit.

The digests below were computed at commit 18a0189 (the single-module
``calcdetect/synth.py``, before the package split and the wide domain) with
numpy 2.4 and OpenCV 5.0. They pin pixels and truth; README figures depend on
them. A change of numpy's or OpenCV's floating point (not of this code) may
also move them: then regenerate them at the old commit with the new
libraries, never from the new code.
"""

import hashlib
import json

import numpy as np
import pytest

from calcdetect import __version__, synth
from calcdetect.synth import Domain, Source, SynthSettings
from calcdetect.truth import image_to_dict

SMALL = SynthSettings(scale=0.25)

# image_rng(2024, index) at scale 0.25: sha256 of the pixel bytes, and of
# json.dumps(image_to_dict(image.to_truth("synth_0000.dcm")), indent=1).
PINNED_IMAGES = {
    0: (
        "e280b894d71964fca9b998a2e8ffe6ef140d553a56a4ccc71f425d197a8eaf09",
        "cda8e79b8862201d92a0e170c5ea6b700949cbb81e0de8be33f8ce95c263d70f",
    ),
    3: (
        "b7e188930c580a9a7b0d38179579dab92e33ea743665562eee0e369873da2b1a",
        "38095ddff70fa655b2e1250cf7d9c665478d097e76cb080aae73c54b8b97e452",
    ),
}
# sha256 of json.dumps(SynthSettings(scale=0.25).to_dict()).
PINNED_SETTINGS = "9fbda25210e85379baffae3a600558100382a34661910b2dc9d140efe9a33d0e"
# make_set(n=2, seed=11, scale 0.25, compress=False): sha256 of truth.json with the
# calcdetect version replaced by "VERSION".
PINNED_SET_TRUTH = "7ac5bf6ad8c52f23b41b9961a52c52283bd4f2588a92fea0fc47a910e33b254c"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("index", sorted(PINNED_IMAGES), ids=[f"image{i}" for i in sorted(PINNED_IMAGES)])
def test_classic_image_is_bit_identical_to_the_pinned_one(index):
    image = synth.synthesize(rng=synth.image_rng(2024, index), settings=SMALL)
    pixels, truth = PINNED_IMAGES[index]
    assert _sha(image.pixels.tobytes()) == pixels
    entry = image_to_dict(image.to_truth("synth_0000.dcm"))
    assert _sha(json.dumps(entry, indent=1).encode()) == truth


def test_classic_settings_serialise_as_before():
    assert "domain" not in SMALL.to_dict()
    assert _sha(json.dumps(SMALL.to_dict()).encode()) == PINNED_SETTINGS


def test_explicit_classic_domain_is_the_default():
    assert SynthSettings(scale=0.25, domain="classic") == SMALL
    assert SMALL.domain == Domain.CLASSIC
    assert (SMALL.normal_fraction, SMALL.benign_fraction) == (0.2, 0.35)


def test_classic_set_truth_file_is_byte_identical(tmp_path):
    path = synth.make_set(tmp_path, n=2, seed=11, settings=SynthSettings(scale=0.25, compress=False))
    text = path.read_text().replace(json.dumps(__version__), '"VERSION"')
    assert _sha(text.encode()) == PINNED_SET_TRUTH


def test_classic_image_has_no_artefacts_and_is_digital():
    image = synth.synthesize(rng=np.random.default_rng(0), settings=SMALL)
    assert image.artefacts == ()
    assert image.acquisition is None
    assert image.source == Source.FFDM
    assert "artefacts" not in image_to_dict(image.to_truth("x.dcm"))
