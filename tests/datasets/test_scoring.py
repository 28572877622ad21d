"""Lesion-level FROC on hand-made data sets whose answer is known."""

import csv
import json
import math

import numpy as np
import pytest

from calcdetect.cli import main
from calcdetect.truth import CircleRegion, Lesion, LesionImage, MaskRegion, PolygonRegion, WholeImage
from calcdetect.datasets.scoring import score_lesions
from calcdetect.errors import EvaluationError
from calcdetect.evaluate import load_predictions
from calcdetect.tables import CALCIFICATION_COLUMNS, CLUSTER_COLUMNS, IMAGE_COLUMNS

SPACING = (0.2, 0.2)


def _run(folder, clusters, *, status=None, images=None, spacing_mm=None):
    """A run's tables: `clusters` maps image ids to [(row, col, score), ...]."""
    folder.mkdir(exist_ok=True)
    status = status or {}
    ids = images or list(clusters)
    for name, columns, rows in (
        ("images", IMAGE_COLUMNS, [{"image_id": i, "path": i, "status": status.get(i, "ok"),
                                    "spacing_mm": spacing_mm or ""} for i in ids]),
        ("clusters", CLUSTER_COLUMNS, [{"image_id": i, "cluster_id": k, "row": r, "col": c, "score": s,
                                        "confidence": s, **dict(zip(("morphology", "distribution", "birads_category"),
                                                                    described))}
                                       for i, found in clusters.items()
                                       for k, (r, c, s, *described) in enumerate(found)]),
        ("calcifications", CALCIFICATION_COLUMNS, []),
    ):
        with open(folder / f"{name}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
    return load_predictions(folder)


def _image(image_id, patient, *lesions):
    return LesionImage(image_id=image_id, path=image_id, patient_id=patient, spacing=SPACING,
                       lesions=tuple(Lesion(f"{image_id}:{k}", region, attributes)
                                     for k, (region, attributes) in enumerate(lesions)))


IMAGES = (
    _image("a1.pgm", "A", (CircleRegion((50.0, 50.0), 10.0), {"severity": "M"})),
    _image("a2.pgm", "A", (PolygonRegion(np.array([[100.0, 100.0], [100.0, 120.0], [120.0, 120.0], [120.0, 100.0]])),
                           {"severity": "B"})),
    _image("b.pgm", "B"),                                                           # normal
    _image("c.pgm", "C", (WholeImage(), {"severity": "M"})),
)
CLUSTERS = {
    "a1.pgm": [(55.0, 50.0, 0.9)],                       # inside the circle
    "a2.pgm": [(110.0, 127.5, 0.6), (300.0, 300.0, 0.8)],  # 1.5 mm right of the outline (margin 2 mm); far away
    "b.pgm": [(40.0, 40.0, 0.7)],
    "c.pgm": [(10.0, 10.0, 0.3)],                        # anywhere finds a widespread lesion
}


def test_froc_of_a_known_set(tmp_path):
    result = score_lesions(IMAGES, _run(tmp_path / "run", CLUSTERS), n_bootstrap=0, breakdowns=("severity",))
    assert (result.n_images, result.n_normal, result.n_lesions, result.n_patients) == (4, 1, 3, 3)
    # Thresholds 0.9 (hit), 0.8 (FP), 0.7 (FP), 0.6 (hit), 0.3 (hit) over 4 images.
    assert result.froc.fp_per_image.tolist() == [0.0, 0.25, 0.5, 0.5, 0.5]
    assert result.froc.sensitivity.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3, 1.0])
    assert [p.sensitivity for p in result.operating_points] == pytest.approx([1 / 3, 1 / 3, 1.0, 1.0, 1.0])
    assert result.cpm == pytest.approx((2 / 3 + 5) / 7)
    assert result.pauc == pytest.approx((0.25 / 3 + 0.25 / 3 + 1.5) / 2)
    assert math.isnan(result.interval[0])
    assert [(g.name, g.n_truth, g.n_detected) for g in result.breakdowns["severity"]] == [("B", 1, 1), ("M", 2, 2)]


def test_margin_decides_a_near_miss(tmp_path):
    run = _run(tmp_path / "run", CLUSTERS)
    assert score_lesions(IMAGES, run, margin_mm=1.0, n_bootstrap=0).froc.sensitivity[-1] == pytest.approx(2 / 3)


