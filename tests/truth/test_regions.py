"""A truth.json as lesions: the lesion scoring of the public data sets agrees with evaluate."""

from pathlib import Path

import numpy as np
import pytest

from calcdetect.datasets.scoring import score_lesions
from calcdetect.evaluate import evaluate, load_predictions
from calcdetect.synth import SynthSettings, make_set
from calcdetect.tables import write_table
from calcdetect.testing import predictions_from_truth
from calcdetect.truth import PolygonRegion, lesions_from_truth, read_truth

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module")
def truth_path(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("set"), n=4, seed=21, settings=SynthSettings(scale=0.25))


def _random_run(folder, truth, seed):
    """Clusters near each truth cluster (0-4 mm off, so some miss) and anywhere in each image, random scores."""
    rng = np.random.default_rng(seed)
    images, clusters = [], []
    for image in truth.images:
        images.append({"image_id": image.image_id, "path": image.image_id, "status": "ok", "rows": image.rows,
                       "columns": image.columns, "spacing_mm": image.spacing_mm[0],
                       "column_spacing_mm": image.spacing_mm[1]})
        near = [(c.row, c.col) for c in image.clusters]
        anywhere = rng.uniform((0, 0), (image.rows, image.columns), size=(3, 2)).tolist()
        for k, (row, col) in enumerate(near + anywhere):
            offset_mm = rng.uniform(0, 4) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
            score = float(rng.uniform())
            clusters.append({"image_id": image.image_id, "cluster_id": k,
                             "row": row + offset_mm[0] / image.spacing_mm[0],
                             "col": col + offset_mm[1] / image.spacing_mm[1], "score": score, "confidence": score})
    folder.mkdir()
    write_table(folder, "images", images)
    write_table(folder, "clusters", clusters)
    write_table(folder, "calcifications", [])
    return folder


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_lesion_scoring_of_a_synthetic_truth_traces_evaluates_froc(truth_path, tmp_path, seed):
    truth = read_truth(truth_path)
    run = _random_run(tmp_path / "run", truth, seed)
    ours = evaluate(truth_path, run, sweep="score", n_bootstrap=0).clusters.froc
    lesions = score_lesions(lesions_from_truth(truth), load_predictions(run), sweep="score", n_bootstrap=0).froc
    assert lesions.n_truth == ours.n_truth > 0
    np.testing.assert_array_equal(lesions.thresholds, ours.thresholds)
    np.testing.assert_allclose(lesions.fp_per_image, ours.fp_per_image, rtol=1e-12)
    np.testing.assert_allclose(lesions.sensitivity, ours.sensitivity, rtol=1e-12)


def test_small_groups_are_ignored_regions_and_lesions_carry_their_description(truth_path):
    truth = read_truth(truth_path)
    images = lesions_from_truth(truth, min_calcifications=10**6)
    assert not any(image.lesions for image in images)
    assert sum(len(image.ignored) for image in images) == sum(len(image.clusters) for image in truth.images)
    lesion = next(lesion for image in lesions_from_truth(truth) for lesion in image.lesions)
    assert isinstance(lesion.region, PolygonRegion)
    assert {"category", "morphology", "distribution", "cnr"} <= set(lesion.attributes)


@pytest.mark.parametrize("which", ["samples", "made"], ids=["bundled-samples", "seed-21"])
def test_the_oracle_is_described_perfectly_also_where_lesions_overlap(truth_path, tmp_path, which):
    # The samples hold a diffuse scatter round another cluster and two overlapping groups: each
    # lesion must be described by its own cluster, not by the other one inside its region.
    path = SAMPLES / "truth.json" if which == "samples" else truth_path
    run = load_predictions(predictions_from_truth(path, tmp_path / "oracle"))
    result = score_lesions(lesions_from_truth(read_truth(path)), run, n_bootstrap=0)
    assert result.froc.sensitivity_at(0.0) == 1.0
    assert {name: c.accuracy for name, c in result.agreement.items()} == {"morphology": 1.0, "distribution": 1.0}
