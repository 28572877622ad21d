"""Score detections against ground truth: cluster and calcification FROC.

Reads a ground truth (``truth.json``, see ``docs/truth-format.md``) and a folder
of prediction tables (``images.csv``, ``calcifications.csv``, ``clusters.csv``,
output contract schema v1), matches them and returns small frozen dataclasses
whose ``to_dict()`` is JSON-serialisable. Nothing here prints; the CLI formats
and prints what :func:`evaluate` returns (see :func:`format_summary`).

Conventions
-----------
Cluster level
    The truth region of a cluster is the convex hull of its member centroids,
    in mm, grown by `margin_mm`. A predicted cluster is a *hit* for a truth
    cluster when its centre lies within `margin_mm` of the hull. A predicted
    cluster that hits no truth cluster is a false positive; benign truth
    clusters are real calcification groups, so a detection on one is a hit,
    not a false positive. The free-response ROC (FROC) sweeps the predicted
    cluster ``score`` from high to low; false positives are counted per
    image of the truth, failed and missing images included.
Calcification level
    Truth calcifications are all cluster members plus the isolated specks.
    A predicted calcification may match a truth calcification within
    ``max(calc_tolerance_mm, length_mm / 2)``; matching is one-to-one and
    greedy: predictions in order of decreasing score each take the nearest
    free truth calcification (pairs of equal score: the closest pair first).
    Taking predictions in score order makes the matching at any threshold
    the matching of the predictions above it, so the FROC is exact.

A missing (empty) or non-finite ``score`` counts as 0. Images whose
``images.csv`` status is ``error`` failed: their predictions are ignored, so
their truth is missed, and they stay in the denominators; so do images of the
truth that the predictions do not list at all (``missing``).

References
----------
.. [1] D. P. Chakraborty, "Maximum likelihood analysis of free-response
   receiver operating characteristic (FROC) data", Med. Phys. 16 (1989).
.. [2] M. Niemeijer et al., "On combining computer-aided detection systems",
   IEEE Trans. Med. Imaging 30 (2011): the competition performance metric (CPM).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from scipy.spatial import cKDTree

from calcdetect.arrays import StructOfArrays
from calcdetect.errors import EvaluationError
from calcdetect.lexicon import Category, Distribution, Morphology, category_of
from calcdetect.truthfile import FORMAT_VERSION, read_truth
from calcdetect.results import CALCIFICATION_COLUMNS, CLUSTER_COLUMNS, IMAGE_COLUMNS, write_csv


#: False positives per image averaged by the competition performance metric.
CPM_FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

#: Operating point (FP clusters per image) of the per-category and per-CNR
#: sensitivities and of the bootstrap confidence interval.
OPERATING_FP_PER_IMAGE = 1.0

#: Calcification-level operating points per cm^2 of breast (a breast of about 150 cm^2 makes
#: 0.07 of them 10 per image).
CALCIFICATION_FP_PER_CM2 = (0.01, 0.05, 0.1)
#: Calcification-level operating points (FP per image), the INbreast convention.
CALCIFICATION_FP_RATES = (1.0, 10.0)

#: Edges of the cluster CNR bands: ``cnr < 5``, ``5 <= cnr < 10``, ``cnr >= 10``.
CNR_EDGES = (5.0, 10.0)

#: Two-sided level of the percentile bootstrap confidence intervals.
CI_LEVEL = 0.95

# Slack for comparisons of computed distances and rates with user limits, so
# that a centre exactly `margin_mm` away is not lost to rounding.
_TOL = 1e-9


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthCalcification:
    """One planted calcification.

    Attributes
    ----------
    row, col : float
        Centroid in pixels.
    diameter_mm, length_mm, width_mm : float or None
        Equivalent diameter, major and minor axis in mm.
    contrast : float or None
        Planted peak height in stored pixel units.
    """

    row: float
    col: float
    diameter_mm: float | None = None
    length_mm: float | None = None
    width_mm: float | None = None
    contrast: float | None = None


@dataclass(frozen=True)
class TruthCluster:
    """One planted cluster.

    Attributes
    ----------
    cluster_id : int
        Id of the cluster within its image.
    category : Category
        Suspicious or benign.
    distribution : Distribution or None
    morphology : Morphology or None
    extent_mm : float or None
        Greatest dimension in mm.
    cnr : float or None
        Median planted peak contrast over the local noise standard deviation.
    row, col : float
        Centroid of the member centroids, pixels.
    calcifications : tuple of TruthCalcification
        The members.
    """

    cluster_id: int
    category: Category
    distribution: Distribution | None
    morphology: Morphology | None
    extent_mm: float | None
    cnr: float | None
    row: float
    col: float
    calcifications: tuple[TruthCalcification, ...] = ()


@dataclass(frozen=True)
class TruthImage:
    """Ground truth of one image.

    Attributes
    ----------
    image_id : str
        File name relative to the set folder (detect's ``image_id``).
    spacing_mm : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    rows, columns : int or None
        Image size in pixels.
    laterality, view : str or None
    clusters : tuple of TruthCluster
        Empty for a normal image.
    isolated : tuple of TruthCalcification
        Isolated benign specks, not part of any cluster.
    """

    image_id: str
    spacing_mm: tuple[float, float]
    rows: int | None = None
    columns: int | None = None
    laterality: str | None = None
    view: str | None = None
    clusters: tuple[TruthCluster, ...] = ()
    isolated: tuple[TruthCalcification, ...] = ()


@dataclass(frozen=True)
class Truth:
    """A ground-truth set as read from ``truth.json``.

    Attributes
    ----------
    images : tuple of TruthImage
    path : str or None
        The file it was read from.
    format_version : int
    seed : int or None
        The generator's seed, where recorded.
    """

    images: tuple[TruthImage, ...]
    path: str | None = None
    format_version: int = FORMAT_VERSION
    seed: int | None = None


@dataclass(frozen=True, eq=False)
class PredictedClusters(StructOfArrays):
    """The predicted clusters of one image (struct of arrays, K clusters).

    Attributes
    ----------
    cluster_id : (K,) ndarray of int64
    centre : (K, 2) ndarray of float64
        Centre (row, col) in pixels; NaN where the table left it empty.
    score : (K,) ndarray of float64
        Suspicion; 0 where the table left it empty.
    distribution, morphology : tuple of (str or None)
        As written in the table (free text: not checked against the lexicon).
    confidence : (K,) ndarray of float64
        Detection confidence (the ``confidence`` column); `score` where the
        table leaves it empty or has no such column.
    birads_category : tuple of (str or None)
        The ``birads_category`` column as written (None where empty or absent).
    """

    cluster_id: np.ndarray
    centre: np.ndarray
    score: np.ndarray
    distribution: tuple[str | None, ...]
    morphology: tuple[str | None, ...]
    confidence: np.ndarray
    birads_category: tuple[str | None, ...]


@dataclass(frozen=True, eq=False)
class PredictedCalcifications(StructOfArrays):
    """The predicted calcifications of one image (struct of arrays, P specks).

    Attributes
    ----------
    calc_id, cluster_id : (P,) ndarray of int64
        ``cluster_id == -1`` means unclustered (also where the table left it empty).
    centroid : (P, 2) ndarray of float64
        Centroid (row, col) in pixels; NaN where the table left it empty.
    score : (P,) ndarray of float64
        Detection confidence; 0 where the table left it empty.
    """

    calc_id: np.ndarray
    cluster_id: np.ndarray
    centroid: np.ndarray
    score: np.ndarray


@dataclass(frozen=True, eq=False)
class PredictedImage:
    """The predictions for one image.

    Attributes
    ----------
    image_id : str
    path : str or None
    status : str
        ``"ok"`` or ``"error"``.
    error : str or None
        Reason of the failure for ``status == "error"``.
    clusters : PredictedClusters
    calcifications : PredictedCalcifications
    shape : tuple of 2 ints or None
        (rows, columns) the run recorded; None where it did not.
    spacing : tuple of 2 floats or None
        (row_mm, col_mm) the run used; None where it did not record it.
    breast_area_mm2 : float or None
        Area of the breast the run found; None where it did not record one.
    """

    image_id: str
    path: str | None
    status: str
    error: str | None
    clusters: PredictedClusters
    calcifications: PredictedCalcifications
    shape: tuple[int, int] | None = None
    spacing: tuple[float, float] | None = None
    breast_area_mm2: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the image was processed (``status == "ok"``)."""
        return self.status == "ok"


@dataclass(frozen=True, eq=False)
class Predictions:
    """A prediction folder as read by :func:`load_predictions`.

    Attributes
    ----------
    images : dict of str to PredictedImage
        By ``image_id``, in the order of ``images.csv``; images that only the
        cluster or calcification tables name follow, with status ``"ok"``.
    folder : str or None
        The folder it was read from.
    """

    images: dict[str, PredictedImage]
    folder: str | None = None


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


def _json_float(value) -> float | None:
    """A float for JSON: None for NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _json_floats(values) -> list[float | None]:
    return [_json_float(v) for v in np.asarray(values, dtype=float).tolist()]


@dataclass(frozen=True)
class OperatingPoint:
    """One point of a FROC curve chosen by its false-positive rate.

    Attributes
    ----------
    max_fp_per_image : float
        The rate asked for.
    threshold : float
        Lowest score threshold whose false-positive rate is at most
        `max_fp_per_image`; ``inf`` when even the highest score exceeds it
        (nothing is detected there).
    fp_per_image : float
        False positives per image at `threshold`.
    sensitivity : float
        Sensitivity at `threshold`: the best reachable at that rate; NaN
        without truth objects.
    """

    max_fp_per_image: float
    threshold: float
    fp_per_image: float
    sensitivity: float

    def to_dict(self) -> dict:
        """JSON-serialisable dict; NaN and infinite values become None."""
        return {
            "max_fp_per_image": _json_float(self.max_fp_per_image),
            "threshold": _json_float(self.threshold),
            "fp_per_image": _json_float(self.fp_per_image),
            "sensitivity": _json_float(self.sensitivity),
        }


@dataclass(frozen=True, eq=False)
class FrocCurve:
    """A free-response ROC curve.

    One point per distinct score at which a truth object is first detected or
    a false positive appears, thresholds descending; the implicit starting
    point (threshold ``inf``, no detections) is not stored.

    Attributes
    ----------
    thresholds : (T,) ndarray of float64
        Score thresholds (detections have ``score >= threshold``), descending.
    fp_per_image : (T,) ndarray of float64
        False positives per image, non-decreasing.
    sensitivity : (T,) ndarray of float64
        Fraction of truth objects detected, non-decreasing; NaN when
        `n_truth` is 0.
    n_truth : int
        Truth objects (the denominator of `sensitivity`).
    n_images : int
        Images (the denominator of `fp_per_image`).
    """

    thresholds: np.ndarray
    fp_per_image: np.ndarray
    sensitivity: np.ndarray
    n_truth: int
    n_images: int

    def operating_point(self, max_fp_per_image: float) -> OperatingPoint:
        """Return the point of best sensitivity with at most `max_fp_per_image`.

        Parameters
        ----------
        max_fp_per_image : float
            Largest false-positive rate allowed.

        Returns
        -------
        OperatingPoint
        """
        allowed = np.flatnonzero(self.fp_per_image <= max_fp_per_image + _TOL)
        if allowed.size == 0:
            sensitivity = 0.0 if self.n_truth else math.nan
            return OperatingPoint(float(max_fp_per_image), math.inf, 0.0, sensitivity)
        i = allowed[-1]  # both arrays are non-decreasing: the last allowed point is the best
        return OperatingPoint(
            float(max_fp_per_image),
            float(self.thresholds[i]),
            float(self.fp_per_image[i]),
            float(self.sensitivity[i]),
        )

    def cpm(self) -> float:
        """Mean sensitivity at :data:`CPM_FP_RATES` (the competition performance metric)."""
        return float(np.mean([self.sensitivity_at(rate) for rate in CPM_FP_RATES]))

    def sensitivity_at(self, max_fp_per_image: float) -> float:
        """Return the best sensitivity reachable with at most `max_fp_per_image`."""
        return self.operating_point(max_fp_per_image).sensitivity

    def to_dict(self) -> dict:
        """JSON-serialisable dict of lists; NaN becomes None."""
        return {
            "thresholds": _json_floats(self.thresholds),
            "fp_per_image": _json_floats(self.fp_per_image),
            "sensitivity": _json_floats(self.sensitivity),
            "n_truth": int(self.n_truth),
            "n_images": int(self.n_images),
        }


@dataclass(frozen=True)
class Subgroup:
    """Sensitivity of a subgroup of truth objects at one operating point.

    Attributes
    ----------
    name : str
        E.g. ``"suspicious"`` or ``"5 <= cnr < 10"``.
    n_truth, n_detected : int
    sensitivity : float
        ``n_detected / n_truth``; NaN when `n_truth` is 0.
    """

    name: str
    n_truth: int
    n_detected: int
    sensitivity: float

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return {
            "name": self.name,
            "n_truth": int(self.n_truth),
            "n_detected": int(self.n_detected),
            "sensitivity": _json_float(self.sensitivity),
        }


@dataclass(frozen=True)
class ClusterMatch:
    """A (truth cluster, predicted cluster) pair where the prediction hits the truth.

    Kept for the distribution and morphology confusion matrices.

    Attributes
    ----------
    image_id : str
        The truth's image id.
    truth_cluster_id, predicted_cluster_id : int
    score : float
        The predicted cluster's score (suspicion).
    confidence : float
        The predicted cluster's detection confidence.
    distance_mm : float
        Distance of the predicted centre from the truth hull (0 inside).
    truth_category : Category
    truth_distribution, truth_morphology : str or None
    predicted_distribution, predicted_morphology : str or None
    truth_cnr : float or None
        The truth cluster's contrast-to-noise ratio.
    n_true_members : int
        Members of the prediction within :data:`MEMBER_TOLERANCE_MM` of one of the
        truth's calcifications.
    n_members : int
        Members of the prediction.
    """

    image_id: str
    truth_cluster_id: int
    predicted_cluster_id: int
    score: float
    confidence: float
    distance_mm: float
    truth_category: str
    truth_distribution: str | None
    truth_morphology: str | None
    predicted_distribution: str | None
    predicted_morphology: str | None
    truth_cnr: float | None = None
    n_true_members: int = 0
    n_members: int = 0

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return {
            "image_id": self.image_id,
            "truth_cluster_id": int(self.truth_cluster_id),
            "predicted_cluster_id": int(self.predicted_cluster_id),
            "score": _json_float(self.score),
            "confidence": _json_float(self.confidence),
            "distance_mm": _json_float(self.distance_mm),
            "truth_category": None if self.truth_category is None else str(self.truth_category),
            "truth_distribution": None if self.truth_distribution is None else str(self.truth_distribution),
            "truth_morphology": None if self.truth_morphology is None else str(self.truth_morphology),
            "predicted_distribution": self.predicted_distribution,
            "predicted_morphology": self.predicted_morphology,
            "truth_cnr": _json_float(self.truth_cnr) if self.truth_cnr is not None else None,
            "n_true_members": int(self.n_true_members),
            "n_members": int(self.n_members),
        }


#: A predicted cluster member within this distance (mm) of a truth calcification is
#: one of its members; a match holding this many of them is preferred for description.
MEMBER_TOLERANCE_MM = 1.0
MIN_TRUE_MEMBERS = 2

#: Cluster columns that can trace the FROC curve (see :func:`evaluate`).
SWEEPS = ("confidence", "score")

#: Clusters this far above noise (truth CNR) count as "clearly visible" in the description scores.
CLEAR_CNR = 10.0

_NONE = "(none)"


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
        return self.labels[-1] == _NONE and int(self.counts[:, -1].sum()) == self.n

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "counts": self.counts.tolist(), "n": self.n,
                "accuracy": _json_float(self.accuracy)}

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> Confusion:
        labels = tuple(sorted({t for t, _ in pairs} | {p for _, p in pairs}, key=lambda x: (x == _NONE, x)))
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
            "clear_cnr": CLEAR_CNR, "benign_recognised": _json_float(self.benign_recognised),
            "score_auc": _json_float(self.score_auc),
            "mean_score": {k: _json_float(v) for k, v in self.mean_score.items()},
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
        return [(str(getattr(m, truth_attr)), getattr(m, predicted_attr) or _NONE) for m in items]

    benign = [m for m in chosen if str(m.truth_category) == Category.BENIGN]
    recognised = [m.predicted_morphology in _BENIGN_NAMES for m in benign]
    by_category = {str(c): [m.score for m in chosen if str(m.truth_category) == c] for c in Category}
    return DescriptionEvaluation(
        distribution=Confusion.of(pairs(_distributed(chosen), "truth_distribution", "predicted_distribution")),
        morphology=Confusion.of(pairs(chosen, "truth_morphology", "predicted_morphology")),
        distribution_clear=Confusion.of(pairs(_distributed(clear), "truth_distribution", "predicted_distribution")),
        morphology_clear=Confusion.of(pairs(clear, "truth_morphology", "predicted_morphology")),
        benign_recognised=float(np.mean(recognised)) if recognised else math.nan,
        score_auc=_auc(by_category[Category.SUSPICIOUS], by_category[Category.BENIGN]),
        mean_score={c: float(np.mean(v)) if v else math.nan for c, v in by_category.items()},
        n_without_members=len(hit) - len(best),
    )


def _distributed(matches):
    """The matches whose truth cluster has a distribution."""
    return [m for m in matches if m.truth_distribution is not None]


_BENIGN_NAMES = frozenset(str(m) for m in Morphology if category_of(m) == Category.BENIGN)


def _auc(positive, negative) -> float:
    """ROC AUC (Mann-Whitney U / n1 n0), ties counted half."""
    if not positive or not negative:
        return math.nan
    pos, neg = np.asarray(positive, float)[:, None], np.asarray(negative, float)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


@dataclass(frozen=True, eq=False)
class ClusterEvaluation:
    """Cluster-level results.

    Attributes
    ----------
    n_truth : int
        Truth clusters that are targets: at least `min_truth_calcifications` members.
    n_below_minimum : int
        Truth groups with fewer members: not clusters by the definition in use,
        so not counted in the sensitivity; a detection on one is no false positive.
    n_predicted : int
        Predicted clusters on processed images of the truth.
    n_false_positives : int
        Predicted clusters that hit no truth cluster (all scores).
    froc : FrocCurve
    operating_points : tuple of OperatingPoint
        At the requested false-positive rates (``fp_rates``).
    cpm : float
        Mean sensitivity at :data:`CPM_FP_RATES`.
    operating_point : OperatingPoint
        At :data:`OPERATING_FP_PER_IMAGE` (1 FP per image).
    sensitivity_ci : tuple of 2 floats
        Percentile bootstrap confidence interval (over images) of
        ``operating_point.sensitivity``; NaN without resamples.
    ci_level : float
    n_bootstrap : int
    by_category : tuple of Subgroup
        Sensitivity per truth category at `operating_point`.
    by_cnr : tuple of Subgroup
        Sensitivity per CNR band at `operating_point`.
    matches : tuple of ClusterMatch
        Every hit pair at any score.
    description : DescriptionEvaluation
        Distribution and morphology confusion matrices, benign recognition and
        score separation over the best match of each truth cluster.
    """

    n_truth: int
    n_below_minimum: int
    n_predicted: int
    n_false_positives: int
    froc: FrocCurve
    operating_points: tuple[OperatingPoint, ...]
    cpm: float
    operating_point: OperatingPoint
    sensitivity_ci: tuple[float, float]
    ci_level: float
    n_bootstrap: int
    by_category: tuple[Subgroup, ...]
    by_cnr: tuple[Subgroup, ...]
    matches: tuple[ClusterMatch, ...] = ()
    description: DescriptionEvaluation | None = None

    def to_dict(self) -> dict:
        """JSON-serialisable dict; NaN and infinite values become None."""
        return {
            "n_truth": int(self.n_truth),
            "n_below_minimum": int(self.n_below_minimum),
            "n_predicted": int(self.n_predicted),
            "n_false_positives": int(self.n_false_positives),
            "froc": self.froc.to_dict(),
            "operating_points": [p.to_dict() for p in self.operating_points],
            "cpm": _json_float(self.cpm),
            "operating_point": self.operating_point.to_dict(),
            "sensitivity_ci": [_json_float(v) for v in self.sensitivity_ci],
            "ci_level": float(self.ci_level),
            "n_bootstrap": int(self.n_bootstrap),
            "by_category": [g.to_dict() for g in self.by_category],
            "by_cnr": [g.to_dict() for g in self.by_cnr],
            "matches": [m.to_dict() for m in self.matches],
            "description": self.description.to_dict() if self.description is not None else None,
        }


@dataclass(frozen=True, eq=False)
class CalcificationEvaluation:
    """Calcification-level results (all predictions, then the FROC over their score).

    Attributes
    ----------
    n_truth, n_matched : int
        Truth calcifications (cluster members and isolated) and those matched.
    sensitivity : float
        ``n_matched / n_truth``; NaN without truth calcifications.
    n_truth_members, n_matched_members : int
        The same for cluster members only.
    sensitivity_members : float
    n_predicted : int
        Predicted calcifications on processed images of the truth.
    n_false_positives : int
        Predictions matched to no truth calcification.
    fp_per_image : float
        ``n_false_positives`` per image of the truth.
    froc : FrocCurve
    operating_points : tuple of OperatingPoint
        At :data:`CALCIFICATION_FP_RATES` (1 and 10 FP per image).
    breast_cm2 : float or None
        Breast area of the images (the run's ``breast_area_mm2``, summed); None when one
        has none.
    per_cm2 : tuple of (float, float)
        (false positives per cm^2 of breast, sensitivity) at :data:`CALCIFICATION_FP_PER_CM2`;
        empty without the breast area.
    """

    n_truth: int
    n_matched: int
    sensitivity: float
    n_truth_members: int
    n_matched_members: int
    sensitivity_members: float
    n_predicted: int
    n_false_positives: int
    fp_per_image: float
    froc: FrocCurve
    operating_points: tuple[OperatingPoint, ...]
    breast_cm2: float | None = None
    per_cm2: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        """JSON-serialisable dict; NaN and infinite values become None."""
        return {
            "breast_cm2": None if self.breast_cm2 is None else _json_float(self.breast_cm2),
            "per_cm2": [{"fp_per_cm2": r, "sensitivity": _json_float(s)} for r, s in self.per_cm2],
            "n_truth": int(self.n_truth),
            "n_matched": int(self.n_matched),
            "sensitivity": _json_float(self.sensitivity),
            "n_truth_members": int(self.n_truth_members),
            "n_matched_members": int(self.n_matched_members),
            "sensitivity_members": _json_float(self.sensitivity_members),
            "n_predicted": int(self.n_predicted),
            "n_false_positives": int(self.n_false_positives),
            "fp_per_image": _json_float(self.fp_per_image),
            "froc": self.froc.to_dict(),
            "operating_points": [p.to_dict() for p in self.operating_points],
        }


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything :func:`evaluate` measures.

    Attributes
    ----------
    truth_path, predictions_dir : str or None
    n_images : int
        Images of the truth: the denominator of every per-image rate.
    n_normal : int
        Images of the truth without clusters.
    n_failed : int
        Images whose ``images.csv`` status is ``error``.
    n_missing : int
        Images of the truth absent from the predictions.
    n_extra : int
        Predicted images that are not in the truth (ignored).
    n_matched_by_basename : int
        Images joined on their file name because their ids differed.
    failed_ids, missing_ids : tuple of str
        Truth image ids of the failed and the missing images.
    margin_mm, calc_tolerance_mm : float
    seed : int or None
        Seed of the bootstrap.
    sweep : str
        The cluster column the FROC thresholds (see :func:`evaluate`).
    clusters : ClusterEvaluation
    calcifications : CalcificationEvaluation
    """

    truth_path: str | None
    predictions_dir: str | None
    n_images: int
    n_normal: int
    n_failed: int
    n_missing: int
    n_extra: int
    n_matched_by_basename: int
    failed_ids: tuple[str, ...]
    missing_ids: tuple[str, ...]
    margin_mm: float
    calc_tolerance_mm: float
    seed: int | None
    sweep: str
    clusters: ClusterEvaluation
    calcifications: CalcificationEvaluation

    def to_dict(self) -> dict:
        """JSON-serialisable dict (e.g. for ``evaluation.json``); NaN and inf become None."""
        return {
            "truth_path": self.truth_path,
            "predictions_dir": self.predictions_dir,
            "n_images": int(self.n_images),
            "n_normal": int(self.n_normal),
            "n_failed": int(self.n_failed),
            "n_missing": int(self.n_missing),
            "n_extra": int(self.n_extra),
            "n_matched_by_basename": int(self.n_matched_by_basename),
            "failed_ids": list(self.failed_ids),
            "missing_ids": list(self.missing_ids),
            "margin_mm": float(self.margin_mm),
            "calc_tolerance_mm": float(self.calc_tolerance_mm),
            "seed": self.seed,
            "sweep": self.sweep,
            "clusters": self.clusters.to_dict(),
            "calcifications": self.calcifications.to_dict(),
        }


# ---------------------------------------------------------------------------
# Reading the truth
# ---------------------------------------------------------------------------

_REQUIRED = object()


def _field(obj: dict, key: str, where: str, *, default=_REQUIRED):
    if not isinstance(obj, dict):
        raise EvaluationError(f"{where}: expected a JSON object; got {type(obj).__name__}")
    value = obj.get(key)
    if value is None:
        if default is _REQUIRED:
            raise EvaluationError(f"{where}: '{key}' is missing")
        return default
    return value


def _number(value, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EvaluationError(f"{where}: expected a number; got {value!r}") from None
    if not math.isfinite(number):
        raise EvaluationError(f"{where}: expected a finite number; got {value!r}")
    return number


def _coded(enum, value, where: str, *, optional: bool = True):
    if value is None and optional:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise EvaluationError(f"{where}: {value!r} is not one of {allowed}") from None


def _truth_calcification(obj: dict, where: str) -> TruthCalcification:
    return TruthCalcification(
        row=_number(_field(obj, "row", where), f"{where}.row"),
        col=_number(_field(obj, "col", where), f"{where}.col"),
        diameter_mm=_number(obj.get("diameter_mm"), f"{where}.diameter_mm", optional=True),
        length_mm=_number(obj.get("length_mm"), f"{where}.length_mm", optional=True),
        width_mm=_number(obj.get("width_mm"), f"{where}.width_mm", optional=True),
        contrast=_number(obj.get("contrast"), f"{where}.contrast", optional=True),
    )


def _truth_cluster(obj: dict, where: str) -> TruthCluster:
    calcifications = tuple(
        _truth_calcification(c, f"{where}.calcifications[{k}]")
        for k, c in enumerate(_field(obj, "calcifications", where, default=[]))
    )
    row, col = obj.get("row"), obj.get("col")
    if (row is None or col is None) and calcifications:  # fall back on the centroid of the members
        row, col = np.mean([(c.row, c.col) for c in calcifications], axis=0).tolist()
    row = _number(row, f"{where}.row")
    col = _number(col, f"{where}.col")
    return TruthCluster(
        cluster_id=int(_number(_field(obj, "cluster_id", where), f"{where}.cluster_id")),
        category=_coded(Category, _field(obj, "category", where), f"{where}.category", optional=False),
        distribution=_coded(Distribution, obj.get("distribution"), f"{where}.distribution"),
        morphology=_coded(Morphology, obj.get("morphology"), f"{where}.morphology"),
        extent_mm=_number(obj.get("extent_mm"), f"{where}.extent_mm", optional=True),
        cnr=_number(obj.get("cnr"), f"{where}.cnr", optional=True),
        row=row,
        col=col,
        calcifications=calcifications,
    )


def _truth_image(obj: dict, where: str) -> TruthImage:
    image_id = _field(obj, "image_id", where)
    if not isinstance(image_id, str) or not image_id:
        raise EvaluationError(f"{where}.image_id: expected a non-empty string; got {image_id!r}")
    where = f"{where} ({image_id})"
    spacing = _field(obj, "spacing_mm", where)
    if not isinstance(spacing, list | tuple) or len(spacing) != 2:
        raise EvaluationError(f"{where}.spacing_mm: expected [row_mm, col_mm]; got {spacing!r}")
    spacing_mm = tuple(_number(v, f"{where}.spacing_mm") for v in spacing)
    if not all(v > 0 for v in spacing_mm):
        raise EvaluationError(f"{where}.spacing_mm must be positive; got {spacing!r}")
    rows, columns = obj.get("rows"), obj.get("columns")
    return TruthImage(
        image_id=image_id,
        spacing_mm=spacing_mm,
        rows=None if rows is None else int(_number(rows, f"{where}.rows")),
        columns=None if columns is None else int(_number(columns, f"{where}.columns")),
        laterality=obj.get("laterality"),
        view=obj.get("view"),
        clusters=tuple(
            _truth_cluster(c, f"{where}.clusters[{k}]")
            for k, c in enumerate(_field(obj, "clusters", where, default=[]))
        ),
        isolated=tuple(
            _truth_calcification(c, f"{where}.isolated[{k}]")
            for k, c in enumerate(_field(obj, "isolated", where, default=[]))
        ),
    )


def load_truth(path) -> Truth:
    """Read a ``truth.json`` ground truth (format version 1).

    Parameters
    ----------
    path : str or PathLike
        The ``truth.json`` written by ``calcdetect synth`` (see
        ``docs/truth-format.md``).

    Returns
    -------
    Truth

    Raises
    ------
    FileNotFoundError
        When `path` does not exist.
    EvaluationError
        When the file is not JSON, has another format version, lacks a
        required field, holds a value of the wrong type or a category,
        distribution or morphology outside :mod:`calcdetect.lexicon`, or
        repeats an image id.
    """
    doc = read_truth(path)
    where = str(path)
    version = doc["format_version"]
    images = _field(doc, "images", where)
    if not isinstance(images, list):
        raise EvaluationError(f"{where}: 'images' must be a list; got {type(images).__name__}")
    parsed = tuple(_truth_image(obj, f"{where}: images[{k}]") for k, obj in enumerate(images))
    seen: set[str] = set()
    for image in parsed:
        if image.image_id in seen:
            raise EvaluationError(f"{where}: image_id {image.image_id!r} appears more than once")
        seen.add(image.image_id)
    seed = doc.get("seed")
    return Truth(
        images=parsed,
        path=str(path),
        format_version=int(version),
        seed=seed if isinstance(seed, int) else None,
    )


# ---------------------------------------------------------------------------
# Reading the predictions
# ---------------------------------------------------------------------------


def _read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str | None]]]:
    """Rows of a CSV table as (line number, {column: text or None for empty}); a run written
    with ``--format parquet`` is read from the ``.parquet`` file beside (row numbers from 1)."""
    parquet = path.with_suffix(".parquet")
    if not path.is_file() and parquet.is_file():
        from calcdetect.schema import read_table

        rows = read_table(path.parent, path.stem, table_format="parquet")
        columns = list(rows[0]) if rows else []
        missing = [c for c in required if rows and c not in columns]
        if missing:
            raise EvaluationError(f"{parquet}: missing column(s) {', '.join(missing)}; found {', '.join(columns)}")
        return [(i, {k: None if v is None else str(v) for k, v in row.items()}) for i, row in enumerate(rows, 1)]
    if not path.is_file():
        raise EvaluationError(
            f"{path}: not found; give the output folder of 'calcdetect detect' "
            f"(it holds images.csv, calcifications.csv and clusters.csv)"
        )
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in required if c not in columns]
        if missing:
            raise EvaluationError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
            )
        rows = []
        for row in reader:
            cells = {k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items() if k}
            rows.append((reader.line_num, cells))
    return rows


