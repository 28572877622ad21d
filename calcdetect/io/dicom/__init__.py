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

One module a step, as pydicom splits ``pixels/``: :mod:`.header` (opening the file, the
image's technical facts), :mod:`.screening` (an image? a breast?), :mod:`.decoding`,
:mod:`.intensity` (stored values to a calcium-bright image, as free functions),
:mod:`.facts` (spacing, laterality, view), :mod:`.writing`; header elements are read
defensively by :mod:`._elements`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from calcdetect.errors import ImageReadError
from calcdetect.io.dicom import intensity
from calcdetect.io.dicom._elements import _pydicom_notes, _text
from calcdetect.io.dicom.decoding import _check_decodable, _decode, _decode_frames
from calcdetect.io.dicom.facts import VIEW_CODES, _header_spacing, _laterality, _view
from calcdetect.io.dicom.header import _Header, _open
from calcdetect.io.dicom.screening import (
    BREAST_BODY_PARTS,
    BREAST_CODES,
    FOR_PROCESSING_SOP_CLASSES,
    MAMMOGRAPHY_PRESENTATION_SOP_CLASS,
    MAMMOGRAPHY_SOP_CLASSES,
    NON_IMAGE_SOP_CLASSES,
    NON_PROJECTION_MODALITIES,
    breast_evidence,
)
from calcdetect.io.dicom.writing import write_mammogram
from calcdetect.io.hints import resolve_facts
from calcdetect.io.mammogram import LoadOptions, Mammogram, check_values

__all__ = [
    "DICOM_SUFFIXES",
    "IDENTIFYING_KEYWORDS",
    "VIEW_CODES",
    "BREAST_BODY_PARTS",
    "BREAST_CODES",
    "FOR_PROCESSING_SOP_CLASSES",
    "MAMMOGRAPHY_PRESENTATION_SOP_CLASS",
    "MAMMOGRAPHY_SOP_CLASSES",
    "NON_IMAGE_SOP_CLASSES",
    "NON_PROJECTION_MODALITIES",
    "breast_evidence",
    "is_dicom_file",
    "iter_frames",
    "read_dicom",
    "read_dicom_pixels",
    "write_mammogram",
]

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
        if options.frames != "mip" and int(options.frames) >= header.frames:
            raise ImageReadError(path, f"frame {options.frames} requested but the file has {header.frames} "
                                       f"frames (0 to {header.frames - 1})")
    _check_decodable(ds, header, path)
    frame = None  # all frames (a single one, or their projection)
    if header.frames == 1:
        image = intensity.to_image(header, _decode(ds, header, path, index=None))
    elif options.frames == "mip":
        mip: np.ndarray | None = None
        for stored in _decode_frames(ds, header, path):
            decoded = intensity.to_image(header, stored)
            mip = decoded if mip is None else np.maximum(mip, decoded, out=mip)
        if mip is None:
            raise ImageReadError(path, f"the pixel data holds none of the {header.frames} frames")
        image = mip
        notes.append(f"maximum-intensity projection of {header.frames} frames")
    else:
        frame = int(options.frames)
        image = intensity.to_image(header, _decode(ds, header, path, index=frame))
        notes.append(f"frame {frame} of {header.frames}")
    return _mammogram(image, ds, header, path, options, notes, frame=frame)


def read_dicom_pixels(path) -> np.ndarray:
    """The stored pixel values of a single-frame DICOM image, without the mammogram's checks.

    For images that are no mammogram but go with one: a data set's ROI masks (two-valued)
    and label maps. No rescale or VOI is applied; values stored dark-for-bright
    (MONOCHROME1, or a Presentation LUT Shape INVERSE: the loader's own rule) are
    inverted (``max - value``) so that a higher value is always brighter.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    (rows, cols) ndarray
        In the stored integer type.

    Raises
    ------
    ImageReadError
        Not DICOM, no image, several frames, or no installed decoder reads it.
    """
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's notes on a mask's header are of no use here
        ds, _ = _open(path)
        header = _Header.of(ds, path, LoadOptions(force=True))
        if header.frames != 1:
            raise ImageReadError(path, f"{header.frames} frames; a single-frame image was expected")
        _check_decodable(ds, header, path)
        pixels = _decode(ds, header, path, index=None)
    if header.inverted:
        pixels = pixels.max() - pixels
    return pixels


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
            mammogram = _mammogram(intensity.to_image(header, stored), ds, header, path, options,
                                   [*notes, *header.notes, f"frame {index} of {header.frames}"], frame=index)
        mammogram.metadata["frame"] = index
        yield mammogram


def _mammogram(image: np.ndarray, ds: Dataset, header: _Header, path: Path, options: LoadOptions,
               notes: list[str], *, frame: int | None = None) -> Mammogram:
    """`image` with the facts of its header; `frame`: the frame it is (None: all frames)."""
    check_values(path, image)
    facts = resolve_facts(path, options, header_spacing=_header_spacing(ds, path, notes, frame=frame),
                          laterality=_laterality(ds, frame=frame, notes=notes), view=_view(ds) or None)
    metadata: dict[str, Any] = {
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
