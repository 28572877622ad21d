"""A fake CBIS-DDSM download of real rows (``data/``: nine rows of the published CSVs, CC BY 3.0,
Lee et al. 2017) with tiny DICOMs and the traps users meet, read through its Series UIDs."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from calcdetect.datasets.cbis_ddsm import (
    DEFAULT_SPACING_MM,
    SkipReason,
    open_cbis_ddsm,
    read_case_descriptions,
    read_roi_mask,
)
from calcdetect.errors import DatasetError

DATA = Path(__file__).parent / "data"
#: Per abnormality: image shape, mask shape (None: no ROI files), box (r0, r1, c0, c1) on the
#: image, the trap. An image shape of None leaves the image out of the download.
CASES = {
    ("Calc-Test_P_00038_LEFT_CC", 1): ((60, 40), (60, 40), (10, 20, 5, 15), "crop is 1-1, mask 1-2"),
    ("Calc-Test_P_00038_LEFT_MLO", 1): ((120, 80), (122, 81), (60, 90, 40, 60), "mask 2 px larger"),
    ("Calc-Test_P_00038_RIGHT_CC", 1): ((100, 60), (87, 52), (20, 40, 10, 30), "mask 0.87 times its image"),
    ("Calc-Test_P_00038_RIGHT_CC", 2): ((100, 60), (101, 61), (60, 80, 30, 50), "crop about the image's size"),
    ("Calc-Test_P_00041_LEFT_CC", 2): ((100, 100), (104, 100), (10, 20, 10, 20), "aspect differs"),
    ("Calc-Test_P_00077_LEFT_CC", 1): ((50, 40), None, None, "ROI series missing"),
    ("Calc-Test_P_00353_LEFT_CC", 1): (None, None, None, "image missing"),
    ("Calc-Test_P_00353_LEFT_CC", 2): (None, None, None, "image missing"),
    ("Calc-Training_P_00474_LEFT_MLO", 1): ((90, 60), (90, 60), (30, 60, 20, 40), "crop, mask in two series; "
                                                                                 "MONOCHROME1 mask"),
}
LAYOUTS = ["tcia", "stale-metadata", "classic", "headers", "flat"]


def _dicom(path: Path, pixels: np.ndarray, series_uid: str, photometric="MONOCHROME2") -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.Modality, ds.BodyPartExamined = series_uid, "MG", "BREAST"
    ds.set_pixel_data(pixels, photometric, 8 if pixels.dtype == np.uint8 else 16, generate_instance_uid=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def _mask(shape, box, image_shape, *, inverted=False):
    """A two-valued mask of `shape` whose box is `box` on an image of `image_shape` (scaled)."""
    mask = np.zeros(shape, np.uint8)
    fr, fc = shape[0] / image_shape[0], shape[1] / image_shape[1]
    r0, r1, c0, c1 = box
    mask[round(r0 * fr):round(r1 * fr), round(c0 * fc):round(c1 * fc)] = 255
    return 255 - mask if inverted else mask


def _build(root: Path, layout: str) -> Path:
    """Write the CASES in `layout`: "tcia" (today's tree, metadata.csv with Windows paths),
    "stale-metadata" (the same with another machine's absolute paths), "classic"
    (<Subject>/<study>/<Series UID>/00000n.dcm), "headers" (today's tree, no metadata.csv),
    "flat" (every file in one folder); the real CSV rows beside it."""
    rng = np.random.default_rng(5)
    abnormalities = [a for s in ("test", "train")
                     for a in read_case_descriptions(DATA / f"calc_case_description_{s}_set.csv")]
    files = {}  # path parts -> (pixels, series UID, photometric, description, subject)
    for a in abnormalities:
        image_shape, mask_shape, box, trap = CASES[a.key]
        if image_shape is not None:
            files[(a.subject_id, a.image_series_uid, 0)] = (
                rng.integers(100, 4000, image_shape).astype(np.uint16), a.image_series_uid, "MONOCHROME2",
                "full mammogram images", a.subject_id)
        if mask_shape is None:
            continue
        crop_shape = (image_shape[0] - 1, image_shape[1]) if "about the image's size" in trap else (12, 9)
        crop = rng.integers(100, 4000, crop_shape).astype(np.uint16)
        mask = _mask(mask_shape, box, image_shape, inverted="MONOCHROME1" in trap)
        photometric = "MONOCHROME1" if "MONOCHROME1" in trap else "MONOCHROME2"
        if len(a.roi_series_uids) == 2:  # the crop cell names the first series, the mask cell the second
            files[(a.roi_subject_id, a.roi_series_uids[0], 0)] = (crop, a.roi_series_uids[0], "MONOCHROME2",
                                                                  "cropped images", a.roi_subject_id)
            files[(a.roi_subject_id, a.roi_series_uids[1], 0)] = (mask, a.roi_series_uids[1], photometric,
                                                                  "ROI mask images", a.roi_subject_id)
        else:
            pair = [(crop, "MONOCHROME2"), (mask, photometric)]
            if "crop is 1-1" not in trap:
                pair.reverse()
            for n, (pixels, photo) in enumerate(pair):
                files[(a.roi_subject_id, a.roi_series_uids[0], n)] = (pixels, a.roi_series_uids[0], photo,
                                                                      "ROI mask images", a.roi_subject_id)
    metadata = ["Series UID,Subject ID,Series Description,File Location"]
    folders = {series: k for k, series in enumerate(dict.fromkeys(series for _, series, _ in files))}
    for k, ((subject, series, n), (pixels, uid, photometric, description, _)) in enumerate(files.items()):
        today = Path("CBIS-DDSM") / subject / "07-20-2016-DDSM-1" / f"1.000000-{description}-{folders[series]}"
        path = {"classic": root / subject / "study" / series / f"00000{n}.dcm",
                "flat": root / "all" / f"{k:03d}.dcm"}.get(layout, root / today / f"1-{n + 1}.dcm")
        _dicom(path, pixels, uid, photometric)
        if layout in ("tcia", "headers"):
            (path.parent / f"._{path.name}").write_bytes(b"\0\5\26\7 AppleDouble")  # macOS litter
        location = ((".\\" if layout == "tcia" else "C:\\Users\\me\\Downloads\\manifest-1\\")
                    + str(today).replace("/", "\\"))
        line = f"{uid},{subject},{description},{location}"
        if line not in metadata:
            metadata.append(line)
    if layout == "tcia":
        (root / "metadata.csv").write_text("\n".join(metadata) + "\n")
    if layout == "stale-metadata":
        (root / "manifest-1").mkdir()
        (root / "manifest-1" / "metadata.csv").write_text("\n".join(metadata) + "\n")
        (root / "CBIS-DDSM").rename(root / "manifest-1" / "CBIS-DDSM")
    for name in ("test", "train"):
        (root / f"calc_case_description_{name}_set.csv").write_bytes(
            (DATA / f"calc_case_description_{name}_set.csv").read_bytes())
    return root


@pytest.fixture(params=LAYOUTS)
def download(request, tmp_path):
    return request.param, open_cbis_ddsm(_build(tmp_path, request.param))


def test_every_file_is_found_through_the_uids_and_the_traps_are_counted(download):
    layout, dataset = download
    report = dataset.report
    assert (report.n_rows, report.n_images, report.n_images_found) == (9, 7, 6)
    assert report.n_masks_found == 6 and report.n_told_apart == 6
    # Only the classic layout keeps the CSV's file names: there 000000.dcm is the crop once.
    assert report.n_swapped == (1 if layout == "classic" else None)
    assert report.n_masks_resized == 3
    assert report.spacing_mm == DEFAULT_SPACING_MM and dataset.spacing == (0.05, 0.05)
    assert dict(report.skipped_by_reason) == {SkipReason.IMAGE_MISSING: 2, SkipReason.ROI_MISSING: 1,
                                              SkipReason.MASK_ASPECT: 1}
    assert len(report.skipped) == 4
    assert "4 skipped: 2 full mammogram not in the download" in report.summary()
    for (subject, _number), found in dataset.files.items():
        if found.image is not None:
            assert pydicom.dcmread(found.image).SeriesInstanceUID == next(
                a.image_series_uid for a in dataset.abnormalities if a.subject_id == subject)
            assert not found.image.name.startswith(".")


@pytest.mark.parametrize("key", [k for k, (_, mask, _, trap) in CASES.items() if mask and trap != "aspect differs"],
                         ids=lambda k: CASES[k][3].replace(" ", "-").replace(",", "").replace(";", ""))
def test_the_mask_lies_on_its_image_where_it_was_drawn(download, key):
    image_shape, _, (r0, r1, c0, c1), _ = CASES[key]
    _, dataset = download
    abnormality = next(a for a in dataset.abnormalities if a.key == key)
    mask = read_roi_mask(dataset, abnormality)
    assert mask.shape == image_shape and mask.dtype == bool
    rows, cols = np.nonzero(mask)
    assert abs(rows.min() - r0) <= 1 and abs(rows.max() + 1 - r1) <= 1
    assert abs(cols.min() - c0) <= 1 and abs(cols.max() + 1 - c1) <= 1
    found = dataset.files[abnormality.key]
    assert found.crop is not None and found.crop != found.mask


def test_a_skipped_abnormality_says_why_when_its_mask_is_asked_for(download):
    _, dataset = download
    skipped = next(a for a in dataset.abnormalities if a.key == ("Calc-Test_P_00041_LEFT_CC", 2))
    with pytest.raises(DatasetError, match=r"another aspect ratio than its image \(mask 104 x 100, image 100 x 100\)"):
        read_roi_mask(dataset, skipped)


@pytest.mark.parametrize(("pixels", "match"), [
    (np.arange(60 * 40, dtype=np.uint16).reshape(60, 40) % 7, "holds 7 grey levels, not two; it is no mask"),
    (np.full((60, 40), 255, np.uint8), "holds 1 grey level, not two"),
], ids=["grey", "constant"])
def test_a_mask_that_is_not_two_valued_is_refused(tmp_path, pixels, match):
    dataset = open_cbis_ddsm(_build(tmp_path, "tcia"))
    abnormality = next(a for a in dataset.abnormalities if a.key == ("Calc-Test_P_00038_LEFT_CC", 1))
    path = dataset.files[abnormality.key].mask
    _dicom(path, pixels, pydicom.dcmread(path).SeriesInstanceUID)
    with pytest.raises(DatasetError, match=match):
        read_roi_mask(dataset, abnormality)


def test_a_row_given_twice_is_refused(tmp_path):
    root = _build(tmp_path, "tcia")
    csv = root / "calc_case_description_test_set.csv"
    with pytest.raises(DatasetError, match=r"describes Calc-Test_P_00038_LEFT_CC_1 again \(first at"):
        open_cbis_ddsm(root, case_descriptions=[csv, csv])


def test_spacing_and_kinds_are_the_users(tmp_path):
    root = _build(tmp_path, "classic")
    assert open_cbis_ddsm(root, spacing_mm=0.0435).spacing == (0.0435, 0.0435)
    with pytest.raises(DatasetError, match=r"holds no mass_case_description\*\.csv"):
        open_cbis_ddsm(root, kinds=("mass",))
    for kinds in (("masses",), "calcification"):
        with pytest.raises(ValueError, match="kinds must be a sequence of 'calcification' and / or 'mass'"):
            open_cbis_ddsm(root, kinds=kinds)
    for spacing in (0, True):
        with pytest.raises(ValueError, match="spacing_mm must be a positive number of mm"):
            open_cbis_ddsm(root, spacing_mm=spacing)


@pytest.mark.parametrize("make, match", [
    (lambda root: root / "nothing-here", "not a folder; give the folder of a CBIS-DDSM download"),
    (lambda root: root, r"holds no calc_case_description\*\.csv; give case_descriptions="),
], ids=["no-folder", "no-csv"])
def test_a_wrong_root_is_refused_with_what_to_give(tmp_path, make, match):
    with pytest.raises(DatasetError, match=match):
        open_cbis_ddsm(make(tmp_path))


def test_the_real_case_descriptions_open_against_an_empty_download(shared_cbis, tmp_path):
    # All 1,546 + 326 rows are listed, on 1,227 + 284 images, each skipped as not downloaded.
    for path in shared_cbis.glob("calc_case_description_*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    report = open_cbis_ddsm(tmp_path).report
    assert (report.n_rows, report.n_images, report.n_images_found) == (1872, 1511, 0)
    assert dict(report.skipped_by_reason) == {SkipReason.IMAGE_MISSING: 1872}


def test_lesions_of_the_download_are_scored_on_their_masks(tmp_path):
    # One cluster on the first abnormality's mask, one beside the rescaled mask's box: two of
    # the five scorable lesions found; the split keeps the test rows only.
    from calcdetect.datasets.lesions import cbis_ddsm_lesions
    from calcdetect.datasets.scoring import score_lesions
    from calcdetect.evaluate import load_predictions

    dataset = open_cbis_ddsm(_build(tmp_path / "download", "tcia"))
    images = cbis_ddsm_lesions(dataset, split="test")
    assert sorted(len(i.lesions) for i in images) == [1, 1, 2]  # LEFT_CC 1, LEFT_MLO 1, RIGHT_CC 1 and 2
    assert {i.patient_id for i in images} == {"P_00038"}
    ids = {i.image_id: i for i in images}
    left_cc = next(i for i in ids if "P_00038_LEFT_CC" in i)
    left_mlo = next(i for i in ids if "P_00038_LEFT_MLO" in i)
    run = tmp_path / "run"
    run.mkdir()
    (run / "images.csv").write_text("image_id,path,status\n" + "".join(f"{i},,ok\n" for i in ids))
    (run / "clusters.csv").write_text("image_id,cluster_id,row,col,score\n"
                                      f"{left_cc},0,15,10,0.9\n{left_mlo},0,75,61,0.8\n{left_mlo},1,5,5,0.4\n")
    (run / "calcifications.csv").write_text("image_id,calc_id,cluster_id,row,col,score\n")
    result = score_lesions(images, load_predictions(run), n_bootstrap=0, breakdowns=("pathology",))
    assert result.n_lesions == 4 and result.n_images == 3
    assert result.froc.sensitivity[-1] == pytest.approx(2 / 4)  # (75, 61) lies 1 px = 0.05 mm off the box
    assert result.froc.fp_per_image[-1] == pytest.approx(1 / 3)
