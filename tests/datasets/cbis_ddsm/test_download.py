"""A fake CBIS-DDSM download, small and with the traps of the real one, read through its UIDs."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from calcdetect.datasets.cbis_ddsm import DEFAULT_SPACING_MM, open_cbis_ddsm, read_roi_mask
from calcdetect.errors import DatasetError

HEADER = ("patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,calc type,"
          "calc distribution,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file path")
PREFIX = "1.3.6.1.4.1.9590.100.1.2."

#: (Subject ID, abnormality id, image shape, mask shape, mask box (r0, r1, c0, c1) on the image,
#: crop first in the ROI series?, what the case is)
CASES = (
    ("Calc-Test_P_00038_LEFT_CC", 1, (60, 40), (60, 40), (10, 20, 5, 15), True, "crop is 1-1, mask 1-2"),
    ("Calc-Test_P_00038_LEFT_CC", 2, (60, 40), (60, 40), (40, 50, 20, 30), False, "crop in its own series"),
    ("Calc-Test_P_00038_LEFT_MLO", 1, (120, 80), (122, 81), (60, 90, 40, 60), False, "mask 2 px larger"),
    ("Calc-Test_P_00041_RIGHT_CC", 1, (100, 100), (104, 100), (10, 20, 10, 20), False, "aspect differs"),
    ("Calc-Test_P_00077_LEFT_CC", 1, (50, 40), None, None, False, "ROI series missing"),
)
MISSING_IMAGE = ("Calc-Test_P_00099_RIGHT_MLO", 1)


def _uid(*parts) -> str:
    return PREFIX + str(abs(hash(parts)) % 10**12)


def _dicom(path: Path, pixels: np.ndarray, series_uid: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.Modality, ds.BodyPartExamined = series_uid, "MG", "BREAST"
    ds.set_pixel_data(pixels, "MONOCHROME2", 8 if pixels.dtype == np.uint8 else 16, generate_instance_uid=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def _mask(shape, box, image_shape):
    """A two-valued mask of `shape` whose box is `box` on an image of `image_shape` (scaled)."""
    mask = np.zeros(shape, np.uint8)
    fr, fc = shape[0] / image_shape[0], shape[1] / image_shape[1]
    r0, r1, c0, c1 = box
    mask[round(r0 * fr):round(r1 * fr), round(c0 * fc):round(c1 * fc)] = 255
    return mask


def _build(root: Path, layout: str, rng) -> Path:
    """Write the CASES as a download in `layout` ("tcia": today's tree and metadata.csv;
    "classic": <Subject>/<Study UID>/<Series UID>/00000n.dcm; "headers": today's tree
    without metadata.csv) and the case-description CSV naming them as TCIA does."""
    rows, metadata = [], ["Series UID,Subject ID,Series Description,File Location"]
    written = set()
    for subject, abnormality, image_shape, mask_shape, box, crop_first, what in (*CASES, (*MISSING_IMAGE, (40, 30),
                                                                                       (40, 30), (0, 5, 0, 5),
                                                                                       False, "")):
        image_series, roi_series = _uid(subject, "image"), _uid(subject, abnormality, "roi")
        study, roi_study = _uid(subject, "study"), _uid(subject, abnormality, "study")
        roi_subject = f"{subject}_{abnormality}"
        files = []  # (subject, study, series, description, number, pixels)
        if (subject, abnormality) != MISSING_IMAGE and subject not in written:
            written.add(subject)
            files.append((subject, study, image_series, "full mammogram images", 0,
                          rng.integers(100, 4000, image_shape).astype(np.uint16)))
        if mask_shape is not None:
            crop = rng.integers(100, 4000, (12, 9)).astype(np.uint16)
            mask = _mask(mask_shape, box, image_shape)
            pair = [crop, mask] if crop_first else [mask, crop]
            files += [(roi_subject, roi_study, roi_series, "ROI mask images", n, px) for n, px in enumerate(pair)]
            if "own series" in what:
                files[-1] = (roi_subject, roi_study, _uid(subject, abnormality, "crop"), "cropped images", 0, crop)
        for subj, stud, series, description, n, pixels in files:
            if layout == "classic":
                path = root / subj / stud / series / f"00000{n}.dcm"
            else:
                folder = Path("CBIS-DDSM") / subj / f"07-20-2016-DDSM-{abs(hash(stud)) % 10**5}" / \
                    f"1.000000-{description}-{abs(hash(series)) % 10**5}"
                path = root / folder / f"1-{n + 1}.dcm"
                line = f"{series},{subj},{description},.\\{folder}".replace("/", "\\")
                if line not in metadata:
                    metadata.append(line)
            _dicom(path, pixels, series)
        # The CSV names the mask 000000.dcm and the crop 000001.dcm, the crop's cell ending in a newline.
        image_cell = f"{subject}/{study}/{image_series}/000000.dcm"
        roi_cell = f"{roi_subject}/{roi_study}/{roi_series}"
        crop_cell = roi_cell.replace(roi_series, _uid(subject, abnormality, "crop")) if "own series" in what else roi_cell
        rows.append(f'P_{subject.split("_P_")[1][:5]},2,LEFT,CC,{abnormality},calcification,PLEOMORPHIC,CLUSTERED,4,'
                    f'MALIGNANT,3,{image_cell},"{crop_cell}/000001.dcm\n",{roi_cell}/000000.dcm')
    (root / "calc_case_description_test_set.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    if layout == "tcia":
        (root / "metadata.csv").write_text("\n".join(metadata) + "\n")
    return root


@pytest.fixture(params=["tcia", "classic", "headers"], ids=["tcia-metadata", "classic-uid-folders", "headers-only"])
def download(request, tmp_path):
    return request.param, open_cbis_ddsm(_build(tmp_path, request.param, np.random.default_rng(5)))


def test_every_file_is_found_through_the_uids_and_the_traps_are_counted(download):
    layout, dataset = download
    report = dataset.report
    assert (report.n_rows, report.n_images, report.n_images_found) == (6, 5, 4)
    assert report.n_masks_found == 4  # all but the missing ROI series and the missing image's
    assert report.n_told_apart == 4  # also the crop in a series of its own
    two = next(a for a in dataset.abnormalities if a.key == ("Calc-Test_P_00038_LEFT_CC", 2))
    assert len(two.roi_series_uids) == 2
    # The classic layout keeps the CSV's names: where 000000.dcm is the crop, the CSV swapped them.
    assert report.n_swapped == (1 if layout == "classic" else 0)
    assert report.n_masks_resized == 1
    assert report.spacing_mm == DEFAULT_SPACING_MM and dataset.spacing == (0.05, 0.05)
    reasons = dict(report.skipped)
    assert len(reasons) == 3
    assert any("another aspect ratio" in r for r in reasons.values())
    assert any("ROI series is not in the download" in r for r in reasons.values())
    assert any("full mammogram series is not in the download" in r for r in reasons.values())
    assert sum(report.counts.values()) == 3
    assert "3 skipped" in report.summary() and "0.05 mm" in report.summary()


@pytest.mark.parametrize("case", [c for c in CASES if c[3] is not None and c[6] != "aspect differs"],
                         ids=lambda c: c[6].replace(" ", "-"))
def test_the_mask_lies_on_its_image_where_it_was_drawn(download, case):
    subject, abnormality_id, image_shape, _, (r0, r1, c0, c1), _, _ = case
    _, dataset = download
    abnormality = next(a for a in dataset.abnormalities if a.key == (subject, abnormality_id))
    mask = read_roi_mask(dataset, abnormality)
    assert mask.shape == image_shape and mask.dtype == bool
    rows, cols = np.nonzero(mask)
    assert abs(rows.min() - r0) <= 1 and abs(rows.max() + 1 - r1) <= 1
    assert abs(cols.min() - c0) <= 1 and abs(cols.max() + 1 - c1) <= 1
    found = dataset.files[abnormality.key]
    assert found.crop is not None and found.crop != found.mask


def test_a_skipped_abnormality_says_why_when_its_mask_is_asked_for(download):
    _, dataset = download
    skipped = next(a for a in dataset.abnormalities if a.subject_id == "Calc-Test_P_00041_RIGHT_CC")
    with pytest.raises(DatasetError, match="another aspect ratio than its image 100 x 100"):
        read_roi_mask(dataset, skipped)


def test_a_mask_that_is_not_two_valued_is_refused(tmp_path):
    dataset = open_cbis_ddsm(_build(tmp_path, "tcia", np.random.default_rng(5)))
    abnormality = next(a for a in dataset.abnormalities if a.key == ("Calc-Test_P_00038_LEFT_CC", 2))
    path = dataset.files[abnormality.key].mask
    _dicom(path, np.arange(60 * 40, dtype=np.uint16).reshape(60, 40) % 7, pydicom.dcmread(path).SeriesInstanceUID)
    with pytest.raises(DatasetError, match="holds 7 grey levels, not two; it is no mask"):
        read_roi_mask(dataset, abnormality)


@pytest.mark.parametrize("make, match", [
    (lambda root: root / "nothing-here", "not a folder; give the folder of a CBIS-DDSM download"),
    (lambda root: root, "holds no \\*case_description\\*.csv"),
], ids=["no-folder", "no-csv"])
def test_a_wrong_root_is_refused_with_what_to_give(tmp_path, make, match):
    with pytest.raises(DatasetError, match=match):
        open_cbis_ddsm(make(tmp_path))


def test_spacing_and_kinds_are_the_users(tmp_path):
    root = _build(tmp_path, "tcia", np.random.default_rng(5))
    assert open_cbis_ddsm(root, spacing_mm=0.0435).spacing == (0.0435, 0.0435)
    assert open_cbis_ddsm(root, kinds=("mass",)).report.n_rows == 0  # the fake holds calcifications only
    with pytest.raises(ValueError, match=r"kinds must be among 'calcification', 'mass'; got \['masses'\]"):
        open_cbis_ddsm(root, kinds=("masses",))
    with pytest.raises(ValueError, match="spacing_mm must be a positive number of mm; got 0"):
        open_cbis_ddsm(root, spacing_mm=0)
