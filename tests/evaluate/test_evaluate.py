"""Tests of calcdetect.evaluate: matching, FROC, bootstrap, description, bad input; the oracle of calcdetect.testing."""

import csv
import json
import math

import numpy as np
import pytest

from calcdetect.evaluate import EvaluationError, evaluate, format_summary, load_predictions
from calcdetect.evaluate.froc import bootstrap_sensitivity, froc_curve
from calcdetect.testing import predictions_from_truth
from calcdetect.truth import read_truth
from calcdetect.tables import CALCIFICATION_COLUMNS, CLUSTER_COLUMNS, IMAGE_COLUMNS, read_table
from calcdetect.tables import write_table as write_run_table  # this module's write_table writes CSV by hand

SPACING_MM = (0.07, 0.07)

# Five specks in a 50 x 50 px (3.5 x 3.5 mm) square, corners at (1000, 1000) and (1050, 1050).
SQUARE = [(1000, 1000), (1000, 1050), (1050, 1000), (1050, 1050), (1025, 1020)]


# ---------------------------------------------------------------------------
# Building truth and prediction files by hand
# ---------------------------------------------------------------------------


def speck(row, col, *, length_mm=0.3):
    return {
        "row": float(row), "col": float(col), "diameter_mm": 0.3,
        "length_mm": length_mm, "width_mm": 0.2, "contrast": 40.0,
    }


def cluster(cluster_id, points, *, category="suspicious", cnr=6.0, length_mm=0.3):
    centre = np.mean(np.asarray(points, dtype=float), axis=0)
    return {
        "cluster_id": cluster_id,
        "category": category,
        "distribution": "grouped" if category == "suspicious" else "diffuse",
        "morphology": "fine_pleomorphic" if category == "suspicious" else "round",
        "extent_mm": 4.0,
        "cnr": cnr,
        "row": float(centre[0]),
        "col": float(centre[1]),
        "calcifications": [speck(r, c, length_mm=length_mm) for r, c in points],
    }


def image(image_id, clusters=(), *, isolated=(), spacing_mm=SPACING_MM):
    return {
        "image_id": image_id, "rows": 2000, "columns": 1600, "spacing_mm": list(spacing_mm),
        "laterality": "L", "view": "CC", "density": "fatty", "nipple": [1000.0, 1500.0],
        "chest_wall": "left", "clusters": list(clusters), "isolated": [speck(r, c) for r, c in isolated],
    }


def write_truth(folder, images, *, format_version=1):
    path = folder / "truth.json"
    doc = {
        "format_version": format_version, "generator": "tests", "calcdetect_version": "0.1.0",
        "seed": 7, "settings": {}, "images": images,
    }
    path.write_text(json.dumps(doc))
    return path


