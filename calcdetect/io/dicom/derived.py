"""DICOM objects derived from a detection, for the clinic: a CAD-style SR and a SEG (highdicom).

:func:`write_cad_sr` writes a Comprehensive SR holding a Measurement Report (DICOM PS3.16
TID 1500) with one Planar ROI measurement group (TID 1411) per cluster: finding type
*Calcification Cluster* (DCM 111105); its region, the convex hull of the members as a
closed POLYLINE (a CIRCLE for fewer than 3 distinct members) on the source image; its
extent (*Diameter*, SCT 81827009, in mm), member count (*Number of calcifications*, DCM
111038), detection confidence (*Certainty of Finding*, DCM 111012, in %) and suspicion
(*Probability of cancer*, DCM 111047: calcdetect's ``score``, a research estimate); and
its BI-RADS distribution (*Calcification Distribution*, DCM 111008, coded from CID 6012)
and morphology (*Calcification Type*, DCM 111009, from CID 6010).

:func:`write_calcification_seg` writes a binary Segmentation on the source image's pixel
matrix: every reported calcification as the disk of its equivalent diameter (an ellipse
in pixels where the pixels are not square).

Both copy the source image's patient and study attributes, as DICOM requires of an
object that belongs to the same study: asking for them is asking for those identifiers
in these two files (the tables stay free of them). UIDs are derived from the source's
SOP Instance UID and the content, so the same detection gives the same files.
Spatial coordinates follow DICOM: (column, row) with (0, 0) the top-left corner of the
top-left pixel, so a pixel centre is at +0.5.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calcdetect.errors import ImageReadError
from calcdetect.geometry import convex_hull

#: BI-RADS morphology -> the pydicom code name of its concept in CID 6010 (Calcification Type).
MORPHOLOGY_CODES = {
    "punctate": ("SCT", "PunctateCalcification"),
    "round": ("SCT", "RoundShapedCalcification"),
    "amorphous": ("SCT", "AmorphousCalcification"),
    "coarse_heterogeneous": ("SCT", "HeterogeneousCalcification"),
    "fine_pleomorphic": ("DCM", "FinePleomorphicCalcification"),
    "fine_linear_branching": ("SCT", "FineLinearBranchingCastingCalcification"),
    "vascular": ("SCT", "VascularCalcificationRadiographicFinding"),
    "coarse": ("SCT", "CoarsePopcornLikeCalcification"),
    "rim": ("SCT", "EggshellCalcification"),
    "skin": ("SCT", "CalcifiedSkinOfBreast"),
    "large_rodlike": ("SCT", "LargeRodLikeCalcification"),
    "dystrophic": ("SCT", "DystrophicCalcification"),
    "milk_of_calcium": ("SCT", "MilkOfCalciumCalcification"),
}

#: BI-RADS distribution -> its concept in CID 6012 (Calcification Distribution Modifier).
DISTRIBUTION_CODES = {
    "grouped": ("SCT", "GroupedCalcificationDistribution"),
    "linear": ("SCT", "LinearCalcificationDistribution"),
    "segmental": ("SCT", "SegmentalCalcificationDistribution"),
    "regional": ("SCT", "RegionalCalcificationDistribution"),
    "diffuse": ("SCT", "DiffuseCalcificationDistribution"),
}

#: Type 2 attributes highdicom copies from the source (empty when the source lacks them).
_STUDY_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "StudyDate",
                   "StudyTime", "ReferringPhysicianName", "AccessionNumber")


def coded(pair):
    """The pydicom ``Code`` of a (scheme, name) pair of :data:`MORPHOLOGY_CODES` / :data:`DISTRIBUTION_CODES`."""
    from pydicom.sr.codedict import codes

    scheme, name = pair
    return getattr(getattr(codes, scheme), name)


def source_header(path):
    """The source image's header (no pixels), with the study attributes highdicom copies present.

    Raises
    ------
    ImageReadError
        When `path` is not a DICOM file, or a multi-frame one (naming what would read it).
    """
    import pydicom

    if not Path(path).is_file():
        raise ImageReadError(path, "file not found (moved since the run?): DICOM SR and SEG copy its header")
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types on non-DICOM files
        raise ImageReadError(path, f"not a DICOM file ({type(exc).__name__}): DICOM SR and SEG reference a DICOM "
                                   f"source image; raster inputs get the tables, overlays and COCO only") from None
    if "SOPInstanceUID" not in header or "Rows" not in header:
        raise ImageReadError(path, "the DICOM file has no SOP Instance UID or pixel matrix to reference")
    if int(header.get("NumberOfFrames", 1) or 1) > 1:
        raise ImageReadError(path, "multi-frame source: DICOM SR and SEG are written for single-frame images only")
    for keyword in _STUDY_KEYWORDS:
        if keyword not in header:
            setattr(header, keyword, "")
    if "StudyInstanceUID" not in header:
        header.StudyInstanceUID = _uid(header.SOPInstanceUID, "study")
    return header


def write_cad_sr(source, clusters: Sequence[dict], calcifications: Sequence[dict], path, *,
                 software_version: str) -> Path:
    """Write the clusters of one image as a Comprehensive SR Measurement Report (see the module notes).

    Parameters
    ----------
    source : str or PathLike
        The DICOM image the rows were detected in.
    clusters, calcifications : sequence of dict
        Rows of the clusters and calcifications tables of this image.
    path : str or PathLike
        The SR file to write.
    software_version : str
        calcdetect's version (the device observer's model and the SR's software versions).

    Returns
    -------
    Path

    Raises
    ------
    ImageReadError
        When `source` is no single-frame DICOM image.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    header = source_header(source)
    content_key = json.dumps([clusters, calcifications], default=str, sort_keys=True)
    source_image = hd.sr.SourceImageForRegion(referenced_sop_class_uid=header.SOPClassUID,
                                              referenced_sop_instance_uid=header.SOPInstanceUID)
    groups = []
    for cluster in clusters:
        members = np.array([(c["col"] + 0.5, c["row"] + 0.5) for c in calcifications
                            if c["cluster_id"] == cluster["cluster_id"]], float).reshape(-1, 2)
        region = hd.sr.ImageRegion(**_region(members, cluster), source_image=source_image)
        measurements = [
            hd.sr.Measurement(name=codes.DCM.NumberOfCalcifications, value=int(cluster["n_calcifications"]),
                              unit=codes.UCUM.NoUnits),
            hd.sr.Measurement(name=codes.SCT.Diameter, value=float(cluster["extent_mm"]), unit=codes.UCUM.Millimeter),
        ]
        if cluster.get("confidence") is not None:
            measurements.append(hd.sr.Measurement(name=codes.DCM.CertaintyOfFinding,
                                                  value=round(100 * float(cluster["confidence"]), 3),
                                                  unit=codes.UCUM.Percent))
        if cluster.get("score") is not None:
            measurements.append(hd.sr.Measurement(name=codes.DCM.ProbabilityOfCancer,
                                                  value=round(float(cluster["score"]), 6), unit=codes.UCUM.NoUnits))
        evaluations = []
        if cluster.get("distribution") in DISTRIBUTION_CODES:
            evaluations.append(hd.sr.QualitativeEvaluation(name=codes.DCM.CalcificationDistribution,
                                                           value=coded(DISTRIBUTION_CODES[cluster["distribution"]])))
        if cluster.get("morphology") in MORPHOLOGY_CODES:
            evaluations.append(hd.sr.QualitativeEvaluation(name=codes.DCM.CalcificationType,
                                                           value=coded(MORPHOLOGY_CODES[cluster["morphology"]])))
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=_uid(header.SOPInstanceUID, content_key, "cluster", cluster["cluster_id"]),
                identifier=f"calcdetect cluster {cluster['cluster_id']}"),
            referenced_region=region, finding_type=codes.DCM.CalcificationCluster,
            measurements=measurements, qualitative_evaluations=evaluations or None))
    device = hd.sr.DeviceObserverIdentifyingAttributes(uid=_uid("calcdetect", software_version), name="calcdetect",
                                                       manufacturer_name="calcdetect",
                                                       model_name=f"calcdetect {software_version}")
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device)),
        procedure_reported=codes.SCT.Mammography, imaging_measurements=groups or None)
    sr = hd.sr.ComprehensiveSR(
        evidence=[header], content=report, series_number=9901,
        series_instance_uid=_uid(header.SOPInstanceUID, "calcdetect-sr-series"),
        sop_instance_uid=_uid(header.SOPInstanceUID, content_key, "sr"), instance_number=1,
        manufacturer="calcdetect", series_description="calcdetect calcification clusters (research use)",
        is_complete=True, is_final=False)
    sr.SoftwareVersions = software_version
    return _save(sr, path)


