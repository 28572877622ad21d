"""DICOM SR and SEG of a run, read back with highdicom and checked against the tables."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from shapely.geometry import Point, Polygon

from calcdetect.io.dicom.derived import DISTRIBUTION_CODES, MORPHOLOGY_CODES, calcification_mask, coded
from calcdetect.lexicon import Distribution, Morphology
from calcdetect.tables import read_table

SAMPLES = Path(__file__).parents[2] / "data" / "samples"

hd = pytest.importorskip("highdicom", reason="highdicom is in the test extra (calcdetect[dicom])")

NAMES = ("synth_0000.dcm", "synth_0004.dcm")


@pytest.fixture(scope="module")
def run(tmp_path_factory, detect_samples):
    raster = {"raster.png":
              lambda path: cv2.imwrite(str(path), pydicom.dcmread(SAMPLES / "synth_0001.dcm").pixel_array)}
    return detect_samples(tmp_path_factory.mktemp("dicom"), NAMES, "--spacing-mm", "0.085", "--dicom-sr",
                          "--dicom-seg", extra=raster)


def _rows(run, table, name):
    return [r for r in read_table(run, table) if r["image_id"] == name]


@pytest.mark.parametrize("name", NAMES)
def test_sr_holds_every_cluster_as_the_tables_do(run, name):
    sr = hd.sr.srread(run / "dicom" / f"{name}.sr.dcm")
    source = pydicom.dcmread(SAMPLES / name, stop_before_pixels=True)
    clusters, calcifications = _rows(run, "clusters", name), _rows(run, "calcifications", name)
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == len(clusters) >= 1
    assert sr.PatientID == source.PatientID and sr.StudyInstanceUID == source.StudyInstanceUID
    for group, cluster in zip(groups, clusters):
        assert group.tracking_identifier == f"calcdetect cluster {cluster['cluster_id']}"
        values = {m.name.meaning: (m.value, m.unit.value) for m in group.get_measurements()}
        assert values["Number of calcifications"] == (cluster["n_calcifications"], "1")
        assert values["Diameter"][0] == pytest.approx(cluster["extent_mm"]) and values["Diameter"][1] == "mm"
        assert values["Certainty of Finding"][0] == pytest.approx(100 * cluster["confidence"], abs=1e-3)
        assert values["Probability of cancer"][0] == pytest.approx(cluster["score"], abs=1e-6)
        evaluations = {q.name.value: q.value for q in group.get_qualitative_evaluations()}
        assert evaluations["111008"] == coded(DISTRIBUTION_CODES[cluster["distribution"]])
        assert evaluations["111009"] == coded(MORPHOLOGY_CODES[cluster["morphology"]])
        region = group.roi
        assert region.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
        outline = Polygon(region.value).buffer(0.01)  # hull vertices, stored as 32-bit floats
        for c in calcifications:
            if c["cluster_id"] == cluster["cluster_id"]:  # every member inside its region (pixel centre at +0.5)
                assert outline.contains(Point(c["col"] + 0.5, c["row"] + 0.5))


@pytest.mark.parametrize("name", NAMES)
def test_seg_marks_every_calcification_on_the_source_matrix(run, name):
    seg = hd.seg.segread(run / "dicom" / f"{name}.seg.dcm")
    source = pydicom.dcmread(SAMPLES / name, stop_before_pixels=True)
    image = _rows(run, "images", name)[0]
    calcifications = _rows(run, "calcifications", name)
    mask = seg.pixel_array.astype(bool)
    assert mask.shape == (source.Rows, source.Columns)
    assert seg.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    expected = calcification_mask(mask.shape, calcifications, spacing=(image["spacing_mm"], image["column_spacing_mm"]))
    np.testing.assert_array_equal(mask, expected)
    for c in calcifications:
        assert mask[int(round(c["row"])), int(round(c["col"]))]
    area_mm2 = mask.sum() * image["spacing_mm"] * image["column_spacing_mm"]
    assert area_mm2 == pytest.approx(sum(np.pi * c["diameter_mm"] ** 2 / 4 for c in calcifications), rel=0.6)


def test_a_raster_input_gets_no_dicom_object_and_a_reason(run, tmp_path):
    from calcdetect.exports.dicom import write_dicom_objects

    assert sorted(p.name for p in (run / "dicom").iterdir()) == sorted(
        f"{n}.{kind}.dcm" for n in NAMES for kind in ("sr", "seg"))
    copy = tmp_path / "again"
    shutil.copytree(run, copy)
    _, skipped = write_dicom_objects(copy, seg=False)
    assert len(skipped) == 1 and skipped[0][0] == "raster.png" and skipped[0][1].startswith("not a DICOM file")
    assert "raster inputs get the tables, overlays and COCO only" in skipped[0][1]


def test_the_same_detection_gives_the_same_uids(run, tmp_path):
    from calcdetect.exports.dicom import write_dicom_objects

    copy = tmp_path / "again"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "dicom")
    write_dicom_objects(copy)
    for name in NAMES:
        for kind in ("sr", "seg"):
            first = pydicom.dcmread(run / "dicom" / f"{name}.{kind}.dcm", stop_before_pixels=True)
            second = pydicom.dcmread(copy / "dicom" / f"{name}.{kind}.dcm", stop_before_pixels=True)
            assert first.SOPInstanceUID == second.SOPInstanceUID


def test_every_description_has_its_dicom_code():
    assert set(MORPHOLOGY_CODES) == {str(m) for m in Morphology}
    assert set(DISTRIBUTION_CODES) == {str(d) for d in Distribution}
    meanings = {coded(pair).meaning for pair in (*MORPHOLOGY_CODES.values(), *DISTRIBUTION_CODES.values())}
    assert len(meanings) == len(MORPHOLOGY_CODES) + len(DISTRIBUTION_CODES)  # one concept each
