"""Speed-ups that must not change detection: `detect` pinned on the bundled samples, and each
optimised routine against its reference.

The golden file ``tests/data/samples_detect_golden.json`` holds, for each image in
``data/samples`` (one also with anisotropic pixels) and two larger synthetic images, the number
of candidates, specks and clusters, and sums (rounded to 9 significant digits) and hashes (of
values rounded to 6 significant digits) of the speck and cluster columns. Any speck or cluster that appears,
disappears or moves changes them; a last-bit float difference from a reordered sum does not.

When a change to detection is *intended*, regenerate the golden file and commit it with the
change::

    CALCDETECT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_speed_exact.py -k golden

(the test then rewrites the file and is skipped), and say in the commit why the numbers moved.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from calcdetect.io import read_mammogram
from calcdetect.pipeline import detect, detect_mammogram
from calcdetect.synth import SynthSettings, synthesize

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
GOLDEN = Path(__file__).resolve().parent / "data" / "samples_detect_golden.json"
UPDATE = os.environ.get("CALCDETECT_UPDATE_GOLDEN") == "1"

SPECK_COLUMNS = ("row", "col", "score", "area_mm2", "length_mm", "width_mm", "contrast", "significance")
CLUSTER_COLUMNS = ("row", "col", "confidence", "extent_mm", "area_mm2")


def _sig(x: float, digits: int = 9) -> float:
    return float(f"{float(x):.{digits - 1}e}")


def _hash(values) -> str:
    rounded = [f"{float(v):.5e}" for v in np.ravel(values)]
    return hashlib.sha256(",".join(rounded).encode()).hexdigest()[:16]


def summary(result) -> dict:
    """What the golden file pins of one :class:`calcdetect.pipeline.Result`."""
    specks, clusters = result.specks, result.clusters
    out = {
        "n_candidates": int(result.n_candidates),
        "n_specks": len(specks),
        "n_clusters": len(clusters),
        "n_clusters_before_cut": int(result.n_clusters_before_cut),
        "cluster_id": _hash(result.cluster_id),
        "bbox": _hash(specks.bbox),
        "suspicion": [_sig(v) for v in result.suspicion],
        "confidence": [_sig(v) for v in clusters.confidence],
        "image_birads": result.image_birads_category,
    }
    for name in SPECK_COLUMNS:
        values = getattr(specks, name)
        out[f"speck_{name}_sum"] = _sig(np.sum(values)) if len(values) else 0.0
        out[f"speck_{name}_hash"] = _hash(values)
    for name in CLUSTER_COLUMNS:
        values = getattr(clusters, name)
        out[f"cluster_{name}_sum"] = _sig(np.sum(values)) if len(values) else 0.0
        out[f"cluster_{name}_hash"] = _hash(values)
    return out


def _synthetic(seed, shape):
    s = synthesize(rng=np.random.default_rng(seed), settings=SynthSettings(shape=shape, spacing_mm=0.07))
    return s.pixels, s.spacing


def all_summaries() -> dict:
    out = {}
    for path in sorted(SAMPLES.glob("*.dcm")):
        mammogram = read_mammogram(path)
        out[path.name] = summary(detect_mammogram(mammogram))
        if path.name == "synth_0004.dcm":  # anisotropic pixels (filters' footprints, resizes)
            row_mm, col_mm = mammogram.spacing
            out[path.name + " col spacing x1.3"] = summary(
                detect(mammogram.image, spacing=(row_mm, col_mm * 1.3), view=mammogram.view))
    for seed, shape in [(77, (2048, 1664)), (2024, (4096, 3328))]:  # the latter: scratch/prof.py's size
        image, spacing = _synthetic(seed, shape)
        out[f"synthesize(seed={seed}, {shape[0]}x{shape[1]})"] = summary(detect(image, spacing=spacing))
    return out


def test_detect_matches_golden():
    got = all_summaries()
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"rewrote {GOLDEN}")
    want = json.loads(GOLDEN.read_text())
    assert sorted(got) == sorted(want)
    for name in want:
        diff = {k: (want[name][k], got[name].get(k)) for k in want[name] if got[name].get(k) != want[name][k]}
        assert not diff, f"{name}: {diff}"


# --- Trees: all trees of an ensemble descended together, against one tree at a time ---------------

from calcdetect.specks.model import shipped_model  # noqa: E402
from calcdetect.specks.trees import FORMAT, TreeEnsemble  # noqa: E402


def _tree_by_tree(model: TreeEnsemble, columns) -> np.ndarray:
    """The former evaluation: each tree's :meth:`Tree.predict_raw` added in turn."""
    x = np.column_stack([np.asarray(columns[name], float) for name in model.features])
    raw = np.zeros(len(x))
    for tree in model.trees:
        raw += tree.predict_raw(x)
    return expit(raw)


