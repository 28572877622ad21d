"""FROC curves, their operating points, CPM and bootstrap intervals.

The free-response ROC (Bunch et al. 1978; Chakraborty, Med. Phys. 16, 1989) plots the
fraction of truth objects found against the false positives per image as a score
threshold falls. The competition performance metric (CPM; Niemeijer et al., IEEE Trans.
Med. Imaging 30, 2011) is the mean sensitivity at :data:`CPM_FP_RATES`. Intervals are
percentile bootstrap intervals (Efron & Tibshirani 1993) over resampling units: images,
or patients with all their images (:class:`WeightedSensitivity`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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

#: Two-sided level of the percentile bootstrap confidence intervals.
CI_LEVEL = 0.95

#: False-positive rates (per image) at which the bootstrap band round a FROC is drawn
#: (:data:`OPERATING_FP_PER_IMAGE` among them).
BAND_FP_RATES = tuple(sorted({*(float(r) for r in np.round(np.geomspace(1 / 16, 8, 22), 4)),
                              0.1, 0.25, 0.5, OPERATING_FP_PER_IMAGE, 2.0}))

#: Slack for comparisons of computed distances and rates with user limits, so
#: that a centre exactly `margin_mm` away is not lost to rounding.
TOLERANCE = 1e-9


def json_float(value) -> float | None:
    """A float for JSON: None for None, NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_floats(values) -> list[float | None]:
    """:func:`json_float` of each value."""
    return [json_float(v) for v in np.asarray(values, dtype=float).tolist()]


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
            "max_fp_per_image": json_float(self.max_fp_per_image),
            "threshold": json_float(self.threshold),
            "fp_per_image": json_float(self.fp_per_image),
            "sensitivity": json_float(self.sensitivity),
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
        allowed = np.flatnonzero(self.fp_per_image <= max_fp_per_image + TOLERANCE)
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
            "thresholds": json_floats(self.thresholds),
            "fp_per_image": json_floats(self.fp_per_image),
            "sensitivity": json_floats(self.sensitivity),
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
            "sensitivity": json_float(self.sensitivity),
        }


def froc_curve(detected_at, fp_scores, n_images: int) -> FrocCurve:
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
            n_allowed = np.stack([(fps <= rate + TOLERANCE).sum(axis=1) for rate in self.rates], axis=1)  # (B, R)
            best = np.take_along_axis(found, np.maximum(n_allowed - 1, 0), axis=1)
            out = np.where(n_allowed > 0, best, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / total[:, None]
        out[(total == 0) | (n_images == 0)] = math.nan
        return out[0] if np.ndim(weights) == 1 else out


def bootstrap_sensitivity(
    detected_at: np.ndarray,
    truth_image: np.ndarray,
    fp_scores: np.ndarray,
    fp_image: np.ndarray,
    n_images: int,
    *,
    fp_rates,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sensitivity at each of `fp_rates` false positives per image on `n_bootstrap` resamples
    of the images.

    Each resample draws `n_images` images with replacement; an image drawn k
    times counts k times in every numerator and denominator
    (:class:`WeightedSensitivity` with each image its own unit). The draws do not
    depend on `fp_rates`.

    Returns
    -------
    (n_bootstrap, R) ndarray of float64
        NaN for a resample without truth objects.
    """
    statistic = WeightedSensitivity(fp_rates, detected_at, truth_image, fp_scores, fp_image, np.arange(n_images))
    out = np.empty((n_bootstrap, len(statistic.rates)))
    chunk = max(1, 4_000_000 // max(1, n_images, detected_at.size, fp_scores.size))
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        draws = rng.integers(0, n_images, size=(b, n_images))
        flat = (draws + n_images * np.arange(b)[:, None]).ravel()
        weights = np.bincount(flat, minlength=b * n_images).reshape(b, n_images)
        out[start : start + b] = statistic(weights)
    return out


def band_to_dict(band) -> dict:
    """A bootstrap band (FP/image rates, low, high) for JSON: NaN as None."""
    rates, low, high = band
    return {"fp_per_image": [float(r) for r in rates], "low": json_floats(low), "high": json_floats(high)}


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Two-sided percentile interval of `level` (e.g. 0.95) over the finite `samples`; NaNs without any."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (math.nan, math.nan)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return (float(low), float(high))


def subgroup(name: str, detected: np.ndarray) -> Subgroup:
    """The :class:`Subgroup` of the truth objects whose found / missed flags are `detected` (bool)."""
    n_truth, n_detected = int(detected.size), int(detected.sum())
    return Subgroup(name, n_truth, n_detected, n_detected / n_truth if n_truth else math.nan)


def breast_cm2(predicted) -> float | None:
    """Summed breast area (cm^2) of the images' predictions; None when one is missing or has none."""
    areas = [p.breast_area_mm2 if p is not None else None for p in predicted]
    known = [a for a in areas if a is not None]
    return sum(known) / 100.0 if areas and len(known) == len(areas) else None


def sensitivity_per_cm2(froc: FrocCurve, area_cm2: float | None,
                        rates=CALCIFICATION_FP_PER_CM2) -> tuple[tuple[float, float], ...]:
    """(FP per cm^2, sensitivity) at `rates`, from a FROC against FP per image over images of
    `area_cm2` in all; empty without the area."""
    if not area_cm2:
        return ()
    images_per_cm2 = froc.n_images / area_cm2  # FP/cm^2 = FP/image x images / cm^2
    return tuple((float(rate), froc.sensitivity_at(rate / images_per_cm2)) for rate in rates)


def partial_area(froc: FrocCurve, max_fp_per_image: float) -> float:
    """Area under the FROC (a step function of FP/image) from 0 to `max_fp_per_image`, over
    `max_fp_per_image` (so 1 for a perfect detector); NaN without truth objects."""
    if froc.n_truth == 0:
        return math.nan
    x = np.concatenate([[0.0], froc.fp_per_image, [np.inf]])
    y = np.concatenate([[0.0], froc.sensitivity])
    widths = np.clip(np.minimum(x[1:], max_fp_per_image) - np.minimum(x[:-1], max_fp_per_image), 0.0, None)
    return float((widths * y).sum() / max_fp_per_image)
