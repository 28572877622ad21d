"""Fit the description's two learned models on balanced synthetic sets.

Run:  python benchmarks/fit_description.py distribution SET [SET ...] [--penalty 0.1] [--jobs 2]
      python benchmarks/fit_description.py pleomorphic SET [SET ...] [--penalty 1] [--jobs 2]
      python benchmarks/fit_description.py round SET [SET ...] [--penalty 1] [--jobs 2]

Each SET is a folder made by ``calcdetect synth --balanced --n 72 --seed S``.
Every image is detected with the default settings; each detected cluster holding
at least 2 planted calcifications (within 1 mm) belongs to the truth cluster
most of its members belong to.

- ``distribution`` (DISTRIBUTION_WEIGHTS; shipped: seeds 500-511, 2027-2029, 2031,
  2032, penalty 0.1): every such cluster, labelled with its truth's distribution,
  fits a multinomial logistic regression on :func:`distribution_features`;
  vascular clusters are left out (their morphology makes them linear).
- ``pleomorphic`` (PLEOMORPHIC_WEIGHTS; shipped: seeds 500-505, 2027, penalty 1):
  per planted punctate or fine pleomorphic cluster, its most confident detection,
  when described as punctate or fine pleomorphic, fits a logistic regression on
  :func:`pleomorphic_features`.
- ``round`` (ROUND_WEIGHTS; shipped: seeds 500-505, 2027, penalty 1): the same for
  round against coarse heterogeneous, on the same features.

Both use an L2 penalty on standardised features; the weights are printed as
Python source for ``describe.py``, with the in-sample accuracy.
"""

from __future__ import annotations

import argparse
import collections
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.spatial import cKDTree

from calcdetect.breast import breast_geometry
from calcdetect.cluster.describe import (
    DISTRIBUTION_FEATURES,
    PLEOMORPHIC_FEATURES,
    bright_isolated,
    cluster_layouts,
    pleomorphic_features,
)
from calcdetect.evaluate import MEMBER_TOLERANCE_MM, MIN_TRUE_MEMBERS, TruthImage, load_truth
from calcdetect.io import read_mammogram
from calcdetect.lexicon import Distribution, Morphology
from calcdetect.pipeline import Params, detect

CLASSES = tuple(Distribution)


#: The morphology pairs told apart by a logistic on :func:`pleomorphic_features`: the
#: model's name, its weights' name, and (negative, positive) classes.
PAIRS = {
    "pleomorphic": ("PLEOMORPHIC_WEIGHTS", (Morphology.PUNCTATE, Morphology.FINE_PLEOMORPHIC)),
    "round": ("ROUND_WEIGHTS", (Morphology.COARSE_HETEROGENEOUS, Morphology.ROUND)),
}


def labelled_clusters(path: Path, truth: TruthImage) -> tuple[list, dict]:
    """Training rows of one image: (distribution features, truth distribution) per detected
    cluster that hits a truth cluster, and for each of :data:`PAIRS`, (pleomorphic features,
    is the positive class) per planted cluster of the pair (see the module docstring)."""
    params = Params()
    mammogram = read_mammogram(path)
    geometry = breast_geometry(mammogram.image, spacing=mammogram.spacing, margin_mm=params.skin_margin_mm,
                               view=mammogram.view, exclude_pectoral=params.exclude_pectoral)
    result = detect(mammogram.image, spacing=mammogram.spacing, params=params, mask=geometry.mask)
    layouts = cluster_layouts(result.specks, result.cluster_id, spacing=mammogram.spacing,
                              nipple=geometry.nipple, breast_area_mm2=geometry.area_mm2)
    spacing = np.asarray(mammogram.spacing)
    calcs = [(c.row, c.col, k) for k, cluster in enumerate(truth.clusters) for c in cluster.calcifications]
    pair_rows = {name: [] for name in PAIRS}
    if not calcs or not layouts:
        return [], pair_rows
    calcs = np.asarray(calcs)
    distance, nearest = cKDTree(calcs[:, :2] * spacing).query(
        np.column_stack([result.specks.row, result.specks.col]) * spacing)
    owner = np.where(distance <= MEMBER_TOLERANCE_MM, calcs[nearest, 2].astype(int), -1)
    distribution_rows, best = [], {}
    for c, context in enumerate(layouts):
        owners = owner[(result.cluster_id == c) & (owner >= 0)]
        if len(owners) < MIN_TRUE_MEMBERS:
            continue
        k, count = collections.Counter(owners.tolist()).most_common(1)[0]
        if count < MIN_TRUE_MEMBERS:
            continue
        # Vascular clusters are linear by their morphology, whatever their layout.
        if truth.clusters[k].distribution is not None and truth.clusters[k].morphology != Morphology.VASCULAR:
            distribution_rows.append((context.features(), str(truth.clusters[k].distribution)))
        if k not in best or result.clusters.confidence[c] > result.clusters.confidence[best[k]]:
            best[k] = c
    bright = bright_isolated(result.specks, result.cluster_id)
    for k, c in best.items():
        for name, (_, pair) in PAIRS.items():
            if truth.clusters[k].morphology not in pair or result.descriptions.morphology[c] not in pair:
                continue
            member = result.cluster_id == c
            if result.descriptions.distribution[c] == Distribution.DIFFUSE:
                member = member | bright  # as describe_clusters judges a diffuse cluster
            features = pleomorphic_features(result.specks.take(member), result.shapes.take(member))
            pair_rows[name].append((np.array(list(features.values())), truth.clusters[k].morphology == pair[1]))
    return distribution_rows, pair_rows


