"""A user's enhancement filter, defined in an importable module so spawned workers can unpickle it."""

import numpy as np

from calcdetect.filters import white_tophat


def wide_tophat(image, *, spacing, min_diameter_mm, max_diameter_mm, backend="opencv"):
    """A white top-hat with a disk of the largest diameter (wider than the built-in 0.6 x)."""
    return white_tophat(np.asarray(image), max_diameter_mm, spacing=spacing, backend=backend)