def test_missing_and_failed_images_count_their_lesions_as_missed(tmp_path):
    clusters = {k: v for k, v in CLUSTERS.items() if k != "c.pgm"}
    run = _run(tmp_path / "run", clusters, status={"a1.pgm": "error"}, images=["a1.pgm", "a2.pgm", "b.pgm"])
    result = score_lesions(IMAGES, run, n_bootstrap=0)
    assert result.missing_ids == ("c.pgm",) and result.n_failed == 1
    assert result.froc.sensitivity[-1] == pytest.approx(1 / 3)


def test_patient_bootstrap_brackets_the_estimate_and_repeats_with_its_seed(tmp_path):
    rng = np.random.default_rng(11)
    images, clusters = [], {}
    for k in range(30):
        image_id = f"i{k}.pgm"
        images.append(_image(image_id, f"P{k // 2}", (CircleRegion((100.0, 100.0), 10.0), {})))
        found = [(100.0, 100.0, rng.uniform(0.3, 1.0))] if rng.random() < 0.7 else []
        clusters[image_id] = found + [(400.0, 400.0, rng.uniform(0, 1))]
    run = _run(tmp_path / "run", clusters)
    first = score_lesions(images, run, n_bootstrap=300, seed=3)
    estimate = first.operating_points[3].sensitivity
    assert first.n_patients == 15
    assert first.interval[0] <= estimate <= first.interval[1] and first.interval[0] < first.interval[1]
    assert score_lesions(images, run, n_bootstrap=300, seed=3).interval == first.interval
    rates, low, high = first.band
    assert np.all(low <= high) and (low[rates.index(1.0)], high[rates.index(1.0)]) == first.interval


def test_a_mask_region_measures_distance_in_mm():
    mask = np.zeros((200, 100), bool)
    mask[50:60, 40:50] = True
    region = MaskRegion(lambda: mask)
    distance = region.distance_mm(np.array([[55.0, 45.0], [55.0, 54.0], [190.0, 5.0], [55.0, 49.0]]), (0.1, 0.1))
    assert distance[0] == 0.0 and distance[3] == 0.0
    assert distance[1] == pytest.approx(0.5, abs=0.02)
    assert distance[2] > 10.0


def test_a_run_of_another_set_or_a_set_without_lesions_is_refused(tmp_path):
    with pytest.raises(EvaluationError, match="have no image in common"):
        score_lesions(IMAGES, _run(tmp_path / "run", {"x.pgm": []}), n_bootstrap=0)
    with pytest.raises(EvaluationError, match="holds no lesion to find"):
        score_lesions((_image("b.pgm", "B"),), _run(tmp_path / "run2", {"b.pgm": []}), n_bootstrap=0)


@pytest.mark.parametrize(("args", "match"), [
    (["--truth", "t.json", "--split", "test"], "--split applies to --dataset only"),
    (["--dataset", "mini-mias", ".", "--overlays"], "--overlays applies to --truth only"),
    (["--dataset", "mini-mias", ".", "--split", "test"], "--split applies to --dataset cbis-ddsm only"),
    (["--dataset", "ddsm", "."], "--dataset NAME must be one of cbis-ddsm, inbreast, mini-mias"),
], ids=["split-with-truth", "overlays-with-dataset", "split-with-mias", "unknown-name"])
def test_options_that_do_not_apply_are_refused(tmp_path, capsys, args, match):
    assert main(["evaluate", *args, "--pred", str(tmp_path)]) == 2
    assert match in capsys.readouterr().err


