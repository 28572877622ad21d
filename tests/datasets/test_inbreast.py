"""A fake INbreast copy: tiny DICOMs named as INbreast names them, and annotation plists."""

import plistlib

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from calcdetect.datasets.inbreast import SPACING_MM, RoiKind, open_inbreast, read_inbreast_xml, roi_kind
from calcdetect.errors import DatasetError

SHAPE = (80, 60)


def _dicom(path, shape=SHAPE):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "MG"
    ds.set_pixel_data(np.random.default_rng(1).integers(0, 4000, shape).astype(np.uint16), "MONOCHROME2", 16,
                      generate_instance_uid=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def _roi(name, points, declared=None):
    """An ROI as INbreast writes it: Point_px strings "(x, y)", x the column."""
    return {"Name": name, "NumberOfPoints": len(points) if declared is None else declared,
            "Point_px": [f"({x:.2f}, {y:.2f})" for x, y in points], "Area": 0.0 if len(points) == 1 else 1.5}


ROIS = [
    _roi("Calcification", [(10.0, 20.0)]),                                    # a single point: row 20, col 10
    _roi("Calcification", [(30, 40), (31, 40), (31, 41), (30, 41)]),          # a small contour
    _roi("Cluster", [(5, 5), (50, 5), (50, 70), (5, 70)]),
    _roi("Calcifications", [(8, 8), (20, 8), (20, 20), (8, 20)]),            # a cluster by another name
    _roi("Mass", [(40, 60), (45, 60), (45, 65)]),
    _roi("Calcification", [(12, 22)], declared=3),                           # NumberOfPoints disagrees
    _roi("Calcification", [(70.0, 10.0)]),                                    # outside the 60-wide image
    _roi("Cluster", [(55, 75), (65, 75), (65, 90)]),                          # partly outside
]


@pytest.fixture
def copy(tmp_path):
    _dicom(tmp_path / "AllDICOMs" / "20586908_6c613a14b80a8591_MG_R_CC_ANON.dcm")
    _dicom(tmp_path / "AllDICOMs" / "20586934_6c613a14b80a8591_MG_L_MLO_ANON.dcm")   # normal: no annotations
    (tmp_path / "AllXML").mkdir()
    (tmp_path / "AllXML" / "20586908.xml").write_bytes(plistlib.dumps({"Images": [{"ImageIndex": 0, "ROIs": ROIS}]}))
    (tmp_path / "AllXML" / "99999999.xml").write_bytes(plistlib.dumps({"Images": [{"ROIs": []}]}))
    (tmp_path / "AllXML" / "._20586908.xml").write_bytes(b"\0\5\26\7")                # macOS litter
    return tmp_path


def test_points_are_read_as_row_col_and_names_mapped(copy):
    rois, counts = read_inbreast_xml(copy / "AllXML" / "20586908.xml", shape=SHAPE)
    assert [r.kind for r in rois] == [RoiKind.CALCIFICATION, RoiKind.CALCIFICATION, RoiKind.CLUSTER, RoiKind.CLUSTER,
                                      RoiKind.MASS, RoiKind.CALCIFICATION, RoiKind.CLUSTER]
    assert rois[0].points_rc.tolist() == [[20.0, 10.0]] and rois[0].centre_rc == (20.0, 10.0)
    assert rois[1].centre_rc == pytest.approx((40.5, 30.5))
    assert rois[3].name == "Calcifications"
    assert rois[5].declared_points == 3 and len(rois[5].points_rc) == 1
    assert len(rois[6].points_rc) == 3  # an outline running past the edge keeps its points
    assert +counts == {"point_count_mismatches": 1, "points_outside": 3, "rois_outside": 1}


def test_the_copy_lists_images_normal_ones_included(copy):
    inbreast = open_inbreast(copy)
    assert [(i.file_id, i.laterality, i.view, i.shape) for i in inbreast.images] == [
        ("20586908", "R", "CC", SHAPE), ("20586934", "L", "MLO", SHAPE)]
    annotated, normal = inbreast.images
    assert len(annotated.of_kind(RoiKind.CALCIFICATION)) == 3 and normal.rois == () and normal.xml is None
    assert dict(inbreast.counts) == {"images": 2, "annotated": 1, "calcifications": 3, "clusters": 3,
                                     "point_count_mismatches": 1, "points_outside": 3, "rois_outside": 1,
                                     "rois_without_points": 0, "other_rois": 0}
    assert {i.patient_id for i in inbreast.images} == {"6c613a14b80a8591"}  # the file names' patient field
    assert inbreast.skipped == (("99999999.xml", "no image with its file id"),)
    assert inbreast.spacing_mm == SPACING_MM and "0.07 mm" in inbreast.summary()


@pytest.mark.parametrize(("name", "n_points", "kind"), [
    ("Calcification", 1, RoiKind.CALCIFICATION), ("calcification ", 6, RoiKind.CALCIFICATION),
    ("Calcifications", 1, RoiKind.CALCIFICATION), ("Calcifications", 12, RoiKind.CLUSTER),
    ("Clusters", 9, RoiKind.CLUSTER), ("Mass", 30, RoiKind.MASS), ("Spiculated Region", 30, RoiKind.OTHER),
    ("Microcalcification cluster", 8, RoiKind.CLUSTER), ("Cluster of calcifications", 8, RoiKind.CLUSTER),
], ids=["point", "contour", "plural-point", "plural-contour", "clusters", "mass", "other", "micro-cluster",
        "cluster-of"])
def test_roi_names_are_mapped_whatever_their_spelling(name, n_points, kind):
    assert roi_kind(name, n_points) is kind


@pytest.mark.parametrize(("content", "match"), [
    (b"not a plist", "not an INbreast annotation file"),
    (plistlib.dumps({"Images": []}), r"no Images\[0\]\.ROIs"),
    (plistlib.dumps({"Images": [{"ROIs": [{"Name": "Calcification", "Point_px": ["12 34"]}]}]}),
     r"ROI 0 \('Calcification'\): point '12 34' is not '\(x, y\)'"),
], ids=["not-plist", "no-rois", "bad-point"])
def test_bad_annotation_files_are_named(tmp_path, content, match):
    (tmp_path / "1.xml").write_bytes(content)
    with pytest.raises(DatasetError, match=match):
        read_inbreast_xml(tmp_path / "1.xml")


@pytest.mark.parametrize("delimiter", [";", ","], ids=["semicolon", "comma"])
def test_patients_densities_and_assessments_come_from_the_image_table(copy, delimiter):
    rows = ["Patient ID;Patient age;Laterality;View;File Name;ACR;Bi-Rads",
            "0a1b2c;62;R;CC;20586908;2;4a", "0a1b2c;62;L;MLO;20586934;2;1"]
    (copy / "INbreast.csv").write_text("\n".join(r.replace(";", delimiter) for r in rows) + "\n")
    from calcdetect.datasets.lesions import inbreast_lesions

    images = inbreast_lesions(open_inbreast(copy))
    assert {i.patient_id for i in images} == {"0a1b2c"}
    lesions = [lesion for image in images if "20586908" in image.image_id for lesion in image.lesions]
    assert lesions and all(lesion.attributes["breast_density"] == "2" and lesion.attributes["assessment"] == "4"
                           for lesion in lesions)
    (copy / "INbreast.csv").write_text("Name;Age\nx;1\n")
    with pytest.raises(DatasetError, match="lacks the 'File Name' and 'Patient ID' columns"):
        open_inbreast(copy)


def test_a_folder_without_images_says_what_to_give(tmp_path):
    with pytest.raises(DatasetError, match="holds no INbreast image"):
        open_inbreast(tmp_path)


def test_lesions_are_outlines_and_groups_of_marked_calcifications(tmp_path):
    # Three calcifications marked one by one 1 mm apart (no outline) make a lesion; a lone one
    # and a mass are ignored: a cluster on them is no false positive; one elsewhere is.
    from calcdetect.datasets.lesions import inbreast_lesions
    from calcdetect.datasets.scoring import score_lesions
    from calcdetect.evaluate import load_predictions

    _dicom(tmp_path / "AllDICOMs" / "1_ab_MG_L_CC_ANON.dcm", shape=(400, 300))
    (tmp_path / "AllXML").mkdir()
    rois = [_roi("Calcification", [(10.0, 10.0)]), _roi("Calcification", [(24.0, 10.0)]),
            _roi("Calcification", [(10.0, 24.0)]), _roi("Calcification", [(250.0, 350.0)]),
            _roi("Mass", [(20, 300), (60, 300), (60, 340), (20, 340)])]
    (tmp_path / "AllXML" / "1.xml").write_bytes(plistlib.dumps({"Images": [{"ROIs": rois}]}))
    (image,) = inbreast_lesions(open_inbreast(tmp_path))
    assert len(image.lesions) == 1 and image.lesions[0].attributes == {"source": "marked calcifications"}
    assert len(image.ignored) == 2 and image.patient_id == "ab" and image.shape == (400, 300)
    run = tmp_path / "run"
    run.mkdir()
    (run / "images.csv").write_text(f"image_id,path,status\n{image.image_id},,ok\n")
    (run / "clusters.csv").write_text("image_id,cluster_id,row,col,score\n"
                                      f"{image.image_id},0,14,14,0.9\n{image.image_id},1,350,250,0.8\n"
                                      f"{image.image_id},2,320,40,0.7\n{image.image_id},3,200,150,0.6\n")
    (run / "calcifications.csv").write_text("image_id,calc_id,cluster_id,row,col,score\n")
    result = score_lesions((image,), load_predictions(run), n_bootstrap=0)
    assert result.froc.sensitivity[-1] == 1.0
    assert result.froc.fp_per_image[-1] == 1.0  # only the cluster at (200, 150)