def write_calcification_seg(source, calcifications: Sequence[dict], path, *, spacing, software_version: str) -> Path:
    """Write the calcifications of one image as a binary DICOM Segmentation (see the module notes).

    Parameters
    ----------
    source : str or PathLike
        The DICOM image the rows were detected in.
    calcifications : sequence of dict
        Rows of the calcifications table of this image.
    path : str or PathLike
    spacing : tuple of 2 floats
        The image's pixel spacing (row_mm, col_mm) as detection used it.
    software_version : str

    Raises
    ------
    ImageReadError
        When `source` is no single-frame DICOM image.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    header = source_header(source)
    mask = calcification_mask((int(header.Rows), int(header.Columns)), calcifications, spacing=spacing)
    description = hd.seg.SegmentDescription(
        segment_number=1, segment_label="calcifications",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.CalcificationOfBreast,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name="calcdetect", version=software_version, family=codes.cid7162.ArtificialIntelligence))
    content_key = hashlib.sha256(np.packbits(mask).tobytes()).hexdigest()
    seg = hd.seg.Segmentation(
        source_images=[header], pixel_array=mask[None], segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description],
        series_instance_uid=_uid(header.SOPInstanceUID, "calcdetect-seg-series"), series_number=9902,
        sop_instance_uid=_uid(header.SOPInstanceUID, content_key, "seg"), instance_number=1,
        manufacturer="calcdetect", manufacturer_model_name="calcdetect", software_versions=software_version,
        device_serial_number="0", series_description="calcdetect calcifications (research use)",
        omit_empty_frames=False)
    return _save(seg, path)


def calcification_mask(shape: tuple[int, int], calcifications: Sequence[dict], *, spacing) -> np.ndarray:
    """(rows, cols) bool: every calcification as the disk of its equivalent diameter (at least one pixel).

    Parameters
    ----------
    shape : tuple of 2 int
        Rows and columns of the image.
    calcifications : sequence of dict
        Rows of the calcifications table (``row``, ``col`` in pixels, ``diameter_mm``).
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    """
    import cv2

    mask = np.zeros(shape, np.uint8)
    row_mm, col_mm = spacing
    for c in calcifications:
        radius_mm = (c.get("diameter_mm") or 0.0) / 2
        axes = (max(0, round(radius_mm / col_mm)), max(0, round(radius_mm / row_mm)))
        centre = (int(round(c["col"])), int(round(c["row"])))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
        if 0 <= centre[1] < shape[0] and 0 <= centre[0] < shape[1]:
            mask[centre[1], centre[0]] = 1
    return mask.astype(bool)


def _region(members: np.ndarray, cluster: dict) -> dict:
    """Graphic type and data of a cluster's region: the closed hull of its members, or a circle."""
    import highdicom as hd

    points = np.unique(members, axis=0)
    hull = convex_hull(points) if len(points) else points
    if len(hull) >= 3:
        return {"graphic_type": hd.sr.GraphicTypeValues.POLYLINE, "graphic_data": np.vstack([hull, hull[:1]])}
    # fewer than 3 or collinear members: a circle round them
    centre = np.array([cluster["col"] + 0.5, cluster["row"] + 0.5])
    reach = max(float(np.max(np.hypot(*(points - centre).T))) if len(points) else 0.0, 1.0)
    return {"graphic_type": hd.sr.GraphicTypeValues.CIRCLE, "graphic_data": np.vstack([centre, centre + [reach, 0]])}


def _save(dataset, path) -> Path:
    """Write `dataset` as a DICOM file, atomically (a temporary file renamed)."""
    from calcdetect.atomic import atomic_open

    with atomic_open(path, "wb") as fh:
        dataset.save_as(fh, enforce_file_format=True)
    return Path(path)


def _uid(*parts) -> str:
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=[str(p) for p in parts])


__all__ = ["DISTRIBUTION_CODES", "MORPHOLOGY_CODES", "calcification_mask", "coded", "source_header",
           "write_cad_sr", "write_calcification_seg"]
