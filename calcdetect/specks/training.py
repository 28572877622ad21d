"""Fit the false-positive model on candidates found in synthetic mammograms.

Every image of a synthetic set (:mod:`calcdetect.synth`) is read back from its file
and detected exactly as ``calcdetect detect`` does, with the model switched off so that
every candidate is kept; a candidate is a calcification when it lies within
``max(0.5 mm, half the length)`` of a planted one (cluster member or isolated), as
``calcdetect evaluate`` matches them, and a false positive otherwise (noise, tissue,
vessel edges, dust, hot pixels, fibres, labels, film borders). Gradient-boosted trees
(LightGBM, Ke et al., NeurIPS 2017) are fitted deterministically (one thread, fixed
seed), so the same sets give the same model byte for byte; the model is stored as
JSON (:mod:`calcdetect.specks.trees`), with its data card in ``metadata``.

Needs ``pip install 'calcdetect[train]'`` (LightGBM).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import mannwhitneyu

from calcdetect.lexicon import Morphology
from calcdetect.specks.features import CandidateFeatures
from calcdetect.specks.trees import TreeEnsemble
from calcdetect.truth import TruthImage, read_truth

#: Distance (mm) within which a candidate is a planted calcification, at least
#: (half the planted calcification's length when longer): ``calcdetect evaluate``'s rule.
MATCH_TOLERANCE_MM = 0.5

#: LightGBM settings of the shipped model: deterministic, single-threaded, small trees.
LIGHTGBM_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "lambda_l2": 1.0,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "seed": 0,
    "verbose": -1,
}
N_TREES = 300


@dataclass(frozen=True, eq=False)
class Candidates:
    """Labelled candidates of one or more images.

    Attributes
    ----------
    features : dict of str to (K,) ndarray
        :class:`CandidateFeatures` by name.
    label : (K,) ndarray of bool
        True where the candidate is a planted calcification.
    vascular : (K,) ndarray of bool
        True where it is a calcification of a planted vascular cluster.
    image : (K,) ndarray of int
        Index of the candidate's image.
    """

    features: dict
    label: np.ndarray
    vascular: np.ndarray
    image: np.ndarray

    @property
    def n_images(self) -> int:
        return int(self.image.max()) + 1 if len(self.image) else 0

    @classmethod
    def concatenate(cls, parts) -> Candidates:
        """One set of the parts' candidates, their images numbered on in turn."""
        parts = list(parts)
        offsets = np.cumsum([0] + [max(p.n_images, 1) for p in parts])
        return cls(
            features={n: np.concatenate([np.zeros(0)] + [p.features[n] for p in parts])
                      for n in CandidateFeatures.names()},
            label=np.concatenate([np.zeros(0, bool)] + [p.label for p in parts]),
            vascular=np.concatenate([np.zeros(0, bool)] + [p.vascular for p in parts]),
            image=np.concatenate([np.zeros(0, np.int64)] + [p.image + o for p, o in zip(parts, offsets)]),
        )


def label_candidates(rows, cols, *, spacing, truth_image: TruthImage) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates at pixel (rows, cols) lie on a planted calcification, and which on a vascular one.

    `truth_image` is one image of a ``truth.json`` (its clusters' members and isolated specks).

    Returns
    -------
    calcification, vascular : (K,) ndarray of bool
    """
    calcs = [(c, cluster.morphology == Morphology.VASCULAR) for cluster in truth_image.clusters
             for c in cluster.calcifications]
    calcs += [(c, False) for c in truth_image.isolated]
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    if not calcs or rows.size == 0:
        return np.zeros(rows.size, bool), np.zeros(rows.size, bool)
    row_mm, col_mm = spacing
    planted = np.array([[c.row * row_mm, c.col * col_mm] for c, _ in calcs])
    radius = np.maximum(MATCH_TOLERANCE_MM, np.array([c.length_mm or 0.0 for c, _ in calcs]) / 2)
    is_vascular = np.array([v for _, v in calcs], bool)
    found = np.column_stack([rows * row_mm, cols * col_mm])
    hits = cKDTree(planted).query_ball_point(found, r=float(radius.max()))
    calcification, vascular = np.zeros(len(found), bool), np.zeros(len(found), bool)
    for i, (point, near) in enumerate(zip(found, hits)):
        on = [j for j in near if np.hypot(*(planted[j] - point)) <= radius[j]]
        calcification[i] = bool(on)
        vascular[i] = bool(on) and bool(is_vascular[on].any())
    return calcification, vascular


def image_candidates(path, truth_image: TruthImage) -> Candidates:
    """Detect one synthetic image (model off, every candidate kept) and label its candidates."""
    from calcdetect.io import read_mammogram
    from calcdetect.pipeline import Params, detect_mammogram

    mammogram = read_mammogram(path)
    result = detect_mammogram(mammogram, params=Params(fp_model=False))
    features = result.features
    label, vascular = label_candidates(result.specks.row, result.specks.col, spacing=mammogram.spacing,
                                       truth_image=truth_image)
    return Candidates(features={n: np.asarray(getattr(features, n), float) for n in CandidateFeatures.names()},
                      label=label, vascular=vascular, image=np.zeros(len(label), np.int64))


def set_candidates(folder, *, jobs: int = 1) -> Candidates:
    """Labelled candidates of every image of a synthetic set folder (with its ``truth.json``)."""
    folder = Path(folder)
    images = read_truth(folder / "truth.json").images
    paths = [folder / im.image_id for im in images]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(image_candidates, paths, images))
    else:
        parts = [image_candidates(p, im) for p, im in zip(paths, images)]
    return Candidates.concatenate(parts)


#: What a model tells: ``"calcification"`` (the false-positive model, on every candidate) or
#: ``"vascular"`` (on the calcifications only: is it a calcified vessel's wall).
TARGETS = ("calcification", "vascular")


def fit(candidates: Candidates, *, target: str = "calcification", metadata: dict | None = None,
        n_trees: int = N_TREES) -> TreeEnsemble:
    """Fit a model (LightGBM, :data:`LIGHTGBM_PARAMS`) of `target` (:data:`TARGETS`) on labelled candidates."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}; got {target!r}")
    try:
        import lightgbm
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("fitting the false-positive model needs LightGBM: pip install 'calcdetect[train]'") from error
    names = CandidateFeatures.names()
    rows = candidates.label if target == "vascular" else np.ones(len(candidates.label), bool)
    y = candidates.vascular if target == "vascular" else candidates.label
    x = np.column_stack([candidates.features[n][rows] for n in names])
    data = lightgbm.Dataset(x, label=y[rows].astype(float), feature_name=list(names), free_raw_data=False)
    booster = lightgbm.train(LIGHTGBM_PARAMS, data, num_boost_round=n_trees)
    return TreeEnsemble.from_lightgbm(booster.dump_model(), metadata=metadata)


def roc_auc(score, label) -> float:
    """Area under the ROC curve: the Mann-Whitney U of positives against negatives over their product."""
    score, label = np.asarray(score, float), np.asarray(label, bool)
    if label.all() or not label.any():
        return float("nan")
    u = mannwhitneyu(score[label], score[~label]).statistic
    return float(u / (label.sum() * (~label).sum()))
