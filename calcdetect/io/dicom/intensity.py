"""From decoded stored values to a calcium-bright float32 image: the modality LUT, the
polarity the file states, the VOI LUT on request, and FOR PROCESSING data as attenuation."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from calcdetect.errors import ImageReadError
from calcdetect.io.dicom._elements import _clip
from calcdetect.io.mammogram import Intensity

if TYPE_CHECKING:
    from calcdetect.io.dicom.header import _Header


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


def stored_range(header: _Header) -> tuple[float, float]:
    """Smallest and largest value the stored pixels can take, after the modality LUT."""
    if header.signed:
        lo, hi = -(2 ** (header.bits_stored - 1)), 2 ** (header.bits_stored - 1) - 1
    else:
        lo, hi = 0, 2**header.bits_stored - 1
    ends = modality(header, np.array([lo, hi]))
    return float(ends.min()), float(ends.max())


def modality(header: _Header, stored: np.ndarray) -> np.ndarray:
    """Stored values through the modality LUT (rescale slope and intercept, or a LUT), as float32."""
    if header.has_modality_lut:
        try:
            return np.asarray(apply_modality_lut(stored, header.ds), dtype=np.float32)
        except Exception as exc:
            raise ImageReadError(header.path, f"invalid ModalityLUTSequence ({type(exc).__name__}: "
                                            f"{_clip(exc)})") from None
    image = stored.astype(np.float32)
    if header.slope != 1:
        image *= np.float32(header.slope)
    if header.intercept != 0:
        image += np.float32(header.intercept)
    return image


def to_image(header: _Header, stored: np.ndarray) -> np.ndarray:
    """One decoded frame as the float32, calcium-bright image of :attr:`intensity`."""
    if stored.shape != (header.rows, header.cols):
        raise ImageReadError(header.path, f"decoded frame shape {stored.shape} does not match the header's "
                                        f"{header.rows} x {header.cols}")
    image = modality(header, stored)
    del stored
    lo, hi = stored_range(header)
    if header.intensity is Intensity.VOI:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a SIGMOID window overflows exp() far from its centre
                image = np.asarray(apply_voi_lut(image, header.ds, index=0), dtype=np.float32)
                ends = np.asarray(apply_voi_lut(np.array([lo, hi]), header.ds, index=0), dtype=float)
        except Exception as exc:
            raise ImageReadError(header.path, f"invalid VOI LUT or window ({type(exc).__name__}: "
                                            f"{_clip(exc)})") from None
        lo, hi = float(ends.min()), float(ends.max())
        if header.inverted:
            image = np.subtract(np.float32(lo + hi), image, out=image)
        return image
    if header.intensity in (Intensity.LOG, Intensity.LINEAR):
        return _for_processing(header, image, lo, hi)
    if header.inverted:
        # Invert about the range the stored values can take, so that the result is
        # exactly the MONOCHROME2 rendering of the same data, independent of content.
        image = np.subtract(np.float32(lo + hi), image, out=image)
    return image


def _for_processing(header: _Header, image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Raw data as attenuation (LOG) or as calcium-bright linear values (LINEAR), in place."""
    if header.log_input:
        # Already log(intensity) (or its negative): attenuation up to a constant.
        if header.lin_sign > 0:
            image = np.subtract(np.float32(hi), image, out=image)
        else:
            image -= np.float32(lo)
        return image
    if header.lin_sign < 0:  # values fall with intensity: intensity = hi - value
        image = np.subtract(np.float32(hi), image, out=image)
    else:
        image -= np.float32(lo)
    if header.intensity is Intensity.LINEAR:
        # Calcium attenuates: invert so that it is bright, as in presentation images.
        return np.subtract(np.float32(hi - lo), image, out=image)
    # One stored quantum is the smallest intensity told apart from none.
    quantum = np.float32(abs(header.slope) if not header.has_modality_lut else 1.0)
    np.maximum(image, quantum, out=image)
    np.log(image, out=image)
    return np.subtract(np.float32(math.log(max(hi - lo, float(quantum)))), image, out=image)