def _probe_columns(model: TreeEnsemble, rng, n: int) -> dict:
    """Rows round the model's own thresholds: exactly on them, just off them, NaN, zeros, -0.0."""
    thresholds = {i: [] for i in range(len(model.features))}
    for tree in model.trees:
        for f, t in zip(tree.feature.tolist(), tree.threshold.tolist()):
            thresholds[f].append(t)
    columns = {}
    for i, name in enumerate(model.features):
        t = np.array(thresholds[i] or [0.0])
        values = rng.choice(t, n) + rng.choice([0.0, 0.0, 1e-12, -1e-12, 0.3, -0.3], n) * np.maximum(np.abs(
            rng.choice(t, n)), 1.0)
        values[rng.random(n) < 0.1] = np.nan
        values[rng.random(n) < 0.05] = 0.0
        values[rng.random(n) < 0.03] = -0.0
        values[rng.random(n) < 0.02] = 1e-36  # "zero" for LightGBM
        columns[name] = values
    return columns


@pytest.mark.parametrize("target", ["calcification", "vascular"])
def test_shipped_models_give_the_same_bits_as_tree_by_tree(target):
    model = shipped_model(target)
    rng = np.random.default_rng(11)
    for n in (0, 1, 7, 500):
        columns = _probe_columns(model, rng, n)
        assert np.array_equal(model.predict_proba(columns), _tree_by_tree(model, columns))


def test_shipped_models_on_detected_candidates_give_the_same_bits():
    mammogram = read_mammogram(SAMPLES / "synth_0004.dcm")
    result = detect_mammogram(mammogram)
    features = result.features
    columns = {name: getattr(features, name) for name in type(features).names()}
    assert len(features) > 10
    for target in ("calcification", "vascular"):
        model = shipped_model(target)
        assert np.array_equal(model.predict_proba(columns), _tree_by_tree(model, columns))


def _random_tree(rng, size: int) -> dict:
    """A random binary tree of `size` internal nodes (0: one leaf), numbered in creation order, as JSON."""
    left: list[int] = []
    right: list[int] = []
    n_leaves = 0

    def grow(n_internal: int) -> int:
        nonlocal n_leaves
        if n_internal == 0:
            n_leaves += 1
            return ~(n_leaves - 1)
        index = len(left)
        left.append(0)
        right.append(0)
        n_left = int(rng.integers(0, n_internal))
        left[index] = grow(n_left)
        right[index] = grow(n_internal - 1 - n_left)
        return index

    grow(size)
    return {"feature": rng.integers(0, 3, size).tolist(),
            "threshold": rng.choice([-1.0, 0.0, 0.5, 2.0], size).tolist(),
            "missing": rng.choice(["none", "zero", "nan"], size).tolist(),
            "default_left": rng.choice([False, True], size).tolist(),
            "left": left, "right": right, "leaf_value": rng.normal(size=n_leaves).tolist()}


def test_trees_of_different_sizes_one_leaf_and_every_missing_rule():
    rng = np.random.default_rng(12)
    trees = [_random_tree(rng, size) for size in (0, 1, 3, 6, 2, 0, 5)]
    document = {"format": FORMAT, "format_version": 1, "objective": "binary", "features": ["a", "b", "c"],
                "metadata": {}, "trees": trees}
    model = TreeEnsemble.from_json(json.dumps(document))
    values = np.array([-1.0, 0.0, -0.0, 0.5, 2.0, 3.0, np.nan, 1e-36, -2.0])
    columns = {name: rng.choice(values, 400) for name in model.features}
    assert np.array_equal(model.predict_proba(columns), _tree_by_tree(model, columns))
    empty = TreeEnsemble(features=("a",), trees=())
    assert np.array_equal(empty.predict_proba({"a": [1.0, np.nan]}), [0.5, 0.5])


