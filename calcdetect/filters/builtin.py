"""The filters calcdetect registers itself, each sized to the calcification size window.

Sizing follows scale-space theory: a blob of diameter d answers a Laplacian of
Gaussian best at sigma = d / (2 sqrt 2) (Lindeberg 1998 [1]_); a Gaussian kernel
reaches :data:`~calcdetect.filters.dog.TRUNCATE` sigmas.

References
----------
.. [1] Lindeberg T. Feature detection with automatic scale selection. Int J Comput
   Vis 30(2):79-116, 1998.
"""

from __future__ import annotations

import math

from calcdetect.filters.atrous import atrous_band, atrous_levels
from calcdetect.filters.dog import TRUNCATE, difference_of_gaussians
from calcdetect.filters.hdome import h_dome
from calcdetect.filters.hessian import hessian_blob, hessian_line
from calcdetect.filters.log import laplacian_of_gaussian_max
from calcdetect.filters.spec import FilterSpec
from calcdetect.filters.tophat import octagon_tophat, white_tophat
from calcdetect._checks import check_image
from calcdetect.specks.noise import pixel_noise_sigma

#: Radius of the top-hat's disk as a fraction of the largest diameter (a 1.2 mm disk for
#: 1 mm): a speck survives the opening untouched only when the disk does not fit in it.
TOPHAT_DISK_FRACTION = 0.6
#: The detection band-pass's wide Gaussian, in multiples of its narrow one.
BANDPASS_WIDTH_RATIO = 4.0
#: The finest Gaussian the scale-space filters use, in pixels: a smaller sigma (0.035 mm on a
#: 0.28 mm grid) samples no curvature.
FINEST_SIGMA_PX = 0.5
#: Scales of the multi-scale Laplacian of Gaussian.
LOG_SCALES = 4
#: Its widest scale is at least this many times its finest (which a coarse pixel may raise).
LOG_MIN_SCALE_RATIO = 1.5
#: h of the h-dome in noise sigmas of the image (its pixel-to-pixel noise, robust).
HDOME_NOISE_SIGMAS = 3.0


def matched_sigma_mm(diameter_mm: float) -> float:
    """The Gaussian sigma (mm) a blob of `diameter_mm` answers best: d / (2 sqrt 2)."""
    return diameter_mm / (2 * math.sqrt(2))


def _tophat(image, *, spacing, radius_mm: float, backend: str = "opencv"):
    return white_tophat(image, radius_mm, spacing=spacing, backend=backend)


def _octagon_reach(*, radius_mm: float) -> float:
    # The octagon lies in the disk's bounding box: within sqrt 2 radii, for the erosion and the dilation.
    return 2 * math.sqrt(2) * radius_mm


def _tophat_octagon(image, *, spacing, radius_mm: float, backend: str = "opencv"):
    return octagon_tophat(image, radius_mm, spacing=spacing, backend=backend)


def _tophat_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"radius_mm": TOPHAT_DISK_FRACTION * max_diameter_mm}


def _tophat_reach(*, radius_mm: float) -> float:
    # An opening is an erosion then a dilation: each looks one radius away.
    return 2 * radius_mm


def _dog(image, *, spacing, low_sigma_mm: float, high_sigma_mm: float, backend: str = "opencv"):
    return difference_of_gaussians(image, low_sigma_mm, high_sigma_mm, spacing=spacing, backend=backend)


def _dog_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    # The low sigma matches the smallest speck, the high one removes background wider than the largest.
    low = matched_sigma_mm(min_diameter_mm)
    return {"low_sigma_mm": low, "high_sigma_mm": max(max_diameter_mm, 2 * low)}


def _bandpass_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    # Matched to the smallest speck, which small sharp calcifications excite and smooth tissue hardly does.
    low = matched_sigma_mm(min_diameter_mm)
    return {"low_sigma_mm": low, "high_sigma_mm": BANDPASS_WIDTH_RATIO * low}


def _dog_reach(*, low_sigma_mm: float, high_sigma_mm: float) -> float:
    return TRUNCATE * high_sigma_mm


def _finest(sigma_mm: float, spacing) -> float:
    """`sigma_mm`, at least :data:`FINEST_SIGMA_PX` of the coarser pixel side."""
    return max(sigma_mm, FINEST_SIGMA_PX * max(float(s) for s in spacing))


def _log_sigmas(min_sigma_mm: float, max_sigma_mm: float, spacing=None) -> tuple[float, float]:
    """The LoG's finest and widest scales (mm): the finest floored (:func:`_finest`) for the
    pixel `spacing` when given, the widest at least :data:`LOG_MIN_SCALE_RATIO` times it."""
    low = min_sigma_mm if spacing is None else _finest(min_sigma_mm, spacing)
    return low, max(max_sigma_mm, LOG_MIN_SCALE_RATIO * low)


def _log_reach(*, min_sigma_mm: float, max_sigma_mm: float, spacing=None) -> float:
    return TRUNCATE * _log_sigmas(min_sigma_mm, max_sigma_mm, spacing)[1]