def fit(features: np.ndarray, labels: np.ndarray, *, classes: int, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """(Multinomial) logistic regression; returns (bias (L,), weights (L, F)) on the raw features.

    With ``classes=2`` a single logit (L = 1) for label 1 against 0.
    """
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-9
    z = (features - mean) / std
    rows = 1 if classes == 2 else classes
    shape = (rows, features.shape[1] + 1)

    def loss(w):
        w = w.reshape(shape)
        scores = z @ w[:, 1:].T + w[:, 0]
        if classes == 2:
            log_likelihood = -np.logaddexp(0, -scores[:, 0] * (2 * labels - 1))
        else:
            scores = scores - scores.max(axis=1, keepdims=True)
            log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            log_likelihood = log_p[np.arange(len(labels)), labels]
        return -log_likelihood.mean() + penalty / len(labels) * (w[:, 1:] ** 2).sum()

    options = {"maxiter": 5000}
    method = "BFGS" if classes == 2 else "L-BFGS-B"
    w = minimize(loss, np.zeros(np.prod(shape)), method=method, options=options).x.reshape(shape)
    weights = w[:, 1:] / std
    return w[:, 0] - (weights * mean).sum(axis=1), weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("distribution", *PAIRS))
    parser.add_argument("sets", nargs="+", type=Path, help="folders of balanced synthetic sets with truth.json")
    parser.add_argument("--penalty", type=float, help="L2 penalty (default 0.1 for distribution, 1 for the pairs)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    jobs = []
    for folder in args.sets:
        truth = load_truth(folder / "truth.json")
        jobs += [(folder / image.image_id, image) for image in truth.images]
    with ProcessPoolExecutor(args.jobs) as pool:
        per_image = list(pool.map(labelled_clusters, *zip(*jobs)))
    if args.model == "distribution":
        rows = [row for distribution_rows, _ in per_image for row in distribution_rows]
        features = np.array([f for f, _ in rows])
        labels = np.array([CLASSES.index(Distribution(d)) for _, d in rows])
        bias, weights = fit(features, labels, classes=len(CLASSES), penalty=args.penalty or 0.1)
        predicted = np.argmax(features @ weights.T + bias, axis=1)
        print(f"# {len(rows)} clusters from {len(jobs)} images; in-sample accuracy {np.mean(predicted == labels):.3f}")
        print(f"# features: {', '.join(DISTRIBUTION_FEATURES)}")
        print("DISTRIBUTION_WEIGHTS = {  # class: (bias, weights in the order of DISTRIBUTION_FEATURES)")
        for k, distribution in enumerate(CLASSES):
            values = [f"{v:.4g}" for v in weights[k]]
            print(f"    Distribution.{distribution.name}: ({bias[k]:.4g}, (")
            for i in range(0, len(values), 9):
                print("        " + ", ".join(values[i:i + 9]) + ",")
            print("    )),")
        print("}")
    else:
        rows = [row for _, pair_rows in per_image for row in pair_rows[args.model]]
        features = np.array([f for f, _ in rows])
        labels = np.array([float(positive) for _, positive in rows])
        bias, weights = fit(features, labels, classes=2, penalty=args.penalty or 1.0)
        predicted = features @ weights[0] + bias[0] > 0
        print(f"# {len(rows)} clusters from {len(jobs)} images; in-sample accuracy {np.mean(predicted == labels):.3f}")
        print(f'{PAIRS[args.model][0]} = {{"bias": {bias[0]:.4g}, '
              + ", ".join(f'"{n}": {v:.4g}' for n, v in zip(PLEOMORPHIC_FEATURES, weights[0])) + "}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
