"""Opening a file, and the technical facts of its image, validated before any pixel is decoded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from calcdetect.errors import ImageReadError, NotABreastError, NotAnImageError
from calcdetect.io.dicom._elements import (
    _clip,
    _float,
    _has_voi,
    _int,
    _pixel_data_length,
    _pydicom_notes,
    _syntax,
    _text,
    _uid,
)
from calcdetect.io.dicom.decoding import _ALWAYS_LOSSY, _NATIVE_SYNTAXES
from calcdetect.io.dicom.intensity import _inverted
from calcdetect.io.dicom.screening import (
    FOR_PROCESSING_SOP_CLASSES,
    NON_IMAGE_SOP_CLASSES,
    NON_PROJECTION_MODALITIES,
    breast_evidence,
)
from calcdetect.io.mammogram import MAX_BYTES, Intensity, LoadOptions, check_shape


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