def write_table(path, columns, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_predictions(folder, image_ids, *, clusters=(), calcifications=(), status=None, shape=None):
    """Prediction tables; `status` maps image ids to a status other than ok; `shape` (rows,
    columns) of every image, recorded when given."""
    folder.mkdir(exist_ok=True)
    status = status or {}
    rows, columns = shape or ("", "")
    write_table(
        folder / "images.csv",
        IMAGE_COLUMNS,
        [
            {"image_id": i, "path": i, "status": status.get(i, "ok"),
             "error": "unreadable" if status.get(i) == "error" else "", "rows": rows, "columns": columns}
            for i in image_ids
        ],
    )
    write_table(folder / "clusters.csv", CLUSTER_COLUMNS, list(clusters))
    write_table(folder / "calcifications.csv", CALCIFICATION_COLUMNS, list(calcifications))
    return folder


def found_cluster(image_id, cluster_id, row, col, score=1.0):
    return {"image_id": image_id, "cluster_id": cluster_id, "row": row, "col": col, "score": score}


def found_speck(image_id, calc_id, row, col, score=1.0):
    return {"image_id": image_id, "calc_id": calc_id, "cluster_id": -1, "row": row, "col": col, "score": score}


@pytest.fixture
def truth_set(tmp_path):
    """Two images with clusters (one suspicious, one benign, isolated specks) and one normal image."""
    images = [
        image("synth_0000.dcm", [cluster(0, SQUARE), cluster(1, [(300, 300), (305, 320), (320, 310)], cnr=12.0)],
              isolated=[(1500, 200)]),
        image("synth_0001.dcm", [cluster(0, [(700, 700), (710, 690), (720, 715), (705, 730)], category="benign")],
              spacing_mm=(0.1, 0.05)),
        image("synth_0002.dcm"),
    ]
    return write_truth(tmp_path, images)


# ---------------------------------------------------------------------------
# Oracle
# ---------------------------------------------------------------------------


def test_oracle_predictions_score_perfectly(truth_set, tmp_path):
    run = predictions_from_truth(truth_set, tmp_path / "oracle")
    result = evaluate(truth_set, run, n_bootstrap=50)
    assert result.clusters.froc.sensitivity_at(0.0) == 1.0
    assert result.clusters.n_false_positives == 0
    assert result.clusters.cpm == 1.0
    assert result.clusters.sensitivity_ci == (1.0, 1.0)
    assert result.calcifications.sensitivity == 1.0
    assert result.calcifications.sensitivity_members == 1.0
    assert result.calcifications.n_false_positives == 0
    assert (result.n_images, result.n_normal, result.n_failed, result.n_missing) == (3, 1, 0, 0)


def test_oracle_tables_follow_the_contract(truth_set, tmp_path):
    run = predictions_from_truth(truth_set, tmp_path / "oracle")
    headers = {}
    for name in ("images", "calcifications", "clusters"):
        with open(run / f"{name}.csv", newline="") as fh:
            headers[name] = tuple(next(csv.reader(fh)))
    assert headers == {
        "images": IMAGE_COLUMNS, "calcifications": CALCIFICATION_COLUMNS, "clusters": CLUSTER_COLUMNS,
    }
    assert not list(run.glob(".*.tmp"))


def test_oracle_links_calcifications_to_their_clusters(truth_set, tmp_path):
    predictions = load_predictions(predictions_from_truth(truth_set, tmp_path / "oracle"))
    first = predictions.images["synth_0000.dcm"]
    assert sorted(first.calcifications.cluster_id.tolist()) == [-1] + [0] * 5 + [1] * 3
    assert first.clusters.morphology == ("fine_pleomorphic", "fine_pleomorphic")
    assert predictions.images["synth_0001.dcm"].clusters.distribution == ("diffuse",)


def test_a_parquet_run_evaluates_as_its_csv_twin(truth_set, tmp_path):
    csv_run = predictions_from_truth(truth_set, tmp_path / "csv")
    parquet_run = tmp_path / "parquet"
    parquet_run.mkdir()
    for table in ("images", "calcifications", "clusters"):
        write_run_table(parquet_run, table, read_table(csv_run, table), format="parquet")
    shifted = read_table(csv_run, "clusters")
    shifted[0] |= {"row": shifted[0]["row"] + 400, "score": 0.5}  # one miss, one false positive
    for run in (csv_run, parquet_run):
        write_run_table(run, "clusters", shifted, format="parquet" if run == parquet_run else "csv")
    assert not (parquet_run / "clusters.csv").exists()
    results = [evaluate(truth_set, run, n_bootstrap=50).to_dict() for run in (csv_run, parquet_run)]
    results[1]["predictions_dir"] = results[0]["predictions_dir"]
    assert results[0] == results[1]
    assert results[0]["clusters"]["n_false_positives"] == 1


def test_to_dict_is_strict_json(truth_set, tmp_path):
    result = evaluate(truth_set, predictions_from_truth(truth_set, tmp_path / "oracle"), n_bootstrap=0)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["clusters"]["sensitivity_ci"] == [None, None]
    assert data["clusters"]["operating_point"]["sensitivity"] == 1.0
    assert len(data["clusters"]["matches"]) == 3
    assert data["calcifications"]["n_truth"] == 13


def test_format_summary_names_the_main_numbers(truth_set, tmp_path):
    result = evaluate(truth_set, predictions_from_truth(truth_set, tmp_path / "oracle"), n_bootstrap=20)
    text = format_summary(result)
    assert "Clusters: 3 in truth" in text
    assert "CPM (mean sensitivity at 1/8 to 8 FP/image): 1.000" in text
    assert "Calcifications: 13 in truth" in text


# ---------------------------------------------------------------------------
# Cluster hits
# ---------------------------------------------------------------------------

# Points of the square's boundary and outward unit directions (row, col).
EDGES = {
    "below": ((1050.0, 1025.0), (1.0, 0.0)),
    "right": ((1025.0, 1050.0), (0.0, 1.0)),
    "corner": ((1050.0, 1050.0), (math.sqrt(0.5), math.sqrt(0.5))),
}


@pytest.mark.parametrize("spacing_mm", [(0.07, 0.07), (0.1, 0.05)], ids=["iso", "aniso"])
@pytest.mark.parametrize("edge", list(EDGES), ids=list(EDGES))
@pytest.mark.parametrize(("outside_mm", "hit"), [(1.9, True), (2.1, False)], ids=["1.9mm-hit", "2.1mm-miss"])
def test_centre_within_margin_of_hull_is_a_hit(tmp_path, spacing_mm, edge, outside_mm, hit):
    # The square is in pixels: with anisotropic spacing its hull in mm is a rectangle.
    (row, col), (d_row, d_col) = EDGES[edge]
    centre = (row + outside_mm * d_row / spacing_mm[0], col + outside_mm * d_col / spacing_mm[1])
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE)], spacing_mm=spacing_mm)])
    run = write_predictions(tmp_path / "run", ["a.dcm"], clusters=[found_cluster("a.dcm", 0, *centre)])
    result = evaluate(truth, run, n_bootstrap=0)
    assert result.clusters.operating_point.sensitivity == (1.0 if hit else 0.0)
    assert result.clusters.n_false_positives == (0 if hit else 1)