# --- Local noise: one sort per block grid, against one np.median per partly masked block -----------

from scipy import ndimage as ndi  # noqa: E402

from calcdetect.specks import noise as noise_module  # noqa: E402
from calcdetect.specks.noise import LEVEL_BINS, MAD_TO_SIGMA, NoiseMap, local_noise  # noqa: E402


def _reference_median_and_sigma(values):
    median = np.median(values, axis=-1)
    return median, MAD_TO_SIGMA * np.median(np.abs(values - median[:, None]), axis=-1)


def _reference_local_noise(response, *, spacing, block_mm=4.0, mask=None, stride=3, grey_level=None,
                           blocks=None) -> NoiseMap:
    """The former :func:`calcdetect.specks.noise.local_noise`: whole blocks in one np.median, partly
    masked ones one by one, grey levels by np.nanmedian; with `blocks`, the others left out of
    the mask (where they hold at least one pixel)."""
    if blocks is not None:
        block_px = noise_module.noise_block_px(spacing, block_mm=block_mm, stride=stride)
        made = np.kron(blocks, np.ones(block_px, bool))[: response.shape[0], : response.shape[1]]
        mask = made if mask is None else mask & made
    response = np.asarray(response)
    row_mm, col_mm = spacing
    block = (max(4, round(block_mm / row_mm)), max(4, round(block_mm / col_mm)))
    rows, cols = response.shape
    b_r, b_c = max(2, block[0] // stride), max(2, block[1] // stride)
    block = (b_r * stride, b_c * stride)
    n_r, n_c = -(-rows // block[0]), -(-cols // block[1])
    blocks = noise_module._strided_blocks(response, mask, stride, (b_r, b_c), (n_r, n_c))
    n_valid = np.count_nonzero(~np.isnan(blocks), axis=-1)
    valid = n_valid >= 0.25 * blocks.shape[-1]
    level = np.zeros((n_r, n_c), np.float32)
    sigma = np.zeros((n_r, n_c), np.float32)
    whole = n_valid == blocks.shape[-1]
    if whole.any():
        level[whole], sigma[whole] = _reference_median_and_sigma(blocks[whole])
    for i, j in zip(*np.nonzero(valid & ~whole)):
        values = blocks[i, j][~np.isnan(blocks[i, j])]
        level[i, j], sigma[i, j] = (v[0] for v in _reference_median_and_sigma(values[None, :]))
    if grey_level is not None and np.count_nonzero(valid) >= 2 * LEVEL_BINS:
        grey_blocks = noise_module._strided_blocks(np.asarray(grey_level), mask, stride, (b_r, b_c), (n_r, n_c))
        grey = np.full((n_r, n_c), np.nan, np.float32)
        grey[valid] = np.nanmedian(grey_blocks[valid], axis=-1)
        sigma = noise_module._level_floor(sigma, grey, valid)
    if valid.any() and not valid.all():
        idx = ndi.distance_transform_edt(~valid, return_distances=False, return_indices=True)
        level, sigma = level[tuple(idx)], sigma[tuple(idx)]
    floor = max(float(np.median(sigma[valid])) * 0.05 if valid.any() else 0.0, 1e-6)
    sigma = np.maximum(sigma, floor)
    return NoiseMap(level=level, sigma=sigma.astype(np.float32), block_px=block, shape=(rows, cols))


def _same_noise(a: NoiseMap, b: NoiseMap) -> bool:
    return (a.level.dtype == b.level.dtype and a.sigma.dtype == b.sigma.dtype and a.block_px == b.block_px
            and a.shape == b.shape and np.array_equal(a.level, b.level) and np.array_equal(a.sigma, b.sigma))


def _blob_mask(rng, shape):
    """A breast-like region: a disk off the image's edge, so that many blocks are partly masked."""
    r, c = np.ogrid[: shape[0], : shape[1]]
    centre = rng.uniform(0.2, 0.8, 2) * shape
    radius = rng.uniform(0.3, 0.7) * min(shape)
    return (r - centre[0]) ** 2 + (c - centre[1]) ** 2 <= radius**2


@pytest.mark.parametrize("seed", range(6))
def test_local_noise_equals_the_former_block_by_block_medians(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(150, 400, 2))
    kind = seed % 3
    if kind == 0:  # float noise, a few NaNs inside the mask
        response = rng.normal(size=shape).astype(np.float32)
        response[rng.random(shape) < 0.01] = np.nan
    elif kind == 1:  # a top-hat-like response: many exact zeros, ties
        response = np.maximum(rng.normal(size=shape), 0).round(1).astype(np.float32)
    else:  # integers, even and odd counts, signed zeros
        response = rng.integers(-3, 4, shape).astype(np.float32)
        response[rng.random(shape) < 0.2] = -0.0
    grey = rng.integers(0, 4096, shape).astype(np.uint16)
    spacing = ((0.07, 0.07), (0.1, 0.1), (0.07, 0.09))[seed % 3]
    mask = _blob_mask(rng, shape)
    for kwargs in ({"mask": mask}, {"mask": mask, "grey_level": grey}, {"mask": None}, {"mask": mask, "stride": 2}):
        want = _reference_local_noise(response, spacing=spacing, block_mm=2.0, **kwargs)
        got = local_noise(response, spacing=spacing, block_mm=2.0, **kwargs)
        assert _same_noise(got, want), kwargs


def test_local_noise_on_detection_inputs_equals_the_former():
    """The four local_noise calls of one detection, on a bundled sample."""
    import calcdetect.pipeline as pipeline
    import calcdetect.specks.candidates as candidates
    import calcdetect.specks.ridges as ridges
    import calcdetect.specks.shape as shape

    calls = []

    def recording(response, **kwargs):
        calls.append((np.array(response, copy=True), dict(kwargs)))
        return local_noise(response, **kwargs)

    modules = (pipeline, candidates, ridges, shape)
    try:
        for module in modules:
            module.local_noise = recording
        detect_mammogram(read_mammogram(SAMPLES / "synth_0004.dcm"))
    finally:
        for module in modules:
            module.local_noise = local_noise
    assert len(calls) >= 3
    for response, kwargs in calls:
        assert _same_noise(local_noise(response, **kwargs), _reference_local_noise(response, **kwargs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_median_equals_numpy_median_of_each_rows_values(dtype):
    rng = np.random.default_rng(13)
    values = rng.integers(-5, 6, (300, 40)).astype(dtype)
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 0] = 1.5  # at least one value per row
    n_valid = np.count_nonzero(~np.isnan(values), axis=-1)
    got_level, got_sigma = noise_module._nan_median_and_sigma(values, n_valid)
    for row, level, sigma in zip(values, got_level, got_sigma):
        want_level, want_sigma = _reference_median_and_sigma(row[~np.isnan(row)][None, :])
        assert level == want_level[0] and sigma == want_sigma[0]
        assert type(level) is type(want_level[0])
    np.testing.assert_array_equal(noise_module._nan_median(values, n_valid), np.nanmedian(values, axis=-1))


# --- Speck finding: the labelled pixels are read off the thresholded image, not the label image -----

@pytest.mark.parametrize("density", [0.01, 0.3, 0.7])
def test_labelled_pixels_are_exactly_the_candidate_pixels(density):
    """find_specks takes ``np.flatnonzero(candidate)`` for the former ``np.flatnonzero(labels)``: the
    same pixels, since both labellings give every foreground pixel a label >= 1."""
    import cv2

    rng = np.random.default_rng(14)
    candidate = rng.random((300, 257)) < density
    _, labels = cv2.connectedComponents(candidate.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    reference, _ = ndi.label(candidate, structure=np.ones((3, 3), bool))
    assert np.array_equal(np.flatnonzero(candidate), np.flatnonzero(labels))
    assert np.array_equal(np.flatnonzero(candidate), np.flatnonzero(reference))


@pytest.mark.parametrize(("seed", "clusters"), [(5, False), (7, True)], ids=["normal", "with-clusters"])
def test_ridges_are_followed_only_where_there_are_clusters_to_describe(seed, clusters):
    synth = synthesize(rng=np.random.default_rng(seed), settings=SynthSettings(scale=0.25))
    result = detect(synth.pixels, spacing=synth.spacing)
    assert (len(result.clusters) > 0) == clusters
    assert ("ridges" in result.seconds) == clusters
    assert len(result.specks) > 0
    # every calcification the description may look at has its ridge, or none has
    assert np.isfinite(result.shapes.ridge_length_mm).all() == clusters
    assert np.isnan(result.shapes.ridge_length_mm).all() == (not clusters)
