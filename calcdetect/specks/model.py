"""The false-positive model: the probability that a candidate speck is a calcification."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from calcdetect.specks.features import CandidateFeatures
from calcdetect.specks.trees import TreeEnsemble

#: The shipped models' files inside this package, by target (see benchmarks/fp_model.md for
#: their data card).
MODEL_FILES = {"calcification": "fp_model.json", "vascular": "vascular_model.json"}


@functools.cache
def shipped_model(target: str = "calcification") -> TreeEnsemble:
    """A model shipped with calcdetect (read once): ``"calcification"`` or ``"vascular"``.

    Gradient-boosted trees fitted by ``python benchmarks/train_fp_model.py`` on
    candidates found in synthetic mammograms of :mod:`calcdetect.synth` (the data
    card, with the sets, seeds, features and figures, is in ``metadata``).
    """
    if target not in MODEL_FILES:
        raise ValueError(f"target must be one of {sorted(MODEL_FILES)}; got {target!r}")
    name = MODEL_FILES[target]
    text = resources.files("calcdetect.specks").joinpath(name).read_text(encoding="utf-8")
    return TreeEnsemble.from_json(text, source=f"calcdetect/specks/{name}")


def calcification_probability(features: CandidateFeatures, *, model: TreeEnsemble | None = None) -> np.ndarray:
    """Probability that each candidate speck is a calcification.

    Parameters
    ----------
    features : CandidateFeatures
        Features of K candidates (:func:`calcdetect.specks.features.candidate_features`).
    model : TreeEnsemble, optional
        The shipped model (:func:`shipped_model`) by default.

    Returns
    -------
    (K,) ndarray of float64
        In [0, 1].
    """
    return _predict(features, shipped_model("calcification") if model is None else model)


def vascular_probability(features: CandidateFeatures, *, model: TreeEnsemble | None = None) -> np.ndarray:
    """Probability that each calcification is a piece of a calcified vessel's wall.

    Parameters and returns as :func:`calcification_probability` (the shipped
    ``"vascular"`` model by default, fitted on calcifications only).
    """
    return _predict(features, shipped_model("vascular") if model is None else model)


def _predict(features: CandidateFeatures, model: TreeEnsemble) -> np.ndarray:
    if len(features) == 0:
        return np.zeros(0)
    return model.predict_proba({name: getattr(features, name) for name in CandidateFeatures.names()})
