"""Robust local estimates of an enhanced image's background level and noise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from calcdetect._checks import check_image, check_positive, check_spacing

#: Median absolute deviation to standard deviation for Gaussian noise.
MAD_TO_SIGMA = 1.4826
#: Default side (mm) of the blocks over which the local noise is estimated.
NOISE_BLOCK_MM = 4.0
#: Default sampling of the noise estimate: every third pixel each way (see `local_noise`).
NOISE_STRIDE = 3


@dataclass(frozen=True, eq=False)
class NoiseMap:
    """Background level and noise of a filter response on a coarse grid of blocks.

    Attributes
    ----------
    level, sigma : (P, Q) ndarray of float32
        Median and robust standard deviation (1.4826 x MAD) per block.
    block_px : tuple of 2 ints
        Block size (rows, cols) in pixels.
    shape : tuple of 2 ints
        Shape of the full image.
    """

    level: np.ndarray
    sigma: np.ndarray
    block_px: tuple[int, int]
    shape: tuple[int, int]

    def at(self, rows, cols) -> tuple[np.ndarray, np.ndarray]:
        """Bilinearly interpolated (level, sigma) at pixel positions."""
        coords = np.stack(
            [(np.asarray(rows, float) + 0.5) / self.block_px[0] - 0.5,
             (np.asarray(cols, float) + 0.5) / self.block_px[1] - 0.5]
        )
        level = ndi.map_coordinates(self.level, coords, order=1, mode="nearest")
        sigma = ndi.map_coordinates(self.sigma, coords, order=1, mode="nearest")
        return level, sigma

    def upsample(self, grid: np.ndarray, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """A (P, Q) block grid bilinearly interpolated to the full image, as :meth:`at` does.

        Parameters
        ----------
        grid : (P, Q) array_like
            Values per block, e.g. :attr:`level`.
        window : tuple of 2 slices, optional
            Only this part of the image (steps of 1, within it): the same values as the
            whole image's there, from the blocks round it.

        Returns
        -------
        ndarray of float32
            Of :attr:`shape`, or of the window's shape.

        Raises
        ------
        ValueError
            For a window that is empty, strided or not within the image.
        """
        # Resize to whole blocks, then crop, so a pixel maps to the same block
        # coordinate as in `at` (cv2 also clamps at the border like mode="nearest").
        # A window takes one more block each way than it covers: the pixels within
        # half a block of a grid's edge are clamped there, and those are outside it.
        # OpenCV interpolates a grid one block wide otherwise: such a (small) image is
        # made whole, then cut.
        bounds = []
        for w, n, name in zip(window or (slice(None), slice(None)), self.shape, ("rows", "cols")):
            start, stop, step = w.indices(n)
            if step != 1 or not start < stop or (w.stop is not None and w.stop > n):
                raise ValueError(f"window's {name} must be a slice of step 1 within 0..{n}; got {w}")
            bounds.append((start, stop))
        grid_shape = np.shape(grid)
        if min(grid_shape) == 1:
            first, last = (0, 0), grid_shape
        else:
            (r_first, r_last), (c_first, c_last) = (
                blocks_reading(start, stop, block_px=b, n_blocks=n)
                for (start, stop), b, n in zip(bounds, self.block_px, grid_shape))
            first, last = (int(r_first), int(c_first)), (int(r_last), int(c_last))
        part = np.asarray(grid[first[0]:last[0], first[1]:last[1]], np.float32)
        size = (part.shape[1] * self.block_px[1], part.shape[0] * self.block_px[0])
        crop = tuple(slice(start - f * b, stop - f * b) for (start, stop), f, b in zip(bounds, first, self.block_px))
        return cv2.resize(part, size, interpolation=cv2.INTER_LINEAR)[crop]


def block_grid(shape, block_px) -> tuple[int, int]:
    """(P, Q): the blocks of `block_px` (rows, cols) that cover an image of `shape`, the last
    ones partial."""
    return -(-shape[0] // block_px[0]), -(-shape[1] // block_px[1])


def blocks_reading(start, stop, *, block_px: int, n_blocks: int):
    """The blocks (first, last exclusive) that pixels ``start .. stop - 1`` (along one axis) and
    their noise read: those holding them, and one more each way, which the bilinear
    interpolation between block centres reaches (clipped to the ``n_blocks`` there are).
    Works on arrays too."""
    first = np.maximum(np.floor_divide(start, block_px) - 1, 0)
    last = np.minimum(-np.floor_divide(-np.asarray(stop), block_px) + 1, n_blocks)
    return first, last


#: Grey-level bins of the noise-versus-grey-level curve (see `local_noise`'s `grey_level`).
LEVEL_BINS = 12


def local_noise(response, *, spacing, block_mm: float = NOISE_BLOCK_MM, mask=None, stride: int = NOISE_STRIDE,
                grey_level=None, blocks=None) -> NoiseMap:
    """Estimate the local background level and noise of a filter response.

    Median and median absolute deviation (MAD) per block are insensitive to
    the few calcifications a block may hold, and both scale with the data, so a
    threshold in units of this sigma means the same for 12-, 14- and 16-bit
    images. Blocks mostly outside `mask` take the values of their nearest
    valid neighbour.

    Parameters
    ----------
    response : (M, N) ndarray
        Filter response (e.g. a white top-hat).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    block_mm : float
        Side of the square blocks in millimetres.
    mask : (M, N) ndarray of bool, optional
        Pixels to use (the breast); all by default.
    stride : int
        Use every `stride`-th pixel in each direction: neighbouring pixels of a
        filtered image are correlated, so little is lost and time drops by
        stride**2 (a 4 mm block at 0.07 mm still gives about 360 samples).
    grey_level : (M, N) ndarray, optional
        The image's grey level (e.g. the mammogram itself). Quantum noise depends
        on the signal, so blocks of one grey level share a noise level: with
        `grey_level`, each block's sigma is at least the median sigma of the blocks of
        its grey level (:data:`LEVEL_BINS` bins by quantile over the valid
        blocks), the noise-versus-grey-level relation that Karssemeijer's noise
        equalisation rests on [1]_. A block whose own estimate is deflated (a
        smooth processed zone, a clipped flat area, a skin band flattened by
        peripheral equalisation) then does not make its faint texture significant.
    blocks : (P, Q) ndarray of bool, optional
        Measure only these blocks (of the grid :func:`noise_block_px` gives): `response`
        need only be made there (e.g. by :func:`calcdetect.specks.tiles.filter_windows`);
        the others take the values of their nearest valid neighbour, as blocks outside
        `mask` do. The floors on sigma (that of the grey level's bin, and a twentieth of
        the median) come from the blocks measured.

    Returns
    -------
    NoiseMap

    Raises
    ------
    ValueError
        For a bad image, spacing, block size or stride, or a `grey_level` or `blocks` of
        another shape.

    References
    ----------
    .. [1] Karssemeijer N. Adaptive noise equalization and recognition of
       microcalcification clusters in mammograms. Int J Pattern Recognit Artif
       Intell 1993;7:1357-76.
    """
    response = check_image(response)
    block = noise_block_px(spacing, block_mm=block_mm, stride=stride)
    rows, cols = response.shape
    b_r, b_c = block[0] // stride, block[1] // stride
    n_r, n_c = block_grid((rows, cols), block)
    samples = _strided_blocks(response, mask, stride, (b_r, b_c), (n_r, n_c))
    n_valid = np.count_nonzero(~np.isnan(samples), axis=-1)
    valid = n_valid >= 0.25 * samples.shape[-1]
    if blocks is not None:
        if np.shape(blocks) != valid.shape:
            raise ValueError(f"blocks must have the block grid's shape {valid.shape}; got {np.shape(blocks)}")
        valid &= np.asarray(blocks, bool)
    level = np.zeros((n_r, n_c), np.float32)
    sigma = np.zeros((n_r, n_c), np.float32)
    # All valid blocks in one vectorised median, partly masked ones (along the skin line)
    # with their NaNs sorted past their values.
    if valid.any():
        level[valid], sigma[valid] = _nan_median_and_sigma(samples[valid], n_valid[valid])
    if grey_level is not None and np.shape(grey_level) != response.shape:
        raise ValueError(f"grey_level shape {np.shape(grey_level)} differs from response shape {response.shape}")
    if grey_level is not None and np.count_nonzero(valid) >= 2 * LEVEL_BINS:
        grey_blocks = _strided_blocks(check_image(grey_level), mask, stride, (b_r, b_c), (n_r, n_c))
        grey = np.full((n_r, n_c), np.nan, np.float32)
        grey_values = grey_blocks[valid]  # NaN where masked only, not where the response is
        grey[valid] = _nan_median(grey_values, np.count_nonzero(~np.isnan(grey_values), axis=-1))
        sigma = _level_floor(sigma, grey, valid)
    if valid.any() and not valid.all():
        idx = ndi.distance_transform_edt(~valid, return_distances=False, return_indices=True)
        level, sigma = level[tuple(idx)], sigma[tuple(idx)]
    # A flat (e.g. saturated or constant) block would have sigma 0: floor it at a
    # small fraction of the typical noise so divisions stay finite.
    floor = max(float(np.median(sigma[valid])) * 0.05 if valid.any() else 0.0, 1e-6)
    sigma = np.maximum(sigma, floor)
    return NoiseMap(level=level, sigma=sigma.astype(np.float32), block_px=block, shape=(rows, cols))


def noise_block_px(spacing, *, block_mm: float = NOISE_BLOCK_MM, stride: int = NOISE_STRIDE) -> tuple[int, int]:
    """The blocks (rows, cols in pixels) :func:`local_noise` cuts an image into, from the origin.

    `block_mm` rounded to pixels (at least 4), then to whole `stride`-th pixels (at least 2 of
    them): every sampled pixel lies at a multiple of `stride`, so a sub-image that starts on a
    block's corner has the same blocks and samples as the whole image there.

    Parameters
    ----------
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    block_mm : float
        Side of the blocks (mm).
    stride : int
        Every `stride`-th pixel is sampled.

    Returns
    -------
    tuple of 2 ints
        Pixels (rows, cols).

    Raises
    ------
    ValueError
        For a bad `spacing`, a `block_mm` that is not positive or a `stride` below 1.
    """
    row_mm, col_mm = check_spacing(spacing)
    block_mm = check_positive("block_mm", block_mm)
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a whole number >= 1; got {stride}")
    stride = int(stride)
    block = (max(4, round(block_mm / row_mm)), max(4, round(block_mm / col_mm)))
    # Subsample first, then cut into blocks of whole strided pixels.
    return max(2, block[0] // stride) * stride, max(2, block[1] // stride) * stride


def _strided_blocks(image: np.ndarray, mask, stride: int, block: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """(P, Q, b_r * b_c) float32: every `stride`-th pixel of `image` cut into the grid's blocks of
    `block` strided pixels; NaN outside `mask` and past the image's end."""
    (b_r, b_c), (n_r, n_c) = block, grid
    sub = np.full((n_r * b_r, n_c * b_c), np.nan, np.float32)
    strided = image[::stride, ::stride]
    sub[: strided.shape[0], : strided.shape[1]] = strided
    if mask is not None:
        sub[: strided.shape[0], : strided.shape[1]][~np.asarray(mask, bool)[::stride, ::stride]] = np.nan
    return sub.reshape(n_r, b_r, n_c, b_c).transpose(0, 2, 1, 3).reshape(n_r, n_c, b_r * b_c)