LINE = [(1000, 1000), (1000, 1020), (1000, 1020), (1000, 1040), (1000, 1060)]  # collinear, one duplicate


@pytest.mark.parametrize(
    ("centre", "hit"),
    [
        ((1000.0, 1060.0 + 1.5 / 0.07), True),
        ((1000.0 + 1.5 / 0.07, 1030.0), True),
        ((1000.0 - 1.5 / 0.07, 1000.0 - 0.5 / 0.07), True),
        ((1000.0 + 2.5 / 0.07, 1030.0), False),
        ((1000.0 - 1.5 / 0.07, 1000.0 - 1.5 / 0.07), False),  # 2.12 mm from the end point
    ],
    ids=["beyond-end-1.5mm", "beside-1.5mm", "near-end-1.58mm", "beside-2.5mm", "off-end-2.12mm"],
)
def test_collinear_cluster_region_is_a_grown_segment(tmp_path, centre, hit):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, LINE)])])
    run = write_predictions(tmp_path / "run", ["a.dcm"], clusters=[found_cluster("a.dcm", 0, *centre)])
    assert evaluate(truth, run, n_bootstrap=0).clusters.operating_point.sensitivity == (1.0 if hit else 0.0)


@pytest.mark.parametrize(("sweep", "thresholds"), [("confidence", [0.9, 0.8]), ("score", [0.7, 0.1])],
                         ids=["confidence", "score"])
def test_froc_sweeps_the_chosen_column(tmp_path, sweep, thresholds):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE)]), image("normal.dcm")])
    run = write_predictions(
        tmp_path / "run", ["a.dcm", "normal.dcm"],
        clusters=[{**found_cluster("a.dcm", 0, 1025, 1025, 0.1), "confidence": 0.8},
                  {**found_cluster("normal.dcm", 0, 800, 800, 0.7), "confidence": 0.9}],
    )
    evaluation = evaluate(truth, run, n_bootstrap=0, sweep=sweep)
    np.testing.assert_array_equal(evaluation.clusters.froc.thresholds, thresholds)
    assert evaluation.sweep == sweep
    with pytest.raises(ValueError, match="sweep must be one of"):
        evaluate(truth, run, sweep="ppv")


def test_spurious_cluster_on_normal_image_is_half_a_false_positive_per_image(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE)]), image("normal.dcm")])
    run = write_predictions(
        tmp_path / "run", ["a.dcm", "normal.dcm"],
        clusters=[found_cluster("a.dcm", 0, 1025, 1025, 0.9), found_cluster("normal.dcm", 0, 800, 800, 0.8)],
    )
    froc = evaluate(truth, run, n_bootstrap=0).clusters.froc
    np.testing.assert_array_equal(froc.thresholds, [0.9, 0.8])
    np.testing.assert_array_equal(froc.fp_per_image, [0.0, 0.5])
    np.testing.assert_array_equal(froc.sensitivity, [1.0, 1.0])


def test_detection_on_benign_cluster_is_not_a_false_positive(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE, category="benign")])])
    run = write_predictions(tmp_path / "run", ["a.dcm"], clusters=[found_cluster("a.dcm", 5, 1025, 1025)])
    result = evaluate(truth, run, n_bootstrap=0).clusters
    assert result.n_false_positives == 0
    assert [(g.name, g.n_detected, g.n_truth) for g in result.by_category] == [
        ("suspicious", 0, 0), ("benign", 1, 1),
    ]
    assert (result.matches[0].predicted_cluster_id, result.matches[0].truth_morphology) == (5, "round")


