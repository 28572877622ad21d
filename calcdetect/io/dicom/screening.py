"""What a header says the object is: an image at all, a breast."""

from __future__ import annotations

import re

from pydicom.dataset import Dataset
from pydicom.uid import UID

from calcdetect.io.dicom._elements import _codes, _text, _uid
from calcdetect.io.dicom.facts import _view
from calcdetect.io.hints import MAMMOGRAPHY_VIEWS


#: Digital Mammography X-Ray Image Storage - For Presentation.
MAMMOGRAPHY_PRESENTATION_SOP_CLASS = UID("1.2.840.10008.5.1.4.1.1.1.2")

#: SOP classes that are mammography by definition: digital mammography (for
#: presentation, for processing), breast tomosynthesis, breast projection X-ray.
MAMMOGRAPHY_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.13.1.3",
    "1.2.840.10008.5.1.4.1.1.13.1.4", "1.2.840.10008.5.1.4.1.1.13.1.5",
})

#: "For Processing" SOP classes (digital X-ray, mammography, intra-oral, breast projection).
FOR_PROCESSING_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.3.1",
    "1.2.840.10008.5.1.4.1.1.13.1.5",
})

#: SOP class UID prefixes of objects that are not images to analyse, with what they are.
NON_IMAGE_SOP_CLASSES = {
    "1.2.840.10008.1.3.10": "a DICOMDIR (media directory)",
    "1.2.840.10008.5.1.4.1.1.88.": "a structured report",
    "1.2.840.10008.5.1.4.1.1.11.": "a presentation state",
    "1.2.840.10008.5.1.4.1.1.66": "a segmentation, registration or raw-data object",
    "1.2.840.10008.5.1.4.1.1.9.": "a waveform",
    "1.2.840.10008.5.1.4.1.1.104.": "an encapsulated document",
    "1.2.840.10008.5.1.4.1.1.481.": "a radiotherapy object",
    "1.2.840.10008.5.1.4.1.1.67": "a real-world value map",
    "1.2.840.10008.5.1.4.1.1.30": "a parametric map",
}

#: Modalities that are never a projection X-ray of the breast.
NON_PROJECTION_MODALITIES = frozenset(
    {"CT", "MR", "US", "PT", "NM", "OP", "OPT", "OCT", "SM", "XC", "ES", "GM", "IVUS", "SR", "SEG", "PR", "KO",
     "RTSTRUCT", "RTPLAN", "RTDOSE", "REG", "DOC", "ECG"}
)

#: BodyPartExamined values that mean the breast.
BREAST_BODY_PARTS = frozenset({"BREAST", "MAMMA", "MAMMO", "LBREAST", "RBREAST"})

#: Codes of the breast in AnatomicRegionSequence (SNOMED CT, and the retired SNOMED RT).
BREAST_CODES = frozenset({"76752008", "80248007", "73056007", "T-04000", "T-04020", "T-04030"})

#: Free-text header fields searched for a word that says "breast" (see `breast_evidence`).
_DESCRIPTIONS = ("StudyDescription", "SeriesDescription", "ProtocolName", "RequestedProcedureDescription",
                 "PerformedProcedureStepDescription", "InstitutionalDepartmentName")
_BREAST_WORDS = re.compile(r"MAMMO|BREAST|MAMMA\b|TOMOSYNTH|\bMG\b|\bDBT\b", re.IGNORECASE)


def breast_evidence(ds: Dataset) -> tuple[list[str], list[str]]:
    """What in a header says the image is, and is not, a breast.

    Evidence for: Modality MG; a mammography SOP class; BodyPartExamined BREAST
    (or an AnatomicRegionSequence code of the breast); a mammographic
    ViewPosition or ViewCodeSequence; a description or department naming
    mammography or the breast. Evidence against: any other Modality or body
    part. A file is refused when it is not a projection image at all (CT, MR,
    US, ...), or when there is evidence against and none for; files that say
    nothing either way are loaded with a warning.

    Returns
    -------
    for_, against : list of str
        Short phrases such as ``"Modality MG"``.
    """
    for_, against = [], []
    modality = (_text(ds, "Modality") or "").upper()
    body_part = (_text(ds, "BodyPartExamined") or "").upper().replace(" ", "")
    sop_class = _text(ds, "SOPClassUID") or ""
    if modality == "MG":
        for_.append("Modality MG")
    elif modality:
        against.append(f"Modality {modality}")
    if sop_class in MAMMOGRAPHY_SOP_CLASSES:
        for_.append(f"SOP class {_uid(sop_class).name}")
    if body_part in BREAST_BODY_PARTS:
        for_.append(f"BodyPartExamined {body_part}")
    elif body_part:
        against.append(f"BodyPartExamined {body_part}")
    if any(code in BREAST_CODES for code in _codes(ds, "AnatomicRegionSequence")):
        for_.append("AnatomicRegionSequence breast")
    view = _view(ds)
    if view in MAMMOGRAPHY_VIEWS:
        for_.append(f"view {view}")
    elif view:
        against.append(f"ViewPosition {view}")
    for keyword in _DESCRIPTIONS:
        text = _text(ds, keyword)
        if text and _BREAST_WORDS.search(text):
            for_.append(f"{keyword} mentions mammography")
            break
    return for_, against
