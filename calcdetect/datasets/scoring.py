"""Lesion-level FROC of a run on a public data set, with intervals resampled by patient.

A truth lesion (:class:`calcdetect.truth.Lesion`, made by the adapters of
:mod:`calcdetect.datasets.lesions`) is found when a reported cluster's
centre lies within `margin_mm` of its region; a cluster within no lesion's region is a
false positive, and normal images count toward false positives per image. The FROC
(Bunch et al. 1978; Chakraborty 1989) sweeps the clusters' ``score`` (or ``confidence``);
reported are the sensitivity at 0.1, 0.25, 0.5, 1 and 2 false positives per image, the
CPM (mean sensitivity at 1/8 to 8: :meth:`calcdetect.evaluate.FrocCurve.cpm`), the normalised partial area
under the FROC up to 2 false positives per image, and a 95 % interval of the sensitivity
at 1 false positive per image from :func:`scipy.stats.bootstrap`'s resamples of patients,
not images (a patient's images are not independent), as percentiles of the resamples
that hold a lesion.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

from calcdetect.truth import LesionImage
from calcdetect.errors import EvaluationError
from calcdetect.evaluate.agreement import NONE_LABEL, Confusion, auc
from calcdetect.evaluate.froc import (
    BAND_FP_RATES,
    band_to_dict,
    CALCIFICATION_FP_RATES,
    CI_LEVEL,
    OPERATING_FP_PER_IMAGE,
    TOLERANCE,
    FrocCurve,
    OperatingPoint,
    WeightedSensitivity,
    breast_cm2,
    froc_curve,
    json_float,
    partial_area,
    percentile_interval,
    sensitivity_per_cm2,
    subgroup,
)
from calcdetect.evaluate.matching import (MARGIN_MM, N_BOOTSTRAP, calcification_scores, check_same_set,
                                          check_scoring_options)
from calcdetect.evaluate.predictions import Predictions

#: False-positive rates (per image) the sensitivity is reported at.
FP_RATES = (0.1, 0.25, 0.5, 1.0, 2.0)
#: Upper end (false positives per image) of the partial area under the FROC.
PAUC_MAX_FP = 2.0


@dataclass(frozen=True, eq=False)
class LesionEvaluation:
    """A run scored on a data set's lesions.

    Attributes
    ----------
    n_images, n_normal, n_lesions, n_patients : int
        Images scored (those without lesions are normal), their lesions and patients.
    missing_ids : tuple of str
        Images of the data set the run has no row for: their lesions count as missed.
    n_failed : int
        Images the run failed on (status error): likewise.
    excluded : tuple of (str, str)
        (image id, reason): images left out because part of their truth could not be used.
    froc : FrocCurve
    operating_points : tuple of OperatingPoint
        At :data:`FP_RATES`.
    cpm, pauc : float
        See the module docstring.
    interval : tuple of 2 floats
        95 % bootstrap interval (patients resampled) of the sensitivity at 1 FP/image;
        NaN without resamples (or with fewer than 2 patients). The band holds the
        intervals at every rate of :data:`FP_RATES` too.
    n_bootstrap : int
    breakdowns : dict
        Attribute name -> subgroups (one per value) at the 1 FP/image threshold.
    margin_mm : float
    sweep : str
    agreement : dict
        Where the lesions carry them (CBIS-DDSM, INbreast's assessment, a truth.json's
        lesions): ``morphology`` and ``distribution`` (the data set's primary term against
        the cluster describing the lesion: :func:`describing_clusters`)
        and ``assessment`` (its BI-RADS assessment against that cluster's
        ``birads_category``, 4A-4C counted as 4), each a :class:`Confusion` over the
        lesions found.
    band : tuple of 3 sequences
        (FP/image rates, low, high): the 95 % bootstrap band of the sensitivity at
        :data:`BAND_FP_RATES` (NaN without resamples).
    malignancy_auc : float
        ROC AUC of the highest score among the clusters finding a lesion (0 for a missed one) separating
        biopsy-proven MALIGNANT from BENIGN lesions (BENIGN_WITHOUT_CALLBACK left out);
        NaN where the lesions carry no pathology.
    """

    n_images: int
    n_normal: int
    n_lesions: int
    n_patients: int
    missing_ids: tuple[str, ...]
    n_failed: int
    excluded: tuple[tuple[str, str], ...]
    froc: FrocCurve
    operating_points: tuple[OperatingPoint, ...]
    cpm: float
    pauc: float
    interval: tuple[float, float]
    n_bootstrap: int
    breakdowns: dict
    margin_mm: float
    sweep: str
    agreement: dict = field(default_factory=dict)
    malignancy_auc: float = math.nan
    band: tuple = ((), (), ())

    def to_dict(self) -> dict:
        """JSON-serialisable summary (NaN as None)."""
        return {
            "n_images": self.n_images, "n_normal": self.n_normal, "n_lesions": self.n_lesions,
            "n_patients": self.n_patients, "n_missing": len(self.missing_ids), "missing_ids": list(self.missing_ids),
            "n_failed": self.n_failed, "excluded": [list(e) for e in self.excluded],
            "margin_mm": self.margin_mm, "sweep": self.sweep,
            "operating_points": [{**p.to_dict(), "ci": [json_float(v) for v in self.interval_at(p.max_fp_per_image)]}
                                 for p in self.operating_points],
            "cpm": json_float(self.cpm), "pauc": json_float(self.pauc),
            "sensitivity_ci_at_1_fp": [json_float(v) for v in self.interval],
            "n_bootstrap": self.n_bootstrap, "bootstrap_unit": "patient",
            "breakdowns": {name: [g.to_dict() for g in groups] for name, groups in self.breakdowns.items()},
            "agreement": {name: confusion.to_dict() for name, confusion in self.agreement.items()},
            "malignancy_auc": json_float(self.malignancy_auc),
            "band": band_to_dict(self.band),
            "froc": self.froc.to_dict(),
        }

    def interval_at(self, rate: float) -> tuple[float, float]:
        """The band's 95 % interval at `rate` FP/image (one of :data:`BAND_FP_RATES`)."""
        rates = list(self.band[0])
        if rate not in rates:
            return math.nan, math.nan
        k = rates.index(rate)
        return float(self.band[1][k]), float(self.band[2][k])

    def summary(self) -> str:
        """A few lines for a person."""
        at = ", ".join(f"{p.max_fp_per_image:g}: {p.sensitivity:.3f}" for p in self.operating_points)
        lo, hi = self.interval
        lines = [
            f"Images: {self.n_images} ({self.n_normal} without lesions) of {self.n_patients} patients; "
            f"{self.n_lesions} lesions; {len(self.missing_ids)} missing from the run, {self.n_failed} failed "
            f"(their lesions count as missed); {len(self.excluded)} left out (part of their truth unusable)",
            f"Lesion sensitivity (clusters ranked by {self.sweep}, centre within {self.margin_mm:g} mm of the "
            f"region) at {at} FP/image",
            f"  CPM {self.cpm:.3f}; partial area under the FROC to {PAUC_MAX_FP:g} FP/image {self.pauc:.3f}; "
            f"at 1 FP/image 95% CI {lo:.3f}-{hi:.3f} ({self.n_bootstrap} bootstrap resamples of patients)",
        ]
        for name, groups in self.breakdowns.items():
            lines.append(f"  by {name}: " + "; ".join(f"{g.name or '(none)'} {g.sensitivity:.3f} "
                                                       f"({g.n_detected}/{g.n_truth})" for g in groups))
        for name, confusion in self.agreement.items():
            lines.append(f"  {name} agreement over the {confusion.n} lesions found: {confusion.accuracy:.3f}")
            lines.append(textwrap.indent(confusion.format(), "    "))
        if math.isfinite(self.malignancy_auc):
            lines.append(f"  malignancy ROC AUC of the score (MALIGNANT against BENIGN): {self.malignancy_auc:.3f}")
        return "\n".join(lines)