@pytest.mark.parametrize(
    ("minimum", "n_truth", "n_below"), [(3, 1, 1), (2, 2, 0)], ids=["pair-is-no-cluster", "pairs-count"]
)
def test_truth_groups_below_the_cluster_minimum_are_neither_targets_nor_false_positives(
    tmp_path, minimum, n_truth, n_below
):
    pair = [(2000.0, 2000.0), (2000.0, 2030.0)]
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE), cluster(1, pair, category="benign")])])
    run = write_predictions(tmp_path / "run", ["a.dcm"], clusters=[found_cluster("a.dcm", 0, 2000, 2015, 0.7)])
    result = evaluate(truth, run, n_bootstrap=0, min_truth_calcifications=minimum).clusters
    assert (result.n_truth, result.n_below_minimum, result.n_false_positives) == (n_truth, n_below, 0)
    assert result.operating_point.sensitivity == pytest.approx((n_truth - 1) / n_truth)


# ---------------------------------------------------------------------------
# FROC operating points
# ---------------------------------------------------------------------------


@pytest.fixture
def ranked(tmp_path):
    """Four images, one cluster each (A-D), and predictions in a known score order.

    Scores: A .9, FP .8, B .7, FP .6, FP .5, C .4, (A again .35), FP .3, FP .2, D .1, FP .05,
    FP with an empty score (0).
    """
    specs = [("a.dcm", "suspicious", 3.0), ("b.dcm", "benign", 7.0), ("c.dcm", "suspicious", 12.0),
             ("d.dcm", "suspicious", 4.0)]
    truth = write_truth(
        tmp_path, [image(i, [cluster(0, SQUARE, category=cat, cnr=cnr)]) for i, cat, cnr in specs]
    )
    hit = {"a.dcm": 0.9, "b.dcm": 0.7, "c.dcm": 0.4, "d.dcm": 0.1}
    clusters = [found_cluster(i, 0, 1025, 1025, s) for i, s in hit.items()]
    clusters.append(found_cluster("a.dcm", 9, 1030, 1030, 0.35))
    fps = [("a.dcm", 0.8), ("b.dcm", 0.6), ("c.dcm", 0.5), ("a.dcm", 0.3), ("d.dcm", 0.2), ("d.dcm", 0.05),
           ("b.dcm", "")]
    clusters += [found_cluster(i, k + 1, 200, 200, s) for k, (i, s) in enumerate(fps)]
    run = write_predictions(tmp_path / "run", list(hit), clusters=clusters)
    return evaluate(truth, run, n_bootstrap=200, seed=3)


def test_froc_curve_points(ranked):
    froc = ranked.clusters.froc
    np.testing.assert_allclose(froc.thresholds, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0])
    np.testing.assert_allclose(
        froc.fp_per_image, [0, 0.25, 0.25, 0.5, 0.75, 0.75, 1.0, 1.25, 1.25, 1.5, 1.75]
    )
    np.testing.assert_allclose(
        froc.sensitivity, [0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0]
    )


@pytest.mark.parametrize(
    ("max_fp_per_image", "sensitivity", "threshold"),
    [(0.125, 0.25, 0.9), (0.25, 0.5, 0.7), (0.5, 0.5, 0.6), (1.0, 0.75, 0.3), (2.0, 1.0, 0.0)],
    ids=["1/8", "1/4", "1/2", "1", "2"],
)
def test_froc_operating_points(ranked, max_fp_per_image, sensitivity, threshold):
    point = ranked.clusters.froc.operating_point(max_fp_per_image)
    assert (point.sensitivity, point.threshold) == pytest.approx((sensitivity, threshold))


def test_froc_summaries(ranked):
    clusters = ranked.clusters
    assert [p.sensitivity for p in clusters.operating_points] == [0.5, 0.5, 0.75, 1.0]
    assert clusters.cpm == pytest.approx(5 / 7)
    assert clusters.n_false_positives == 7
    assert len(clusters.matches) == 5


def test_sensitivity_by_subgroup_at_one_false_positive_per_image(ranked):
    # Threshold 0.3 detects A (suspicious, cnr 3), B (benign, 7), C (suspicious, 12), not D (suspicious, 4).
    clusters = ranked.clusters
    assert [(g.name, g.n_detected, g.n_truth) for g in clusters.by_category] == [
        ("suspicious", 2, 3), ("benign", 1, 1),
    ]
    assert [(g.name, g.n_detected, g.n_truth) for g in clusters.by_cnr] == [
        ("cnr < 5", 1, 2), ("5 <= cnr < 10", 1, 1), ("cnr >= 10", 1, 1),
    ]


