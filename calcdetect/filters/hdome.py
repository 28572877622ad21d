"""h-dome: the regional bright domes of an image, cut at a height `h`."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import reconstruction

from calcdetect._checks import check_backend, check_image, check_positive, check_spacing

#: 8-connectivity: the 3 x 3 neighbourhood of both backends.
_FOOTPRINT = np.ones((3, 3), dtype=bool)


def h_dome(image, h: float, *, spacing, backend: str = "opencv") -> np.ndarray:
    """The image minus its greyscale reconstruction by dilation from ``image - h``.

    The regional bright domes, cut at height `h` [1]_: a pixel answers 0 when
    a path that never goes darker than it leads to a pixel at least `h`
    brighter (the background round bright tissue, the flanks of broad
    structures), and otherwise how far it rises above the highest level from
    which it can be so reached, at most `h`. A bright speck of contrast ``c``
    over a background that leads to something ``h`` brighter than the
    background answers ``min(c, h)`` at its peak, whatever its size or shape.
    The brightest region of the image (or of a window cut from it) always
    keeps `h`; when it rises less than `h` above its surroundings those are
    lifted too, so take `h` well below the image's dynamic range. Unlike the
    other filters it selects by height, not size: the result does not depend
    on the pixel spacing, and it is not local (a dome extends over its whole
    connected region above the level where it meets a brighter one,
    however wide).

    Parameters
    ----------
    image : (M, N) ndarray
        Mammogram in detector units.
    h : float
        Dome height in image units (not mm), e.g. a few times the noise
        standard deviation or the smallest contrast of interest.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm); validated, for the common interface of
        the filters, and otherwise unused.
    backend : {"opencv", "reference"}
        ``"opencv"`` (the fast path; no OpenCV involved):
        :func:`skimage.morphology.reconstruction`, a sorted-queue algorithm;
        ``"reference"``: the definition, geodesic dilations
        ``seed = minimum(grey_dilation(seed, 3 x 3), image)`` with
        :func:`scipy.ndimage.grey_dilation` repeated until nothing changes
        (slow: as many passes as the longest propagation path, in pixels).
        Both use 8-connectivity (a 3 x 3 footprint) and compute in float64 on
        the exact values of the image (``image - h`` cannot wrap round for
        unsigned integers), so they agree exactly.

    Returns
    -------
    (M, N) ndarray of float32
        In image units, between 0 and `h`.

    Raises
    ------
    ValueError
        If `image` is not 2-D, numeric and finite, `h` is not positive, `spacing` is
        not two positive numbers, or `backend` is unknown.

    References
    ----------
    .. [1] Vincent L. Morphological grayscale reconstruction in image analysis:
       applications and efficient algorithms. IEEE Trans Image Process
       1993;2(2):176-201.

    Examples
    --------
    >>> image = np.full((9, 9), 100, np.uint16); image[3:6, 3:6] = 150; image[0, 0] = 110
    >>> response = h_dome(image, 30, spacing=(0.1, 0.1))
    >>> float(response[4, 4]), float(response[0, 0]), float(response[8, 8])
    (30.0, 10.0, 0.0)
    """
    image = check_image(image, finite=True)  # reconstruction never settles on NaN
    h = check_positive("h", h)
    check_spacing(spacing)
    backend = check_backend(backend)
    mask = image.astype(np.float64)
    seed = mask - h
    if backend == "reference":
        while True:
            grown = np.minimum(ndi.grey_dilation(seed, footprint=_FOOTPRINT, mode="reflect"), mask)
            if np.array_equal(grown, seed):
                break
            seed = grown
        rebuilt = seed
    else:
        rebuilt = reconstruction(seed, mask, method="dilation", footprint=_FOOTPRINT)
    return (mask - rebuilt).astype(np.float32)
