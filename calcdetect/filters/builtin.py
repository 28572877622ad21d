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

from calcdetect.filters.dog import TRUNCATE, difference_of_gaussians
from calcdetect.filters.spec import FilterSpec
from calcdetect.filters.tophat import white_tophat

#: Width of the top-hat's disk as a fraction of the largest diameter: a speck survives the
#: opening untouched only when the disk does not fit in it.
TOPHAT_DISK_FRACTION = 0.6
#: The detection band-pass's wide Gaussian, in multiples of its narrow one.
BANDPASS_WIDTH_RATIO = 4.0


def matched_sigma_mm(diameter_mm: float) -> float:
    """The Gaussian sigma (mm) a blob of `diameter_mm` answers best: d / (2 sqrt 2)."""
    return diameter_mm / (2 * math.sqrt(2))


def _tophat(image, *, spacing, radius_mm: float, backend: str = "opencv"):
    return white_tophat(image, radius_mm, spacing=spacing, backend=backend)


def _tophat_sizing(min_diameter_mm: float, max_diameter_mm: float) -> dict:
    return {"radius_mm": TOPHAT_DISK_FRACTION * max_diameter_mm}


def _tophat_reach(*, radius_mm: float) -> float:
    return radius_mm


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


BUILT_IN_SPECS = (
    FilterSpec("tophat", _tophat, _tophat_sizing, _tophat_reach,
               "white top-hat, exact disk 0.6 x the largest diameter (Serra 1982)"),
    FilterSpec("dog", _dog, _dog_sizing, _dog_reach,
               "difference of Gaussians, smallest speck to largest (Marr & Hildreth 1980)"),
    FilterSpec("bandpass", _dog, _bandpass_sizing, _dog_reach,
               "difference of Gaussians matched to the smallest speck (sigmas d/(2 sqrt 2) and 4 x that); "
               "the default detector"),
)
