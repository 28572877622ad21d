"""A user's enhancement filter, defined in an importable module so spawned workers can unpickle it."""

import numpy as np

from calcdetect.filters import FilterSpec, white_tophat


def wide_tophat(image, *, spacing, radius_mm, backend="opencv"):
    """A white top-hat with a disk as wide as the largest diameter (wider than the built-in 0.6 x)."""
    return white_tophat(np.asarray(image), radius_mm, spacing=spacing, backend=backend)


def widest_disk(min_diameter_mm, max_diameter_mm):
    return {"radius_mm": max_diameter_mm}


def disk_reach(*, radius_mm):
    return 2 * radius_mm  # an opening: an erosion, then a dilation


#: The same filter as an installed package would declare it (entry-point group "calcdetect.filters").
WIDE_TOPHAT = FilterSpec("wide-tophat", wide_tophat, widest_disk, disk_reach, "top-hat with the widest disk")
