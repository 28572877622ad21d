"""Fit the description's two learned models on balanced synthetic sets.

Run:  python benchmarks/fit_description.py distribution SET [SET ...] [--penalty 0.1] [--jobs 2]
      python benchmarks/fit_description.py pleomorphic SET [SET ...] [--penalty 1] [--jobs 2]
      python benchmarks/fit_description.py round SET [SET ...] [--penalty 1] [--jobs 2]

Each SET is a folder made by ``calcdetect synth --balanced --n 72 --seed S``.
Every image is detected as it is served (:func:`calcdetect.pipeline.detect_mammogram`,
default settings), and its clusters are laid out in the breast geometry that
detection found (``Result.geometry``: nipple, skin, area), so that the features
fitted are those the shipped weights are applied to. As a check, the distribution
the current weights give on these features must be the one detection described
(clusters judged vascular, and chance groups of the scatter, aside): the count is printed. Images where no breast was
found are left out (detection then counts the breast area from its mask, which
the result does not carry). Each detected cluster holding at least 2 planted
calcifications (within 1 mm) belongs to the truth cluster most of its members
belong to.

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
Python source for ``calcdetect/birads/distribution.py`` (distribution) or
``calcdetect/birads/morphology.py`` (pleomorphic, round): a dict keyed by feature name,
with "bias", with the in-sample accuracy.
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

from calcdetect.birads import (
    DIFFUSE_MIN_CHANCE_GROUPS,
    DISTRIBUTION_FEATURES,
    PLEOMORPHIC_FEATURES,
    bright_isolated,
    cluster_layouts,
    distribution_scores,
    own_findings,
    pleomorphic_features,
)
from calcdetect.evaluate import MEMBER_TOLERANCE_MM, MIN_TRUE_MEMBERS
from calcdetect.io import read_mammogram
from calcdetect.lexicon import Distribution, Morphology
from calcdetect.pipeline import Params, detect_mammogram
from calcdetect.truth import TruthImage, read_truth

CLASSES = tuple(Distribution)


#: The morphology pairs told apart by a logistic on :func:`pleomorphic_features`: the
#: model's name, its weights' name, and (negative, positive) classes.
PAIRS = {
    "pleomorphic": ("PLEOMORPHIC_WEIGHTS", (Morphology.PUNCTATE, Morphology.FINE_PLEOMORPHIC)),
    "round": ("ROUND_WEIGHTS", (Morphology.COARSE_HETEROGENEOUS, Morphology.ROUND)),
}


def labelled_clusters(path: Path, truth: TruthImage) -> tuple[list, dict, collections.Counter]:
    """Training rows of one image: (distribution features, truth distribution) per detected
    cluster that hits a truth cluster, and for each of :data:`PAIRS`, (pleomorphic features,
    is the positive class) per planted cluster of the pair (see the module docstring); and
    counts of the check that these features are the served ones ("checked", "reproduced")
    and of images left out ("no_breast")."""
    mammogram = read_mammogram(path)
    result = detect_mammogram(mammogram, params=Params())
    geometry = result.geometry
    pair_rows = {name: [] for name in PAIRS}
    if not geometry.found:
        return [], pair_rows, collections.Counter(no_breast=1)
    # As detect describes the clusters: the same specks, labels, nipple, breast area and vessels.
    layouts = cluster_layouts(result.specks, result.cluster_id, spacing=mammogram.spacing,
                              nipple=geometry.nipple, breast_area_mm2=geometry.area_mm2,
                              alone=own_findings(result.descriptions))
    modelled = []  # the distribution the current weights give each cluster
    for context in layouts:
        scores = distribution_scores(context.features(), nipple_known=geometry.nipple is not None)
        modelled.append(max(scores, key=scores.get))
    check = collections.Counter()
    for c in range(len(layouts)):
        if result.descriptions.morphology[c] == Morphology.VASCULAR:
            continue  # linear by its morphology, whatever the weights say
        if result.descriptions.chance_groups[c] >= DIFFUSE_MIN_CHANCE_GROUPS:
            continue  # diffuse as a chance group of the scatter, whatever the weights say
        check["checked"] += 1
        check["reproduced"] += modelled[c] == result.descriptions.distribution[c]
    spacing = np.asarray(mammogram.spacing)
    calcs = [(c.row, c.col, k) for k, cluster in enumerate(truth.clusters) for c in cluster.calcifications]
    if not calcs or not layouts:
        return [], pair_rows, check
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
            features = context.features()
            distribution_rows.append((np.array([features[name] for name in DISTRIBUTION_FEATURES]),
                                      str(truth.clusters[k].distribution)))
        if k not in best or result.clusters.confidence[c] > result.clusters.confidence[best[k]]:
            best[k] = c
    bright = bright_isolated(result.specks, result.cluster_id)
    for k, c in best.items():
        for name, (_, pair) in PAIRS.items():
            if truth.clusters[k].morphology not in pair or result.descriptions.morphology[c] not in pair:
                continue
            member = result.cluster_id == c
            if modelled[c] == Distribution.DIFFUSE:
                member = member | bright  # as describe_clusters judges a cluster the model calls diffuse
            features = pleomorphic_features(result.specks.take(member), result.shapes.take(member))
            pair_rows[name].append((np.array([features[n] for n in PLEOMORPHIC_FEATURES]),
                                    truth.clusters[k].morphology == pair[1]))
    return distribution_rows, pair_rows, check


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


def weights_source(bias: float, weights, names) -> list[str]:
    """One model's weights as the lines of a Python dict keyed by feature name (indented 8)."""
    entries = [f'"bias": {bias:.4g}'] + [f'"{name}": {w:.4g}' for name, w in zip(names, weights, strict=True)]
    lines, line = [], ""
    for entry in entries:
        if line and 8 + len(line) + len(entry) + 1 > 120:  # the line with this entry and its comma
            lines.append(" " * 8 + line.rstrip())
            line = ""
        line += entry + ", "
    return lines + [" " * 8 + line.rstrip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("distribution", *PAIRS))
    parser.add_argument("sets", nargs="+", type=Path, help="folders of balanced synthetic sets with truth.json")
    parser.add_argument("--penalty", type=float, help="L2 penalty (default 0.1 for distribution, 1 for the pairs)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    jobs = []
    for folder in args.sets:
        truth = read_truth(folder / "truth.json")
        jobs += [(folder / image.image_id, image) for image in truth.images]
    with ProcessPoolExecutor(args.jobs) as pool:
        per_image = list(pool.map(labelled_clusters, *zip(*jobs)))
    check = sum((c for _, _, c in per_image), collections.Counter())
    print(f"# served features: the current weights reproduce the described distribution of {check['reproduced']} "
          f"of {check['checked']} clusters (not vascular); {check['no_breast']} images without a breast left out")
    if args.model == "distribution":
        rows = [row for distribution_rows, _, _ in per_image for row in distribution_rows]
        features = np.array([f for f, _ in rows])
        labels = np.array([CLASSES.index(Distribution(d)) for _, d in rows])
        bias, weights = fit(features, labels, classes=len(CLASSES), penalty=args.penalty or 0.1)
        predicted = np.argmax(features @ weights.T + bias, axis=1)
        print(f"# {len(rows)} clusters from {len(jobs)} images; in-sample accuracy {np.mean(predicted == labels):.3f}")
        print('DISTRIBUTION_WEIGHTS = {  # class: {"bias": bias, feature name: weight}')
        for k, distribution in enumerate(CLASSES):
            print(f"    Distribution.{distribution.name}: {{")
            print("\n".join(weights_source(bias[k], weights[k], DISTRIBUTION_FEATURES)))
            print("    },")
        print("}")
    else:
        rows = [row for _, pair_rows, _ in per_image for row in pair_rows[args.model]]
        features = np.array([f for f, _ in rows])
        labels = np.array([float(positive) for _, positive in rows])
        bias, weights = fit(features, labels, classes=2, penalty=args.penalty or 1.0)
        predicted = features @ weights[0] + bias[0] > 0
        print(f"# {len(rows)} clusters from {len(jobs)} images; in-sample accuracy {np.mean(predicted == labels):.3f}")
        print(f"{PAIRS[args.model][0]} = {{")
        print("\n".join(line[4:] for line in weights_source(bias[0], weights[0], PLEOMORPHIC_FEATURES)))
        print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