def score_lesions(images: Sequence[LesionImage], predictions: Predictions, *, margin_mm: float = MARGIN_MM,
                  sweep: str = "score", n_bootstrap: int = N_BOOTSTRAP, seed: int | None = 0,
                  breakdowns: Sequence[str] = ()) -> LesionEvaluation:
    """Score a run's clusters against a data set's lesions.

    Parameters
    ----------
    images : sequence of LesionImage
        From :func:`~calcdetect.datasets.lesions.cbis_ddsm_lesions` and its siblings.
    predictions : Predictions
        A run's tables (:func:`calcdetect.evaluate.load_predictions`).
    margin_mm : float
        How far outside a lesion's region a cluster centre may lie and still find it.
    sweep : {"score", "confidence"}
        The column the FROC sweeps.
    n_bootstrap : int
        Resamples of patients for the interval (0: none).
    seed : int or None
    breakdowns : sequence of str
        Lesion attributes to break the sensitivity at 1 FP/image down by.

    Raises
    ------
    EvaluationError
        When the data set and the run have no image in common, or the data set
        holds no lesion.
    ValueError
        On an option outside its range.
    """
    check_scoring_options(sweep=sweep, margin_mm=margin_mm, n_bootstrap=n_bootstrap)
    excluded = tuple((image.image_id, image.excluded) for image in images if image.excluded)
    images = [image for image in images if not image.excluded]
    if not any(image.lesions for image in images):
        raise EvaluationError("the data set holds no lesion to find (nothing matched, or every one was skipped)")
    joined = _join(images, predictions)
    check_same_set([(i.image_id, i.spacing, i.shape, p) for i, p in zip(images, joined)], truth="the data set",
                   run=predictions, remedy="run calcdetect detect on the data set's folder")
    patients = {p: k for k, p in enumerate(dict.fromkeys(image.patient_id for image in images))}
    lesion_scores, lesion_patient, lesion_attributes = [], [], []
    fp_scores, fp_patient = [], []
    image_patient = np.array([patients[image.patient_id] for image in images])
    n_failed = 0
    # Per lesion: (morphology, distribution, category) of the cluster describing it, and the
    # highest score of those finding it; None when none does.
    described = []
    for image, predicted in zip(images, joined, strict=True):
        found = np.full(len(image.lesions), -math.inf)
        finders: list = [None] * len(image.lesions)
        if predicted is not None and predicted.ok:
            clusters = predicted.clusters
            scores = clusters.score if sweep == "score" else clusters.confidence
            hit_any = np.zeros(len(clusters), bool)
            for region in image.ignored:  # on an annotated finding that is no lesion: not a false positive
                hit_any |= (region.distance_mm(clusters.centre, image.spacing, reach_mm=margin_mm)
                            <= margin_mm + TOLERANCE)
            hits = np.zeros((len(image.lesions), len(clusters)), bool)
            for k, lesion in enumerate(image.lesions):
                hits[k] = lesion.region.distance_mm(clusters.centre, image.spacing, reach_mm=margin_mm) \
                    <= margin_mm + TOLERANCE
            hit_any |= hits.any(axis=0)
            describing = describing_clusters(hits, scores, clusters.centre, image)
            for k, (hit, best) in enumerate(zip(hits, describing)):
                if hit.any():
                    found[k] = float(scores[hit].max())
                    finders[k] = (clusters.morphology[best], clusters.distribution[best],
                                  clusters.birads_category[best], float(clusters.score[hit].max()))
            fp_scores += list(scores[~hit_any])
            fp_patient += [patients[image.patient_id]] * int(np.count_nonzero(~hit_any))
        n_failed += predicted is not None and not predicted.ok
        described += finders
        lesion_scores += list(found)
        lesion_patient += [patients[image.patient_id]] * len(image.lesions)
        lesion_attributes += [lesion.attributes for lesion in image.lesions]
    lesion_score, fp_score = np.asarray(lesion_scores), np.asarray(fp_scores)
    froc = froc_curve(lesion_score, fp_score, len(images))
    points = tuple(froc.operating_point(rate) for rate in FP_RATES)
    cpm = froc.cpm()
    interval = (math.nan, math.nan)
    band = (BAND_FP_RATES, np.full(len(BAND_FP_RATES), math.nan), np.full(len(BAND_FP_RATES), math.nan))
    if n_bootstrap and len(patients) >= 2:
        at_rates = WeightedSensitivity(BAND_FP_RATES, lesion_score, np.asarray(lesion_patient, int), fp_score,
                                       np.asarray(fp_patient, int), image_patient)

        def statistic(drawn):
            return at_rates(np.bincount(drawn.astype(int), minlength=len(patients)))

        with warnings.catch_warnings():
            # Resamples without a lesion give NaN; scipy then warns and the interval is taken
            # below over the others, as for the synthetic sets (calcdetect.evaluate).
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            result = stats.bootstrap((np.arange(len(patients)),), statistic, n_resamples=int(n_bootstrap),
                                     vectorized=False, method="percentile", confidence_level=CI_LEVEL,
                                     random_state=np.random.default_rng(seed))
        samples = np.asarray(result.bootstrap_distribution, float)  # (rates, resamples)
        intervals = np.array([percentile_interval(row, CI_LEVEL) for row in samples])
        band = (BAND_FP_RATES, intervals[:, 0], intervals[:, 1])
        ci_low, ci_high = intervals[BAND_FP_RATES.index(OPERATING_FP_PER_IMAGE)]
        interval = (float(ci_low), float(ci_high))
    threshold = froc.operating_point(OPERATING_FP_PER_IMAGE).threshold
    detected = lesion_score >= threshold
    groups = {}
    for name in breakdowns:
        values = np.array([attributes.get(name, "") for attributes in lesion_attributes], dtype=object)
        groups[name] = tuple(subgroup(value, detected[values == value]) for value in sorted(set(values), key=_natural))
    agreement = {}
    for name, column in (("morphology", 0), ("distribution", 1), ("assessment", 2)):
        pairs = [(a[name], _assessment_scale(f[column]) if name == "assessment" else (f[column] or NONE_LABEL))
                 for a, f in zip(lesion_attributes, described) if f is not None and a.get(name)]
        if pairs:
            agreement[name] = Confusion.of(pairs)
    pathology = [(a.get("pathology"), f[3] if f is not None else 0.0) for a, f in zip(lesion_attributes, described)]
    malignancy_auc = auc([s for p, s in pathology if p == "MALIGNANT"], [s for p, s in pathology if p == "BENIGN"])
    return LesionEvaluation(
        n_images=len(images), n_normal=sum(not image.lesions for image in images), n_lesions=len(lesion_score),
        n_patients=len(patients), missing_ids=tuple(i.image_id for i, p in zip(images, joined) if p is None),
        n_failed=int(n_failed), excluded=excluded, froc=froc, operating_points=points, cpm=cpm,
        pauc=partial_area(froc, PAUC_MAX_FP), interval=interval, n_bootstrap=int(n_bootstrap), breakdowns=groups,
        margin_mm=float(margin_mm), sweep=sweep, agreement=agreement, malignancy_auc=malignancy_auc, band=band,
    )


