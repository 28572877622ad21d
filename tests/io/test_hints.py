import pytest

from calcdetect.io.hints import hints_from_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Calc-Training_P_00005_RIGHT_CC.png", ("R", "CC")),
        ("Mass-Test_P_00016_LEFT_MLO.dcm", ("L", "MLO")),
        ("22678622_61b13c59bcba149e_MG_R_CC_ANON.dcm", ("R", "CC")),
        ("case12_LMLO.tif", ("L", "MLO")),
        ("mdb001.pgm", (None, None)),
        ("scan_LEFT_RIGHT_CC.png", (None, "CC")),  # two lateralities: none taken
        ("CC_and_MLO.png", (None, None)),  # two views: none taken
        ("image.0.07.png", (None, None)),
    ],
    ids=["cbis-ddsm-calc", "cbis-ddsm-mass", "inbreast", "merged-token", "mini-mias", "ambiguous-laterality",
         "ambiguous-view", "numbers"],
)
def test_laterality_and_view_from_file_names(name, expected):
    assert hints_from_name(name) == expected
