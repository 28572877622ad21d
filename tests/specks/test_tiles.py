import numpy as np
import pytest
from scipy import ndimage as ndi

from calcdetect.specks.noise import local_noise, noise_block_px
from calcdetect.specks.tiles import blocks_round, filter_windows, tile_windows, window_blocks

SHAPE = (700, 950)
BLOCK = (39, 39)


@pytest.mark.parametrize("reach_px", [(0, 0), (25, 10), (120, 120)], ids=["none", "anisotropic", "far"])
def test_the_blocks_round_a_box_hold_its_reach_and_the_next_block_each_way(reach_px):
    rng = np.random.default_rng(0)
    start = rng.uniform(0, np.subtract(SHAPE, 40), (5, 2))
    boxes = np.c_[start, start + rng.uniform(0, 40, (5, 2))]
    needed = blocks_round(boxes, shape=SHAPE, block_px=BLOCK, reach_px=reach_px)
    assert needed.shape == (18, 25)
    for r0, c0, r1, c1 in boxes:
        rows = np.clip([r0 - reach_px[0], r1 + reach_px[0]], 0, SHAPE[0] - 1) // BLOCK[0]
        cols = np.clip([c0 - reach_px[1], c1 + reach_px[1]], 0, SHAPE[1] - 1) // BLOCK[1]
        first = np.maximum([rows[0] - 1, cols[0] - 1], 0).astype(int)
        last = np.minimum([rows[1] + 1, cols[1] + 1], np.array(needed.shape) - 1).astype(int)
        assert needed[first[0]:last[0] + 1, first[1]:last[1] + 1].all()
    far = ~ndi.binary_dilation(needed, np.ones((3, 3), bool))
    assert far.any()  # and not everything


def test_tile_windows_are_whole_blocks_that_cover_the_marked_ones_once():
    needed = np.zeros((18, 25), bool)
    needed[2:5, 3:12] = True
    needed[16:, 20:] = True  # at the image's end: partial blocks
    windows = tile_windows(needed, shape=SHAPE, block_px=BLOCK, tile_blocks=4)
    covered = np.zeros(SHAPE, int)
    for rows, cols in windows:
        assert rows.start % BLOCK[0] == 0 and cols.start % BLOCK[1] == 0
        covered[rows, cols] += 1
    assert covered.max() == 1
    marked = np.kron(needed, np.ones(BLOCK, int))[: SHAPE[0], : SHAPE[1]].astype(bool)
    assert covered[marked].all()
    assert covered.sum() < 2 * marked.sum()


@pytest.mark.parametrize("size", [3, 15], ids=["small", "large"])
def test_a_local_filter_on_windows_with_a_margin_of_its_reach_is_the_whole_images(size):
    image = np.random.default_rng(1).normal(size=SHAPE).astype(np.float32)
    whole = ndi.minimum_filter(image, size=size, mode="reflect")
    needed = blocks_round([[100, 100, 110, 130], [600, 900, 650, 940]], shape=SHAPE, block_px=BLOCK,
                          reach_px=(10, 10))
    windows = tile_windows(needed, shape=SHAPE, block_px=BLOCK)
    for window, within, part in filter_windows(lambda tile: ndi.minimum_filter(tile, size=size, mode="reflect"),
                                               image, windows, margin_px=(size // 2, size // 2)):
        np.testing.assert_array_equal(part[within], whole[window])


def test_noise_measured_on_some_blocks_is_the_whole_images_there():
    rng = np.random.default_rng(2)
    image = (rng.normal(size=SHAPE) * rng.uniform(1, 4, size=SHAPE)).astype(np.float32)
    whole = local_noise(image, spacing=(0.1, 0.1))
    assert whole.block_px == noise_block_px((0.1, 0.1))
    blocks = np.zeros(whole.level.shape, bool)
    blocks[3:9, 4:15] = True
    partial = image.copy()
    partial[np.kron(~blocks, np.ones(whole.block_px, bool))[: SHAPE[0], : SHAPE[1]]] = 1e9  # never read
    some = local_noise(partial, spacing=(0.1, 0.1), blocks=blocks)
    np.testing.assert_array_equal(some.level[blocks], whole.level[blocks])
    np.testing.assert_array_equal(some.sigma[blocks], whole.sigma[blocks])
    assert np.all(some.sigma < 1e6)  # the others filled from their neighbours
    with pytest.raises(ValueError, match="blocks must have the block grid's shape"):
        local_noise(image, spacing=(0.1, 0.1), blocks=blocks[1:])


def test_boxes_must_be_k_by_4():
    with pytest.raises(ValueError, match=r"boxes must be \(K, 4\)"):
        blocks_round([[10, 10], [50, 50]], shape=SHAPE, block_px=BLOCK, reach_px=(0, 0))


def test_the_blocks_of_windows_are_every_block_they_cover():
    needed = np.zeros((18, 25), bool)
    needed[2, 3] = needed[4, 6] = True  # one tile: its window holds unmarked blocks too
    needed[17, 24] = True  # a partial block at the image's end
    windows = tile_windows(needed, shape=SHAPE, block_px=BLOCK)
    covered = window_blocks(windows, shape=SHAPE, block_px=BLOCK)
    expected = np.zeros_like(needed)
    expected[2:5, 3:7] = expected[17, 24] = True
    np.testing.assert_array_equal(covered, expected)
