"""Matching a run to the truth: images to images, clusters to truth clusters, calcifications
to truth calcifications.

Cluster level
    The truth region of a cluster is the convex hull of its member centroids, in mm
    (:func:`calcdetect.geometry.convex_hull`). A predicted cluster is a *hit* for a truth
    cluster when its centre lies within `margin_mm` of the hull. A predicted cluster that
    hits no truth cluster is a false positive; benign truth clusters are real calcification
    groups, so a detection on one is a hit, not a false positive.
Calcification level
    A predicted calcification may match a truth calcification within
    ``max(calc_tolerance_mm, length_mm / 2)``; matching is one-to-one and greedy:
    predictions in order of decreasing score each take the nearest free truth
    calcification (pairs of equal score: the closest pair first). Taking predictions in
    score order makes the matching at any threshold the matching of the predictions above
    it, so the FROC is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from scipy.spatial import cKDTree

from calcdetect.errors import EvaluationError
from calcdetect.evaluate.froc import TOLERANCE, json_float
from calcdetect.evaluate.predictions import PredictedImage, Predictions, empty_calcifications, empty_clusters
from calcdetect.geometry import convex_hull, distance_to_hull
from calcdetect.truth import Truth, TruthCluster

#: A predicted cluster member within this distance (mm) of a truth calcification is
#: one of its members; a match holding this many of them is preferred for description.
MEMBER_TOLERANCE_MM = 1.0
MIN_TRUE_MEMBERS = 2

#: Cluster columns that can trace the FROC curve (see :func:`calcdetect.evaluate.evaluate`).
SWEEPS = ("confidence", "score")
#: Default margin (mm): a predicted cluster whose centre lies within it of a truth cluster's
#: (or lesion's) region finds it.
MARGIN_MM = 2.0
#: Default number of bootstrap resamples of the images (or patients) behind an interval.
N_BOOTSTRAP = 1000

def check_scoring_options(*, sweep: str, margin_mm: float, n_bootstrap: int) -> None:
    """Refuse a ranking, margin or number of bootstrap resamples out of range (the options
    every scoring takes: :func:`calcdetect.evaluate.evaluate` and the data sets').

    Raises
    ------
    ValueError
        Naming the option, its value and what is allowed.
    """
    if sweep not in SWEEPS:
        raise ValueError(f"sweep must be one of {SWEEPS}; got {sweep!r}")
    if not (math.isfinite(margin_mm) and margin_mm >= 0):
        raise ValueError(f"margin_mm must be a finite number >= 0; got {margin_mm!r}")
    if isinstance(n_bootstrap, bool) or int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0 (0: no confidence interval); got {n_bootstrap!r}")


#: Edges of the cluster CNR bands: ``cnr < 5``, ``5 <= cnr < 10``, ``cnr >= 10``.
CNR_EDGES = (5.0, 10.0)


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
            "score": json_float(self.score),
            "confidence": json_float(self.confidence),
            "distance_mm": json_float(self.distance_mm),
            "truth_category": None if self.truth_category is None else str(self.truth_category),
            "truth_distribution": None if self.truth_distribution is None else str(self.truth_distribution),
            "truth_morphology": None if self.truth_morphology is None else str(self.truth_morphology),
            "predicted_distribution": self.predicted_distribution,
            "predicted_morphology": self.predicted_morphology,
            "truth_cnr": json_float(self.truth_cnr),
            "n_true_members": int(self.n_true_members),
            "n_members": int(self.n_members),
        }


def cnr_band(cnr: float | None) -> str:
    """The name of the CNR band (:data:`CNR_EDGES`) a truth cluster's `cnr` falls in; ``"cnr unknown"`` for None."""
    low, high = CNR_EDGES
    if cnr is None:
        return "cnr unknown"
    if cnr < low:
        return f"cnr < {low:g}"
    if cnr < high:
        return f"{low:g} <= cnr < {high:g}"
    return f"cnr >= {high:g}"


def _basename(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


@dataclass(frozen=True)
class Join:
    """Each truth image's predictions (:func:`join_images`).

    Attributes
    ----------
    predicted : tuple of (PredictedImage or None)
        Per truth image, in the truth's order; None when the run lacks it.
    n_missing, n_extra : int
        Truth images the run lacks; images of the run not in the truth.
    n_by_basename : int
        Images joined by file name because their ids differed.
    """

    predicted: tuple[PredictedImage | None, ...]
    n_missing: int
    n_extra: int
    n_by_basename: int


def join_images(truth: Truth, predictions: Predictions) -> Join:
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

    return Join(
        predicted=tuple(paired),
        n_missing=sum(p is None for p in paired),
        n_extra=sum(image_id not in used for image_id in predictions.images),
        n_by_basename=n_by_basename,
    )


def check_same_set(pairs: Iterable, *, truth: str, run: Predictions, remedy: str) -> None:
    """Refuse a truth and a run of different sets: an empty run, no image in common, images
    detected at another pixel spacing or of other sizes (where both record them).

    Parameters
    ----------
    pairs : iterable of (image id, (row_mm, col_mm), (rows, cols) or None, PredictedImage or None)
        Each truth image with its predictions (None where the run lacks it).
    truth : str
        What the truth is called in the messages (its file, or "the data set").
    run : Predictions
    remedy : str
        What to do when no image is in common.

    Raises
    ------
    EvaluationError
        Naming the first image at fault and both values.
    """
    pairs = list(pairs)
    if not run.images:
        raise EvaluationError(f"{run.folder}: the run holds no image (an empty images table)")
    if pairs and all(p is None for *_, p in pairs):
        raise EvaluationError(
            f"{truth} and {run.folder} have no image in common ({len(pairs)} in the truth, e.g. {pairs[0][0]!r}; "
            f"{len(run.images)} predicted, e.g. {next(iter(run.images))!r}): {remedy}")
    check_spacing_agrees([(image_id, spacing, p) for image_id, spacing, _, p in pairs], truth, str(run.folder))
    other = [(image_id, shape, p) for image_id, _, shape, p in pairs
             if p is not None and p.shape is not None and shape is not None and tuple(p.shape) != tuple(shape)]
    if other:
        image_id, shape, p = other[0]
        raise EvaluationError(
            f"{len(other)} image(s) differ in size between {truth} and {run.folder}, e.g. {image_id!r}: "
            f"{shape[0]} x {shape[1]} in the truth, {p.shape[0]} x {p.shape[1]} in the run: the run is of "
            f"another set or scale")


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
            f"{used[0]:g} x {used[1]:g} mm in {run}, {spacing[0]:g} x {spacing[1]:g} mm in the truth: the run is of "
            f"another set, or, where the files carry no pixel spacing (the run's images table says which spacings "
            f"were assumed), run detect again with --spacing-mm {spacing[0]:g}")


def members_mm(cluster: TruthCluster, spacing_mm: np.ndarray) -> np.ndarray:
    """(K, 2) centroids (row, col) of the truth cluster's calcifications in mm (K may be 0)."""
    return np.array([(c.row, c.col) for c in cluster.calcifications], float).reshape(-1, 2) * spacing_mm


def hull_mm(cluster: TruthCluster, spacing_mm: np.ndarray) -> np.ndarray:
    """(H, 2) vertices (mm) of the truth cluster's region: the convex hull of
    :meth:`~calcdetect.truth.TruthCluster.member_centroids`."""
    return convex_hull(cluster.member_centroids() * spacing_mm)


@dataclass(frozen=True, eq=False)
class ClusterHits:
    """Every truth cluster's best hit and every false positive, over a whole truth (:func:`match_clusters`).

    Attributes
    ----------
    detected_at : (N,) ndarray of float64
        Per target truth cluster, the highest ranking (confidence or score) among the
        predictions that hit it; ``-inf`` when none does.
    truth_image : (N,) ndarray of int64
        Its image (index into the truth's images).
    category, cnr_band : (N,) ndarray of object
        Its category and CNR band (:func:`cnr_band`).
    fp_scores : (F,) ndarray of float64
        The ranking of each prediction that hits no truth cluster ...
    fp_image : (F,) ndarray of int64
        ... and its image.
    matches : tuple of ClusterMatch
        Every hit pair, at any ranking.
    n_predicted, n_below_minimum : int
        Predicted clusters on processed images; truth groups below the least cluster.
    """

    detected_at: np.ndarray
    truth_image: np.ndarray
    category: np.ndarray
    cnr_band: np.ndarray
    fp_scores: np.ndarray
    fp_image: np.ndarray
    matches: tuple[ClusterMatch, ...]
    n_predicted: int
    n_below_minimum: int


def match_clusters(truth: Truth, predicted, *, sweep: str, margin_mm: float,
                   min_truth_calcifications: int) -> ClusterHits:
    """Match each image's predicted clusters to its truth clusters (module docstring).

    Parameters
    ----------
    truth : Truth
    predicted : sequence of (PredictedImage or None)
        Per truth image (:attr:`Join.predicted`); failed and missing images predict nothing.
    sweep : {"confidence", "score"}
        The ranking of the predictions.
    margin_mm : float
    min_truth_calcifications : int
        Truth groups with fewer members are no target: neither counted nor a false positive's cause.

    Returns
    -------
    ClusterHits
    """
    detected_at, truth_image, fp_scores, fp_image = [], [], [], []
    categories: list[str] = []
    bands: list[str] = []
    matches = []
    n_predicted = n_below_minimum = 0
    for i, (image, prediction) in enumerate(zip(truth.images, predicted, strict=True)):
        spacing_mm = np.asarray(image.spacing_mm)
        found = prediction.clusters if prediction is not None and prediction.ok else empty_clusters()
        n_predicted += len(found)
        centres_mm = found.centre * spacing_mm
        distance = np.empty((len(found), len(image.clusters)))
        for j, cluster in enumerate(image.clusters):
            distance[:, j] = distance_to_hull(centres_mm, hull_mm(cluster, spacing_mm))
        hit = distance <= margin_mm + TOLERANCE  # NaN centres hit nothing
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
        bands.extend(cnr_band(c.cnr) for c, t in zip(image.clusters, target) if t)
        calcs = prediction.calcifications if prediction is not None and prediction.ok else empty_calcifications()
        calcs_mm = calcs.centroid * spacing_mm
        trees = {j: cKDTree(members_mm(image.clusters[j], spacing_mm)) for j in np.unique(np.nonzero(hit)[1])}
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

    return ClusterHits(
        detected_at=np.asarray(detected_at, dtype=float),
        truth_image=np.asarray(truth_image, dtype=np.int64),
        category=np.asarray(categories, dtype=object),
        cnr_band=np.asarray(bands, dtype=object),
        fp_scores=np.asarray(fp_scores, dtype=float),
        fp_image=np.asarray(fp_image, dtype=np.int64),
        matches=tuple(matches),
        n_predicted=n_predicted,
        n_below_minimum=n_below_minimum,
    )


def match_calcifications(
    truth_mm: np.ndarray, radius_mm: np.ndarray, found_mm: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one greedy matching of predicted calcifications to truth calcifications (module docstring).

    Parameters
    ----------
    truth_mm : (T, 2) ndarray
        Truth centroids, mm.
    radius_mm : (T,) ndarray
        How far from each a prediction may lie, mm.
    found_mm : (P, 2) ndarray
        Predicted centroids, mm (NaN rows match nothing).
    score : (P,) ndarray

    Returns
    -------
    truth_match : (T,) ndarray of int64
        The prediction matched to each truth calcification, -1 for none.
    found_match : (P,) ndarray of int64
        The truth calcification matched to each prediction, -1 for none.
    """
    truth_match = np.full(len(truth_mm), -1, dtype=np.int64)
    found_match = np.full(len(found_mm), -1, dtype=np.int64)
    usable = np.flatnonzero(np.isfinite(found_mm).all(axis=1))
    if len(truth_mm) == 0 or usable.size == 0:
        return truth_match, found_match
    tree = cKDTree(found_mm[usable])
    neighbours = tree.query_ball_point(truth_mm, r=radius_mm + TOLERANCE)
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


def calcification_scores(truth_mm: np.ndarray, radius_mm: np.ndarray, found,
                         spacing_mm) -> tuple[np.ndarray, np.ndarray]:
    """One image's calcifications matched (:func:`match_calcifications`) and scored.

    Parameters
    ----------
    truth_mm : (T, 2) ndarray
        Truth centroids, mm.
    radius_mm : (T,) ndarray
        How far from each a prediction may lie, mm.
    found : PredictedCalcifications
    spacing_mm : (2,) array_like
        (row_mm, col_mm) of the image.

    Returns
    -------
    matched : (T,) ndarray of float64
        Per truth calcification, the score of the prediction matched to it; ``-inf`` when none.
    unmatched : (F,) ndarray of float64
        The scores of the predictions matched to none (the false positives).
    """
    truth_match, found_match = match_calcifications(truth_mm, radius_mm, found.centroid * np.asarray(spacing_mm),
                                                    found.score)
    matched = np.full(len(truth_mm), -np.inf)
    matched[truth_match >= 0] = found.score[truth_match[truth_match >= 0]]
    return matched, found.score[found_match < 0]


@dataclass(frozen=True, eq=False)
class CalcificationHits:
    """Every truth calcification's match and every false positive (:func:`match_all_calcifications`).

    Attributes
    ----------
    detected_at : (N,) ndarray of float64
        Per truth calcification (cluster members, then isolated, image by image), the score of
        the prediction matched to it; ``-inf`` when none.
    is_member : (N,) ndarray of bool
        Whether it belongs to a cluster.
    fp_scores : (F,) ndarray of float64
        Scores of the predictions matched to none.
    n_predicted : int
        Predicted calcifications on processed images.
    """

    detected_at: np.ndarray
    is_member: np.ndarray
    fp_scores: np.ndarray
    n_predicted: int


def match_all_calcifications(truth: Truth, predicted, *, calc_tolerance_mm: float) -> CalcificationHits:
    """Match each image's predicted calcifications to its truth calcifications (:func:`match_calcifications`).

    Parameters
    ----------
    truth : Truth
    predicted : sequence of (PredictedImage or None)
        Per truth image; failed and missing images predict nothing.
    calc_tolerance_mm : float
        A prediction matches within ``max(calc_tolerance_mm, length_mm / 2)`` of a truth centroid.

    Returns
    -------
    CalcificationHits
    """
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
            prediction.calcifications if prediction is not None and prediction.ok else empty_calcifications()
        )
        n_predicted += len(found)
        matched_score, unmatched = calcification_scores(truth_mm, radius_mm, found, spacing_mm)
        detected_at.extend(matched_score.tolist())
        is_member.extend(member)
        fp_scores.extend(unmatched.tolist())

    return CalcificationHits(np.asarray(detected_at, float), np.asarray(is_member, bool),
                             np.asarray(fp_scores, float), n_predicted)