def test_bootstrap_interval_brackets_the_estimate(ranked):
    low, high = ranked.clusters.sensitivity_ci
    assert 0.0 <= low <= ranked.clusters.operating_point.sensitivity <= high <= 1.0
    assert low < high


def test_bootstrap_is_reproducible_with_a_seed(ranked):
    again = evaluate(ranked.truth_path, ranked.predictions_dir, n_bootstrap=200, seed=3)
    assert again.clusters.sensitivity_ci == ranked.clusters.sensitivity_ci


# ---------------------------------------------------------------------------
# Failed, missing and renamed images
# ---------------------------------------------------------------------------


def test_failed_image_truth_counts_as_missed(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE)]), image("b.dcm", [cluster(0, SQUARE)])])
    run = write_predictions(
        tmp_path / "run", ["a.dcm", "b.dcm"], status={"b.dcm": "error"},
        clusters=[found_cluster("a.dcm", 0, 1025, 1025), found_cluster("b.dcm", 0, 1025, 1025)],
    )
    result = evaluate(truth, run, n_bootstrap=0)
    assert result.clusters.froc.sensitivity[-1] == 0.5
    assert (result.n_failed, result.failed_ids, result.n_missing) == (1, ("b.dcm",), 0)


def test_images_join_on_file_name_and_missing_images_count(tmp_path):
    truth = write_truth(
        tmp_path,
        [image("synth_0000.dcm", [cluster(0, SQUARE)]), image("synth_0001.dcm"),
         image("synth_0002.dcm", [cluster(0, SQUARE)])],
    )
    run = write_predictions(
        tmp_path / "run", ["set/synth_0000.dcm", "synth_0001.dcm", "other.dcm"],
        clusters=[found_cluster("set/synth_0000.dcm", 0, 1025, 1025), found_cluster("other.dcm", 0, 1025, 1025)],
    )
    result = evaluate(truth, run, n_bootstrap=0)
    assert (result.n_matched_by_basename, result.n_missing, result.n_extra) == (1, 1, 1)
    assert result.missing_ids == ("synth_0002.dcm",)
    assert result.clusters.froc.sensitivity[-1] == 0.5
    assert result.clusters.n_false_positives == 0


@pytest.mark.parametrize(("shape", "match"), [
    ((2000, 1600), None),
    ((1000, 800), r"1 image\(s\) differ in size .* 'a\.dcm': 2000 x 1600 in .*, 1000 x 800 in .*another set or scale"),
], ids=["same-size", "other-scale"])
def test_images_of_another_size_are_refused(tmp_path, shape, match):
    truth = write_truth(tmp_path, [image("a.dcm"), image("b.dcm")])
    run = write_predictions(tmp_path / "run", ["a.dcm"], shape=shape)
    if match is None:
        assert evaluate(truth, run, n_bootstrap=0).n_missing == 1
    else:
        with pytest.raises(EvaluationError, match=match):
            evaluate(truth, run, n_bootstrap=0)


def test_truth_and_predictions_of_different_sets_are_refused(tmp_path):
    truth = write_truth(tmp_path, [image("P0000_LCC.dcm"), image("P0001_LCC.dcm")])
    run = write_predictions(tmp_path / "run", ["synth_0000.dcm"])
    with pytest.raises(EvaluationError, match=r"have no image in common \(2 in the truth, e.g. 'P0000_LCC.dcm'; 1 "
                                              r"predicted, e.g. 'synth_0000.dcm'\)"):
        evaluate(truth, run, n_bootstrap=0)


@pytest.mark.parametrize(("spacing", "match"), [
    ("0.1", None), ("0.05", r"detected at another pixel spacing .* 'a.dcm': 0.05 x 0.05 mm in .*, 0.1 x 0.1 mm in "
                            r"the truth: the run is of another set, or, where the files carry no pixel spacing .* "
                            r"run detect again with --spacing-mm 0.1"),
], ids=["same", "other"])
def test_predictions_at_another_spacing_are_refused(tmp_path, spacing, match):
    truth = write_truth(tmp_path, [image("a.dcm", spacing_mm=(0.1, 0.1))])
    run = write_predictions(tmp_path / "run", ["a.dcm"])
    text = (run / "images.csv").read_text().splitlines()
    header, row = text[0].split(","), text[1].split(",")
    row[header.index("spacing_mm")] = spacing
    (run / "images.csv").write_text("\n".join([text[0], ",".join(row)]) + "\n")
    if match is None:
        assert evaluate(truth, run, n_bootstrap=0).n_missing == 0
    else:
        with pytest.raises(EvaluationError, match=match):
            evaluate(truth, run, n_bootstrap=0)


