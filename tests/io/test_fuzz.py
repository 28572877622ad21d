"""Property test: mutated and truncated DICOM bytes load or fail with the library's own error.

Seeds: the real header of MG1_J2KI.dcm (film mammogram, Secondary Capture, with
sequences) around a small JPEG 2000 image, and small synthetic mammograms written
by `write_mammogram`, uncompressed, JPEG-LS and RLE. Each example overwrites a few
bytes (biased towards the header, where lengths, tags and VRs are), may insert or
delete a run of bytes, and may cut the file short. Every outcome must be a
loaded Mammogram or an ImageReadError: never another exception, a hang (the
deadline) or an allocation the header talked the loader into (tracemalloc).

The deadline is generous: CharLS (pyjpegls) can spend seconds on some corrupt
JPEG-LS streams of a 64 x 48 image before it reports them (found by this test
with 24,000 random examples); that is slow, not a hang.
"""

import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import JPEG2000Lossless, RLELossless

from calcdetect.errors import ImageReadError
from calcdetect.io import LoadOptions, Mammogram, read_mammogram, write_mammogram

#: The real DICOM files of ../shared/data (the film seed's header); the other seeds are generated.
SHARED_DICOM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dicom"

#: Small enough that no mutated header can make the loader allocate much.
OPTIONS = LoadOptions(max_pixels=1_000_000, force=True)

#: Examples per seed file (x 4 seeds).
EXAMPLES = 1000

#: Most bytes any example may hold at once (tracemalloc), far above what a 128 x 96 image needs.
MAX_PEAK_BYTES = 40_000_000


def _small(seed=11):
    rows, cols = np.mgrid[0:64, 0:48]
    image = 1000 + 800 * np.exp(-((rows - 32) ** 2 + cols**2) / 900.0)
    image += np.random.default_rng(seed).normal(0, 20, image.shape)
    return np.clip(image, 0, 4095).astype(np.uint16)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """The seed files' bytes (the film seed only where ../shared/data is present) and their folder."""
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    files = {
        "native": write_mammogram(folder / "native.dcm", _small(), spacing=(0.07, 0.07), bits_stored=12,
                                  laterality="L", view="MLO", compress=False, uid_seed="fuzz"),
        "jpeg-ls": write_mammogram(folder / "jls.dcm", _small(), spacing=(0.07, 0.07), bits_stored=12,
                                   laterality="R", view="CC", compress=True, uid_seed="fuzz"),
    }
    rle = pydicom.dcmread(files["native"])
    rle.compress(RLELossless, generate_instance_uid=False)
    rle.save_as(folder / "rle.dcm", enforce_file_format=True)
    files["rle"] = folder / "rle.dcm"
    if not SHARED_DICOM.is_dir():
        return {name: path.read_bytes() for name, path in files.items()}, folder
    # The real film header (sequences, odd Modality, no spacing) around a small JPEG 2000 image.
    film = pydicom.dcmread(SHARED_DICOM / "MG1_J2KI.dcm", stop_before_pixels=True)
    film.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    film.set_pixel_data(np.kron(_small(), np.ones((2, 2), np.uint16)), "MONOCHROME2", 12,
                        generate_instance_uid=False)
    film.compress(JPEG2000Lossless, generate_instance_uid=False)
    film.save_as(folder / "film.dcm", enforce_file_format=True)
    files["film"] = folder / "film.dcm"
    return {name: path.read_bytes() for name, path in files.items()}, folder


@st.composite
def mutations(draw, size: int):
    """A few byte overwrites (two thirds in the first 1 kB), an optional insertion or deletion, a cut."""
    header = min(size, 1024)
    edits = draw(st.lists(
        st.tuples(st.one_of(st.integers(0, header - 1), st.integers(0, size - 1)), st.integers(0, 255)),
        min_size=0, max_size=6))
    splice = draw(st.one_of(
        st.none(),
        st.tuples(st.integers(0, size - 1), st.integers(1, 64), st.binary(min_size=0, max_size=64)),
    ))
    cut = draw(st.one_of(st.none(), st.integers(0, size)))
    return edits, splice, cut


def _apply(data: bytes, edits, splice, cut) -> bytes:
    data = bytearray(data)
    for position, value in edits:
        data[position] = value
    if splice is not None:
        position, removed, inserted = splice
        data[position : position + removed] = inserted
    if cut is not None:
        data = data[:cut]
    return bytes(data)


@pytest.mark.parametrize("seed", ["native", "jpeg-ls", "rle", "film"])
def test_mutated_dicom_loads_or_fails_cleanly(seeds, seed):
    files, folder = seeds
    if seed not in files:
        pytest.skip(f"{SHARED_DICOM} not present (the film seed's header is MG1_J2KI.dcm's)")
    original = files[seed]
    # The unmutated seed loads.
    (folder / "check.dcm").write_bytes(original)
    assert isinstance(read_mammogram(folder / "check.dcm", OPTIONS), Mammogram)
    path = folder / f"mutant-{seed}.dcm"

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=timedelta(seconds=10),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutations(len(original)))
    def check(mutation):
        path.write_bytes(_apply(original, *mutation))
        tracemalloc.start()
        try:
            mammogram = read_mammogram(path, OPTIONS)
        except ImageReadError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
            return
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < MAX_PEAK_BYTES
        assert mammogram.image.ndim == 2 and mammogram.image.dtype == np.float32
        assert np.isfinite(mammogram.image).all()

    check()