def test_evaluate_dataset_on_the_command_line(tmp_path, capsys):
    root = tmp_path / "mias"
    root.mkdir()
    (root / "Info.txt").write_text("mdb209 G CALC M 40 10 6\nmdb210 G NORM\n")
    for name in ("mdb209", "mdb210"):
        image = np.random.default_rng(1).integers(30, 60, (64, 48)).astype(np.uint8)
        (root / f"{name}.pgm").write_bytes(b"P5\n48 64\n255\n" + image.tobytes())
    # The calcification at x 40, y 10 from the bottom-left corner is row 53, col 40.
    _run(tmp_path / "run", {"mdb209.pgm": [(53.0, 41.0, 0.9)], "mdb210.pgm": [(10.0, 10.0, 0.5)]}, spacing_mm=0.2)
    code = main(["evaluate", "--dataset", "mini-mias", str(root), "--pred", str(tmp_path / "run"), "--sweep", "score",
                 "--json", str(tmp_path / "lesions.json"), "--plot", str(tmp_path / "froc.png")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Data set: mini-mias" in printed and "at 0.1: 1.000, 0.25: 1.000" in printed
    summary = json.loads((tmp_path / "lesions.json").read_text())
    assert summary["n_lesions"] == 1 and summary["bootstrap_unit"] == "patient"
    assert [p["sensitivity"] for p in summary["operating_points"]] == [1.0] * 5
    assert (tmp_path / "froc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_descriptors_assessment_and_malignancy_against_the_data_sets_words(tmp_path):
    # Three lesions as CBIS-DDSM describes them; each found by its best-scoring cluster (a
    # weaker one beside it says otherwise), the third missed.
    def lesion(morphology, distribution, assessment, pathology):
        return CircleRegion((50.0, 50.0), 10.0), {"morphology": morphology, "distribution": distribution,
                                                  "assessment": assessment, "pathology": pathology}

    images = (_image("m.dcm", "A", lesion("fine_pleomorphic", "grouped", "4", "MALIGNANT")),
              _image("b.dcm", "B", lesion("punctate", "grouped", "2", "BENIGN")),
              _image("c.dcm", "C", lesion("amorphous", "", "4", "BENIGN")))
    clusters = {"m.dcm": [(50.0, 50.0, 0.9, "fine_pleomorphic", "grouped", "4C"),
                          (52.0, 50.0, 0.2, "punctate", "diffuse", "3")],
                "b.dcm": [(50.0, 50.0, 0.4, "fine_pleomorphic", "grouped", "4B")],
                "c.dcm": [(300.0, 300.0, 0.1, "amorphous", "grouped", "4A")]}
    result = score_lesions(images, _run(tmp_path / "run", clusters), n_bootstrap=0)
    morphology, distribution, assessment = (result.agreement[n] for n in ("morphology", "distribution", "assessment"))
    assert (morphology.n, morphology.accuracy) == (2, 0.5)       # pleomorphic right, punctate called pleomorphic
    assert (distribution.n, distribution.accuracy) == (2, 1.0)
    assert assessment.labels == ("2", "4") and assessment.counts.tolist() == [[0, 1], [0, 1]]
    # Malignant 0.9 against benign 0.4 and a missed 0.0: AUC 1.
    assert result.malignancy_auc == 1.0
    assert "malignancy ROC AUC of the score (MALIGNANT against BENIGN): 1.000" in result.summary()


def test_a_mask_with_oblong_pixels_and_a_wide_reach():
    mask = np.zeros((400, 400), bool)
    mask[50:60, 40:50] = True
    region = MaskRegion(lambda: mask)
    # 11 px to the right at 0.2 mm per column: 2.2 mm (the pixel edge at 10.5 px: 2.0-2.2 mm).
    assert region.distance_mm(np.array([[55.0, 60.0]]), (0.1, 0.2))[0] == pytest.approx(2.2, abs=0.01)
    far = np.array([[55.0, 300.0]])  # 251 px beyond the last mask column: 25.1 mm at 0.1 mm
    assert math.isinf(region.distance_mm(far, (0.1, 0.1))[0])
    assert region.distance_mm(far, (0.1, 0.1), reach_mm=30.0)[0] == pytest.approx(25.1, abs=0.01)


def test_one_patient_gives_no_interval_and_excluded_or_resized_images_are_handled(tmp_path):
    run = _run(tmp_path / "run", CLUSTERS)
    one = [LesionImage(**{**vars(i), "patient_id": "A"}) for i in IMAGES]
    assert all(math.isnan(v) for v in score_lesions(one, run, n_bootstrap=50).interval)
    left_out = [LesionImage(**{**vars(IMAGES[0]), "excluded": "a lesion could not be read"}), *IMAGES[1:]]
    result = score_lesions(left_out, run, n_bootstrap=0)
    assert result.excluded == (("a1.pgm", "a lesion could not be read"),) and result.n_images == 3
    resized = [LesionImage(**{**vars(i), "shape": (100, 100)}) for i in IMAGES]
    sized = _run(tmp_path / "sized", CLUSTERS)
    sized.images["a1.pgm"] = type(sized.images["a1.pgm"])(**{**vars(sized.images["a1.pgm"]), "shape": (200, 100)})
    with pytest.raises(EvaluationError,
                       match=r"differ in size .* 'a1.pgm': 100 x 100 in the truth, 200 x 100 in the run"):
        score_lesions(resized, sized, n_bootstrap=0)


def test_the_bootstrap_statistic_counts_a_patients_images_together():
    # Patient 0: two images, one lesion found at 0.9 and a FP at 0.8; patient 1: one image, a
    # lesion missed and a FP at 0.5. Drawn as patients (2, 0): 1 lesion of 2 (weight 2) found
    # with 1 FP per image (2 FP / 4 images) -> at 1 FP/image 1.0 (both copies found).
    from calcdetect.evaluate import WeightedSensitivity

    at = WeightedSensitivity((0.25, 1.0), np.array([0.9, -np.inf]), np.array([0, 1]), np.array([0.8, 0.5]),
                        np.array([0, 1]), np.array([0, 0, 1]))
    assert at(np.array([1, 1])).tolist() == [0.5, 0.5]   # 3 images: FP 1/3 at 0.8, 2/3 at 0.5
    assert at(np.array([2, 0])).tolist() == [1.0, 1.0]   # 4 images, 2 FP: 0.5 FP/image at 0.8
    assert at(np.array([0, 2])).tolist() == [0.0, 0.0]


def test_a_run_at_another_spacing_than_the_data_set_is_refused(tmp_path):
    with pytest.raises(EvaluationError, match="run detect again with --spacing-mm 0.2"):
        score_lesions(IMAGES, _run(tmp_path / "run", CLUSTERS, spacing_mm=0.05), n_bootstrap=0)


def _typed_rows(clusters):
    """The hand-made run's rows, typed as a run writes them."""
    images = [{"image_id": i, "path": i, "status": "ok"} for i in clusters]
    rows = [{"image_id": i, "cluster_id": k, "row": r, "col": c, "score": s, "confidence": s}
            for i, found in clusters.items() for k, (r, c, s) in enumerate(found)]
    return images, rows


def test_a_parquet_run_scores_as_its_csv_twin(tmp_path):
    from calcdetect.tables import write_table

    images, rows = _typed_rows(CLUSTERS)
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        write_table(folder, "images", images, format=fmt)
        write_table(folder, "clusters", rows, format=fmt)
        write_table(folder, "calcifications", [], format=fmt)
    results = [score_lesions(IMAGES, load_predictions(tmp_path / fmt), n_bootstrap=200, breakdowns=("severity",))
               for fmt in ("csv", "parquet")]
    assert (tmp_path / "parquet" / "clusters.parquet").is_file()
    assert not (tmp_path / "parquet" / "clusters.csv").exists()
    assert results[0].to_dict() == results[1].to_dict()


@pytest.mark.parametrize("region", [CircleRegion((100.0, 100.0), 10.0),
                                   PolygonRegion(np.array([[90.0, 90.0], [90.0, 110.0], [110.0, 110.0]])),
                                   MaskRegion(lambda: np.pad(np.ones((20, 20), bool), ((90, 290), (90, 290))))],
                         ids=["circle-mini-mias", "outline-inbreast", "mask-cbis-ddsm"])
def test_perfect_predictions_find_everything_and_shifted_ones_nothing(tmp_path, region):
    images = [_image(f"i{k}.pgm", f"P{k}", (region, {})) for k in range(4)]
    perfect = _run(tmp_path / "perfect", {f"i{k}.pgm": [(100.0, 100.0, 0.9)] for k in range(4)})
    result = score_lesions(images, perfect, n_bootstrap=0)
    assert (result.froc.sensitivity[-1], result.froc.fp_per_image[-1]) == (1.0, 0.0)
    # 6 mm (30 px at 0.2 mm) beyond every region's edge: outside the 2 mm margin.
    shifted = _run(tmp_path / "shifted", {f"i{k}.pgm": [(100.0, 140.0, 0.9)] for k in range(4)})
    result = score_lesions(images, shifted, n_bootstrap=0)
    assert (result.froc.sensitivity[-1], result.froc.fp_per_image[-1]) == (0.0, 1.0)


def test_patient_intervals_narrow_with_more_patients(tmp_path):
    def interval_width(n_patients):
        rng = np.random.default_rng(5)
        images, clusters = [], {}
        for k in range(2 * n_patients):
            image_id = f"i{k}.pgm"
            images.append(_image(image_id, f"P{k // 2}", (CircleRegion((100.0, 100.0), 10.0), {})))
            clusters[image_id] = ([(100.0, 100.0, rng.uniform(0.3, 1.0))] if rng.random() < 0.7 else []) + \
                [(400.0, 400.0, rng.uniform(0, 1))]
        low, high = score_lesions(images, _run(tmp_path / f"n{n_patients}", clusters), n_bootstrap=400).interval
        return high - low

    assert interval_width(80) < interval_width(10)


def test_marked_calcifications_are_scored_per_image_and_per_cm2_of_breast(tmp_path):
    from calcdetect.datasets.scoring import score_calcifications

    images = [LesionImage(**{**vars(_image(f"i{k}.dcm", f"P{k}")), "calcifications": np.array(points, float)})
              for k, points in enumerate([[(10, 10), (20, 20)], [(30, 30)]])]
    run = tmp_path / "run"
    run.mkdir()
    (run / "images.csv").write_text("image_id,path,status,breast_area_mm2\ni0.dcm,,ok,5000\ni1.dcm,,ok,5000\n")
    (run / "clusters.csv").write_text("image_id,cluster_id,row,col,score\n")
    # 0.2 mm off: matched; elsewhere: a false positive; 0.6 mm off (beyond 0.5 mm): a false positive.
    (run / "calcifications.csv").write_text("image_id,calc_id,cluster_id,row,col,score\n"
                                            "i0.dcm,0,-1,10,11,0.9\ni0.dcm,1,-1,50,50,0.8\ni1.dcm,0,-1,30,33,0.7\n")
    result = score_calcifications(images, load_predictions(run))
    assert (result.n_truth, result.n_matched, result.n_false_positives) == (3, 1, 2)
    assert result.froc.fp_per_image.tolist() == [0.0, 0.5, 1.0]
    assert [p.sensitivity for p in result.operating_points] == pytest.approx([1 / 3, 1 / 3])
    assert result.breast_cm2 == 100.0
    # 0.01 FP/cm^2 of 100 cm^2 over 2 images is 0.5 FP/image.
    assert [rate for rate, _ in result.per_cm2] == [0.01, 0.05, 0.1]
    assert result.per_cm2[0][1] == pytest.approx(1 / 3)
    assert score_calcifications(IMAGES, load_predictions(run)) is None  # no marks: nothing to score


SQUARE_10 = PolygonRegion(np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0]]))
AROUND = PolygonRegion(np.array([[-50.0, -50.0], [-50.0, 60.0], [60.0, 60.0], [60.0, -50.0]]))