def describing_clusters(hits: np.ndarray, ranking: np.ndarray, centres_rc: np.ndarray,
                        image: LesionImage) -> np.ndarray:
    """(L,) the cluster that describes each lesion, -1 for a lesion no cluster finds.

    A lesion found by clusters that find no other lesion is described by the best-ranked
    of them. Lesions found only by clusters that also find another lesion (one drawn round
    or across another: a diffuse scatter's hull, overlapping outlines or masks) are paired
    one to one with those shared clusters, with the least total distance (mm) from a
    cluster's centre to its lesion's centroid (:func:`scipy.optimize.linear_sum_assignment`),
    so that each is described by its own; a lesion left unpaired, or without a place (the
    whole image), by its best-ranked finder.

    Parameters
    ----------
    hits : (L, C) ndarray of bool
        Which clusters find which lesions.
    ranking : (C,) ndarray
        The clusters' ranking (score or confidence).
    centres_rc : (C, 2) ndarray
        Cluster centres (row, col), px.
    image : LesionImage
    """
    best = np.full(hits.shape[0], -1)
    if not hits.any():
        return best
    shared = hits.sum(axis=0) > 1
    for k, hit in enumerate(hits):
        candidates = hit & ~shared if (hit & ~shared).any() else hit
        if candidates.any():
            best[k] = int(np.flatnonzero(candidates)[np.argmax(ranking[candidates])])
    contested = [k for k, hit in enumerate(hits) if hit.any() and not (hit & ~shared).any()]
    centroids = {k: image.lesions[k].region.centroid_rc() for k in contested}
    contested = [k for k in contested if centroids[k] is not None]
    if contested:
        spacing = np.asarray(image.spacing, float)
        columns = np.flatnonzero(shared)
        apart = 1e12  # a pair that is no hit
        cost = np.full((len(contested), len(columns)), apart)
        for row, k in enumerate(contested):
            near = np.hypot(*((centres_rc[columns] - centroids[k]) * spacing).T)
            cost[row] = np.where(hits[k, columns], near, apart)
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows, cols):
            if cost[row, col] < apart:
                best[contested[row]] = int(columns[col])
    return best


