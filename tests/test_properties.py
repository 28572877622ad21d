"""Invariants checked on generated inputs (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcdetect.cluster import cluster_labels
from calcdetect.filters import (difference_of_gaussians, disk_footprint, octagon_footprint, octagon_tophat,
                                white_tophat)

spacings = st.tuples(st.sampled_from([0.05, 0.07, 0.1]), st.sampled_from([0.05, 0.07, 0.1]))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    radius_mm=st.floats(0.05, 0.8),
    spacing=spacings,
)
@pytest.mark.parametrize(("tophat", "footprint_of"), [(white_tophat, disk_footprint),
                                                      (octagon_tophat, octagon_footprint)], ids=["disk", "octagon"])
def test_tophat_fast_path_equals_reference_on_any_shape(opening_oracle, tophat, footprint_of, seed, shape, radius_mm,
                                                        spacing):
    """The reference is scipy where the image holds the footprint; for smaller images, whose
    reflection scipy gets wrong, numpy's reflection opened by scipy."""
    image = np.random.default_rng(seed).integers(0, 65536, shape).astype(np.uint16)
    footprint = footprint_of(radius_mm, spacing=spacing)
    fast = tophat(image, radius_mm, spacing=spacing)
    np.testing.assert_array_equal(fast, opening_oracle(image, footprint))
    if all(n >= k for n, k in zip(shape, footprint.shape)):
        np.testing.assert_array_equal(fast, tophat(image, radius_mm, spacing=spacing, backend="reference"))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 40),
    min_specks=st.integers(2, 6),
    radius_mm=st.floats(0.5, 10.0),
    spacing=spacings,
)
def test_cluster_partition_does_not_depend_on_speck_order(seed, n, min_specks, radius_mm, spacing):
    rng = np.random.default_rng(seed)
    rows, cols = rng.uniform(0, 400, n), rng.uniform(0, 400, n)
    labels = cluster_labels(rows, cols, spacing=spacing, radius_mm=radius_mm, min_specks=min_specks)
    order = rng.permutation(n)
    permuted = cluster_labels(rows[order], cols[order], spacing=spacing, radius_mm=radius_mm, min_specks=min_specks)
    # Core specks and unclustered specks do not depend on order (border specks
    # equidistant from two clusters could; random floats make that vanish).
    np.testing.assert_array_equal(labels[order] >= 0, permuted >= 0)
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    same_permuted = (permuted[:, None] == permuted[None, :]) & (permuted[:, None] >= 0)
    np.testing.assert_array_equal(same[np.ix_(order, order)], same_permuted)
    # Every cluster holds a core speck: min_specks specks (itself included) within radius_mm.
    points = np.column_stack([rows * spacing[0], cols * spacing[1]])
    neighbours = (np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) <= radius_mm).sum(axis=1)
    for c in range(labels.max() + 1 if n else 0):
        assert (neighbours[labels == c] >= min_specks).any()
    # and every speck with that many neighbours is in a cluster
    assert (labels[neighbours >= min_specks] >= 0).all()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    low_sigma_mm=st.floats(0.02, 0.3),
    spacing=spacings,
)
def test_dog_fast_path_equals_reference_on_any_shape(seed, shape, low_sigma_mm, spacing):
    image = np.random.default_rng(seed).uniform(0, 4095, shape).astype(np.float32)
    fast = difference_of_gaussians(image, low_sigma_mm, 4 * low_sigma_mm, spacing=spacing)
    slow = difference_of_gaussians(image, low_sigma_mm, 4 * low_sigma_mm, spacing=spacing, backend="reference")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=4095 * 2e-6)
