import json

import numpy as np
import pytest

from calcdetect.specks.trees import FORMAT, TreeEnsemble

def _lightgbm():
    return pytest.importorskip("lightgbm", reason="the oracle is LightGBM itself (pip install 'calcdetect[train]')")


def _fitted(seed: int, *, missing: bool, zero_as_missing: bool = False, **extra):
    lightgbm = _lightgbm()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 - x[:, 2] > 0.3).astype(float)
    if missing:
        x[rng.random(x.shape) < 0.15] = np.nan
    x[rng.random(len(x)) < 0.1, 3] = 0.0  # exact zeros (missing with zero_as_missing)
    names = ["a", "b", "c", "d"]
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 10, "deterministic": True,
              "force_col_wise": True, "num_threads": 1, "seed": seed, "verbose": -1,
              "zero_as_missing": zero_as_missing, **extra}
    booster = lightgbm.train(params, lightgbm.Dataset(x, label=y, feature_name=names), num_boost_round=40)
    return booster, x, names


@pytest.mark.parametrize(("missing", "zero_as_missing"), [(False, False), (True, False), (True, True)],
                         ids=["complete", "with-nan", "zero-as-missing"])
def test_numpy_evaluation_equals_lightgbm(missing, zero_as_missing):
    # Probes hold NaN and exact zeros whatever the model saw: a model fitted without
    # missing values meets them in serving too.
    booster, x, names = _fitted(5, missing=missing, zero_as_missing=zero_as_missing)
    model = TreeEnsemble.from_lightgbm(booster.dump_model())
    rng = np.random.default_rng(6)
    extra = rng.normal(size=(300, 4)) * 3
    extra[rng.random(extra.shape) < 0.2] = np.nan
    extra[rng.random(extra.shape) < 0.1] = 0.0
    probe = np.vstack([x, extra])
    expected = booster.predict(probe)
    got = model.predict_proba(dict(zip(names, probe.T)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_json_round_trip_keeps_predictions_and_metadata():
    booster, x, names = _fitted(7, missing=True)
    model = TreeEnsemble.from_lightgbm(booster.dump_model(), metadata={"sets": [1, 2]})
    again = TreeEnsemble.from_json(model.to_json())
    assert again.features == tuple(names) and again.metadata == {"sets": [1, 2]}
    columns = dict(zip(names, x.T))
    np.testing.assert_array_equal(again.predict_proba(columns), model.predict_proba(columns))
    assert again.to_json() == model.to_json()


def test_columns_are_taken_by_name_not_position():
    booster, x, names = _fitted(8, missing=False)
    model = TreeEnsemble.from_lightgbm(booster.dump_model())
    reordered = {name: x[:, i] for i, name in reversed(list(enumerate(names)))}
    np.testing.assert_allclose(model.predict_proba(reordered), booster.predict(x), rtol=1e-12)


def test_missing_feature_is_named():
    booster, x, names = _fitted(9, missing=False)
    model = TreeEnsemble.from_lightgbm(booster.dump_model())
    with pytest.raises(ValueError, match=r"lack the model's feature\(s\) \['c'\]"):
        model.predict_proba({n: x[:, i] for i, n in enumerate(names) if n != "c"})


@pytest.mark.parametrize("extra", [{"objective": "binary", "sigmoid": 2.0}, {"linear_tree": True},
                                   {"boosting": "rf", "bagging_fraction": 0.8, "bagging_freq": 1}],
                         ids=["sigmoid-2", "linear-leaves", "random-forest"])
def test_models_this_evaluator_would_misread_are_refused(extra):
    booster, _, _ = _fitted(10, missing=False, **extra)
    with pytest.raises(ValueError, match="not supported"):
        TreeEnsemble.from_lightgbm(booster.dump_model())


def test_a_hand_built_tree_follows_the_missing_value_rules():
    # Root: a <= 1 (NaN goes right); left child: b <= 0 (NaN counts as zero); right child:
    # zero or NaN to the default (left) side, else c <= 2.
    document = {"format": FORMAT, "format_version": 1, "objective": "binary", "features": ["a", "b", "c"],
                "metadata": {}, "trees": [{
                    "feature": [0, 1, 2], "threshold": [1.0, 0.0, 2.0], "missing": ["nan", "none", "zero"],
                    "default_left": [False, True, True], "left": [1, ~0, ~2], "right": [2, ~1, ~3],
                    "leaf_value": [-1.0, 1.0, -2.0, 2.0]}]}
    model = TreeEnsemble.from_json(json.dumps(document))
    nan = np.nan
    columns = {"a": [0.5, 0.5, 0.5, nan, 3.0, 3.0, 3.0],
               "b": [-1.0, nan, 4.0, 0.0, 0.0, 0.0, 0.0],
               "c": [0.0, 0.0, 0.0, 0.0, 0.0, nan, 5.0]}
    expected_raw = [-1.0, -1.0, 1.0, -2.0, -2.0, -2.0, 2.0]
    np.testing.assert_allclose(model.predict_proba(columns), 1 / (1 + np.exp(-np.array(expected_raw))))


@pytest.mark.parametrize("document", [{"format": "other", "format_version": 1},
                                      {"format": FORMAT, "format_version": 99}],
                         ids=["other-format", "newer-version"])
def test_foreign_json_is_refused_with_its_source(document):
    with pytest.raises(ValueError, match="my-model.json: not a calcdetect.trees model"):
        TreeEnsemble.from_json(json.dumps(document), source="my-model.json")
