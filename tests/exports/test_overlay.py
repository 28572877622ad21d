"""Overlays: the pictures show the detections where the tables put them."""

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from calcdetect.cli import main
from calcdetect.exports.overlay import (
    CALCIFICATION_COLOUR,
    OVERVIEW_PX,
    TRUTH_COLOUR,
    TruthOutline,
    draw_overview,
    safe_name,
    suspicion_colour,
    truth_outlines,
    window,
)
from calcdetect.io import read_mammogram
from calcdetect.tables import read_table

SAMPLES = Path(__file__).parents[2] / "data" / "samples"

@pytest.fixture(scope="module")
def run(tmp_path_factory, detect_samples):
    return detect_samples(tmp_path_factory.mktemp("overlay"), ("synth_0000.dcm", "synth_0003.dcm"), "--overlays")


def _near(picture, row, col, colour, radius):
    r0, c0 = max(0, int(row) - radius), max(0, int(col) - radius)
    patch = picture[r0 : int(row) + radius + 1, c0 : int(col) + radius + 1]
    return np.all(patch == np.array(colour, np.uint8), axis=-1).any()


@pytest.mark.parametrize("name", ["synth_0000.dcm", "synth_0003.dcm"], ids=["cc", "mlo"])
def test_overview_marks_every_calcification_and_outlines_every_cluster(run, name):
    image = read_mammogram(SAMPLES / name).image
    picture = cv2.imread(str(run / "overlays" / f"{name}.png"))
    scale = min(1.0, OVERVIEW_PX / max(image.shape))  # the samples are smaller: kept as they are
    assert picture.shape[:2] == tuple(round(n * scale) for n in image.shape)
    clusters = [r for r in read_table(run, "clusters") if r["image_id"] == name]
    calcifications = [r for r in read_table(run, "calcifications") if r["image_id"] == name]
    assert clusters
    for c in calcifications:
        assert _near(picture, c["row"] * scale, c["col"] * scale, CALCIFICATION_COLOUR, 5)
    for cluster in clusters:
        members = [c for c in calcifications if c["cluster_id"] == cluster["cluster_id"]]
        colour = suspicion_colour(cluster["score"])
        # the hull runs round the members, a few pixels out: some member has the outline near it
        assert any(_near(picture, m["row"] * scale, m["col"] * scale, colour, 14) for m in members)


def test_a_crop_per_cluster_at_native_resolution(run):
    for cluster in read_table(run, "clusters"):
        crop = cv2.imread(str(run / "overlays" / f"{cluster['image_id']}.cluster{cluster['cluster_id']}.png"))
        spacing = next(r["spacing_mm"] for r in read_table(run, "images") if r["image_id"] == cluster["image_id"])
        margin = round(2.0 / spacing)
        height = int(np.ceil(cluster["row_max"])) - int(np.floor(cluster["row_min"])) + 2 * margin + 1
        assert abs(crop.shape[0] - height) <= 1  # inside the image: the box plus 2 mm each side