def _level_floor(sigma: np.ndarray, grey: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Raise each valid block's sigma to the median sigma of its grey-level bin."""
    edges = np.quantile(grey[valid], np.linspace(0, 1, LEVEL_BINS + 1)[1:-1])
    bins = np.digitize(grey[valid], edges)
    typical = np.array([np.median(sigma[valid][bins == b]) if np.any(bins == b) else 0.0 for b in range(LEVEL_BINS)])
    out = sigma.copy()
    out[valid] = np.maximum(sigma[valid], typical[bins])
    return out


def _nan_median(values: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Row-wise median of the non-NaN values of a (B, K) array, row b having ``n_valid[b] >= 1`` of
    them: the same numbers as ``np.median`` of each row's values (and as ``np.nanmedian``), in one
    sort. Of an even count, the mean of the middle two in the array's dtype, as ``np.median``."""
    ordered = np.sort(values, axis=-1)  # NaNs last
    n_valid = np.asarray(n_valid, np.intp)
    low = np.take_along_axis(ordered, ((n_valid - 1) // 2)[:, None], axis=-1)[:, 0]
    high = np.take_along_axis(ordered, (n_valid // 2)[:, None], axis=-1)[:, 0]
    return np.where(n_valid % 2 == 1, low, (low + high) / 2)


def _nan_median_and_sigma(values: np.ndarray, n_valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise median and 1.4826 x median absolute deviation of the non-NaN values of a (B, K)
    array (`n_valid` of them in each row, at least 1), as ``np.median`` gives them."""
    median = _nan_median(values, n_valid)
    return median, MAD_TO_SIGMA * _nan_median(np.abs(values - median[:, None]), n_valid)


def pixel_noise_sigma(image, *, skip_flat: bool = False, quantised: bool = False) -> float:
    """Robust standard deviation of an image's pixel noise.

    The median absolute deviation of the differences between horizontally neighbouring
    pixels, times :data:`MAD_TO_SIGMA`, over sqrt 2 (the difference of two independent
    noises has sqrt 2 times their sigma): smooth structure hardly enters the differences.

    Parameters
    ----------
    image : (M, N) array_like
        N >= 2.
    skip_flat : bool
        Leave out equal neighbours at the image's lowest or highest value (air, a
        clipped background or a saturated area: no noise to measure there).
    quantised : bool
        Where more than half the differences are equal (coarse quantisation of faint
        noise, or a very smooth image) the MAD is 0: take the mean absolute deviation
        times sqrt(pi / 2) (the same sigma for Gaussian noise) instead.

    Returns
    -------
    float
        In the image's units; 0 when no pair is left.
    """
    image = np.asarray(image, np.float64)
    d = np.diff(image, axis=1)
    if skip_flat and image.size:
        edge = image[:, 1:]
        d = d[~((d == 0) & ((edge == image.min()) | (edge == image.max())))]
    d = d.ravel()
    if d.size == 0:
        return 0.0
    deviation = np.abs(d - np.median(d))
    mad = float(np.median(deviation))
    if mad == 0 and quantised:
        return math.sqrt(math.pi / 2) * float(deviation.mean()) / math.sqrt(2)
    return MAD_TO_SIGMA * mad / math.sqrt(2)
