"""COCO export: loadable by pycocotools unchanged, boxes where the tables put the detections."""

import json
from pathlib import Path

import numpy as np
import pytest

from calcdetect.exports import COCO_FILE, coco_detections
from calcdetect.tables import read_table

SAMPLES = Path(__file__).parents[2] / "data" / "samples"

pycocotools = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the test extra")

@pytest.fixture(scope="module")
def run(tmp_path_factory, detect_samples):
    return detect_samples(tmp_path_factory.mktemp("coco"), ("synth_0000.dcm", "synth_0003.dcm"), "--coco", broken=True)


def test_pycocotools_loads_it_and_counts_agree(run):
    coco = pycocotools.COCO(str(run / COCO_FILE))
    images = [r for r in read_table(run, "images") if r["status"] == "ok"]
    calcifications, clusters = read_table(run, "calcifications"), read_table(run, "clusters")
    assert len(coco.getImgIds()) == len(images) == 2  # the broken file has no image entry
    assert len(coco.getAnnIds(catIds=[1])) == len(calcifications)
    assert len(coco.getAnnIds()) == len(calcifications) + len(clusters)
    for image in coco.loadImgs(coco.getImgIds()):
        row = next(r for r in images if r["image_id"] == image["calcdetect_image_id"])
        assert (image["width"], image["height"]) == (row["columns"], row["rows"])


def test_boxes_hold_the_detections_and_scores_are_the_tables(run):
    document = json.loads((run / COCO_FILE).read_text())
    names = {c["id"]: c["name"] for c in document["categories"]}
    images = {i["id"]: i["calcdetect_image_id"] for i in document["images"]}
    clusters = {(r["image_id"], r["cluster_id"]): r for r in read_table(run, "clusters")}
    found = 0
    for a in document["annotations"]:
        if names[a["category_id"]] == "calcification":
            continue
        r = clusters[(images[a["image_id"]], a["calcdetect_cluster_id"])]
        x, y, w, h = a["bbox"]
        # COCO's origin is the pixel's corner, calcdetect's its centre.
        assert x <= r["col"] + 0.5 <= x + w and y <= r["row"] + 0.5 <= y + h
        assert x <= r["col_min"] + 0.5 and r["col_max"] + 0.5 <= x + w
        assert names[a["category_id"]] == r["morphology"] and a["score"] == pytest.approx(r["score"])
        found += 1
    assert found == len(clusters) >= 2


def test_detections_scored_against_themselves_give_ap_1(run, capsys):
    """A round trip through COCO's own evaluation: as results, the file matches itself exactly."""
    from pycocotools.cocoeval import COCOeval

    truth = pycocotools.COCO(str(run / COCO_FILE))
    results = truth.loadRes([{k: v for k, v in a.items() if k != "id"} for a in truth.dataset["annotations"]])
    evaluation = COCOeval(truth, results, "bbox")
    evaluation.params.catIds = [1]
    evaluation.params.areaRng = [[0, 1e10]] * 4
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_image_coordinates_follow_coco(run):
    """Every calcification's box is centred on its centroid, shifted to COCO's pixel-corner origin."""
    document = coco_detections(run)
    images = {i["id"]: i["calcdetect_image_id"] for i in document["images"]}
    boxes = [(images[a["image_id"]], a["bbox"]) for a in document["annotations"] if a["category_id"] == 1]
    calcifications = read_table(run, "calcifications")
    assert [b[0] for b in boxes] == [r["image_id"] for r in calcifications]
    for (_, (x, y, w, h)), r in zip(boxes, calcifications):
        np.testing.assert_allclose([x + w / 2, y + h / 2], [r["col"] + 0.5, r["row"] + 0.5], atol=2e-3)
        assert w == pytest.approx(h) and w >= 1.0  # the square round the major axis (square pixels here)


def test_an_undescribed_cluster_is_no_birads_claim(tmp_path, detect_samples):
    from calcdetect.exports.coco import UNDESCRIBED

    out = detect_samples(tmp_path, ("synth_0000.dcm",))
    path = out / "clusters.csv"
    text = path.read_text().splitlines()
    header = text[0].split(",")
    rows = [line.split(",") for line in text[1:]]
    for row in rows:
        row[header.index("morphology")] = ""
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n")
    document = coco_detections(out)
    names = {c["id"]: c["name"] for c in document["categories"]}
    clusters = [a for a in document["annotations"] if a["category_id"] != 1]
    assert clusters and all(names[a["category_id"]] == UNDESCRIBED for a in clusters)