def _assessment_scale(category: str | None) -> str:
    """A birads_category on the data sets' scale (0-5, without 4's subdivisions)."""
    return NONE_LABEL if not category else category[0]


@dataclass(frozen=True, eq=False)
class CalcificationScore:
    """A run's calcifications scored against a data set's marked ones.

    Attributes
    ----------
    n_truth, n_matched, n_predicted, n_false_positives : int
    tolerance_mm : float
        A truth calcification is matched by a reported one within this distance (one to one,
        surest first).
    froc : FrocCurve
        Against false positives per image.
    operating_points : tuple of OperatingPoint
        At :data:`calcdetect.evaluate.CALCIFICATION_FP_RATES` per image.
    breast_cm2 : float or None
        Breast area scored (the run's ``breast_area_mm2``, summed); None when an image has none.
    per_cm2 : tuple of (float, float)
        (false positives per cm^2, sensitivity) at :data:`calcdetect.evaluate.CALCIFICATION_FP_PER_CM2`;
        empty without the breast area.
    """

    n_truth: int
    n_matched: int
    n_predicted: int
    n_false_positives: int
    tolerance_mm: float
    froc: FrocCurve
    operating_points: tuple[OperatingPoint, ...]
    breast_cm2: float | None
    per_cm2: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict:
        return {"n_truth": self.n_truth, "n_matched": self.n_matched, "n_predicted": self.n_predicted,
                "n_false_positives": self.n_false_positives, "tolerance_mm": self.tolerance_mm,
                "operating_points": [p.to_dict() for p in self.operating_points],
                "breast_cm2": json_float(self.breast_cm2),
                "per_cm2": [{"fp_per_cm2": r, "sensitivity": json_float(s)} for r, s in self.per_cm2]}

    def summary(self) -> str:
        per_image = ", ".join(f"{p.max_fp_per_image:g}: {p.sensitivity:.3f}" for p in self.operating_points)
        per_cm2 = ", ".join(f"{r:g}: {s:.3f}" for r, s in self.per_cm2) or "no breast area in the run"
        return (f"Calcifications: {self.n_matched} of {self.n_truth} marked found within {self.tolerance_mm:g} mm; "
                f"sensitivity at {per_image} FP/image; at {per_cm2} FP/cm^2 of breast")


