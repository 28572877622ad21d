"""Fit the distribution model (calcdetect.cluster.describe.DISTRIBUTION_WEIGHTS) on balanced synthetic sets.

Run:  python benchmarks/fit_distribution.py SET [SET ...] [--penalty 0.3] [--jobs 2]

Each SET is a folder made by ``calcdetect synth --balanced --n 72 --seed S``
(the shipped weights: seeds 500, 501, 502 and 2027). Every image is detected
with the default settings; each detected cluster holding at least 2 planted
calcifications (within 1 mm) is labelled with the distribution of the truth
cluster most of its members belong to; a multinomial logistic regression with
an L2 penalty on standardised features is fitted to those labels. Prints the
weights as Python source for ``describe.py`` and the in-sample accuracy.
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
from calcdetect.cluster.describe import DISTRIBUTION_FEATURES, cluster_layouts
from calcdetect.evaluate import MEMBER_TOLERANCE_MM, MIN_TRUE_MEMBERS, TruthImage, load_truth
from calcdetect.io import read_mammogram
from calcdetect.lexicon import Distribution
from calcdetect.pipeline import Params, detect

CLASSES = tuple(Distribution)


def labelled_clusters(path: Path, truth: TruthImage) -> list[tuple[np.ndarray, str]]:
    """(features, truth distribution) of the detected clusters of one image that hit a truth cluster."""
    params = Params()
    mammogram = read_mammogram(path)
    geometry = breast_geometry(mammogram.image, spacing=mammogram.spacing, margin_mm=params.skin_margin_mm,
                               view=mammogram.view, exclude_pectoral=params.exclude_pectoral)
    result = detect(mammogram.image, spacing=mammogram.spacing, params=params, mask=geometry.mask)
    layouts = cluster_layouts(result.specks, result.cluster_id, spacing=mammogram.spacing,
                              nipple=geometry.nipple, breast_area_mm2=geometry.area_mm2)
    spacing = np.asarray(mammogram.spacing)
    calcs = [(c.row, c.col, k) for k, cluster in enumerate(truth.clusters) for c in cluster.calcifications]
    if not calcs or not layouts:
        return []
    calcs = np.asarray(calcs)
    distance, nearest = cKDTree(calcs[:, :2] * spacing).query(
        np.column_stack([result.specks.row, result.specks.col]) * spacing)
    owner = np.where(distance <= MEMBER_TOLERANCE_MM, calcs[nearest, 2].astype(int), -1)
    out = []
    for c, context in enumerate(layouts):
        owners = owner[(result.cluster_id == c) & (owner >= 0)]
        if len(owners) < MIN_TRUE_MEMBERS:
            continue
        k, count = collections.Counter(owners.tolist()).most_common(1)[0]
        distribution = truth.clusters[k].distribution
        if count >= MIN_TRUE_MEMBERS and distribution is not None:
            out.append((context.features(), str(distribution)))
    return out


def fit(features: np.ndarray, labels: np.ndarray, *, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression; returns (bias (L,), weights (L, F)) on the raw features."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-9
    z = (features - mean) / std
    shape = (len(CLASSES), features.shape[1] + 1)

    def loss(w):
        w = w.reshape(shape)
        scores = z @ w[:, 1:].T + w[:, 0]
        scores -= scores.max(axis=1, keepdims=True)
        log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(labels)), labels].mean() + penalty / len(labels) * (w[:, 1:] ** 2).sum()

    w = minimize(loss, np.zeros(np.prod(shape)), method="L-BFGS-B", options={"maxiter": 5000}).x.reshape(shape)
    weights = w[:, 1:] / std
    return w[:, 0] - (weights * mean).sum(axis=1), weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="folders of balanced synthetic sets with truth.json")
    parser.add_argument("--penalty", type=float, default=0.3, help="L2 penalty (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    jobs = []
    for folder in args.sets:
        truth = load_truth(folder / "truth.json")
        jobs += [(folder / image.image_id, image) for image in truth.images]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [row for rows in pool.map(labelled_clusters, *zip(*jobs)) for row in rows]
    features = np.array([f for f, _ in rows])
    labels = np.array([CLASSES.index(Distribution(d)) for _, d in rows])
    bias, weights = fit(features, labels, penalty=args.penalty)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
