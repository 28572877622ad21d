"""How matched clusters are described: distribution and morphology agreement, and how the
suspicion score separates suspicious from benign truth patterns.

Agreement is counted over confusion matrices (:class:`Confusion`) of the BI-RADS
descriptors (ACR BI-RADS Atlas, 5th edition, 2013); the separation is the ROC AUC of the
score (the Mann-Whitney U statistic over n1 n0; Hanley & McNeil, Radiology 143, 1982).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calcdetect.evaluate.froc import json_float
from calcdetect.evaluate.matching import MIN_TRUE_MEMBERS, ClusterMatch
from calcdetect.lexicon import Category, Morphology, category_of

#: Clusters this far above noise (truth CNR) count as "clearly visible" in the description scores.
CLEAR_CNR = 10.0

#: The label of an empty prediction in a confusion matrix.
NONE_LABEL = "(none)"


@dataclass(frozen=True, eq=False)
class Confusion:
    """Agreement of one descriptor between truth and prediction, over matched clusters.

    Attributes
    ----------
    labels : tuple of str
        Row and column labels; ``"(none)"`` stands for an empty prediction.
    counts : (L, L) ndarray of int
        ``counts[i, j]``: truth ``labels[i]`` predicted as ``labels[j]``.
    accuracy : float
        Fraction on the diagonal; NaN without clusters.
    """

    labels: tuple[str, ...]
    counts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.counts) / self.n) if self.n else math.nan

    @property
    def undescribed(self) -> bool:
        """Whether every prediction left this descriptor empty."""
        return self.labels[-1] == NONE_LABEL and int(self.counts[:, -1].sum()) == self.n

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "counts": self.counts.tolist(), "n": self.n,
                "accuracy": json_float(self.accuracy)}

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> Confusion:
        labels = tuple(sorted({t for t, _ in pairs} | {p for _, p in pairs}, key=lambda x: (x == NONE_LABEL, x)))
        index = {label: i for i, label in enumerate(labels)}
        counts = np.zeros((len(labels), len(labels)), np.int64)
        for t, p in pairs:
            counts[index[t], index[p]] += 1
        return cls(labels, counts)

    def format(self) -> str:
        width = max([len(label) for label in self.labels] + [5])
        head = " " * (width + 2) + " ".join(f"{label[:width]:>{width}}" for label in self.labels)
        rows = [f"{label:>{width}}  " + " ".join(f"{c:>{width}d}" for c in row)
                for label, row in zip(self.labels, self.counts)]
        return "\n".join([head, *rows])


@dataclass(frozen=True, eq=False)
class DescriptionEvaluation:
    """How well matched clusters are described (distribution, morphology, suspicion score).

    Each truth cluster counts once, with its most confident matching prediction
    that holds some of its calcifications (see :func:`describe_agreement`).

    Attributes
    ----------
    distribution, morphology : Confusion
        Over every matched truth cluster.
    distribution_clear, morphology_clear : Confusion
        Over matched truth clusters with CNR >= :data:`CLEAR_CNR`.
    benign_recognised : float
        Fraction of matched benign-pattern truth clusters given a benign morphology.
    score_auc : float
        ROC AUC of the predicted score separating suspicious from benign truth
        patterns (NaN unless both occur).
    mean_score : dict
        Mean predicted score per truth category.
    n_without_members : int
        Truth clusters hit (a prediction's centre in their hull) only by predictions
        holding fewer than :data:`MIN_TRUE_MEMBERS` of their calcifications: left out.
    """

    distribution: Confusion
    morphology: Confusion
    distribution_clear: Confusion
    morphology_clear: Confusion
    benign_recognised: float
    score_auc: float
    mean_score: dict
    n_without_members: int = 0

    def to_dict(self) -> dict:
        return {
            "distribution": self.distribution.to_dict(), "morphology": self.morphology.to_dict(),
            "distribution_clear": self.distribution_clear.to_dict(),
            "morphology_clear": self.morphology_clear.to_dict(),
            "clear_cnr": CLEAR_CNR, "benign_recognised": json_float(self.benign_recognised),
            "score_auc": json_float(self.score_auc),
            "mean_score": {k: json_float(v) for k, v in self.mean_score.items()},
            "n_without_members": int(self.n_without_members),
        }


def describe_agreement(matches) -> DescriptionEvaluation:
    """Confusion matrices and score separation over the best match of each truth cluster.

    The best match is the most confident detection whose centre hits the truth
    and that holds at least :data:`MIN_TRUE_MEMBERS` of the truth's calcifications,
    preferring those at least half made of them. A detection holding fewer says
    nothing of the truth's description: a chance group of noise inside a regional
    group's hull, or the other cluster of the image inside a diffuse scatter's
    hull (the whole breast) when no group of the scatter was found. Truth
    clusters hit only by such detections are counted apart (``n_without_members``).
    Predictions that list no members (no calcifications table) are taken as they are.
    Distribution agreement counts only truth clusters given a distribution: a
    truth file may give none to benign calcifications judged one by one (a
    popcorn, a few secretory rods), and no description could agree with none.
    """
    best: dict[tuple[str, int], ClusterMatch] = {}

    def rank(m: ClusterMatch):
        return (m.n_true_members >= MIN_TRUE_MEMBERS, 2 * m.n_true_members >= m.n_members, m.confidence)

    hit = set()
    for m in matches:
        key = (m.image_id, m.truth_cluster_id)
        hit.add(key)
        holds = m.n_true_members >= MIN_TRUE_MEMBERS or m.n_members == 0
        if holds and (key not in best or rank(m) > rank(best[key])):
            best[key] = m
    chosen = list(best.values())
    clear = [m for m in chosen if m.truth_cnr is not None and m.truth_cnr >= CLEAR_CNR]

    def pairs(items, truth_attr, predicted_attr):
        return [(str(getattr(m, truth_attr)), getattr(m, predicted_attr) or NONE_LABEL) for m in items]

    benign = [m for m in chosen if str(m.truth_category) == Category.BENIGN]
    recognised = [m.predicted_morphology in _BENIGN_NAMES for m in benign]
    by_category = {str(c): [m.score for m in chosen if str(m.truth_category) == c] for c in Category}
    return DescriptionEvaluation(
        distribution=Confusion.of(pairs(_distributed(chosen), "truth_distribution", "predicted_distribution")),
        morphology=Confusion.of(pairs(chosen, "truth_morphology", "predicted_morphology")),
        distribution_clear=Confusion.of(pairs(_distributed(clear), "truth_distribution", "predicted_distribution")),
        morphology_clear=Confusion.of(pairs(clear, "truth_morphology", "predicted_morphology")),
        benign_recognised=float(np.mean(recognised)) if recognised else math.nan,
        score_auc=auc(by_category[Category.SUSPICIOUS], by_category[Category.BENIGN]),
        mean_score={c: float(np.mean(v)) if v else math.nan for c, v in by_category.items()},
        n_without_members=len(hit) - len(best),
    )


def _distributed(matches):
    """The matches whose truth cluster has a distribution."""
    return [m for m in matches if m.truth_distribution is not None]


_BENIGN_NAMES = frozenset(str(m) for m in Morphology if category_of(m) == Category.BENIGN)


def auc(positive, negative) -> float:
    """ROC AUC (Mann-Whitney U / n1 n0), ties counted half."""
    if not positive or not negative:
        return math.nan
    pos, neg = np.asarray(positive, float)[:, None], np.asarray(negative, float)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))
