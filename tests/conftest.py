"""Shared test helpers: images with specks whose truth is known exactly."""

import os

import numpy as np
import pytest
from hypothesis import settings

# CI runs the same examples every time (a red build must be reproducible);
# locally hypothesis explores and remembers what it found.
#: Modules the tests import by path (a user's filter files), not test modules: --doctest-modules
#: must not import them.
collect_ignore = ["helpers"]

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def render_disks(shape, centers, diameters_px, *, supersample=8):
    """Partial-pixel coverage (0-1) of flat disks, by supersampling each pixel.

    Parameters
    ----------
    shape : tuple of 2 ints
    centers : sequence of (row, col) in pixels (pixel centres at integers)
    diameters_px : sequence of float
    """
    coverage = np.zeros(shape)
    ss = supersample
    offsets = (np.arange(ss) + 0.5) / ss - 0.5
    for (r0, c0), d in zip(centers, diameters_px):
        radius = d / 2
        r_lo, r_hi = int(np.floor(r0 - radius)) - 1, int(np.ceil(r0 + radius)) + 2
        c_lo, c_hi = int(np.floor(c0 - radius)) - 1, int(np.ceil(c0 + radius)) + 2
        rr = (np.arange(r_lo, r_hi)[:, None] + offsets[None, :]).ravel()
        cc = (np.arange(c_lo, c_hi)[:, None] + offsets[None, :]).ravel()
        inside = (rr[:, None] - r0) ** 2 + (cc[None, :] - c0) ** 2 <= radius**2
        patch = inside.reshape(r_hi - r_lo, ss, c_hi - c_lo, ss).mean(axis=(1, 3))
        coverage[r_lo:r_hi, c_lo:c_hi] += patch
    return coverage


@pytest.fixture
def disks():
    return render_disks


def padded_tophat(image, footprint) -> np.ndarray:
    """An oracle for the top-hats: `image` minus its opening by `footprint`, the image reflected
    (as often as needed) by numpy first and opened by scipy far from the border. scipy's own
    ``mode="reflect"`` goes wrong when the footprint is several times the image."""
    from scipy import ndimage as ndi

    pad = [(k - 1, k - 1) for k in footprint.shape]
    padded = np.pad(np.asarray(image, np.float32), pad, mode="symmetric")
    inside = tuple(slice(k - 1, k - 1 + n) for k, n in zip(footprint.shape, np.shape(image)))
    return padded[inside] - ndi.grey_opening(padded, footprint=footprint, mode="nearest")[inside]


@pytest.fixture(scope="session")
def opening_oracle():
    """:func:`padded_tophat` (session scope: hypothesis tests may use it)."""
    return padded_tophat


SHARED_DICOM = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"
SHARED_CBIS = SHARED_DICOM.parent / "cbis-ddsm"


def peak_over_background(pixels, row, col, *, inner, outer):
    """Brightest of the 3 x 3 pixels at (row, col) over the local background there: a
    quadratic fitted on the ring between radii `inner` and `outer` (px), at its centre."""
    yy, xx = np.mgrid[-outer : outer + 1, -outer : outer + 1]
    ring = (np.hypot(yy, xx) >= inner) & (np.hypot(yy, xx) <= outer)
    y, x = yy[ring], xx[ring]
    design = np.column_stack([np.ones_like(y), y, x, y * y, x * x, x * y]).astype(float)
    window = pixels[row - outer : row + outer + 1, col - outer : col + outer + 1].astype(float)
    background = np.linalg.lstsq(design, window[ring], rcond=None)[0][0]
    return pixels[row - 1 : row + 2, col - 1 : col + 2].max() - background


@pytest.fixture(name="peak_over_background")
def peak_over_background_fixture():
    """:func:`peak_over_background`, for tests of planted calcifications."""
    return peak_over_background


@pytest.fixture(scope="session")
def shared_cbis():
    """Folder of the real CBIS-DDSM case-description CSVs in ../shared/data/cbis-ddsm (skips when absent)."""
    if not SHARED_CBIS.is_dir():
        pytest.skip(f"{SHARED_CBIS} not present")
    return SHARED_CBIS


@pytest.fixture(scope="session")
def shared_dicom():
    """Folder of the real DICOM files in ../shared/data/dicom (skips when absent)."""
    if not SHARED_DICOM.is_dir():
        pytest.skip(f"{SHARED_DICOM} not present")
    return SHARED_DICOM


@pytest.fixture
def filter_registry():
    """The filter registry, restored in place after the test (workers and modules hold the same dict)."""
    from calcdetect.filters import FILTERS

    saved = dict(FILTERS)
    yield FILTERS
    FILTERS.clear()
    FILTERS.update(saved)