def test_an_empty_run_is_refused(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm")])
    with pytest.raises(EvaluationError, match="the run holds no image"):
        evaluate(truth, write_predictions(tmp_path / "run", []), n_bootstrap=0)


def test_a_folder_given_as_the_truth_says_which_file_to_give(tmp_path):
    write_truth(tmp_path, [image("a.dcm")])
    with pytest.raises(EvaluationError, match=r"is a folder; give its truth.json file; .*truth.json is there"):
        read_truth(tmp_path)


def test_ambiguous_file_name_is_an_error(tmp_path):
    truth = write_truth(tmp_path, [image("x.dcm")])
    run = write_predictions(tmp_path / "run", ["left/x.dcm", "right/x.dcm"])
    with pytest.raises(EvaluationError, match="matches several predicted images"):
        evaluate(truth, run, n_bootstrap=0)


# ---------------------------------------------------------------------------
# Calcification level
# ---------------------------------------------------------------------------


def test_calcification_matching_is_one_to_one(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm", isolated=[(500, 500)])])
    run = write_predictions(
        tmp_path / "run", ["a.dcm"],
        calcifications=[found_speck("a.dcm", 0, 500 + 0.1 / 0.07, 500), found_speck("a.dcm", 1, 500, 500 + 0.2 / 0.07)],
    )
    result = evaluate(truth, run, n_bootstrap=0).calcifications
    assert (result.n_matched, result.n_false_positives, result.fp_per_image) == (1, 1, 1.0)
    assert math.isnan(result.sensitivity_members)


def test_higher_score_claims_a_shared_speck_first(tmp_path):
    # The farther prediction scores higher: it takes the speck, the closer one is the false positive.
    truth = write_truth(tmp_path, [image("a.dcm", isolated=[(500, 500)])])
    run = write_predictions(
        tmp_path / "run", ["a.dcm"],
        calcifications=[found_speck("a.dcm", 0, 501, 500, 0.2), found_speck("a.dcm", 1, 500, 505, 0.8)],
    )
    froc = evaluate(truth, run, n_bootstrap=0).calcifications.froc
    np.testing.assert_array_equal(froc.thresholds, [0.8, 0.2])
    np.testing.assert_array_equal(froc.sensitivity, [1.0, 1.0])
    np.testing.assert_array_equal(froc.fp_per_image, [0.0, 1.0])


@pytest.mark.parametrize(
    ("length_mm", "offset_mm", "matched"),
    [(0.3, 0.45, True), (0.3, 0.6, False), (2.0, 0.9, True), (2.0, 1.1, False)],
    ids=["small-0.45mm", "small-0.6mm", "long-0.9mm", "long-1.1mm"],
)
def test_calcification_tolerance_grows_with_length(tmp_path, length_mm, offset_mm, matched):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE, length_mm=length_mm)])])
    run = write_predictions(
        tmp_path / "run", ["a.dcm"], calcifications=[found_speck("a.dcm", 0, 1000, 1000 - offset_mm / 0.07)]
    )
    result = evaluate(truth, run, n_bootstrap=0).calcifications
    assert result.n_matched_members == int(matched)
    assert result.n_false_positives == int(not matched)


def test_calcification_froc_at_one_and_ten_false_positives_per_image(tmp_path):
    # Scores: A .9, FP .8, FP .7, 8 FPs .6, B .5, FP .4 on one image.
    truth = write_truth(tmp_path, [image("a.dcm", isolated=[(100, 100), (900, 900)])])
    scores = [0.8, 0.7] + [0.6] * 8 + [0.4]
    specks = [found_speck("a.dcm", 0, 100, 100, 0.9), found_speck("a.dcm", 1, 900, 900, 0.5)]
    specks += [found_speck("a.dcm", k + 2, 400 + 20 * k, 500, s) for k, s in enumerate(scores)]
    run = write_predictions(tmp_path / "run", ["a.dcm"], calcifications=specks)
    result = evaluate(truth, run, n_bootstrap=0).calcifications
    assert [(p.max_fp_per_image, p.sensitivity, p.threshold) for p in result.operating_points] == [
        (1.0, 0.5, 0.8), (10.0, 1.0, 0.5),
    ]
    assert (result.sensitivity, result.fp_per_image) == (1.0, 11.0)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_other_truth_format_version_is_refused(tmp_path):
    with pytest.raises(EvaluationError, match="format_version 2 is not supported"):
        read_truth(write_truth(tmp_path, [image("a.dcm")], format_version=2))


