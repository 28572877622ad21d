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

import numpy as np

#: Tiles of this many noise blocks square: a window is the marked blocks of one tile.
#: Larger tiles mean fewer calls and less margin, smaller ones less unmarked area.
TILE_BLOCKS = 8

Window = tuple[slice, slice]


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
        interpolation between block centres reads.
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    needed = np.zeros([-(-n // b) for n, b in zip(shape, block_px)], bool)
    first = [np.maximum(np.floor((boxes[:, i] - reach) / b).astype(np.intp) - 1, 0)
             for i, reach, b in zip((0, 1), reach_px, block_px)]
    last = [np.floor((boxes[:, i] + reach) / b).astype(np.intp) + 2 for i, reach, b in zip((2, 3), reach_px, block_px)]
    for r0, c0, r1, c1 in zip(first[0], first[1], last[0], last[1]):
        needed[r0:r1, c0:c1] = True
    return needed


def tile_windows(blocks: np.ndarray, *, shape, block_px, tile_blocks: int = TILE_BLOCKS) -> list[Window]:
    """The windows (pixels) to make: in each tile of `tile_blocks` blocks square, the
    bounding box of its marked `blocks`, clipped to the image."""
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


def filter_windows(function: Callable[[np.ndarray], object], image: np.ndarray, windows: list[Window], *,
                   margin_px) -> Iterator[tuple[Window, Window, object]]:
    """Run `function` on each window of `image` grown by `margin_px` (rows, cols; clipped to
    the image), and yield ``(window, within, result)``: ``result[within]`` (of each array it
    returns) is the window's part. With a margin of at least the function's reach, that is
    what the function gives on the whole image there."""
    margin = [math.ceil(m) for m in margin_px]
    for window in windows:
        outer = tuple(slice(max(w.start - m, 0), min(w.stop + m, n)) for w, m, n in zip(window, margin, image.shape))
        within = (slice(window[0].start - outer[0].start, window[0].stop - outer[0].start),
                  slice(window[1].start - outer[1].start, window[1].stop - outer[1].start))
        yield window, within, function(image[outer])
