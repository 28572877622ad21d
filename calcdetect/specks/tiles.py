"""Filter only where it is read: the noise blocks round a few boxes, tile by tile.

Some maps are read only round a few places (the ridge maps, :mod:`calcdetect.specks.ridges`,
round the specks, once there are clusters to describe): their pixels within some reach, and the
local noise there, which is measured over whole blocks
(:func:`calcdetect.specks.noise.local_noise`) and interpolated between the centres of
neighbouring blocks. :func:`blocks_round` marks the blocks such reads need;
:func:`tile_windows` cuts them into windows of whole blocks, a tile at a time; and
:func:`filter_windows` runs a filter on each window with a margin of its reach, so that
each window holds what the filter gives on the whole image (``local_noise(...,
blocks=...)`` then measures the blocks made). Where the places cover most of the image
(the candidate specks of a mammogram do, with 4 mm blocks), the margins cost more than
the blocks left out save: filter the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

from calcdetect.specks.noise import block_grid, blocks_reading

#: Tiles of this many noise blocks square: a window is the marked blocks of one tile.
#: Larger tiles mean fewer calls and less margin, smaller ones less unmarked area.
TILE_BLOCKS = 8

Window = tuple[slice, slice]
T = TypeVar("T")


def blocks_round(boxes, *, shape, block_px, reach_px) -> np.ndarray:
    """The noise blocks that reads within `reach_px` of each box need.

    Parameters
    ----------
    boxes : (K, 4) array_like
        ``row_min, col_min, row_max, col_max`` (inclusive, pixels; fractions allowed).
    shape : tuple of 2 ints
        The image's shape.
    block_px : tuple of 2 ints
        Block size (rows, cols), as :func:`calcdetect.specks.noise.noise_block_px`.
    reach_px : tuple of 2 floats
        How far past each box pixels are read (rows, cols).

    Returns
    -------
    (P, Q) ndarray of bool
        The blocks that hold those pixels, and one more each way, which the noise's
        interpolation between block centres reads
        (:func:`calcdetect.specks.noise.blocks_reading`).

    Raises
    ------
    ValueError
        When `boxes` is not (K, 4).
    """
    boxes = np.asarray(boxes, float)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (K, 4): row_min, col_min, row_max, col_max; got shape {boxes.shape}")
    n_blocks = block_grid(shape, block_px)
    needed = np.zeros(n_blocks, bool)
    (r_first, r_last), (c_first, c_last) = (
        blocks_reading(np.floor(boxes[:, lo] - reach).astype(np.intp),
                       np.floor(boxes[:, hi] + reach).astype(np.intp) + 1, block_px=b, n_blocks=n)
        for lo, hi, reach, b, n in zip((0, 1), (2, 3), reach_px, block_px, n_blocks))
    for r0, c0, r1, c1 in zip(r_first, c_first, r_last, c_last):
        needed[r0:r1, c0:c1] = True
    return needed


def tile_windows(blocks: np.ndarray, *, shape, block_px, tile_blocks: int = TILE_BLOCKS) -> list[Window]:
    """The windows to make: in each tile of `tile_blocks` blocks square, the bounding box of its
    marked `blocks`.

    Parameters
    ----------
    blocks : (P, Q) ndarray of bool
        The blocks to make (:func:`blocks_round`).
    shape : tuple of 2 ints
        The image's shape.
    block_px : tuple of 2 ints
        Block size (rows, cols) in pixels.
    tile_blocks : int
        Side of the tiles, in blocks.

    Returns
    -------
    list of (slice, slice)
        Pixel windows (rows, cols), of whole blocks clipped to the image, in raster order
        of their tiles; they do not overlap. A window may hold unmarked blocks of its tile.
    """
    windows: list[Window] = []
    for t_r in range(0, blocks.shape[0], tile_blocks):
        for t_c in range(0, blocks.shape[1], tile_blocks):
            where = np.nonzero(blocks[t_r:t_r + tile_blocks, t_c:t_c + tile_blocks])
            if where[0].size == 0:
                continue
            rows, cols = (slice((t + w.min()) * b, min((t + w.max() + 1) * b, n))
                          for t, w, b, n in zip((t_r, t_c), where, block_px, shape))
            windows.append((rows, cols))
    return windows


def window_blocks(windows: list[Window], *, shape, block_px) -> np.ndarray:
    """(P, Q) bool: the blocks the windows (of whole blocks) cover, for ``local_noise(blocks=)``."""
    covered = np.zeros(block_grid(shape, block_px), bool)
    for rows, cols in windows:
        covered[rows.start // block_px[0]:-(-rows.stop // block_px[0]),
                cols.start // block_px[1]:-(-cols.stop // block_px[1])] = True
    return covered


def filter_windows(function: Callable[[np.ndarray], T], image: np.ndarray, windows: list[Window], *,
                   margin_px) -> Iterator[tuple[Window, Window, T]]:
    """Run `function` on each window of `image` grown by a margin.

    Parameters
    ----------
    function : callable
        Image -> an array (or a tuple of arrays) of its shape.
    image : (M, N) ndarray
    windows : list of (slice, slice)
        Pixel windows (:func:`tile_windows`).
    margin_px : tuple of 2 floats
        The margin (rows, cols), rounded up; clipped to the image.

    Yields
    ------
    window, within : (slice, slice)
        The window, and where it lies in the result.
    result
        What `function` returned on the grown window: ``result[within]`` (of each array
        it returns) is the window's part. With a margin of at least the function's reach,
        that is what the function gives on the whole image there.
    """
    margin = [math.ceil(m) for m in margin_px]
    for window in windows:
        outer = tuple(slice(max(w.start - m, 0), min(w.stop + m, n)) for w, m, n in zip(window, margin, image.shape))
        within = (slice(window[0].start - outer[0].start, window[0].stop - outer[0].start),
                  slice(window[1].start - outer[1].start, window[1].stop - outer[1].start))
        yield window, within, function(image[outer])