def score_calcifications(images: Sequence[LesionImage], predictions: Predictions, *,
                         tolerance_mm: float = 0.5) -> CalcificationScore | None:
    """Score a run's calcifications against the data set's individually marked ones (INbreast).

    Images without marked calcifications (``calcifications`` None), and excluded ones, are
    left out; None when no image has marks.
    """
    if not (math.isfinite(tolerance_mm) and tolerance_mm > 0):
        raise ValueError(f"tolerance_mm must be a finite number > 0; got {tolerance_mm!r}")
    images = [i for i in images if i.calcifications is not None and not i.excluded]
    if not images:
        return None
    detected_at, fp_scores, n_predicted = [], [], 0
    joined = _join(images, predictions)
    for image, predicted in zip(images, joined, strict=True):
        scale = np.asarray(image.spacing, float)
        truth_mm = np.asarray(image.calcifications, float).reshape(-1, 2) * scale
        found = predicted.calcifications if predicted is not None and predicted.ok else None
        if found is None or len(found) == 0:
            detected_at += [-math.inf] * len(truth_mm)
            continue
        n_predicted += len(found)
        matched, unmatched = calcification_scores(truth_mm, np.full(len(truth_mm), tolerance_mm), found, scale)
        detected_at += matched.tolist()
        fp_scores += unmatched.tolist()
    froc = froc_curve(np.asarray(detected_at), np.asarray(fp_scores), len(images))
    area_cm2 = breast_cm2(joined)
    return CalcificationScore(
        n_truth=len(detected_at), n_matched=int(np.isfinite(detected_at).sum()), n_predicted=n_predicted,
        n_false_positives=len(fp_scores), tolerance_mm=float(tolerance_mm), froc=froc,
        operating_points=tuple(froc.operating_point(rate) for rate in CALCIFICATION_FP_RATES),
        breast_cm2=area_cm2, per_cm2=sensitivity_per_cm2(froc, area_cm2))


def _join(images: Sequence[LesionImage], predictions: Predictions) -> list:
    """Each image's predictions: by image id (its path relative to the data set's root), else
    by the path the run recorded."""
    by_path = {}
    for predicted in predictions.images.values():
        if predicted.path:
            try:
                by_path[Path(predicted.path).resolve()] = predicted
            except OSError:
                continue
    return [predictions.images.get(image.image_id) or by_path.get(Path(image.path).resolve()) for image in images]


def _natural(value: str):
    return (0, float(value), "") if value.replace(".", "", 1).isdigit() else (1, 0.0, value)
