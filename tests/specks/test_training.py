"""The shipped models are what their training command makes, and the training is deterministic."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from calcdetect.lexicon import Morphology, category_of
from calcdetect.specks.features import CandidateFeatures
from calcdetect.specks.model import shipped_model
from calcdetect.specks.training import Candidates, fit, label_candidates
from calcdetect.truth import TruthCalcification, TruthCluster, TruthImage

ROOT = Path(__file__).resolve().parents[2]


def _training_script():
    spec = importlib.util.spec_from_file_location("train_fp_model", ROOT / "benchmarks" / "train_fp_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _needs_lightgbm():
    pytest.importorskip("lightgbm", reason="training needs LightGBM (pip install 'calcdetect[train]')")


@pytest.mark.slow
def test_the_training_command_reproduces_the_shipped_models(tmp_path):
    """Regenerates every training and validation set and refits (about 3.5 minutes on 2 cores)."""
    _needs_lightgbm()
    assert _training_script().main(["--work", str(tmp_path), "--jobs", "2", "--check"]) == 0


@pytest.mark.parametrize("target", ["calcification", "vascular"], ids=["fp-model", "vascular-model"])
def test_shipped_models_read_every_feature_they_split_on_by_name(target):
    model = shipped_model(target)
    assert model.metadata["target"] == target
    assert set(model.features) <= set(CandidateFeatures.names())
    used = {model.features[i] for tree in model.trees for i in tree.feature.tolist()}
    assert "significance" in used


def _candidates(seed: int) -> Candidates:
    rng = np.random.default_rng(seed)
    k = 400
    features = {n: rng.normal(size=k) for n in CandidateFeatures.names()}
    label = features["significance"] + 0.5 * rng.normal(size=k) > 0
    return Candidates(features=features, label=label, vascular=label & (features["linearity_around"] > 0.5),
                      image=np.repeat(np.arange(8), k // 8))


@pytest.mark.parametrize("target", ["calcification", "vascular"], ids=["fp-model", "vascular-model"])
def test_fitting_is_deterministic(target):
    _needs_lightgbm()
    first, second = (fit(_candidates(3), target=target, n_trees=30) for _ in range(2))
    assert first.to_json() == second.to_json()


def test_fit_refuses_an_unknown_target():
    with pytest.raises(ValueError, match="target must be one of"):
        fit(_candidates(4), target="popcorn")


def test_candidates_are_labelled_by_the_planted_calcifications_they_lie_on():
    def cluster(morphology, row, col, length_mm):
        return TruthCluster(0, category_of(morphology), None, Morphology(morphology), None, None, row, col,
                            (TruthCalcification(row, col, length_mm=length_mm),))

    truth = TruthImage("a.dcm", (0.1, 0.1), clusters=(cluster("vascular", 100, 100, 3.0),
                                                      cluster("punctate", 300, 300, 0.3)),
                       isolated=(TruthCalcification(500, 100, length_mm=0.4),))
    rows = np.array([100 + 1.4 / 0.1, 300 + 4, 300 + 6, 500, 700])  # 1.4 mm along a 3 mm piece; 0.4 / 0.6 mm off
    calcification, vascular = label_candidates(rows, np.array([100, 300, 300, 100, 700]), spacing=(0.1, 0.1),
                                               truth_image=truth)
    assert calcification.tolist() == [True, True, False, True, False]
    assert vascular.tolist() == [True, False, False, False, False]