def _hessian_reach(*, sigma_mm: float, spacing=None) -> float:
    return TRUNCATE * (sigma_mm if spacing is None else _finest(sigma_mm, spacing))


def _log(image, *, spacing, min_sigma_mm: float, max_sigma_mm: float, backend: str = "opencv"):
    low, high = _log_sigmas(min_sigma_mm, max_sigma_mm, spacing)
    return laplacian_of_gaussian_max(image, low, high, spacing=spacing, n_scales=LOG_SCALES, backend=backend)


def _log_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"min_sigma_mm": matched_sigma_mm(min_diameter_mm), "max_sigma_mm": matched_sigma_mm(max_diameter_mm)}


def _hessian_blob(image, *, spacing, sigma_mm: float, backend: str = "opencv"):
    return hessian_blob(image, _finest(sigma_mm, spacing), spacing=spacing, backend=backend)


def _hessian_blob_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    # One scale: the geometric middle of the size window (0.32 mm for 0.1-1 mm).
    return {"sigma_mm": matched_sigma_mm(math.sqrt(min_diameter_mm * max_diameter_mm))}


def _hessian_line(image, *, spacing, sigma_mm: float, backend: str = "opencv"):
    return hessian_line(image, _finest(sigma_mm, spacing), spacing=spacing, backend=backend)


def _hessian_line_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    # A bright bar of width w answers best at sigma = w / 2: fine linear casts are about 0.1-0.3 mm wide.
    return {"sigma_mm": min_diameter_mm}


def _atrous(image, *, spacing, scale_mm: float, backend: str = "opencv"):
    return atrous_band(image, scale_mm, spacing=spacing, backend=backend)


def _atrous_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"scale_mm": max_diameter_mm}


def _atrous_reach(*, scale_mm: float, spacing=None) -> float:
    # The levels' kernels reach 2^(J+1) - 2 pixels along an axis, J = round(log2(scale / pixel)): under
    # 2 sqrt 2 scales on fine pixels; at least 1 level, so 2 pixels, on coarse ones.
    if spacing is None:
        return 2 * math.sqrt(2) * scale_mm
    return max((2 ** (levels + 1) - 2) * pixel_mm
               for levels, pixel_mm in zip(atrous_levels(scale_mm, spacing=spacing), spacing))


def _hdome(image, *, spacing, noise_sigmas: float, backend: str = "opencv"):
    image = check_image(image, finite=True)
    noise = pixel_noise_sigma(image[::4], skip_flat=True, quantised=True)  # every 4th row is enough
    if not noise > 0:
        raise ValueError("image has no pixel noise to size the h-dome by (constant, or flat but for its edges)")
    return h_dome(image, noise_sigmas * noise, spacing=spacing, backend=backend)


def _hdome_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"noise_sigmas": HDOME_NOISE_SIGMAS}


def _not_local(**params) -> float:
    return math.inf


BUILT_IN_SPECS = (
    FilterSpec("tophat", _tophat, _tophat_sizing, _tophat_reach,
               "white top-hat, exact disk of radius 0.6 x the largest diameter (Serra 1982)"),
    FilterSpec("tophat-octagon", _tophat_octagon, _tophat_sizing, _octagon_reach,
               "white top-hat, the octagon round the disk of radius 0.6 x the largest diameter: a rectangle "
               "and two diagonal segments (Adams 1993)"),
    FilterSpec("dog", _dog, _dog_sizing, _dog_reach,
               "difference of Gaussians, smallest speck to largest (Marr & Hildreth 1980)"),
    FilterSpec("bandpass", _dog, _bandpass_sizing, _dog_reach,
               "difference of Gaussians matched to the smallest speck (sigmas d/(2 sqrt 2) and 4 x that); "
               "the default detector"),
    FilterSpec("log", _log, _log_sizing, _log_reach,
               f"scale-normalised Laplacian of Gaussian, maximum over {LOG_SCALES} scales matched to the size window "
               "(Lindeberg 1998)"),
    FilterSpec("hessian-blob", _hessian_blob, _hessian_blob_sizing, _hessian_reach,
               "determinant-of-Hessian bright-blob measure, one scale (Lindeberg 1998)"),
    FilterSpec("hessian-line", _hessian_line, _hessian_line_sizing, _hessian_reach,
               "bright thin-line measure from the Hessian's eigenvalues, for fine linear casts (Lindeberg 1998; "
               "Sato 1998)"),
    FilterSpec("atrous", _atrous, _atrous_sizing, _atrous_reach,
               "undecimated B3-spline (a trous) wavelet bands up to the largest diameter (Starck 1998; "
               "Olivo-Marin 2002)"),
    FilterSpec("hdome", _hdome, _hdome_sizing, _not_local,
               f"h-dome by morphological reconstruction, h = {HDOME_NOISE_SIGMAS:g} noise sigmas (Vincent 1993); "
               "not local"),
)
