import pytest

from calcdetect.datasets.cbis_ddsm import Pathology, Split, read_case_descriptions
from calcdetect.errors import DatasetError
from calcdetect.lexicon import Distribution as D
from calcdetect.lexicon import Morphology as M

HEADER = ("patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,calc type,"
          "calc distribution,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file path")
IMAGE = "Calc-Test_P_00038_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.8593/1.3.6.1.4.1.9590.100.1.2.3741/000000.dcm"
ROI = "Calc-Test_P_00038_LEFT_CC_1/1.3.6.1.4.1.9590.100.1.2.1614/1.3.6.1.4.1.9590.100.1.2.4190/"
ROWS = (
    # The crop cell ends in a newline inside its quotes, as in the published files.
    f'P_00038,2,LEFT,CC,1,calcification,PUNCTATE-PLEOMORPHIC,CLUSTERED,4,BENIGN,2,{IMAGE},"{ROI}000001.dcm\n",'
    f'{ROI}000000.dcm',
    f'P_00038,0,LEFT,CC,2,calcification,VASCULAR,N/A,2,BENIGN_WITHOUT_CALLBACK,5,{IMAGE},'
    f'{ROI.replace("_CC_1", "_CC_2")}000001.dcm ,{ROI.replace("_CC_1", "_CC_2")}000000.dcm',
)


def _csv(tmp_path, name="calc_case_description_test_set.csv", header=HEADER, rows=ROWS):
    path = tmp_path / name
    path.write_text("\n".join((header, *rows)) + "\n")
    return path


def test_rows_are_read_through_their_traps(tmp_path):
    first, second = read_case_descriptions(_csv(tmp_path))
    assert (first.subject_id, first.roi_subject_id, first.patient_id) == (
        "Calc-Test_P_00038_LEFT_CC", "Calc-Test_P_00038_LEFT_CC_1", "P_00038")
    assert (first.laterality, first.view, first.abnormality_id, first.split) == ("L", "CC", 1, Split.TEST)
    assert (first.morphology, first.distribution) == (M.FINE_PLEOMORPHIC, D.GROUPED)
    assert (first.calc_type, first.assessment, first.pathology, first.subtlety) == (
        "PUNCTATE-PLEOMORPHIC", 4, Pathology.BENIGN, 2)
    assert first.image_series_uid == "1.3.6.1.4.1.9590.100.1.2.3741"
    assert first.roi_series_uids == ("1.3.6.1.4.1.9590.100.1.2.4190",)  # crop and mask: one series
    assert (first.mask_file_name, first.source) == ("000000.dcm", "calc_case_description_test_set.csv:1")
    assert (second.morphology, second.distribution, second.pathology) == (M.VASCULAR, None,
                                                                          Pathology.BENIGN_WITHOUT_CALLBACK)
    assert second.breast_density is None  # 0: not given
    assert first.breast_density == 2


def test_mass_files_header_and_split_from_the_subject_id(tmp_path):
    # The mass files say breast_density; a file named neither train nor test takes the
    # split from each Subject ID.
    header = HEADER.replace("breast density", "breast_density").replace("calc type,calc distribution",
                                                                        "mass shape,mass margins")
    row = ROWS[0].replace("calcification,PUNCTATE-PLEOMORPHIC,CLUSTERED", "mass,OVAL,CIRCUMSCRIBED")
    row = row.replace("Calc-Test", "Mass-Training")
    (mass,) = read_case_descriptions(_csv(tmp_path, "mass_cases.csv", header, (row,)))
    assert (mass.abnormality_type, mass.calc_type, mass.morphology, mass.split) == ("mass", None, None, Split.TRAIN)
    assert mass.breast_density == 2


@pytest.mark.parametrize(
    ("header", "rows", "match"),
    [(HEADER.replace(",pathology", ""), ROWS, r"lacks the column\(s\) 'pathology'"),
     (HEADER, (ROWS[0].replace("BENIGN", "BENIGN?"),), "row 1: pathology 'BENIGN\\?'"),
     (HEADER, (ROWS[0].replace(IMAGE, "full.dcm"),), "row 1: image file path 'full.dcm' is not"),
     (HEADER, (ROWS[0].replace("PUNCTATE-PLEOMORPHIC", "PUNCTATE-SPIKY"),), "row 1: calc type term 'SPIKY'"),
     (HEADER, (ROWS[0].replace(",LEFT,", ",BOTH,"),), "row 1: left or right breast 'BOTH'"),
     (HEADER, (ROWS[0].replace(",4,BENIGN,2,", ",4,BENIGN,9,"),), "row 1: subtlety 9 is outside 0-5"),
     (HEADER, (ROWS[0].replace("CC,1,calcification", "CC,1.5,calcification"),),
      "row 1: abnormality id '1.5' is not a whole number"),
     (HEADER, (ROWS[0].rsplit(",", 1)[0],), "row 1 has 13 cells, the header 14"),
     (HEADER.replace("calc type,", "kind,"), ROWS, "row 1: a calcification row, but the file has no 'calc type'"),
     (HEADER, (ROWS[0].replace("Calc-Test", "Calc-Training"),),
      "row 1: Subject ID 'Calc-Training_P_00038_LEFT_CC' is of the train split, the file name says test")],
    ids=["missing-column", "pathology", "path", "calc-type", "laterality", "subtlety", "fractional-id", "short-row",
         "no-calc-type", "split-disagrees"])
def test_bad_files_name_the_file_row_and_value(tmp_path, header, rows, match):
    path = _csv(tmp_path, header=header, rows=rows)
    with pytest.raises(DatasetError, match=match) as caught:
        read_case_descriptions(path)
    assert str(path) in str(caught.value)


def test_a_folder_is_refused_with_what_to_give(tmp_path):
    with pytest.raises(DatasetError, match="is a folder; give a case-description CSV"):
        read_case_descriptions(tmp_path)


@pytest.mark.parametrize(("name", "rows", "images", "patients"),
                         [("calc_case_description_train_set.csv", 1546, 1227, 602),
                          ("calc_case_description_test_set.csv", 326, 284, 151)], ids=["train", "test"])
def test_every_row_of_the_real_files_is_read(shared_cbis, name, rows, images, patients):
    read = read_case_descriptions(shared_cbis / name)
    assert len(read) == rows
    assert len({a.subject_id for a in read}) == images
    assert len({a.patient_id for a in read}) == patients
    assert len({a.key for a in read}) == rows
    assert {a.split for a in read} == {Split.TRAIN if "train" in name else Split.TEST}
    assert all(a.abnormality_type == "calcification" for a in read)


def test_no_patient_is_in_both_real_splits(shared_cbis):
    train, test = (read_case_descriptions(shared_cbis / f"calc_case_description_{s}_set.csv")
                   for s in ("train", "test"))
    assert not {a.patient_id for a in train} & {a.patient_id for a in test}