def test_unknown_category_is_refused(tmp_path):
    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE, category="malignant")])])
    with pytest.raises(EvaluationError, match="'malignant' is not one of suspicious, benign"):
        read_truth(truth)


def test_folder_without_tables_is_refused(tmp_path):
    with pytest.raises(EvaluationError, match="images.csv: not found"):
        load_predictions(tmp_path)


def test_unknown_status_is_refused(tmp_path):
    run = write_predictions(tmp_path / "run", ["a.dcm"], status={"a.dcm": "skipped"})
    with pytest.raises(EvaluationError, match="status must be 'ok' or 'error'; got 'skipped'"):
        load_predictions(run)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"margin_mm": -1.0}, "margin_mm must be a finite number >= 0; got -1.0"),
        ({"calc_tolerance_mm": math.nan}, "calc_tolerance_mm must be a finite number >= 0"),
        ({"fp_rates": ()}, "fp_rates must be one or more"),
        ({"n_bootstrap": -5}, "n_bootstrap must be an integer >= 0"),
    ],
    ids=["margin", "tolerance", "fp-rates", "bootstrap"],
)
def test_bad_options_are_refused(truth_set, tmp_path, options, message):
    run = predictions_from_truth(truth_set, tmp_path / "oracle")
    with pytest.raises(ValueError, match=message):
        evaluate(truth_set, run, **options)


@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
def test_bootstrap_equals_resampling_images_by_hand(seed):
    # Oracle for the vectorised bootstrap: the FROC of explicitly resampled images.
    rng = np.random.default_rng(seed)
    n_images = 12
    detected_at = rng.choice([-np.inf, 0.1, 0.3, 0.5, 0.9], size=20)
    truth_image = rng.integers(0, n_images, size=20)
    fp_scores = rng.choice([0.0, 0.2, 0.5, 0.8], size=25)
    fp_image = rng.integers(0, n_images, size=25)
    rates = (0.25, 1.0, 2.0)
    fast = bootstrap_sensitivity(
        detected_at, truth_image, fp_scores, fp_image, n_images,
        fp_rates=rates, n_bootstrap=50, rng=np.random.default_rng(seed + 10),
    )
    draws = np.random.default_rng(seed + 10).integers(0, n_images, size=(50, n_images))
    slow = [
        [froc_curve(
            np.concatenate([detected_at[truth_image == i] for i in draw]),
            np.concatenate([fp_scores[fp_image == i] for i in draw]),
            n_images,
        ).sensitivity_at(rate) for rate in rates]
        for draw in draws
    ]
    np.testing.assert_allclose(fast, slow)


# ---------------------------------------------------------------------------
# Description: confusion matrices, benign recognition, score AUC
# ---------------------------------------------------------------------------


def test_oracle_descriptions_agree_perfectly(truth_set, tmp_path):
    run = predictions_from_truth(truth_set, tmp_path / "oracle")
    d = evaluate(truth_set, run, n_bootstrap=0).clusters.description
    assert d.distribution.accuracy == d.morphology.accuracy == 1.0
    assert np.count_nonzero(d.morphology.counts - np.diag(np.diag(d.morphology.counts))) == 0
    assert "morphology (rows truth, columns predicted)" in format_summary(evaluate(truth_set, run, n_bootstrap=0))


def test_summary_of_clusters_whose_truth_gives_no_distribution(tmp_path):
    # Popcorn is judged one by one: the truth gives it no distribution, only a morphology.
    popcorn = cluster(0, SQUARE, category="benign")
    popcorn["distribution"], popcorn["morphology"] = None, "coarse"
    truth = write_truth(tmp_path, [image("synth_0000.dcm", [popcorn])])
    result = evaluate(truth, predictions_from_truth(truth, tmp_path / "oracle"), n_bootstrap=0)
    text = format_summary(result)
    assert "Description of the 1 detected truth clusters" in text
    assert "distribution over the 0 whose truth gives one" in text
    assert result.clusters.description.morphology.accuracy == 1.0


