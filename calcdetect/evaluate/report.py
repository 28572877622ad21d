"""An evaluation's results, :func:`evaluate` itself, and its summary for people.

:func:`evaluate` reads a ``truth.json`` (:func:`calcdetect.truth.read_truth`) and a run
(:func:`~calcdetect.evaluate.predictions.load_predictions`), joins and matches them
(:mod:`~calcdetect.evaluate.matching`), traces the FROC curves with their intervals
(:mod:`~calcdetect.evaluate.froc`) and scores the description
(:mod:`~calcdetect.evaluate.agreement`). The results are small frozen dataclasses whose
``to_dict()`` is JSON-serialisable; :func:`format_summary` words them. Nothing here prints.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from calcdetect.errors import EvaluationError
from calcdetect.evaluate.agreement import CLEAR_CNR, DescriptionEvaluation, describe_agreement
from calcdetect.evaluate.froc import (
    BAND_FP_RATES,
    band_to_dict,
    CALCIFICATION_FP_RATES,
    CI_LEVEL,
    OPERATING_FP_PER_IMAGE,
    FrocCurve,
    OperatingPoint,
    Subgroup,
    bootstrap_sensitivity,
    breast_cm2,
    froc_curve,
    json_float,
    percentile_interval,
    sensitivity_per_cm2,
    subgroup,
)
from calcdetect.evaluate.matching import (
    CNR_EDGES,
    MARGIN_MM,
    MIN_TRUE_MEMBERS,
    N_BOOTSTRAP,
    ClusterMatch,
    check_same_set,
    check_scoring_options,
    cnr_band,
    join_images,
    match_all_calcifications,
    match_clusters,
)
from calcdetect.evaluate.predictions import Predictions, load_predictions
from calcdetect.lexicon import Category
from calcdetect.truth import Truth, read_truth


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
    band : tuple of 3 sequences
        (FP/image rates, low, high): the percentile bootstrap band (`ci_level`, images
        resampled) of the sensitivity at each of :data:`~calcdetect.evaluate.froc.BAND_FP_RATES`,
        from the same resamples as `sensitivity_ci` (NaN without resamples).
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
    band: tuple = ((), (), ())

    def to_dict(self) -> dict:
        """JSON-serialisable dict; NaN and infinite values become None."""
        return {
            "n_truth": int(self.n_truth),
            "n_below_minimum": int(self.n_below_minimum),
            "n_predicted": int(self.n_predicted),
            "n_false_positives": int(self.n_false_positives),
            "froc": self.froc.to_dict(),
            "operating_points": [p.to_dict() for p in self.operating_points],
            "cpm": json_float(self.cpm),
            "operating_point": self.operating_point.to_dict(),
            "sensitivity_ci": [json_float(v) for v in self.sensitivity_ci],
            "ci_level": float(self.ci_level),
            "n_bootstrap": int(self.n_bootstrap),
            "by_category": [g.to_dict() for g in self.by_category],
            "by_cnr": [g.to_dict() for g in self.by_cnr],
            "matches": [m.to_dict() for m in self.matches],
            "description": self.description.to_dict() if self.description is not None else None,
            "band": band_to_dict(self.band),
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
            "breast_cm2": json_float(self.breast_cm2),
            "per_cm2": [{"fp_per_cm2": r, "sensitivity": json_float(s)} for r, s in self.per_cm2],
            "n_truth": int(self.n_truth),
            "n_matched": int(self.n_matched),
            "sensitivity": json_float(self.sensitivity),
            "n_truth_members": int(self.n_truth_members),
            "n_matched_members": int(self.n_matched_members),
            "sensitivity_members": json_float(self.sensitivity_members),
            "n_predicted": int(self.n_predicted),
            "n_false_positives": int(self.n_false_positives),
            "fp_per_image": json_float(self.fp_per_image),
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
        Images whose ``images`` status is ``error``.
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


def _evaluate_clusters(truth: Truth, predicted, *, sweep: str, margin_mm: float, min_truth_calcifications: int,
                       fp_rates: tuple[float, ...], n_bootstrap: int, seed: int | None) -> ClusterEvaluation:
    hits = match_clusters(truth, predicted, sweep=sweep, margin_mm=margin_mm,
                          min_truth_calcifications=min_truth_calcifications)
    n_images = len(truth.images)
    froc = froc_curve(hits.detected_at, hits.fp_scores, n_images)
    operating_point = froc.operating_point(OPERATING_FP_PER_IMAGE)
    detected = hits.detected_at >= operating_point.threshold
    band_names = [cnr_band(low) for low in (-math.inf, *CNR_EDGES)]
    if "cnr unknown" in set(hits.cnr_band.tolist()):
        band_names.append("cnr unknown")
    samples = bootstrap_sensitivity(
        hits.detected_at, hits.truth_image, hits.fp_scores, hits.fp_image, n_images,
        fp_rates=BAND_FP_RATES, n_bootstrap=n_bootstrap, rng=np.random.default_rng(seed),
    )
    intervals = np.array([percentile_interval(column, CI_LEVEL) for column in samples.T])
    ci_low, ci_high = intervals[BAND_FP_RATES.index(OPERATING_FP_PER_IMAGE)]
    return ClusterEvaluation(
        n_truth=froc.n_truth,
        n_below_minimum=hits.n_below_minimum,
        n_predicted=hits.n_predicted,
        n_false_positives=int(hits.fp_scores.size),
        froc=froc,
        operating_points=tuple(froc.operating_point(rate) for rate in fp_rates),
        cpm=froc.cpm(),
        operating_point=operating_point,
        sensitivity_ci=(float(ci_low), float(ci_high)),
        ci_level=CI_LEVEL,
        n_bootstrap=n_bootstrap,
        by_category=tuple(subgroup(str(c), detected[hits.category == str(c)]) for c in Category),
        by_cnr=tuple(subgroup(name, detected[hits.cnr_band == name]) for name in band_names),
        matches=hits.matches,
        description=describe_agreement(hits.matches),
        band=(BAND_FP_RATES, intervals[:, 0], intervals[:, 1]),
    )


def _evaluate_calcifications(truth: Truth, predicted, *, calc_tolerance_mm: float) -> CalcificationEvaluation:
    hits = match_all_calcifications(truth, predicted, calc_tolerance_mm=calc_tolerance_mm)
    n_images = len(truth.images)
    matched = np.isfinite(hits.detected_at)
    froc = froc_curve(hits.detected_at, hits.fp_scores, n_images)
    n_truth, n_matched = int(matched.size), int(matched.sum())
    n_members, n_matched_members = int(hits.is_member.sum()), int(matched[hits.is_member].sum())
    area_cm2 = breast_cm2(predicted)
    return CalcificationEvaluation(
        n_truth=n_truth,
        n_matched=n_matched,
        sensitivity=n_matched / n_truth if n_truth else math.nan,
        n_truth_members=n_members,
        n_matched_members=n_matched_members,
        sensitivity_members=n_matched_members / n_members if n_members else math.nan,
        n_predicted=hits.n_predicted,
        n_false_positives=int(hits.fp_scores.size),
        fp_per_image=hits.fp_scores.size / n_images,
        froc=froc,
        operating_points=tuple(froc.operating_point(rate) for rate in CALCIFICATION_FP_RATES),
        breast_cm2=area_cm2,
        per_cm2=sensitivity_per_cm2(froc, area_cm2),
    )


def evaluate_predictions(
    truth: Truth,
    predictions: Predictions,
    *,
    sweep: str = "confidence",
    margin_mm: float = MARGIN_MM,
    min_truth_calcifications: int = 3,
    calc_tolerance_mm: float = 0.5,
    fp_rates=(0.25, 0.5, 1.0, 2.0),
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int | None = 0,
) -> Evaluation:
    """Score loaded predictions against a loaded truth; see :func:`evaluate`."""
    check_scoring_options(sweep=sweep, margin_mm=margin_mm, n_bootstrap=n_bootstrap)
    if isinstance(min_truth_calcifications, bool) or int(min_truth_calcifications) != min_truth_calcifications \
            or min_truth_calcifications < 1:
        raise ValueError(f"min_truth_calcifications must be an integer >= 1; got {min_truth_calcifications!r}")
    if not (math.isfinite(calc_tolerance_mm) and calc_tolerance_mm >= 0):
        raise ValueError(f"calc_tolerance_mm must be a finite number >= 0; got {calc_tolerance_mm!r}")
    fp_rates = tuple(float(r) for r in fp_rates)
    if not fp_rates or not all(math.isfinite(r) and r >= 0 for r in fp_rates):
        raise ValueError(f"fp_rates must be one or more finite numbers >= 0; got {fp_rates!r}")
    if not truth.images:
        raise EvaluationError(f"{truth.path or 'truth'}: holds no images; nothing to evaluate")

    join = join_images(truth, predictions)
    check_same_set(
        [(image.image_id, image.spacing_mm, (image.rows, image.columns) if image.rows and image.columns else None, p)
         for image, p in zip(truth.images, join.predicted, strict=True)],
        truth=truth.path or "the truth", run=predictions, remedy="give the predictions of the truth's images")
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
        n_normal=sum(image.is_normal for image in truth.images),
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
    margin_mm: float = MARGIN_MM,
    min_truth_calcifications: int = 3,
    calc_tolerance_mm: float = 0.5,
    fp_rates=(0.25, 0.5, 1.0, 2.0),
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int | None = 0,
) -> Evaluation:
    """Score a prediction folder against a ``truth.json``.

    Parameters
    ----------
    truth_path : str or PathLike
        Ground truth (``docs/truth-format.md``).
    pred_dir : str or PathLike
        A run: the folder with the ``images``, ``calcifications`` and ``clusters`` tables
        (CSV or Parquet).
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
        read_truth(truth_path),
        load_predictions(pred_dir),
        sweep=sweep,
        margin_mm=margin_mm,
        min_truth_calcifications=min_truth_calcifications,
        calc_tolerance_mm=calc_tolerance_mm,
        fp_rates=fp_rates,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )


def _fmt(value: float, spec: str = ".3f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def format_summary(evaluation: Evaluation, *, matrices: bool = True) -> str:
    """A short human-readable summary of an evaluation, several lines, no trailing newline.

    Parameters
    ----------
    evaluation : Evaluation
    matrices : bool
        Also the distribution and morphology confusion matrices, as text (a page that
        shows them as tables leaves them out).

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
    if d is not None and d.morphology.n and d.morphology.undescribed and (not d.distribution.n
                                                                          or d.distribution.undescribed):
        lines += ["", "Description: the predictions carry no distribution or morphology (empty columns)."]
    elif d is not None and d.morphology.n:
        lines += [
            "",
            f"Description of the {d.morphology.n} detected truth clusters (best match each, holding "
            f">= {MIN_TRUE_MEMBERS} of its calcifications; {d.n_without_members} more hit only by detections "
            f"without: left out; distribution over the {d.distribution.n} whose truth gives one; 'clear': "
            f"CNR >= {CLEAR_CNR:g}, {d.morphology_clear.n} clusters):",
            f"  distribution accuracy {_fmt(d.distribution.accuracy)} (clear {_fmt(d.distribution_clear.accuracy)}); "
            f"morphology accuracy {_fmt(d.morphology.accuracy)} (clear {_fmt(d.morphology_clear.accuracy)})",
            f"  benign patterns described as benign: {_fmt(d.benign_recognised)}; score ROC AUC suspicious vs "
            f"benign {_fmt(d.score_auc)} (mean score "
            + ", ".join(f"{name} {_fmt(value)}" for name, value in d.mean_score.items()) + ")",
        ]
        if matrices:
            lines += [
                "  distribution (rows truth, columns predicted):",
                textwrap.indent(d.distribution.format(), "    "),
                "  morphology (rows truth, columns predicted):",
                textwrap.indent(d.morphology.format(), "    "),
            ]
    return "\n".join(lines)
