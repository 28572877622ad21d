"""Read and write mammograms as DICOM with pydicom 3.

This module is the only place that sees a :class:`pydicom.Dataset`; everything
downstream receives a :class:`~calcdetect.io.Mammogram`: a float32 array in
detector (or log) units, its pixel spacing and where that spacing came from.

Reading, in order (each step fails with one :class:`~calcdetect.errors.ImageReadError`
naming the file):

1. the file is read whole (refused when larger than :data:`MAX_BYTES`) and
   parsed; pydicom's own warnings are kept, without quoted values, as the
   mammogram's warnings;
2. objects that hold no image (structured reports, segmentations, presentation
   states, DICOMDIR, ...) raise :class:`~calcdetect.errors.NotAnImageError`
   (a ``skipped:`` reason);
3. images whose header plainly says they are not a breast raise
   :class:`~calcdetect.errors.NotABreastError` unless ``force`` (see
   :func:`breast_evidence`);
4. size, bit depth, photometric interpretation and frame count are checked on
   the header, before any pixel is decoded; native pixel data must be as long
   as the header says;
5. the pixels are decoded (the transfer syntax must have an installed decoder;
   the error says which extra or package would read it), the modality LUT
   applied in float32, and the image made calcium-bright: MONOCHROME1 is
   inverted, "FOR PROCESSING" images are log-transformed (:class:`Intensity`),
   the VOI LUT or window only on request;
6. spacing, laterality and view are taken from the header, else a sidecar, the
   options or the file name (:func:`calcdetect.io.hints.resolve_facts`).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder, iter_pixels, pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless, generate_uid

from calcdetect.atomic import atomic_open
from calcdetect.errors import ImageReadError, NotABreastError, NotAnImageError, UnsupportedFormatError
from calcdetect.io.hints import MAMMOGRAPHY_VIEWS, resolve_facts
from calcdetect.io.mammogram import (
    MAX_BYTES,
    Intensity,
    LoadOptions,
    Mammogram,
    SpacingSource,
    check_shape,
    check_values,
)

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

#: ViewCodeSequence codes of DICOM CID 4014 "View for Mammography" (SNOMED CT and
#: the retired SNOMED RT codes of older files), as the ACR abbreviations of ViewPosition.
VIEW_CODES = {
    "399162004": "CC", "399368009": "MLO", "399260004": "ML", "399352003": "LM", "399099002": "LMO",
    "399196006": "FB", "399188001": "SIO", "441555000": "ISO", "399192008": "XCCL", "399101009": "XCCM",
    "R-10242": "CC", "R-10226": "MLO", "R-10224": "ML", "R-10228": "LM", "R-10230": "LMO", "R-10244": "FB",
    "R-102D0": "SIO", "R-40AAA": "ISO", "R-102CF": "XCC", "R-1024A": "XCCL", "R-1024B": "XCCM",
    "Y-X1770": "XCCL", "Y-X1771": "XCCM",
}

#: Free-text header fields searched for a word that says "breast" (see `breast_evidence`).
_DESCRIPTIONS = ("StudyDescription", "SeriesDescription", "ProtocolName", "RequestedProcedureDescription",
                 "PerformedProcedureStepDescription", "InstitutionalDepartmentName")
_BREAST_WORDS = re.compile(r"MAMMO|BREAST|MAMMA\b|TOMOSYNTH|\bMG\b|\bDBT\b", re.IGNORECASE)

#: Native (uncompressed) transfer syntaxes: pixel data length is checked before decoding.
_NATIVE_SYNTAXES = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                              "1.2.840.10008.1.2.1.99"})

#: Transfer syntaxes that are lossy whatever LossyImageCompression says (JPEG baseline and extended).
_ALWAYS_LOSSY = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"})

#: 12-bit lossy JPEG (JPEG Extended): Pillow reads only 8-bit; which other decoders succeed depends on the file.
_JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"

#: Patient and study identifiers copied only when `LoadOptions.keep_identifiers` asks.
IDENTIFYING_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge",
                        "OtherPatientIDs", "AccessionNumber", "StudyID", "StudyInstanceUID", "SeriesInstanceUID",
                        "StudyDate", "StudyTime", "InstitutionName", "ReferringPhysicianName")

#: DICOM file name suffixes taken as DICOM when a folder is searched (besides files with the DICM magic).
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".ima"})


def is_dicom_file(path) -> bool:
    """Whether `path` has a DICOM suffix or the ``DICM`` magic at byte 128."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def read_dicom(path, options: LoadOptions = LoadOptions()) -> Mammogram:
    """Load a DICOM mammogram as float32 (see the module docstring for every step).

    Parameters
    ----------
    path : str or PathLike
        A DICOM file (Part 10, with preamble and ``DICM``).
    options : LoadOptions

    Returns
    -------
    Mammogram

    Raises
    ------
    NotAnImageError
        The file holds no image (a ``skipped:`` reason).
    NotABreastError
        The header says the image is not a breast, and ``options.force`` is off.
    UnsupportedFormatError
        No installed decoder reads the transfer syntax (the reason names it and
        the extra that would read it).
    ImageReadError
        Anything else that makes the file unusable: not DICOM, truncated,
        undecodable, too large, colour, multi-frame without ``options.frames``,
        constant or non-finite pixels.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mammogram = _read_dicom(Path(path), options)
    if caught:  # anything pydicom or NumPy said while the values were used
        notes = _pydicom_notes(caught)
        mammogram = dataclasses.replace(mammogram, warnings=tuple(dict.fromkeys([*mammogram.warnings, *notes])))
    return mammogram


def _read_dicom(path: Path, options: LoadOptions) -> Mammogram:
    ds, notes = _open(path)
    header = _Header.of(ds, path, options)
    notes += header.notes
    if header.frames > 1:
        if options.frames == "error":
            raise ImageReadError(path, f"multi-frame image ({header.frames} frames, e.g. breast tomosynthesis); "
                                       f"load it with --frames mip (maximum-intensity projection) or "
                                       f"--frames K (one frame, 0-based)")
        if options.frames != "mip" and options.frames >= header.frames:
            raise ImageReadError(path, f"frame {options.frames} requested but the file has {header.frames} "
                                       f"frames (0 to {header.frames - 1})")
    _check_decodable(ds, header, path)
    frame = None  # all frames (a single one, or their projection)
    if header.frames == 1:
        image = header.to_image(_decode(ds, header, path, index=None))
    elif options.frames == "mip":
        image = None
        for stored in _decode_frames(ds, header, path):
            decoded = header.to_image(stored)
            image = decoded if image is None else np.maximum(image, decoded, out=image)
        notes.append(f"maximum-intensity projection of {header.frames} frames")
    else:
        frame = int(options.frames)
        image = header.to_image(_decode(ds, header, path, index=frame))
        notes.append(f"frame {frame} of {header.frames}")
    return _mammogram(image, ds, header, path, options, notes, frame=frame)


def iter_frames(path, options: LoadOptions = LoadOptions()) -> Iterator[Mammogram]:
    """Each frame of a (multi-frame) DICOM file as its own mammogram, decoded one at a time.

    For breast tomosynthesis slices or projections; ``options.frames`` is
    ignored. ``metadata["frame"]`` holds the 0-based frame index.
    """
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own are recorded by _open
        ds, notes = _open(path)
        header = _Header.of(ds, path, options)
        _check_decodable(ds, header, path)
        frames = _decode_frames(ds, header, path)
    for index in range(header.frames):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = next(frames, None)
            if stored is None:
                raise ImageReadError(path, f"only {index} of {header.frames} frames could be decoded")
            mammogram = _mammogram(header.to_image(stored), ds, header, path, options,
                                   [*notes, *header.notes, f"frame {index} of {header.frames}"], frame=index)
        mammogram.metadata["frame"] = index
        yield mammogram


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


# --------------------------------------------------------------------------------------
# Reading


def _open(path: Path) -> tuple[Dataset, list[str]]:
    """Parse the whole file from memory (so a corrupt length never reads past its end)."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImageReadError(path, "is a directory, not a file")
        if size > MAX_BYTES:
            raise ImageReadError(path, f"file of {size} bytes exceeds the limit of {MAX_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read the file ({type(exc).__name__}: {exc.strerror or exc})") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError:
            raise ImageReadError(path, "not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from None
        except Exception as exc:  # pydicom raises many types on corrupt headers
            raise ImageReadError(path, f"unreadable DICOM header ({type(exc).__name__}: {_clip(exc)})") from None
        # pydicom drops an element the file ends inside (with a warning): a cut-off PixelData
        # must be an error, not an object without pixels.
        cut = any("End of file reached" in str(record.message) for record in caught)
        tagged = b"\xe0\x7f\x10\x00" in data or b"\x7f\xe0\x00\x10" in data  # (7FE0,0010), either endian
        if "PixelData" not in ds and (cut or (tagged and not _icon_only(ds))):
            raise ImageReadError(path, "pixel data truncated: the file ends inside it")
        del data
        notes = _convert_all(ds) + _convert_all(getattr(ds, "file_meta", Dataset()))
    return ds, notes + _pydicom_notes(caught)


def _icon_only(ds: Dataset) -> bool:
    """No top-level Pixel Data, but an Icon Image Sequence item holds some (a thumbnail)."""
    try:
        return "PixelData" not in ds and any("PixelData" in item for item in ds.get("IconImageSequence") or ())
    except Exception:
        return False


def _convert_all(ds: Dataset, depth: int = 0) -> list[str]:
    """Convert every element now (pydicom converts lazily, warning or raising on first use),
    so that its warnings are caught here; elements that cannot be converted are dropped."""
    notes = []
    for tag in list(ds.keys()):
        try:
            element = ds[tag]
        except Exception as exc:
            del ds[tag]
            notes.append(f"DICOM header: element {tag} dropped, unreadable ({type(exc).__name__})")
            continue
        if element.VR == "SQ" and depth < 8:
            try:
                items = list(element.value or ())
            except Exception:
                items = []
            for item in items:
                if isinstance(item, Dataset):
                    notes += _convert_all(item, depth + 1)
    return notes


def _inverted(photometric: str, shape: str, notes: list[str]) -> bool:
    """Are the stored values dark for dense tissue, by every polarity the file states?

    MONOCHROME1 shows low values bright; a Presentation LUT Shape (0x2050,0x0020)
    ``INVERSE`` inverts the display again after the VOI LUT (PS3.3 C.11.6), so
    MONOCHROME2 with ``INVERSE`` also shows low values bright. The DX and MG IODs pair
    MONOCHROME1 with INVERSE and MONOCHROME2 with IDENTITY; MONOCHROME1 with IDENTITY
    contradicts itself, and PhotometricInterpretation is followed, with a note.
    """
    if shape not in ("", "IDENTITY", "INVERSE"):
        notes.append(f"Presentation LUT Shape {shape!r} is neither IDENTITY nor INVERSE: ignored, polarity from "
                     f"PhotometricInterpretation {photometric}")
        return photometric == "MONOCHROME1"
    if photometric == "MONOCHROME2" and shape == "INVERSE":
        notes.append("Presentation LUT Shape INVERSE with MONOCHROME2: the image is shown inverted, its stored "
                     "values dark for dense tissue; inverted to calcium bright")
        return True
    if photometric == "MONOCHROME1" and shape == "IDENTITY":
        notes.append("PhotometricInterpretation MONOCHROME1 and Presentation LUT Shape IDENTITY disagree on "
                     "polarity; MONOCHROME1 followed (low values bright)")
    return photometric == "MONOCHROME1"


@dataclass(eq=False)
class _Header:
    """The technical facts of a DICOM image, validated before any pixel is decoded."""

    rows: int
    cols: int
    frames: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    syntax: UID | None
    intensity: Intensity
    slope: float
    intercept: float
    has_modality_lut: bool
    ds: Dataset
    path: Path
    options: LoadOptions
    notes: list[str]
    inverted: bool = False  # stored values dark for dense tissue: inverted to calcium bright
    lin_sign: int = 0  # FOR PROCESSING: +1 values grow with X-ray intensity, -1 they fall
    log_input: bool = False  # FOR PROCESSING data already logarithmic

    @classmethod
    def of(cls, ds: Dataset, path: Path, options: LoadOptions) -> _Header:
        notes: list[str] = []
        sop_class = _text(ds, "SOPClassUID") or _text(getattr(ds, "file_meta", Dataset()), "MediaStorageSOPClassUID")
        for prefix, what in NON_IMAGE_SOP_CLASSES.items():
            if sop_class and sop_class.startswith(prefix):
                raise NotAnImageError(path, f"skipped: not an image but {what} (SOP class {sop_class})")
        if _icon_only(ds):
            raise NotAnImageError(path, "skipped: no pixel data (only an icon, a thumbnail in IconImageSequence)")
        if "PixelData" not in ds:
            kind = f"SOP class {_uid(sop_class).name}" if sop_class else "no SOP class"
            raise NotAnImageError(path, f"skipped: no pixel data, not an image ({kind})")

        for_, against = breast_evidence(ds)
        modality = (_text(ds, "Modality") or "").upper()
        refuse = None
        if modality in NON_PROJECTION_MODALITIES:
            refuse = f"Modality {modality} is not a projection X-ray image"
        elif against and not for_:
            refuse = f"the header says {', '.join(against)}, nothing says breast"
        if refuse and not options.force:
            raise NotABreastError(path, f"not a breast image: {refuse}; use --force (LoadOptions(force=True)) "
                                        f"to load it anyway")
        if refuse:
            notes.append(f"not recognised as a breast image ({refuse}); loaded because forced")
        elif not for_:
            notes.append("nothing in the header says this is a breast image (no Modality MG, BodyPartExamined "
                         "BREAST or mammographic view)")

        rows = _int(ds, "Rows", path, required=True)
        cols = _int(ds, "Columns", path, required=True)
        frames = _int(ds, "NumberOfFrames", path, default=1)
        samples = _int(ds, "SamplesPerPixel", path, default=1)
        bits_allocated = _int(ds, "BitsAllocated", path, required=True)
        bits_stored = _int(ds, "BitsStored", path, default=bits_allocated)
        signed = _int(ds, "PixelRepresentation", path, default=0) == 1
        photometric = (_text(ds, "PhotometricInterpretation") or "").upper()
        if frames < 1:
            raise ImageReadError(path, f"NumberOfFrames must be >= 1; got {frames}")
        if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
            raise ImageReadError(path, f"colour or palette image ({photometric or 'no photometric interpretation'}, "
                                       f"{samples} samples per pixel); a mammogram is MONOCHROME1 or MONOCHROME2")
        if bits_allocated not in (8, 16, 32):
            raise ImageReadError(path, f"BitsAllocated must be 8, 16 or 32 for a grey-scale image; got "
                                       f"{bits_allocated}")
        if not 1 <= bits_stored <= bits_allocated:
            raise ImageReadError(path, f"BitsStored must be in [1, BitsAllocated={bits_allocated}]; got {bits_stored}")
        check_shape(path, rows, cols, frames=frames, bytes_per_pixel=bits_allocated // 8,
                    max_pixels=options.max_pixels)

        syntax = _syntax(ds)
        if syntax in _NATIVE_SYNTAXES:
            expected = rows * cols * frames * (bits_allocated // 8)
            actual = _pixel_data_length(ds, path)
            if actual < expected:
                raise ImageReadError(path, f"pixel data truncated: {actual} bytes, the header needs {expected} "
                                           f"({frames} x {rows} x {cols} x {bits_allocated} bits)")

        slope = _float(ds, "RescaleSlope", path, default=1.0)
        intercept = _float(ds, "RescaleIntercept", path, default=0.0)
        if slope == 0:
            raise ImageReadError(path, "RescaleSlope is 0: every pixel would be the same")
        header = cls(rows=rows, cols=cols, frames=frames, bits_allocated=bits_allocated, bits_stored=bits_stored,
                     signed=signed, photometric=photometric, syntax=syntax, intensity=Intensity.PRESENTATION,
                     slope=slope, intercept=intercept, has_modality_lut="ModalityLUTSequence" in ds, ds=ds,
                     path=path, options=options, notes=notes)
        header._choose_intensity()
        if header.intensity in (Intensity.PRESENTATION, Intensity.VOI):  # raw data: PixelIntensityRelationshipSign
            header.inverted = _inverted(photometric, (_text(ds, "PresentationLUTShape") or "").upper(), notes)
        lossy = _text(ds, "LossyImageCompression")
        if lossy == "01" or (lossy is None and syntax in _ALWAYS_LOSSY):
            ratio = _text(ds, "LossyImageCompressionRatio")
            notes.append(f"lossy compressed{f' (ratio {ratio}:1)' if ratio else ''}: faint calcifications may be "
                         f"altered")
        return header

    def _choose_intensity(self) -> None:
        ds, options = self.ds, self.options
        intent = (_text(ds, "PresentationIntentType") or "").upper()
        sop_class = _text(ds, "SOPClassUID") or ""
        for_processing = intent == "FOR PROCESSING" or sop_class in FOR_PROCESSING_SOP_CLASSES
        if options.voi:
            if _has_voi(ds):
                self.intensity = Intensity.VOI
                self.notes.append("VOI LUT / window applied on request: display values, not detector values")
            else:
                self.notes.append("VOI requested but the file has no VOI LUT or window; values kept as stored")
            return
        if not for_processing:
            return
        relationship = (_text(ds, "PixelIntensityRelationship") or "").upper()
        sign = _int(ds, "PixelIntensityRelationshipSign", self.path, default=0)
        if sign in (1, -1):
            because = f"PixelIntensityRelationshipSign {sign:+d}"
        else:
            # MONOCHROME1 shows low values white, i.e. little X-ray intensity: values grow with intensity.
            sign = 1 if self.photometric == "MONOCHROME1" else -1
            because = f"no PixelIntensityRelationshipSign; assumed from {self.photometric}"
        self.lin_sign = sign
        self.log_input = relationship == "LOG"
        direction = "grow" if sign > 0 else "fall"
        if self.log_input:
            self.intensity = Intensity.LOG
            self.notes.append(f"FOR PROCESSING image, already logarithmic; values {direction} with X-ray "
                              f"intensity ({because})")
        elif options.log_for_processing:
            self.intensity = Intensity.LOG
            self.notes.append(f"FOR PROCESSING (raw) image log-transformed, -ln(intensity), so that contrast does not "
                              f"depend on dose; values {direction} with X-ray intensity ({because})")
        else:
            self.intensity = Intensity.LINEAR
            self.notes.append(f"FOR PROCESSING (raw) image kept linear on request; values {direction} with X-ray "
                              f"intensity ({because})")

    def stored_range(self) -> tuple[float, float]:
        """Smallest and largest value the stored pixels can take, after the modality LUT."""
        if self.signed:
            lo, hi = -(2 ** (self.bits_stored - 1)), 2 ** (self.bits_stored - 1) - 1
        else:
            lo, hi = 0, 2**self.bits_stored - 1
        ends = self.modality(np.array([lo, hi]))
        return float(ends.min()), float(ends.max())

    def modality(self, stored: np.ndarray) -> np.ndarray:
        """Stored values through the modality LUT (rescale slope and intercept, or a LUT), as float32."""
        if self.has_modality_lut:
            try:
                return np.asarray(apply_modality_lut(stored, self.ds), dtype=np.float32)
            except Exception as exc:
                raise ImageReadError(self.path, f"invalid ModalityLUTSequence ({type(exc).__name__}: "
                                                f"{_clip(exc)})") from None
        image = stored.astype(np.float32)
        if self.slope != 1:
            image *= np.float32(self.slope)
        if self.intercept != 0:
            image += np.float32(self.intercept)
        return image

    def to_image(self, stored: np.ndarray) -> np.ndarray:
        """One decoded frame as the float32, calcium-bright image of :attr:`intensity`."""
        if stored.shape != (self.rows, self.cols):
            raise ImageReadError(self.path, f"decoded frame shape {stored.shape} does not match the header's "
                                            f"{self.rows} x {self.cols}")
        image = self.modality(stored)
        del stored
        lo, hi = self.stored_range()
        if self.intensity is Intensity.VOI:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a SIGMOID window overflows exp() far from its centre
                    image = np.asarray(apply_voi_lut(image, self.ds, index=0), dtype=np.float32)
                    ends = np.asarray(apply_voi_lut(np.array([lo, hi]), self.ds, index=0), dtype=float)
            except Exception as exc:
                raise ImageReadError(self.path, f"invalid VOI LUT or window ({type(exc).__name__}: "
                                                f"{_clip(exc)})") from None
            lo, hi = float(ends.min()), float(ends.max())
            if self.inverted:
                image = np.subtract(np.float32(lo + hi), image, out=image)
            return image
        if self.intensity in (Intensity.LOG, Intensity.LINEAR):
            return self._for_processing(image, lo, hi)
        if self.inverted:
            # Invert about the range the stored values can take, so that the result is
            # exactly the MONOCHROME2 rendering of the same data, independent of content.
            image = np.subtract(np.float32(lo + hi), image, out=image)
        return image

    def _for_processing(self, image: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Raw data as attenuation (LOG) or as calcium-bright linear values (LINEAR), in place."""
        if self.log_input:
            # Already log(intensity) (or its negative): attenuation up to a constant.
            if self.lin_sign > 0:
                image = np.subtract(np.float32(hi), image, out=image)
            else:
                image -= np.float32(lo)
            return image
        if self.lin_sign < 0:  # values fall with intensity: intensity = hi - value
            image = np.subtract(np.float32(hi), image, out=image)
        else:
            image -= np.float32(lo)
        if self.intensity is Intensity.LINEAR:
            # Calcium attenuates: invert so that it is bright, as in presentation images.
            return np.subtract(np.float32(hi - lo), image, out=image)
        # One stored quantum is the smallest intensity told apart from none.
        quantum = np.float32(abs(self.slope) if not self.has_modality_lut else 1.0)
        np.maximum(image, quantum, out=image)
        np.log(image, out=image)
        return np.subtract(np.float32(math.log(max(hi - lo, float(quantum)))), image, out=image)


def _check_decodable(ds: Dataset, header: _Header, path: Path) -> None:
    """Refuse, naming the transfer syntax and what would read it, when no installed decoder can."""
    syntax = header.syntax
    if syntax is None:
        raise ImageReadError(path, "no TransferSyntaxUID in the file meta information")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise UnsupportedFormatError(path, f"transfer syntax {syntax} ({_syntax_name(syntax)}) is not supported: "
                                           f"no decoder exists for it in pydicom") from None
    if not decoder.is_available:
        raise UnsupportedFormatError(path, f"no installed decoder for transfer syntax {syntax} "
                                           f"({_syntax_name(syntax)}); {_decoder_hint(syntax, decoder)}")
    _check_codestream(ds, header, path)


def _check_codestream(ds: Dataset, header: _Header, path: Path) -> None:
    """Refuse compressed data whose own header (JPEG, JPEG-LS or JPEG 2000) gives another image
    size than the DICOM header: decoders allocate what the codestream says, before failing."""
    if header.syntax in _NATIVE_SYNTAXES:
        return
    try:
        first = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=header.frames), b"")
    except Exception:
        return  # the decoder reports it
    size = _codestream_size(first[:65536])
    if size is not None and size != (header.rows, header.cols):
        raise ImageReadError(path, f"corrupt compressed pixel data: its frame header says {size[0]} x {size[1]}, "
                                   f"the DICOM header {header.rows} x {header.cols}")


def _codestream_size(data: bytes) -> tuple[int, int] | None:
    """(rows, cols) from the start of a JPEG / JPEG-LS (SOFn) or JPEG 2000 (SIZ) codestream; None if not found."""
    siz = data.find(b"\xff\x4f\xff\x51")
    if siz >= 0 and len(data) >= siz + 24:
        x, y, x0, y0 = (int.from_bytes(data[siz + 8 + 4 * i : siz + 12 + 4 * i], "big") for i in range(4))
        return y - y0, x - x0
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) or marker == 0xF7:
            return int.from_bytes(data[i + 5 : i + 7], "big"), int.from_bytes(data[i + 7 : i + 9], "big")
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        i += 2 + length
    return None


def _decode(ds: Dataset, header: _Header, path: Path, *, index: int | None) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # padding and similar notes; the checks below are ours
            return pixel_array(ds, index=index)
    except Exception as exc:
        raise _decode_error(header, path, exc) from None


def _decode_frames(ds: Dataset, header: _Header, path: Path) -> Iterator[np.ndarray]:
    frames = iter_pixels(ds)
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stored = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            raise _decode_error(header, path, exc) from None
        yield stored


def _decode_error(header: _Header, path: Path, exc: Exception) -> ImageReadError:
    syntax = header.syntax
    detail = _clip(exc).replace("Unable to decode as exceptions were raised by all available plugins: ", "")
    hint = ""
    if syntax == _JPEG_EXTENDED:
        installed = get_decoder(syntax).available_plugins
        others = [name for plugin, name in (("gdcm", "install calcdetect[gdcm] (python-gdcm)"),
                                            ("pylibjpeg", "install pylibjpeg-libjpeg")) if plugin not in installed]
        hint = f"; {' or '.join([*others, 'decompress the file first'])} (DCMTK: dcmdjpeg in.dcm out.dcm)"
    elif _is_compressed(syntax):
        hint = "; the compressed pixel data may be corrupt or truncated"
    return ImageReadError(path, f"cannot decode pixel data with transfer syntax {syntax} ({_syntax_name(syntax)}): "
                                f"{detail}{hint}")


def _decoder_hint(syntax: UID, decoder) -> str:
    """Which extra or package would decode `syntax`, from what the decoder says is missing."""
    missing = " ".join(decoder.missing_dependencies)
    options = []
    if "gdcm" in missing:
        options.append("install calcdetect[gdcm] (python-gdcm)")
    if "pylibjpeg-libjpeg" in missing:
        options.append("pylibjpeg-libjpeg")
    if "pylibjpeg-openjpeg" in missing:
        options.append("pylibjpeg-openjpeg")
    if "pyjpegls" in missing or "jpeg_ls" in missing:
        options.append("pyjpegls")
    if "pylibjpeg-rle" in missing:
        options.append("pylibjpeg-rle")
    if not options:
        return f"pydicom lists: {missing or 'nothing'}"
    return " or ".join(options)


def _mammogram(image: np.ndarray, ds: Dataset, header: _Header, path: Path, options: LoadOptions,
               notes: list[str], *, frame: int | None = None) -> Mammogram:
    """`image` with the facts of its header; `frame`: the frame it is (None: all frames)."""
    check_values(path, image)
    facts = resolve_facts(path, options, header_spacing=_header_spacing(ds, path, notes, frame=frame),
                          laterality=_laterality(ds, frame=frame, notes=notes), view=_view(ds) or None)
    metadata = {
        "format": "dicom",
        "transfer_syntax": str(header.syntax) if header.syntax else None,
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "modality": _text(ds, "Modality"),
        "body_part": _text(ds, "BodyPartExamined"),
        "presentation_intent": _text(ds, "PresentationIntentType"),
        "photometric": header.photometric,
        "bits_allocated": header.bits_allocated,
        "frames": header.frames,
        "manufacturer": _text(ds, "Manufacturer"),
    }
    if options.keep_identifiers:
        metadata["identifiers"] = {keyword: _text(ds, keyword) for keyword in IDENTIFYING_KEYWORDS}
    return facts.mammogram(image, notes=notes, sop_instance_uid=_text(ds, "SOPInstanceUID"),
                           bits_stored=header.bits_stored, metadata=metadata, intensity=header.intensity)


# --------------------------------------------------------------------------------------
# Header values: every access guarded, since pydicom converts values lazily and a
# corrupt element raises on first use.


def _raw(ds: Dataset, keyword: str):
    try:
        return ds.get(keyword)
    except Exception:
        return None


def _text(ds: Dataset, keyword: str) -> str | None:
    value = _raw(ds, keyword)
    if value is None:
        return None
    try:
        if isinstance(value, (list, tuple, MultiValue)):
            value = "\\".join(str(v) for v in value)
        text = str(value).strip()
    except Exception:
        return None
    return text or None


def _int(ds: Dataset, keyword: str, path: Path, *, default: int | None = None, required: bool = False) -> int:
    value = _raw(ds, keyword)
    if value is None or value == "":
        if required:
            raise ImageReadError(path, f"no {keyword} in the header")
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(path, f"{keyword} must be an integer; got {_clip(value, 40)!r}") from None
    return number


def _float(ds: Dataset, keyword: str, path: Path, *, default: float) -> float:
    value = _raw(ds, keyword)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(path, f"{keyword} must be a number; got {_clip(value, 40)!r}") from None
    if not math.isfinite(number):
        raise ImageReadError(path, f"{keyword} must be finite; got {number}")
    return number


def _pair(value) -> tuple[float, float] | None:
    """A valid (row_mm, col_mm) from a 2-valued DS element, else None."""
    try:
        row_mm, col_mm = (float(v) for v in value)
    except Exception:
        return None
    if math.isfinite(row_mm) and math.isfinite(col_mm) and row_mm > 0 and col_mm > 0:
        return row_mm, col_mm
    return None


def _syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    value = _text(meta, "TransferSyntaxUID") if meta is not None else None
    return _uid(value) if value else None


def _uid(value: str) -> UID:
    """A UID without pydicom's validation warning (a corrupt value is reported where it matters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return UID(value)


def _syntax_name(syntax: UID | None) -> str:
    if syntax is None:
        return "none"
    return syntax.name if syntax.is_valid and syntax.name != str(syntax) else "unknown"


def _is_compressed(syntax: UID | None) -> bool:
    try:
        return bool(syntax is not None and syntax.is_compressed)
    except ValueError:  # not a known transfer syntax
        return True


def _pixel_data_length(ds: Dataset, path: Path) -> int:
    try:
        return len(ds.PixelData)
    except Exception as exc:
        raise ImageReadError(path, f"unreadable PixelData ({type(exc).__name__})") from None


def _has_voi(ds: Dataset) -> bool:
    return "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)


def _codes(ds: Dataset, keyword: str) -> list[str]:
    """CodeValue of each item of a code sequence (unreadable items skipped)."""
    out = []
    sequence = _raw(ds, keyword)
    try:
        for item in sequence or ():
            code = _text(item, "CodeValue")
            if code:
                out.append(code)
    except Exception:
        pass
    return out


def _shared(ds: Dataset, *keywords: str):
    """A value in the first item of nested sequences (e.g. shared functional groups), else None."""
    value = ds
    for keyword in keywords:
        value = _raw(value, keyword)
        if value is None:
            return None
        if isinstance(value, pydicom.Sequence):
            if len(value) == 0:
                return None
            value = value[0]
    return value


def _functional(ds: Dataset, *keywords: str, frame: int | None = None, notes: list[str] | None = None):
    """A value of the functional groups of an enhanced (multi-frame) object: the shared groups',
    else the per-frame groups' of `frame`, or when `frame` is None (all frames used) the value
    every frame agrees on (a note when they differ); None when absent."""
    value = _shared(ds, "SharedFunctionalGroupsSequence", *keywords)
    if value is not None:
        return value
    try:
        items = list(_raw(ds, "PerFrameFunctionalGroupsSequence") or ())
    except Exception:
        return None
    if not items:
        return None
    if frame is not None:
        return _shared(items[frame], *keywords) if 0 <= frame < len(items) else None
    values = [_shared(item, *keywords) for item in items]
    if values[0] is not None and all(_plain_value(v) == _plain_value(values[0]) for v in values):
        return values[0]
    if notes is not None and any(v is not None for v in values):
        notes.append(f"{keywords[-1]} differs between frames (per-frame functional groups); ignored")
    return None


def _plain_value(value):
    """A DICOM value as a comparable plain object (MultiValue as a tuple of strings)."""
    if isinstance(value, (list, tuple, MultiValue)):
        return tuple(str(v) for v in value)
    return None if value is None else str(value)


def _laterality(ds: Dataset, *, frame: int | None = None, notes: list[str] | None = None) -> str | None:
    for value in (_text(ds, "ImageLaterality"), _text(ds, "Laterality"),
                  _functional(ds, "FrameAnatomySequence", "FrameLaterality", frame=frame, notes=notes)):
        text = str(value or "").strip().upper()
        if text in ("L", "R"):
            return text
    return None


def _view(ds: Dataset) -> str:
    """ViewPosition, else the view of ViewCodeSequence as its ACR abbreviation; "" when neither."""
    position = (_text(ds, "ViewPosition") or "").upper()
    if position:
        return position
    for code in _codes(ds, "ViewCodeSequence"):
        if code in VIEW_CODES:
            return VIEW_CODES[code]
    return ""


def _header_spacing(ds: Dataset, path: Path, notes: list[str], *,
                    frame: int | None = None) -> tuple[tuple[float, float], SpacingSource] | None:
    """Spacing from the header by precedence (see :class:`SpacingSource`), or None; an enhanced
    object's from its functional groups (:func:`_functional`) for `frame` (None: all frames)."""
    grouped = _functional(ds, "PixelMeasuresSequence", "PixelSpacing", frame=frame, notes=notes)
    for value in (_raw(ds, "PixelSpacing"), grouped):
        if value is not None:
            spacing = _pair(value)
            if spacing is not None:
                return spacing, SpacingSource.PIXEL_SPACING
            notes.append("PixelSpacing is not two positive numbers; ignored")
    value = _raw(ds, "ImagerPixelSpacing")
    if value is not None:
        spacing = _pair(value)
        if spacing is None:
            notes.append("ImagerPixelSpacing is not two positive numbers; ignored")
        else:
            magnification = _raw(ds, "EstimatedRadiographicMagnificationFactor")
            try:
                factor = float(magnification) if magnification not in (None, "") else 1.0
            except (TypeError, ValueError):
                factor = float("nan")
            if not (math.isfinite(factor) and 0.5 <= factor <= 5):
                notes.append("EstimatedRadiographicMagnificationFactor is not in [0.5, 5]; ignored")
                factor = 1.0
            return (spacing[0] / factor, spacing[1] / factor), SpacingSource.IMAGER_PIXEL_SPACING
    value = _raw(ds, "NominalScannedPixelSpacing")
    if value is not None:
        spacing = _pair(value)
        if spacing is not None:
            return spacing, SpacingSource.NOMINAL_SCANNED_PIXEL_SPACING
        notes.append("NominalScannedPixelSpacing is not two positive numbers; ignored")
    return None


# --------------------------------------------------------------------------------------
# pydicom's warnings, kept without values (which may be patient data)

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|<[^>]*>")


def _pydicom_notes(caught) -> list[str]:
    notes = []
    for record in caught:
        message = _QUOTED.sub("...", " ".join(str(record.message).split()))
        message = re.sub(r"Please see \.\.\. for allowed values for each VR\.?", "", message).strip()
        source = "DICOM header" if "pydicom" in str(getattr(record, "filename", "")) else "loader"
        notes.append(f"{source}: {message[:160]}")
    return list(dict.fromkeys(notes))


def _clip(value, limit: int = 300) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------
# Writing


def write_mammogram(
    path,
    pixels: np.ndarray,
    *,
    spacing: tuple[float, float],
    bits_stored: int = 14,
    laterality: str | None = None,
    view: str | None = None,
    photometric: str = "MONOCHROME2",
    compress: bool = True,
    uid_seed: str | None = None,
    content_date: datetime.date | None = None,
) -> Path:
    """Write a grey-scale image as a Digital Mammography X-Ray (For Presentation) DICOM file.

    Used for synthetic test data; the patient module holds only placeholder values.

    Parameters
    ----------
    path : str or PathLike
        Destination; written to a temporary file beside it, then renamed.
    pixels : (M, N) ndarray of unsigned integers
        Stored values, all below ``2**bits_stored``.
    spacing : tuple of 2 floats
        Detector pixel spacing (row_mm, col_mm), written as ImagerPixelSpacing.
    bits_stored : int
        8 to 16.
    laterality, view : str, optional
        ImageLaterality (``"L"``/``"R"``) and ViewPosition (``"CC"``/``"MLO"``).
    photometric : {"MONOCHROME2", "MONOCHROME1"}
    compress : bool
        JPEG-LS lossless (needs pyjpegls) instead of uncompressed little endian.
    uid_seed : str, optional
        Makes the generated UIDs reproducible.
    content_date : datetime.date, optional
        ContentDate; today by default. Fix it (with `uid_seed`) for byte-identical files.

    Returns
    -------
    Path
    """
    path = Path(path)
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype.kind != "u":
        raise ValueError(f"pixels must be a 2-D unsigned integer array; got {pixels.dtype} {pixels.shape}")
    if not 8 <= bits_stored <= 16:
        raise ValueError(f"bits_stored must be in [8, 16]; got {bits_stored}")
    if pixels.size and int(pixels.max()) >= 2**bits_stored:
        raise ValueError(f"pixel values exceed bits_stored={bits_stored}")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"photometric must be MONOCHROME1 or MONOCHROME2; got {photometric!r}")

    def uid(kind: str) -> UID:
        return generate_uid(entropy_srcs=[uid_seed, kind]) if uid_seed is not None else generate_uid()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MAMMOGRAPHY_PRESENTATION_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.PatientName = "SYNTHETIC^PHANTOM"
    ds.PatientID = "SYNTHETIC"
    ds.Modality = "MG"
    ds.BodyPartExamined = "BREAST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ContentDate = (content_date or datetime.date.today()).strftime("%Y%m%d")
    ds.ImageLaterality = laterality or ""
    ds.ViewPosition = view or ""
    ds.ImagerPixelSpacing = [float(spacing[0]), float(spacing[1])]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    ds.RescaleType = "US"
    ds.set_pixel_data(pixels.astype(np.uint16), photometric, bits_stored, generate_instance_uid=False)
    if compress:
        ds.compress(JPEGLSLossless, generate_instance_uid=False)  # keep the (reproducible) UID
    with atomic_open(path, "wb") as fh:
        ds.save_as(fh, enforce_file_format=True)
    return path