def test_confusion_counts_the_best_match_of_each_truth_cluster():
    from calcdetect.evaluate import ClusterMatch, describe_agreement

    def match(truth_id, predicted_id, confidence, predicted_morphology, truth_morphology="fine_pleomorphic",
              category="suspicious", cnr=12.0, score=None, n_true=3, n_members=4, truth_distribution="grouped"):
        return ClusterMatch(
            image_id="a.dcm", truth_cluster_id=truth_id, predicted_cluster_id=predicted_id,
            score=confidence if score is None else score, confidence=confidence, distance_mm=0.0,
            truth_category=category, truth_distribution=truth_distribution, truth_morphology=truth_morphology,
            predicted_distribution="grouped", predicted_morphology=predicted_morphology, truth_cnr=cnr,
            n_true_members=n_true, n_members=n_members,
        )

    d = describe_agreement([
        match(0, 0, 0.9, "fine_pleomorphic", score=0.1), match(0, 1, 0.2, "punctate", score=0.9),  # most confident
        match(1, 2, 0.8, "punctate", cnr=4.0),                            # wrong, and not clear
        match(2, 3, 0.3, "vascular", truth_morphology="vascular", category="benign"),
        match(3, 4, 0.4, None, truth_morphology="skin", category="benign"),
        # Truth 4 is hit by prediction 5, holding 3 of its calcifications, and by the more
        # confident prediction 2, holding none (its centre falls in truth 4's hull): 5 counts.
        match(4, 5, 0.5, "vascular", truth_morphology="vascular", category="benign"),
        match(4, 2, 0.8, "punctate", truth_morphology="vascular", category="benign", n_true=0),
        # Truth 5 (a diffuse scatter) is hit by prediction 6, a confident group of another
        # truth holding 2 of the scatter's specks among its 12, and by prediction 7, a chance
        # group of 3 of them: 7 counts.
        match(5, 6, 0.9, "fine_pleomorphic", truth_morphology="punctate", category="benign", n_true=2,
              n_members=12),
        match(5, 7, 0.3, "punctate", truth_morphology="punctate", category="benign", n_true=3, n_members=3),
        # Truth 6 is hit only by a prediction holding 1 of its calcifications: left out, counted
        # apart; truth 7 by one without a member list (no calcifications table): taken as it is.
        match(6, 8, 0.7, "punctate", n_true=1, n_members=5),
        match(7, 9, 0.6, "fine_pleomorphic", n_true=0, n_members=0),
        # Truth 8, secretory rods given no distribution: its morphology counts, no distribution.
        match(8, 10, 0.9, "large_rodlike", truth_morphology="large_rodlike", category="benign", score=0.05,
              truth_distribution=None),
    ])
    assert d.n_without_members == 1
    assert d.distribution.n == 7
    assert d.distribution.accuracy == 1.0
    assert d.distribution_clear.n == 6
    assert d.morphology.n == 8
    assert d.morphology.accuracy == pytest.approx(6 / 8)
    assert d.morphology_clear.n == 7
    assert d.benign_recognised == pytest.approx(4 / 5)
    # Suspicion 0.1 is above only the benign 0.05 (of 0.05, 0.3, 0.3, 0.4, 0.5); 0.6 and 0.8 above all.
    assert d.score_auc == pytest.approx(11 / 15)
    assert "(none)" in d.morphology.labels


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("margin_mm", "found"), [(2.0, 1.0), (0.5, 0.0)], ids=["within-margin", "outside-margin"])
def test_evaluate_truth_on_the_command_line_plots_and_takes_the_margin(tmp_path, margin_mm, found):
    pytest.importorskip("matplotlib")
    from calcdetect.cli import main

    truth = write_truth(tmp_path, [image("a.dcm", [cluster(0, SQUARE)])])
    run = write_predictions(tmp_path / "run", ["a.dcm"], clusters=[found_cluster("a.dcm", 0, 1050 + 10, 1025)])
    plot, summary = tmp_path / "froc.png", tmp_path / "evaluation.json"
    assert main(["evaluate", "--truth", str(truth), "--pred", str(run), "--margin-mm", str(margin_mm),
                 "--plot", str(plot), "--json", str(summary)]) == 0  # the centre is 0.7 mm below the hull
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(summary.read_text())
    assert data["margin_mm"] == margin_mm
    assert data["clusters"]["operating_point"]["sensitivity"] == found
    band = data["clusters"]["band"]
    assert 1.0 in band["fp_per_image"] and len(band["low"]) == len(band["fp_per_image"])