def _cell_float(cells: dict, column: str, where: str) -> float:
    """A numeric cell; NaN when empty or absent."""
    text = cells.get(column)
    if text is None:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise EvaluationError(f"{where}: column {column} is not a number: {text!r}") from None


def _cell_int(cells: dict, column: str, where: str, *, missing: int) -> int:
    value = _cell_float(cells, column, where)
    if math.isnan(value):
        return missing
    if not value.is_integer():
        raise EvaluationError(f"{where}: column {column} is not an integer: {cells.get(column)!r}")
    return int(value)


def _score(cells: dict, where: str, column: str = "score") -> float:
    """The cell's `column` as a number; an empty or absent one falls back to ``score``, then 0."""
    value = _cell_float(cells, column if cells.get(column) is not None else "score", where)
    return value if math.isfinite(value) else 0.0


def _empty_clusters() -> PredictedClusters:
    return PredictedClusters(np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0), (), (), np.zeros(0), ())


def _empty_calcifications() -> PredictedCalcifications:
    return PredictedCalcifications(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0)
    )


def _group_by_image(rows, path: Path, parse) -> dict[str, list]:
    """Parse table rows with ``parse(cells, where)``, grouped by their image_id."""
    grouped: dict[str, list] = {}
    for line, cells in rows:
        where = f"{path}:{line}"
        image_id = cells.get("image_id")
        if image_id is None:
            raise EvaluationError(f"{where}: image_id is empty")
        grouped.setdefault(image_id, []).append(parse(cells, where))
    return grouped


