"""Score detections against ground truth: cluster and calcification FROC, description agreement.

Reads a ground truth (``truth.json``, see ``docs/truth-format.md``; :mod:`calcdetect.truth`)
and a run's tables (``images``, ``calcifications``, ``clusters``, CSV or Parquet, output
contract schema v1), matches them and returns small frozen dataclasses whose ``to_dict()``
is JSON-serialisable. Nothing here prints; the CLI formats and prints what
:func:`evaluate` returns (see :func:`format_summary`).

The package, one job per module:

- :mod:`~calcdetect.evaluate.predictions`: a run's tables as predictions per image;
- :mod:`~calcdetect.evaluate.matching`: images joined, clusters and calcifications matched
  (the conventions are its docstring's);
- :mod:`~calcdetect.evaluate.froc`: FROC curves, operating points, CPM, bootstrap intervals;
- :mod:`~calcdetect.evaluate.agreement`: distribution and morphology confusion, score AUC;
- :mod:`~calcdetect.evaluate.report`: the results, :func:`evaluate` and the summary.

The free-response ROC (FROC) sweeps the predicted clusters' ``confidence`` (or ``score``)
from high to low; false positives are counted per image of the truth, failed and missing
images included. A missing (empty) or non-finite ``score`` counts as 0. Images whose
``images`` status is ``error`` failed: their predictions are ignored, so their truth is
missed, and they stay in the denominators; so do images of the truth that the
predictions do not list at all (``missing``).

References
----------
.. [1] D. P. Chakraborty, "Maximum likelihood analysis of free-response
   receiver operating characteristic (FROC) data", Med. Phys. 16 (1989).
.. [2] M. Niemeijer et al., "On combining computer-aided detection systems",
   IEEE Trans. Med. Imaging 30 (2011): the competition performance metric (CPM).
"""

from calcdetect.errors import EvaluationError
from calcdetect.evaluate.agreement import CLEAR_CNR, Confusion, DescriptionEvaluation, describe_agreement
from calcdetect.evaluate.froc import (
    CALCIFICATION_FP_PER_CM2,
    CALCIFICATION_FP_RATES,
    CI_LEVEL,
    CPM_FP_RATES,
    OPERATING_FP_PER_IMAGE,
    FrocCurve,
    OperatingPoint,
    Subgroup,
    WeightedSensitivity,
    breast_cm2,
    sensitivity_per_cm2,
)
from calcdetect.evaluate.matching import (
    CNR_EDGES,
    MEMBER_TOLERANCE_MM,
    MIN_TRUE_MEMBERS,
    SWEEPS,
    ClusterMatch,
    check_same_set,
    check_spacing_agrees,
)
from calcdetect.evaluate.predictions import (
    PredictedCalcifications,
    PredictedClusters,
    PredictedImage,
    Predictions,
    load_predictions,
)
from calcdetect.evaluate.report import (
    CalcificationEvaluation,
    ClusterEvaluation,
    Evaluation,
    evaluate,
    evaluate_predictions,
    format_summary,
)

__all__ = [
    "CALCIFICATION_FP_PER_CM2",
    "CALCIFICATION_FP_RATES",
    "CI_LEVEL",
    "CLEAR_CNR",
    "CNR_EDGES",
    "CPM_FP_RATES",
    "MEMBER_TOLERANCE_MM",
    "MIN_TRUE_MEMBERS",
    "OPERATING_FP_PER_IMAGE",
    "SWEEPS",
    "CalcificationEvaluation",
    "ClusterEvaluation",
    "ClusterMatch",
    "Confusion",
    "DescriptionEvaluation",
    "Evaluation",
    "EvaluationError",
    "FrocCurve",
    "OperatingPoint",
    "PredictedCalcifications",
    "PredictedClusters",
    "PredictedImage",
    "Predictions",
    "Subgroup",
    "WeightedSensitivity",
    "breast_cm2",
    "check_same_set",
    "check_spacing_agrees",
    "describe_agreement",
    "evaluate",
    "evaluate_predictions",
    "format_summary",
    "load_predictions",
    "sensitivity_per_cm2",
]