@pytest.mark.parametrize(("regions", "centres", "ranking", "expected"), [
    ([SQUARE_10], [(5, 5), (2, 2)], [0.3, 0.9], [1]),                       # a lone lesion: its best finder
    ([WholeImage()], [(5, 5), (400, 400)], [0.2, 0.7], [1]),                 # no place: its best finder
    ([AROUND, SQUARE_10], [(5, 5), (-40, -40)], [0.9, 0.1], [1, 0]),        # one drawn round another
    ([AROUND, SQUARE_10], [(5, 5)], [0.9], [0, 0]),                          # one cluster for two: both use it
    ([SQUARE_10, PolygonRegion(np.array([[4.0, 4.0], [4.0, 14.0], [14.0, 14.0], [14.0, 4.0]]))],
     [(9, 9), (5, 5)], [0.9, 0.8], [1, 0]),                                  # overlapping: nearest pairs
], ids=["lone-lesion", "whole-image", "nested", "one-cluster-two-lesions", "overlapping"])
def test_each_lesion_is_described_by_its_own_cluster(regions, centres, ranking, expected):
    from calcdetect.datasets.scoring import describing_clusters

    image = _image("a.pgm", "A", *((region, {}) for region in regions))
    centres = np.array(centres, float)
    hits = np.array([region.distance_mm(centres, SPACING) <= 2.0 for region in regions])
    assert describing_clusters(hits, np.array(ranking), centres, image).tolist() == expected


def test_the_band_holds_every_reported_rate():
    from calcdetect.datasets.scoring import FP_RATES
    from calcdetect.evaluate.froc import BAND_FP_RATES, OPERATING_FP_PER_IMAGE

    assert set(FP_RATES) | {OPERATING_FP_PER_IMAGE} <= set(BAND_FP_RATES)