def load_predictions(folder) -> Predictions:
    """Read the ``images``, ``clusters`` and ``calcifications`` tables of a run (CSV, or Parquet
    for a run written with ``--format parquet``).

    Parameters
    ----------
    folder : str or PathLike
        Output folder of ``calcdetect detect`` (output contract schema v1).
        Empty cells are missing values; a missing ``score`` counts as 0.

    Returns
    -------
    Predictions

    Raises
    ------
    EvaluationError
        When a table is absent or lacks a required column, a number does not
        parse, a status is neither ``ok`` nor ``error``, or ``images.csv``
        repeats an image id.
    """
    folder = Path(folder)
    image_rows = _read_table(folder / "images.csv", ("image_id", "status"))
    cluster_rows = _read_table(folder / "clusters.csv", ("image_id", "cluster_id", "row", "col", "score"))
    calc_rows = _read_table(folder / "calcifications.csv", ("image_id", "row", "col", "score"))

    headers: dict[str, tuple] = {}
    for line, cells in image_rows:
        where = f"{folder / 'images.csv'}:{line}"
        image_id = cells.get("image_id")
        if image_id is None:
            raise EvaluationError(f"{where}: image_id is empty")
        if image_id in headers:
            raise EvaluationError(f"{where}: image_id {image_id!r} appears more than once")
        status = cells.get("status")
        if status not in ("ok", "error"):
            raise EvaluationError(f"{where}: status must be 'ok' or 'error'; got {status!r}")
        rows, columns = (_cell_int(cells, name, where, missing=-1) for name in ("rows", "columns"))
        row_mm, col_mm = _cell_float(cells, "spacing_mm", where), _cell_float(cells, "column_spacing_mm", where)
        col_mm = row_mm if math.isnan(col_mm) else col_mm
        headers[image_id] = (cells.get("path"), status, cells.get("error"),
                             (rows, columns) if rows > 0 and columns > 0 else None,
                             (row_mm, col_mm) if row_mm > 0 and col_mm > 0 else None,
                             area if (area := _cell_float(cells, "breast_area_mm2", where)) > 0 else None)

    clusters = _group_by_image(cluster_rows, folder / "clusters.csv", lambda cells, where: (
        _cell_int(cells, "cluster_id", where, missing=-1),
        _cell_float(cells, "row", where),
        _cell_float(cells, "col", where),
        _score(cells, where),
        cells.get("distribution"),
        cells.get("morphology"),
        _score(cells, where, "confidence"),
        cells.get("birads_category"),
    ))
    calcifications = _group_by_image(calc_rows, folder / "calcifications.csv", lambda cells, where: (
        _cell_int(cells, "calc_id", where, missing=-1),
        _cell_int(cells, "cluster_id", where, missing=-1),
        _cell_float(cells, "row", where),
        _cell_float(cells, "col", where),
        _score(cells, where),
    ))

    images: dict[str, PredictedImage] = {}
    for image_id in [*headers, *(i for i in {**clusters, **calcifications} if i not in headers)]:
        path, status, error, shape, spacing, area = headers.get(image_id, (None, "ok", None, None, None, None))
        rows = clusters.get(image_id)
        if rows:
            ids, r, c, score, distribution, morphology, confidence, category = zip(*rows, strict=True)
            image_clusters = PredictedClusters(
                cluster_id=np.asarray(ids, dtype=np.int64),
                centre=np.column_stack([r, c]).astype(float),
                score=np.asarray(score, dtype=float),
                distribution=tuple(distribution),
                morphology=tuple(morphology),
                confidence=np.asarray(confidence, dtype=float),
                birads_category=tuple(category),
            )
        else:
            image_clusters = _empty_clusters()
        rows = calcifications.get(image_id)
        if rows:
            calc_ids, cluster_ids, r, c, score = zip(*rows, strict=True)
            image_calcifications = PredictedCalcifications(
                calc_id=np.asarray(calc_ids, dtype=np.int64),
                cluster_id=np.asarray(cluster_ids, dtype=np.int64),
                centroid=np.column_stack([r, c]).astype(float),
                score=np.asarray(score, dtype=float),
            )
        else:
            image_calcifications = _empty_calcifications()
        images[image_id] = PredictedImage(image_id, path, status, error, image_clusters, image_calcifications, shape,
                                          spacing, area)
    return Predictions(images=images, folder=str(folder))


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def convex_hull(points) -> np.ndarray:
    """Convex hull of 2-D points (Andrew's monotone chain).

    Duplicate points and points on the hull's edges are dropped, so collinear
    input gives its two end points and a single (repeated) point gives one.

    Parameters
    ----------
    points : (N, 2) array_like of float
        Points (row, col), N >= 1.

    Returns
    -------
    (H, 2) ndarray of float64
        Hull vertices, counter-clockwise in the (row, col) plane starting at
        the lexicographically smallest point; H is 1, 2 or at least 3.

    Examples
    --------
    >>> convex_hull([[0, 0], [0, 2], [0, 1], [0, 2]]).tolist()
    [[0.0, 0.0], [0.0, 2.0]]
    """
    pts = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)  # sorted by (row, col)
    if len(pts) == 0:
        raise ValueError("points must hold at least one point; got none")
    if len(pts) <= 2:
        return pts

    def turn(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and turn(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in pts[::-1]:
        while len(upper) >= 2 and turn(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def distance_to_hull(points, hull) -> np.ndarray:
    """Distance of points from a convex polygon, 0 inside.

    Parameters
    ----------
    points : (P, 2) array_like of float
        Query points (row, col).
    hull : (H, 2) array_like of float
        Vertices as returned by :func:`convex_hull` (counter-clockwise); one
        vertex is a point, two are a segment. Same units as `points`.

    Returns
    -------
    (P,) ndarray of float64
        Euclidean distance; NaN for a query point with a NaN coordinate.

    Examples
    --------
    >>> square = convex_hull([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> distance_to_hull([[0.5, 0.5], [0.5, 3.0]], square).tolist()
    [0.0, 2.0]
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    hull = np.asarray(hull, dtype=float).reshape(-1, 2)
    if len(hull) == 0:
        raise ValueError("hull must hold at least one vertex; got none")
    if len(hull) == 1:
        return np.hypot(*(points - hull[0]).T)
    start = hull if len(hull) >= 3 else hull[:1]
    edge = (np.roll(hull, -1, axis=0) if len(hull) >= 3 else hull[1:]) - start  # (E, 2)
    offset = points[:, None, :] - start[None, :, :]  # (P, E, 2)
    t = np.clip((offset * edge).sum(-1) / (edge * edge).sum(-1), 0.0, 1.0)
    distance = np.hypot(*np.moveaxis(offset - t[..., None] * edge, -1, 0)).min(axis=1)
    if len(hull) >= 3:
        cross = edge[:, 0] * offset[..., 1] - edge[:, 1] * offset[..., 0]
        distance[(cross >= 0).all(axis=1)] = 0.0
    return distance


def _members_mm(cluster: TruthCluster, spacing_mm: np.ndarray) -> np.ndarray:
    """(K, 2) centroids of the truth cluster's calcifications in mm (K may be 0)."""
    return np.array([(c.row, c.col) for c in cluster.calcifications], float).reshape(-1, 2) * spacing_mm


def _hull_mm(cluster: TruthCluster, spacing_mm: np.ndarray) -> np.ndarray:
    points = _members_mm(cluster, spacing_mm)
    if not len(points):
        points = np.array([(cluster.row, cluster.col)]) * spacing_mm
    return convex_hull(points)


# ---------------------------------------------------------------------------
# FROC
# ---------------------------------------------------------------------------


def _froc_curve(detected_at, fp_scores, n_images: int) -> FrocCurve:
    """FROC from the score at which each truth object is detected and the FP scores.

    `detected_at` holds, per truth object, the highest score among the
    detections that find it (``-inf`` when none does).
    """
    detected_at = np.asarray(detected_at, dtype=float)
    fp_scores = np.asarray(fp_scores, dtype=float)
    events = np.concatenate([detected_at[np.isfinite(detected_at)], fp_scores])
    thresholds = np.unique(events)[::-1]
    n_detected = detected_at.size - np.searchsorted(np.sort(detected_at), thresholds, side="left")
    n_fp = fp_scores.size - np.searchsorted(np.sort(fp_scores), thresholds, side="left")
    if detected_at.size:
        sensitivity = n_detected / detected_at.size
    else:
        sensitivity = np.full(thresholds.shape, math.nan)
    return FrocCurve(
        thresholds=thresholds.astype(float),
        fp_per_image=n_fp / n_images,
        sensitivity=sensitivity.astype(float),
        n_truth=int(detected_at.size),
        n_images=int(n_images),
    )


class WeightedSensitivity:
    """Best sensitivity at each of `rates` false positives per image when each resampling unit
    (an image, or a patient with all their images) counts as often as a bootstrap resample
    draws it; the scores are sorted once, each resample only sums its weights.

    Parameters
    ----------
    rates : sequence of float
        False positives per image.
    detected_at : (N,) ndarray
        Per truth object, the score at which it is detected (``-inf`` when never).
    truth_unit : (N,) ndarray of int
        The unit of each truth object.
    fp_scores : (F,) ndarray
        Scores of the false positives ...
    fp_unit : (F,) ndarray of int
        ... and their units.
    image_unit : (I,) ndarray of int
        The unit of each image (the denominator of false positives per image).
    """

    def __init__(self, rates, detected_at, truth_unit, fp_scores, fp_unit, image_unit):
        detected_at, fp_scores = np.asarray(detected_at, float), np.asarray(fp_scores, float)
        self.rates = np.asarray(rates, float)
        self.thresholds = np.unique(np.concatenate([detected_at[np.isfinite(detected_at)], fp_scores]))[::-1]
        truth_order, fp_order = np.argsort(-detected_at, kind="stable"), np.argsort(-fp_scores, kind="stable")
        self.truth_unit, self.fp_unit = np.asarray(truth_unit)[truth_order], np.asarray(fp_unit)[fp_order]
        # How many truth objects and false positives have score >= each threshold.
        self.n_truth_at = np.searchsorted(-detected_at[truth_order], -self.thresholds, side="right")
        self.n_fp_at = np.searchsorted(-fp_scores[fp_order], -self.thresholds, side="right")
        self.image_unit = np.asarray(image_unit)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        """(R,) sensitivities for (U,) unit weights, or (B, R) for (B, U); NaN for a resample
        without truth objects or images."""
        w = np.atleast_2d(np.asarray(weights, float))
        n_images = w[:, self.image_unit].sum(axis=1)
        w_truth = w[:, self.truth_unit]
        total = w_truth.sum(axis=1)
        out = np.zeros((len(w), len(self.rates)))
        if self.thresholds.size:
            zero = np.zeros((len(w), 1))
            with np.errstate(invalid="ignore", divide="ignore"):
                fps = np.concatenate([zero, np.cumsum(w[:, self.fp_unit], axis=1)], axis=1)[:, self.n_fp_at] \
                    / n_images[:, None]
                found = np.concatenate([zero, np.cumsum(w_truth, axis=1)], axis=1)[:, self.n_truth_at]
            # fps is non-decreasing along the thresholds: the last allowed threshold is the best.
            n_allowed = (fps[:, :, None] <= self.rates[None, None, :] + _TOL).sum(axis=1)  # (B, R)
            best = np.take_along_axis(found, np.maximum(n_allowed - 1, 0), axis=1)
            out = np.where(n_allowed > 0, best, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / total[:, None]
        out[(total == 0) | (n_images == 0)] = math.nan
        return out[0] if np.ndim(weights) == 1 else out


def _bootstrap_sensitivity(
    detected_at: np.ndarray,
    truth_image: np.ndarray,
    fp_scores: np.ndarray,
    fp_image: np.ndarray,
    n_images: int,
    *,
    max_fp_per_image: float,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sensitivity at `max_fp_per_image` on `n_bootstrap` resamples of the images.

    Each resample draws `n_images` images with replacement; an image drawn k
    times counts k times in every numerator and denominator
    (:class:`WeightedSensitivity` with each image its own unit).

    Returns
    -------
    (n_bootstrap,) ndarray of float64
        NaN for a resample without truth objects.
    """
    statistic = WeightedSensitivity((max_fp_per_image,), detected_at, truth_image, fp_scores, fp_image,
                                    np.arange(n_images))
    out = np.empty(n_bootstrap)
    chunk = max(1, 4_000_000 // max(1, n_images, detected_at.size, fp_scores.size))
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        draws = rng.integers(0, n_images, size=(b, n_images))
        flat = (draws + n_images * np.arange(b)[:, None]).ravel()
        weights = np.bincount(flat, minlength=b * n_images).reshape(b, n_images)
        out[start : start + b] = statistic(weights)[:, 0]
    return out


def _percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (math.nan, math.nan)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return (float(low), float(high))


def _subgroup(name: str, detected: np.ndarray) -> Subgroup:
    n_truth, n_detected = int(detected.size), int(detected.sum())
    return Subgroup(name, n_truth, n_detected, n_detected / n_truth if n_truth else math.nan)


def _cnr_band(cnr: float | None) -> str:
    low, high = CNR_EDGES
    if cnr is None:
        return "cnr unknown"
    if cnr < low:
        return f"cnr < {low:g}"
    if cnr < high:
        return f"{low:g} <= cnr < {high:g}"
    return f"cnr >= {high:g}"


# ---------------------------------------------------------------------------
# Joining truth and predictions
# ---------------------------------------------------------------------------


def _basename(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


@dataclass(frozen=True)
class _Join:
    predicted: tuple[PredictedImage | None, ...]  # per truth image; None when missing
    n_missing: int
    n_extra: int
    n_by_basename: int


def _join(truth: Truth, predictions: Predictions) -> _Join:
    """Pair each truth image with its predictions: by image_id, else by file name."""
    used: set[str] = set()
    paired: list[PredictedImage | None] = []
    for image in truth.images:
        exact = predictions.images.get(image.image_id)
        paired.append(exact)
        if exact is not None:
            used.add(image.image_id)

    by_name: dict[str, set[str]] = {}
    for image_id, predicted in predictions.images.items():
        if image_id in used:
            continue
        for name in (image_id, predicted.path):
            if name:
                by_name.setdefault(_basename(name), set()).add(image_id)

    n_by_basename = 0
    for k, image in enumerate(truth.images):
        if paired[k] is not None:
            continue
        candidates = sorted(by_name.get(_basename(image.image_id), set()) - used)
        if len(candidates) > 1:
            raise EvaluationError(
                f"truth image {image.image_id!r} is not among the predicted image ids and its file name "
                f"matches several predicted images ({', '.join(candidates)}); run detect with the "
                f"truth's folder as the input root so that the ids agree"
            )
        if candidates:
            paired[k] = predictions.images[candidates[0]]
            used.add(candidates[0])
            n_by_basename += 1

    return _Join(
        predicted=tuple(paired),
        n_missing=sum(p is None for p in paired),
        n_extra=sum(image_id not in used for image_id in predictions.images),
        n_by_basename=n_by_basename,
    )


def check_spacing_agrees(pairs, truth: str, run: str, *, tolerance: float = 0.01) -> None:
    """Refuse predictions made at another pixel spacing than the truth's (lengths, margins and
    the detector's filters all depend on it).

    Parameters
    ----------
    pairs : iterable of (image id, (row_mm, col_mm), PredictedImage or None)
    truth, run : str
        Named in the message.

    Raises
    ------
    EvaluationError
        Naming the first image and both spacings, when any differs by more than `tolerance`
        (relative).
    """
    other = [(image_id, spacing, p.spacing) for image_id, spacing, p in pairs
             if p is not None and p.spacing is not None and spacing is not None
             and any(abs(a - b) > tolerance * b for a, b in zip(p.spacing, spacing))]
    if other:
        image_id, spacing, used = other[0]
        raise EvaluationError(
            f"{len(other)} image(s) were detected at another pixel spacing than {truth} gives, e.g. {image_id!r}: "
            f"{used[0]:g} x {used[1]:g} mm in {run}, {spacing[0]:g} x {spacing[1]:g} mm in the truth: run detect "
            f"again with --spacing-mm {spacing[0]:g}")


def _check_join(truth: Truth, predictions: Predictions, join: _Join) -> None:
    """Refuse a truth and predictions of different sets: no image in common, or images of
    other sizes (where both record them)."""
    if not predictions.images:
        raise EvaluationError(f"{predictions.folder}: the run holds no image (an empty images.csv)")
    if join.n_missing == len(truth.images):
        raise EvaluationError(
            f"{truth.path or 'the truth'} and {predictions.folder} have no image in common ({len(truth.images)} in "
            f"the truth, e.g. {truth.images[0].image_id!r}; {len(predictions.images)} predicted, e.g. "
            f"{next(iter(predictions.images))!r}): give the predictions of the truth's images")
    check_spacing_agrees([(image.image_id, image.spacing_mm, p) for image, p in zip(truth.images, join.predicted)],
                         truth.path or "the truth", predictions.folder)
    other = [(image, p) for image, p in zip(truth.images, join.predicted, strict=True)
             if p is not None and p.shape is not None and image.rows is not None and image.columns is not None
             and p.shape != (image.rows, image.columns)]
    if other:
        image, p = other[0]
        raise EvaluationError(
            f"{len(other)} image(s) differ in size between the truth and the predictions, e.g. {image.image_id!r}: "
            f"{image.rows} x {image.columns} in {truth.path or 'the truth'}, {p.shape[0]} x {p.shape[1]} in "
            f"{predictions.folder}: the predictions are of another set or scale")


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def _evaluate_clusters(
    truth: Truth,
    predicted: tuple[PredictedImage | None, ...],
    *,
    sweep: str,
    margin_mm: float,
    min_truth_calcifications: int,
    fp_rates: tuple[float, ...],
    n_bootstrap: int,
    seed: int | None,
) -> ClusterEvaluation:
    detected_at, truth_image, fp_scores, fp_image = [], [], [], []
    categories, bands, matches = [], [], []
    n_predicted = n_below_minimum = 0
    for i, (image, prediction) in enumerate(zip(truth.images, predicted, strict=True)):
        spacing_mm = np.asarray(image.spacing_mm)
        found = prediction.clusters if prediction is not None and prediction.ok else _empty_clusters()
        n_predicted += len(found)
        centres_mm = found.centre * spacing_mm
        distance = np.empty((len(found), len(image.clusters)))
        for j, cluster in enumerate(image.clusters):
            distance[:, j] = distance_to_hull(centres_mm, _hull_mm(cluster, spacing_mm))
        hit = distance <= margin_mm + _TOL  # NaN centres hit nothing
        ranking = found.confidence if sweep == "confidence" else found.score
        best = np.where(hit, ranking[:, None], -np.inf).max(axis=0, initial=-np.inf)
        target = np.array([len(c.calcifications) >= min_truth_calcifications for c in image.clusters], bool)
        n_below_minimum += int((~target).sum())
        detected_at.extend(best[target].tolist())
        truth_image.extend([i] * int(target.sum()))
        is_fp = ~hit.any(axis=1)
        fp_scores.extend(ranking[is_fp].tolist())
        fp_image.extend([i] * int(is_fp.sum()))
        categories.extend(str(c.category) for c, t in zip(image.clusters, target) if t)
        bands.extend(_cnr_band(c.cnr) for c, t in zip(image.clusters, target) if t)
        calcs = prediction.calcifications if prediction is not None and prediction.ok else _empty_calcifications()
        calcs_mm = calcs.centroid * spacing_mm
        trees = {j: cKDTree(_members_mm(image.clusters[j], spacing_mm)) for j in np.unique(np.nonzero(hit)[1])}
        for k, j in zip(*np.nonzero(hit), strict=True):
            cluster = image.clusters[j]
            members = calcs_mm[calcs.cluster_id == found.cluster_id[k]]
            n_true = 0
            if len(members) and trees[j].n:
                n_true = int(np.count_nonzero(trees[j].query(members)[0] <= MEMBER_TOLERANCE_MM))
            matches.append(
                ClusterMatch(
                    image_id=image.image_id,
                    truth_cluster_id=cluster.cluster_id,
                    predicted_cluster_id=int(found.cluster_id[k]),
                    score=float(found.score[k]),
                    confidence=float(found.confidence[k]),
                    distance_mm=float(distance[k, j]),
                    truth_category=cluster.category,
                    truth_distribution=cluster.distribution,
                    truth_morphology=cluster.morphology,
                    predicted_distribution=found.distribution[k],
                    predicted_morphology=found.morphology[k],
                    truth_cnr=cluster.cnr,
                    n_true_members=n_true,
                    n_members=len(members),
                )
            )

    n_images = len(truth.images)
    detected_at = np.asarray(detected_at, dtype=float)
    truth_image = np.asarray(truth_image, dtype=np.int64)
    fp_scores = np.asarray(fp_scores, dtype=float)
    fp_image = np.asarray(fp_image, dtype=np.int64)
    froc = _froc_curve(detected_at, fp_scores, n_images)
    operating_point = froc.operating_point(OPERATING_FP_PER_IMAGE)

    detected = detected_at >= operating_point.threshold
    categories = np.asarray(categories, dtype=object)
    bands = np.asarray(bands, dtype=object)
    band_names = [_cnr_band(low) for low in (-math.inf, *CNR_EDGES)]
    if "cnr unknown" in set(bands.tolist()):
        band_names.append("cnr unknown")

    samples = _bootstrap_sensitivity(
        detected_at, truth_image, fp_scores, fp_image, n_images,
        max_fp_per_image=OPERATING_FP_PER_IMAGE,
        n_bootstrap=n_bootstrap,
        rng=np.random.default_rng(seed),
    )
    cpm = froc.cpm()
    return ClusterEvaluation(
        n_truth=froc.n_truth,
        n_below_minimum=n_below_minimum,
        n_predicted=n_predicted,
        n_false_positives=int(fp_scores.size),
        froc=froc,
        operating_points=tuple(froc.operating_point(rate) for rate in fp_rates),
        cpm=cpm,
        operating_point=operating_point,
        sensitivity_ci=_percentile_interval(samples, CI_LEVEL),
        ci_level=CI_LEVEL,
        n_bootstrap=n_bootstrap,
        by_category=tuple(_subgroup(str(c), detected[categories == str(c)]) for c in Category),
        by_cnr=tuple(_subgroup(name, detected[bands == name]) for name in band_names),
        matches=tuple(matches),
        description=describe_agreement(matches),
    )


def _match_calcifications(
    truth_mm: np.ndarray, radius_mm: np.ndarray, found_mm: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one greedy matching; returns (prediction per truth, truth per prediction), -1 = none."""
    truth_match = np.full(len(truth_mm), -1, dtype=np.int64)
    found_match = np.full(len(found_mm), -1, dtype=np.int64)
    usable = np.flatnonzero(np.isfinite(found_mm).all(axis=1))
    if len(truth_mm) == 0 or usable.size == 0:
        return truth_match, found_match
    tree = cKDTree(found_mm[usable])
    neighbours = tree.query_ball_point(truth_mm, r=radius_mm + _TOL)
    t_idx = np.repeat(np.arange(len(truth_mm)), [len(n) for n in neighbours])
    if t_idx.size == 0:
        return truth_match, found_match
    f_idx = usable[np.concatenate([np.asarray(n, dtype=np.int64) for n in neighbours])]
    distance = np.hypot(*(truth_mm[t_idx] - found_mm[f_idx]).T)
    # Highest score first; within a score, the closest pair first; then by index.
    order = np.lexsort((f_idx, t_idx, distance, -score[f_idx]))
    for t, f in zip(t_idx[order].tolist(), f_idx[order].tolist(), strict=True):
        if truth_match[t] < 0 and found_match[f] < 0:
            truth_match[t] = f
            found_match[f] = t
    return truth_match, found_match


def _evaluate_calcifications(
    truth: Truth, predicted: tuple[PredictedImage | None, ...], *, calc_tolerance_mm: float
) -> CalcificationEvaluation:
    detected_at, is_member, fp_scores = [], [], []
    n_predicted = 0
    for image, prediction in zip(truth.images, predicted, strict=True):
        spacing_mm = np.asarray(image.spacing_mm)
        specks = [c for cluster in image.clusters for c in cluster.calcifications]
        member = [True] * len(specks) + [False] * len(image.isolated)
        specks += list(image.isolated)
        truth_mm = np.array([(c.row, c.col) for c in specks], dtype=float).reshape(-1, 2) * spacing_mm
        half_length_mm = np.array(
            [(c.length_mm if c.length_mm is not None else c.diameter_mm or 0.0) / 2 for c in specks]
        )
        radius_mm = np.maximum(calc_tolerance_mm, half_length_mm)
        found = (
            prediction.calcifications if prediction is not None and prediction.ok else _empty_calcifications()
        )
        n_predicted += len(found)
        truth_match, found_match = _match_calcifications(
            truth_mm, radius_mm, found.centroid * spacing_mm, found.score
        )
        matched_score = np.full(len(specks), -np.inf)
        matched_score[truth_match >= 0] = found.score[truth_match[truth_match >= 0]]
        detected_at.extend(matched_score.tolist())
        is_member.extend(member)
        fp_scores.extend(found.score[found_match < 0].tolist())

    n_images = len(truth.images)
    detected_at = np.asarray(detected_at, dtype=float)
    is_member = np.asarray(is_member, dtype=bool)
    matched = np.isfinite(detected_at)
    froc = _froc_curve(detected_at, fp_scores, n_images)
    n_truth, n_matched = int(matched.size), int(matched.sum())
    n_members, n_matched_members = int(is_member.sum()), int(matched[is_member].sum())
    area_cm2 = breast_cm2(predicted)
    return CalcificationEvaluation(
        n_truth=n_truth,
        n_matched=n_matched,
        sensitivity=n_matched / n_truth if n_truth else math.nan,
        n_truth_members=n_members,
        n_matched_members=n_matched_members,
        sensitivity_members=n_matched_members / n_members if n_members else math.nan,
        n_predicted=n_predicted,
        n_false_positives=len(fp_scores),
        fp_per_image=len(fp_scores) / n_images,
        froc=froc,
        operating_points=tuple(froc.operating_point(rate) for rate in CALCIFICATION_FP_RATES),
        breast_cm2=area_cm2,
        per_cm2=sensitivity_per_cm2(froc, area_cm2),
    )


def breast_cm2(predicted) -> float | None:
    """Summed breast area (cm^2) of the images' predictions; None when one is missing or has none."""
    areas = [p.breast_area_mm2 if p is not None else None for p in predicted]
    return sum(areas) / 100.0 if areas and all(a is not None for a in areas) else None


def sensitivity_per_cm2(froc: FrocCurve, breast_cm2: float | None,
                        rates=CALCIFICATION_FP_PER_CM2) -> tuple[tuple[float, float], ...]:
    """(FP per cm^2, sensitivity) at `rates`, from a FROC against FP per image over images of
    `breast_cm2` in all; empty without the area."""
    if not breast_cm2:
        return ()
    images_per_cm2 = froc.n_images / breast_cm2  # FP/cm^2 = FP/image x images / cm^2
    return tuple((float(rate), froc.sensitivity_at(rate / images_per_cm2)) for rate in rates)


def evaluate_predictions(
    truth: Truth,
    predictions: Predictions,
    *,
    sweep: str = "confidence",
    margin_mm: float = 2.0,
    min_truth_calcifications: int = 3,
    calc_tolerance_mm: float = 0.5,
    fp_rates=(0.25, 0.5, 1.0, 2.0),
    n_bootstrap: int = 1000,
    seed: int | None = 0,
) -> Evaluation:
    """Score loaded predictions against a loaded truth; see :func:`evaluate`."""
    if sweep not in SWEEPS:
        raise ValueError(f"sweep must be one of {SWEEPS}; got {sweep!r}")
    if not (math.isfinite(margin_mm) and margin_mm >= 0):
        raise ValueError(f"margin_mm must be a finite number >= 0; got {margin_mm!r}")
    if isinstance(min_truth_calcifications, bool) or int(min_truth_calcifications) != min_truth_calcifications \
            or min_truth_calcifications < 1:
        raise ValueError(f"min_truth_calcifications must be an integer >= 1; got {min_truth_calcifications!r}")
    if not (math.isfinite(calc_tolerance_mm) and calc_tolerance_mm >= 0):
        raise ValueError(f"calc_tolerance_mm must be a finite number >= 0; got {calc_tolerance_mm!r}")
    fp_rates = tuple(float(r) for r in fp_rates)
    if not fp_rates or not all(math.isfinite(r) and r >= 0 for r in fp_rates):
        raise ValueError(f"fp_rates must be one or more finite numbers >= 0; got {fp_rates!r}")
    if isinstance(n_bootstrap, bool) or int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(
            f"n_bootstrap must be an integer >= 0 (0: no confidence interval); got {n_bootstrap!r}"
        )
    if not truth.images:
        raise EvaluationError(f"{truth.path or 'truth'}: holds no images; nothing to evaluate")

    join = _join(truth, predictions)
    _check_join(truth, predictions, join)
    failed_ids = tuple(
        image.image_id
        for image, p in zip(truth.images, join.predicted, strict=True)
        if p is not None and not p.ok
    )
    missing_ids = tuple(
        image.image_id for image, p in zip(truth.images, join.predicted, strict=True) if p is None
    )
    return Evaluation(
        truth_path=truth.path,
        predictions_dir=predictions.folder,
        n_images=len(truth.images),
        n_normal=sum(not image.clusters for image in truth.images),
        n_failed=len(failed_ids),
        n_missing=join.n_missing,
        n_extra=join.n_extra,
        n_matched_by_basename=join.n_by_basename,
        failed_ids=failed_ids,
        missing_ids=missing_ids,
        margin_mm=float(margin_mm),
        calc_tolerance_mm=float(calc_tolerance_mm),
        seed=seed,
        sweep=sweep,
        clusters=_evaluate_clusters(
            truth, join.predicted, sweep=sweep,
            margin_mm=margin_mm, min_truth_calcifications=int(min_truth_calcifications), fp_rates=fp_rates,
            n_bootstrap=int(n_bootstrap), seed=seed,
        ),
        calcifications=_evaluate_calcifications(truth, join.predicted, calc_tolerance_mm=calc_tolerance_mm),
    )


def evaluate(
    truth_path,
    pred_dir,
    *,
    sweep: str = "confidence",
    margin_mm: float = 2.0,
    min_truth_calcifications: int = 3,
    calc_tolerance_mm: float = 0.5,
    fp_rates=(0.25, 0.5, 1.0, 2.0),
    n_bootstrap: int = 1000,
    seed: int | None = 0,
) -> Evaluation:
    """Score a prediction folder against a ``truth.json``.

    Parameters
    ----------
    truth_path : str or PathLike
        Ground truth (``docs/truth-format.md``).
    pred_dir : str or PathLike
        Folder with ``images.csv``, ``calcifications.csv`` and ``clusters.csv``.
    sweep : {"confidence", "score"}
        The cluster column whose thresholds trace the FROC curve: the detection
        ``confidence`` (the default; ``score`` where a table has no such column),
        or the suspicion ``score``, which also ranks benign-looking clusters low.
        Description agreement always takes, per truth cluster, the most confident
        matching prediction holding at least :data:`MIN_TRUE_MEMBERS` of its
        calcifications (see :func:`describe_agreement`); the score ROC AUC uses ``score``.
    margin_mm : float
        A predicted cluster centre hits a truth cluster when it lies within
        this distance (mm) of the convex hull of the truth's member centroids.
    min_truth_calcifications : int
        Truth groups with fewer calcifications are not clusters (the CAD
        convention: at least 3): they are left out of the cluster sensitivity,
        and a detection on one is not a false positive. Their number is reported.
    calc_tolerance_mm : float
        A predicted calcification matches a truth calcification within
        ``max(calc_tolerance_mm, length_mm / 2)`` (mm) of its centroid.
    fp_rates : sequence of float
        False positive clusters per image at which to report the sensitivity.
    n_bootstrap : int
        Resamples of the images for the confidence interval of the cluster
        sensitivity at 1 FP per image; 0 gives no interval.
    seed : int or None
        Seed of the bootstrap's random generator.

    Returns
    -------
    Evaluation

    Raises
    ------
    FileNotFoundError
        When `truth_path` does not exist.
    EvaluationError
        When the truth or the predictions cannot be read or joined.
    ValueError
        When an option is out of range.

    Notes
    -----
    Images are joined on ``image_id``; a truth image whose id the predictions
    do not hold is joined on its file name. Every per-image rate divides by
    the number of truth images, failed (status ``error``) and missing ones
    included; their truth counts as missed.
    """
    return evaluate_predictions(
        load_truth(truth_path),
        load_predictions(pred_dir),
        sweep=sweep,
        margin_mm=margin_mm,
        min_truth_calcifications=min_truth_calcifications,
        calc_tolerance_mm=calc_tolerance_mm,
        fp_rates=fp_rates,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )


# ---------------------------------------------------------------------------
# Oracle predictions
# ---------------------------------------------------------------------------


def predictions_from_truth(truth_path, out_dir) -> Path:
    """Write prediction tables that repeat the truth (an oracle detector).

    Every truth cluster becomes a predicted cluster at its centroid with score
    1, distribution and morphology copied; every truth calcification (members
    and isolated) becomes a predicted calcification at its centroid with score
    1, linked to its cluster by ``cluster_id`` (``-1`` for isolated specks).
    Values the truth does not give (spacing source, seconds, contrast in noise
    units, speck shape) are left empty.

    Parameters
    ----------
    truth_path : str or PathLike
        A ``truth.json``.
    out_dir : str or PathLike
        Folder for ``images.csv``, ``calcifications.csv`` and ``clusters.csv``
        (columns of :mod:`calcdetect.results`, written by
        :func:`calcdetect.results.write_csv`: atomically, floats to 6
        significant digits); created if needed.

    Returns
    -------
    Path
        `out_dir`.
    """
    truth = load_truth(truth_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    image_rows, calc_rows, cluster_rows = [], [], []
    for image in truth.images:
        spacing_mm = np.asarray(image.spacing_mm)
        calc_id = 0
        n_calcifications = 0
        for cluster in image.clusters:
            specks = cluster.calcifications
            for speck in specks:
                calc_rows.append(_oracle_calcification(image.image_id, calc_id, cluster.cluster_id, speck))
                calc_id += 1
            n_calcifications += len(specks)
            centroids = np.array([(c.row, c.col) for c in specks]).reshape(-1, 2)
            if not len(centroids):
                centroids = np.array([[cluster.row, cluster.col]])
            hull = convex_hull(centroids * spacing_mm)
            area_mm2 = _polygon_area(hull)
            cluster_rows.append(
                {
                    "image_id": image.image_id,
                    "cluster_id": cluster.cluster_id,
                    "n_calcifications": len(specks),
                    "row": cluster.row,
                    "col": cluster.col,
                    "row_min": float(centroids[:, 0].min()),
                    "col_min": float(centroids[:, 1].min()),
                    "row_max": float(centroids[:, 0].max()),
                    "col_max": float(centroids[:, 1].max()),
                    "extent_mm": cluster.extent_mm,
                    "area_mm2": area_mm2,
                    "density_per_cm2": len(specks) / max(area_mm2 / 100.0, 1.0),
                    "distribution": cluster.distribution,
                    "morphology": cluster.morphology,
                    "score": 1.0,
                }
            )
        for speck in image.isolated:
            calc_rows.append(_oracle_calcification(image.image_id, calc_id, -1, speck))
            calc_id += 1
        image_rows.append(
            {
                "image_id": image.image_id,
                "path": image.image_id,
                "status": "ok",
                "rows": image.rows,
                "columns": image.columns,
                "spacing_mm": image.spacing_mm[0],
                "column_spacing_mm": image.spacing_mm[1],
                "laterality": image.laterality,
                "view": image.view,
                "n_calcifications": calc_id,
                "n_clusters": len(image.clusters),
            }
        )
    write_csv(out_dir / "images.csv", IMAGE_COLUMNS, image_rows)
    write_csv(out_dir / "calcifications.csv", CALCIFICATION_COLUMNS, calc_rows)
    write_csv(out_dir / "clusters.csv", CLUSTER_COLUMNS, cluster_rows)
    return out_dir


def _oracle_calcification(image_id: str, calc_id: int, cluster_id: int, speck: TruthCalcification) -> dict:
    diameter_mm = speck.diameter_mm
    return {
        "image_id": image_id,
        "calc_id": calc_id,
        "cluster_id": cluster_id,
        "row": speck.row,
        "col": speck.col,
        "area_mm2": None if diameter_mm is None else math.pi * diameter_mm**2 / 4,
        "diameter_mm": diameter_mm,
        "length_mm": speck.length_mm,
        "width_mm": speck.width_mm,
        "score": 1.0,
    }


def _polygon_area(vertices: np.ndarray) -> float:
    """Shoelace area of a polygon (0 for fewer than 3 vertices)."""
    if len(vertices) < 3:
        return 0.0
    r, c = vertices[:, 0], vertices[:, 1]
    return float(abs(np.dot(r, np.roll(c, -1)) - np.dot(c, np.roll(r, -1))) / 2)


# ---------------------------------------------------------------------------
# Summary text
# ---------------------------------------------------------------------------


def _fmt(value: float, spec: str = ".3f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def format_summary(evaluation: Evaluation) -> str:
    """A short human-readable summary of an evaluation, several lines, no trailing newline.

    Parameters
    ----------
    evaluation : Evaluation

    Returns
    -------
    str
    """
    e = evaluation
    c = e.clusters
    k = e.calcifications
    lines = [
        f"Truth: {e.truth_path}",
        f"Predictions: {e.predictions_dir}",
        (
            f"Images: {e.n_images} ({e.n_normal} normal), {e.n_failed} failed, "
            f"{e.n_missing} missing from the predictions, {e.n_extra} predicted but not in the truth"
            + (f", {e.n_matched_by_basename} joined by file name" if e.n_matched_by_basename else "")
        ),
        "",
        (
            f"Clusters: {c.n_truth} in truth"
            + (f" (and {c.n_below_minimum} smaller groups, not counted)" if c.n_below_minimum else "")
            + f", {c.n_predicted} predicted, "
            f"{c.n_false_positives} false positive(s) at any score (margin {e.margin_mm:g} mm)"
        ),
        f"  sensitivity (clusters ranked by {e.sweep}) at "
        + ", ".join(f"{p.max_fp_per_image:g}: {_fmt(p.sensitivity)}" for p in c.operating_points)
        + " FP/image",
        f"  CPM (mean sensitivity at 1/8 to 8 FP/image): {_fmt(c.cpm)}",
    ]
    op = c.operating_point
    ci = ""
    if c.n_bootstrap and all(math.isfinite(v) for v in c.sensitivity_ci):
        low, high = c.sensitivity_ci
        ci = f" ({c.ci_level:.0%} CI {_fmt(low)}-{_fmt(high)}, {c.n_bootstrap} bootstrap resamples of images)"
    where = f"no {e.sweep} qualifies" if math.isinf(op.threshold) else f"{e.sweep} >= {op.threshold:.3g}"
    lines.append(
        f"  at {op.max_fp_per_image:g} FP/image ({where}, {op.fp_per_image:.2f} FP/image): "
        f"sensitivity {_fmt(op.sensitivity)}{ci}"
    )
    groups = [g for g in c.by_category + c.by_cnr if g.n_truth]
    if groups:
        lines.append(
            "    " + "; ".join(f"{g.name} {_fmt(g.sensitivity)} ({g.n_detected}/{g.n_truth})" for g in groups)
        )
    lines += [
        "",
        (
            f"Calcifications: {k.n_truth} in truth ({k.n_truth_members} in clusters), "
            f"{k.n_predicted} predicted (tolerance {e.calc_tolerance_mm:g} mm or half the length)"
        ),
        (
            f"  all predictions: sensitivity {_fmt(k.sensitivity)} "
            f"(cluster members {_fmt(k.sensitivity_members)}), {k.fp_per_image:.2f} FP/image"
        ),
        "  sensitivity at "
        + ", ".join(f"{p.max_fp_per_image:g}: {_fmt(p.sensitivity)}" for p in k.operating_points)
        + " FP/image"
        + ("; " + ", ".join(f"{r:g}: {_fmt(s)}" for r, s in k.per_cm2) + f" FP/cm^2 of breast ({k.breast_cm2:.0f} cm^2)"
           if k.per_cm2 else ""),
    ]
    d = c.description
    if d is not None and d.distribution.n and d.distribution.undescribed and d.morphology.undescribed:
        lines += ["", "Description: the predictions carry no distribution or morphology (empty columns)."]
    elif d is not None and d.distribution.n:
        lines += [
            "",
            f"Description of the {d.distribution.n} detected truth clusters (best match each, holding "
            f">= {MIN_TRUE_MEMBERS} of its calcifications; {d.n_without_members} more hit only by detections "
            f"without: left out; 'clear': CNR >= {CLEAR_CNR:g}, {d.distribution_clear.n} clusters):",
            f"  distribution accuracy {_fmt(d.distribution.accuracy)} (clear {_fmt(d.distribution_clear.accuracy)}); "
            f"morphology accuracy {_fmt(d.morphology.accuracy)} (clear {_fmt(d.morphology_clear.accuracy)})",
            f"  benign patterns described as benign: {_fmt(d.benign_recognised)}; score ROC AUC suspicious vs "
            f"benign {_fmt(d.score_auc)} (mean score "
            + ", ".join(f"{name} {_fmt(value)}" for name, value in d.mean_score.items()) + ")",
            "  distribution (rows truth, columns predicted):",
            _indent(d.distribution.format(), 4),
            "  morphology (rows truth, columns predicted):",
            _indent(d.morphology.format(), 4),
        ]
    return "\n".join(lines)


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())