def test_truth_outlines_mark_hits_misses_and_false_positives(tmp_path, detect_samples):
    """Evaluate's matching decides the marks: drop a detected cluster and its truth becomes a miss."""
    out = detect_samples(tmp_path, ("synth_0000.dcm",))
    truth = SAMPLES / "truth.json"
    outlines, false_positives = truth_outlines(truth, out)
    assert outlines["synth_0000.dcm"] and all(o.hit for o in outlines["synth_0000.dcm"])
    with open(out / "clusters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(out / "clusters.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:  # move every cluster 30 mm away: misses, and false positives
            row["row"] = str(float(row["row"]) + 30 / 0.065)
            writer.writerow(row)
    outlines, false_positives = truth_outlines(truth, out)
    assert not any(o.hit for o in outlines["synth_0000.dcm"])
    assert false_positives["synth_0000.dcm"] == frozenset(range(len(rows)))
    assert main(["evaluate", "--truth", str(truth), "--pred", str(out), "--overlays"]) == 0
    picture = cv2.imread(str(out / "overlays" / "synth_0000.dcm.png"))
    assert np.all(picture == np.array(TRUTH_COLOUR, np.uint8), axis=-1).any()


def test_a_large_image_is_shrunk_to_the_overview_size():
    image = np.random.default_rng(2).normal(100, 5, (3000, 2400))
    calcification = {"row": 1500.0, "col": 1200.0, "cluster_id": -1}
    picture = draw_overview(image, [calcification], [])
    assert picture.shape[:2] == (OVERVIEW_PX, 1200)
    assert _near(picture, 750, 600, CALCIFICATION_COLOUR, 3)  # (1500 + 0.5) / 2 - 0.5


def test_a_truth_outline_is_drawn_where_its_members_are():
    image = np.random.default_rng(3).normal(100, 5, (400, 300))
    points = np.array([[100.0, 100.0], [110, 120], [125, 105]])
    picture = draw_overview(image, [], [], truth=[TruthOutline(points, "0 punctate", hit=False)])
    assert picture.shape == (400, 300, 3)  # smaller than the overview size: not enlarged
    assert _near(picture, 112, 108, TRUTH_COLOUR, 20)
    assert not _near(picture, 300, 250, TRUTH_COLOUR, 20)


@pytest.mark.parametrize(("score", "colour"), [(0.0, (0, 255, 0)), (0.5, (0, 255, 255)), (1.0, (0, 0, 255)),
                                               (None, (160, 160, 160))], ids=["0", "0.5", "1", "none"])
def test_suspicion_colours(score, colour):
    assert suspicion_colour(score) == colour


def test_window_maps_the_percentiles():
    image = np.random.default_rng(0).normal(1000, 50, (200, 200))
    shown = window(image)
    assert shown.dtype == np.uint8
    assert (shown == 0).mean() == pytest.approx(0.01, abs=0.003)
    assert (shown == 255).mean() == pytest.approx(0.002, abs=0.002)


@pytest.mark.parametrize(("image_id", "name"), [("a.dcm", "a.dcm"), ("sub/a b.dcm", "sub_a_b.dcm-"), ("../x", "x-"),
                                                 ("", "image-")],
                         ids=["plain", "folder-and-space", "parent", "empty"])
def test_safe_names(image_id, name):
    made = safe_name(image_id)
    assert made.startswith(name) and "/" not in made
    assert len(made) == len(name) + (8 if name.endswith("-") else 0)


def test_ids_that_look_alike_get_different_names():
    ids = ["sub/a b.dcm", "sub_a b.dcm", "sub_a_b.dcm", "sub/a_b.dcm"]
    assert len({safe_name(i) for i in ids}) == len(ids)


def test_pictures_are_drawn_from_another_folder_and_stale_ones_go(run, tmp_path, monkeypatch):
    """A run looked at from elsewhere finds its inputs by its recorded input root; pictures of
    clusters that are gone are removed."""
    from calcdetect.exports import write_overlays

    (run / "overlays" / "stale.cluster9.png").write_bytes(b"old")
    monkeypatch.chdir(tmp_path)  # the path column is relative to where detect ran
    written, skipped = write_overlays(run)
    assert skipped == [] and len(written) == 2 + len(read_table(run, "clusters"))
    assert not (run / "overlays" / "stale.cluster9.png").exists()


def test_an_input_gone_is_skipped_with_its_reason(run, tmp_path):
    from calcdetect.exports import write_overlays

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    images = (copy / "images.csv").read_text()
    (copy / "images.csv").write_text(images.replace("synth_0003.dcm,", "gone_0003.dcm,", 1).replace(
        "/synth_0003.dcm", "/gone_0003.dcm"))
    (copy / "run.json").write_text((copy / "run.json").read_text().replace('"input_root"', '"moved_root"'))
    written, skipped = write_overlays(copy)
    assert len(skipped) == 1 and skipped[0][0] == "gone_0003.dcm" and skipped[0][1].startswith("file not found")
