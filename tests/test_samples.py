"""The bundled samples: reproducible, and the whole pipeline finds what they hold."""

import json
from pathlib import Path

import pytest

from calcdetect.cli import main
from calcdetect.evaluate import evaluate
from calcdetect.lexicon import SUSPICIOUS_MORPHOLOGIES, Assessment
from calcdetect.tables import read_table
from calcdetect.synth import SynthSettings, make_set

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_samples_regenerate_byte_for_byte(tmp_path):
    # The command in data/samples/README.md.
    make_set(tmp_path, n=5, seed=12, settings=SynthSettings(scale=0.25))
    for name in sorted(p.name for p in tmp_path.iterdir()):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_main_job_on_samples_finds_the_planted_clusters(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", str(SAMPLES), "--out", str(out), "--jobs", "2"]) == 0  # the default on 2 cores
    assert main(["evaluate", "--truth", str(SAMPLES / "truth.json"), "--pred", str(out),
                 "--json", str(tmp_path / "evaluation.json")]) == 0
    printed = capsys.readouterr().out
    assert "5 images: 5 ok, 0 failed" in printed
    result = evaluate(SAMPLES / "truth.json", out, n_bootstrap=0)
    truth = json.loads((SAMPLES / "truth.json").read_text())
    assert result.n_images == len(truth["images"]) == 5
    # A regression guard, not the headline number (that is measured on 40 full-size images).
    assert result.clusters.operating_point.sensitivity >= 0.75
    assert result.clusters.operating_point.fp_per_image <= 1.0
    assert json.loads((tmp_path / "evaluation.json").read_text())["clusters"]["n_truth"] == result.clusters.n_truth
    # The breast areas the run records give the calcification FP rate per cm^2: each breast is
    # most of its image, never more.
    images = read_table(out, "images")
    image_cm2 = [im["rows"] * im["columns"] * im["spacing_mm"] * im["column_spacing_mm"] / 100 for im in images]
    assert all(0.3 * full < im["breast_area_mm2"] / 100 <= full for im, full in zip(images, image_cm2))
    assert result.calcifications.breast_cm2 == pytest.approx(sum(im["breast_area_mm2"] for im in images) / 100)
    assert [rate for rate, _ in result.calcifications.per_cm2] == [0.01, 0.05, 0.1]
    # Each image's BI-RADS category is its clusters' highest; the planted suspicious groups are 4A or above.
    clusters = read_table(out, "clusters")
    order = [str(a) for a in Assessment]
    for image in read_table(out, "images"):
        own = [c["birads_category"] for c in clusters if c["image_id"] == image["image_id"]]
        assert image["birads_category"] == (max(own, key=order.index) if own else "1")
    planted = {(im["image_id"], str(c["category"])) for im in truth["images"] for c in im["clusters"]}
    suspicious = {image for image, category in planted if category == "suspicious"}
    assert suspicious
    assert all(order.index(c["birads_category"]) >= order.index("4A") for c in clusters
               if c["image_id"] in suspicious and c["morphology"] in {str(m) for m in SUSPICIOUS_MORPHOLOGIES})


@pytest.mark.parametrize("name", ["synth_0000.dcm", "truth.json"], ids=["dicom", "truth"])
def test_samples_are_small(name):
    assert (SAMPLES / name).stat().st_size < 1_500_000
