"""What every reader returns (:class:`Mammogram`) and takes (:class:`LoadOptions`).

Shared by the DICOM and raster readers: the options of loading, the loaded
image with the facts the pipeline needs, and the checks every loaded image
passes (size, finiteness, not constant) before it leaves the loader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import StrEnum

import numpy as np

from calcdetect.errors import ImageReadError, NotAnImageError

#: Pixel spacing (mm) assumed when neither the file, a sidecar nor the user gives
#: one: the usual value for digitised film (DDSM / CBIS-DDSM scanners sample at
#: 42-50 um; 50 um is what CBIS-DDSM users assume). Always recorded as
#: ``spacing_source == "default"`` with a warning.
DEFAULT_SPACING_MM = 0.05

#: Refuse images with more pixels than this (per frame) before decoding anything:
#: the largest full-field detectors are about 4,100 x 5,600 and film scans at 42 um
#: about 7,000 x 5,000; 200 Mpx (800 MB as float32) is far beyond either.
MAX_PIXELS = 200_000_000

#: Refuse files that would need more than this many bytes of stored pixels (all
#: frames), or files larger than this, before reading them.
MAX_BYTES = 4 * 2**30

#: An image needs at least this many pixels along each side.
MIN_SIDE = 16

#: Above this spacing (mm) the smallest calcifications (0.1-0.2 mm) are sub-pixel.
COARSE_SPACING_MM = 0.1

#: What `LoadOptions.frames` accepts besides a frame index.
FRAME_MODES = ("error", "mip")


class SpacingSource(StrEnum):
    """Where a mammogram's pixel spacing came from (the ``spacing_source`` column).

    In order of precedence: ``PixelSpacing`` (calibrated to the object),
    ``ImagerPixelSpacing`` (detector, divided by the estimated radiographic
    magnification factor when there is one), ``NominalScannedPixelSpacing``
    (film digitiser), a sidecar JSON file, the user's value, the default.
    """

    PIXEL_SPACING = "PixelSpacing"
    IMAGER_PIXEL_SPACING = "ImagerPixelSpacing"
    NOMINAL_SCANNED_PIXEL_SPACING = "NominalScannedPixelSpacing"
    ICS = "ics"
    SIDECAR = "sidecar"
    USER = "user"
    DEFAULT = "default"


class Intensity(StrEnum):
    """What the values of :attr:`Mammogram.image` mean.

    ``presentation``: the stored values after the modality LUT (rescale slope and
    intercept), MONOCHROME1 inverted: a for-presentation image as the vendor
    processed it, or a raster file as it is. ``log``: a "FOR PROCESSING" (raw,
    linear in dose) image turned into attenuation, ``-ln(intensity)`` plus a
    constant, so that a calcification's contrast does not depend on the local
    dose. ``linear``: a "FOR PROCESSING" image left linear (on request),
    inverted so that calcium is bright. ``voi``: the VOI LUT or window of the
    file applied (on request): display values. ``optical_density``: a digitised
    film calibrated to optical density by its scanner's published calibration
    (DDSM ``.LJPEG``), negated so that calcium is bright.
    """

    PRESENTATION = "presentation"
    LOG = "log"
    LINEAR = "linear"
    VOI = "voi"
    OPTICAL_DENSITY = "optical_density"


@dataclass(frozen=True)
class LoadOptions:
    """How input files are turned into mammograms (every option of the loader).

    Attributes
    ----------
    spacing_mm : float or tuple of 2 floats, optional
        Pixel spacing (row_mm, col_mm) for files whose header and sidecar have
        none (see :class:`SpacingSource` for the precedence).
    force : bool
        Load images whose header says they are not a breast (e.g. Modality CR
        and BodyPartExamined LEG); refused by default.
    frames : {"error", "mip"} or int
        Multi-frame files (breast tomosynthesis): ``"error"`` refuses them;
        ``"mip"`` loads the maximum-intensity projection over all frames (a
        simple synthetic 2-D view, in which each calcification keeps the
        contrast of its in-focus slice; not a vendor's synthesised mammogram);
        an int loads that frame (0-based). :func:`calcdetect.io.iter_frames`
        gives every frame.
    voi : bool
        Apply the file's VOI LUT or window (including SIGMOID) instead of keeping
        detector-linear or log values; detection wants the latter.
    log_for_processing : bool
        Log-transform "FOR PROCESSING" (raw) images; False keeps them linear.
    keep_identifiers : bool
        Copy patient and study identifiers into ``Mammogram.metadata["identifiers"]``;
        off by default, so that nothing identifying leaves the loader.
    max_pixels : int
        Refuse images with more pixels than this per frame (checked on the header,
        before any pixel is decoded).
    """

    spacing_mm: float | tuple[float, float] | None = None
    force: bool = False
    frames: str | int = "error"
    voi: bool = False
    log_for_processing: bool = True
    keep_identifiers: bool = False
    max_pixels: int = MAX_PIXELS

    def __post_init__(self):
        if self.spacing_mm is not None:
            as_spacing(self.spacing_mm, name="spacing_mm")
        frames = self.frames
        if isinstance(frames, bool) or not (
            frames in FRAME_MODES or (isinstance(frames, (int, np.integer)) and frames >= 0)
        ):
            raise ValueError(f"frames must be one of {FRAME_MODES} or a frame index >= 0; got {frames!r}")
        if isinstance(self.max_pixels, bool) or not (
            isinstance(self.max_pixels, (int, np.integer)) and self.max_pixels >= MIN_SIDE**2
        ):
            raise ValueError(f"max_pixels must be an integer >= {MIN_SIDE**2}; got {self.max_pixels!r}")

    @property
    def spacing(self) -> tuple[float, float] | None:
        """`spacing_mm` as (row_mm, col_mm), or None."""
        return None if self.spacing_mm is None else as_spacing(self.spacing_mm, name="spacing_mm")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class Mammogram:
    """A loaded mammogram.

    Attributes
    ----------
    image : (M, N) ndarray of float32
        Calcium bright: the modality LUT applied, MONOCHROME1 inverted;
        :attr:`intensity` says in which units. Finite and not constant.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    spacing_source : SpacingSource
        Which attribute, file or person gave `spacing`.
    laterality, view : str or None
        ``"L"`` / ``"R"`` and ``"CC"`` / ``"MLO"`` / ``"ML"`` / ... where known.
    sop_instance_uid : str or None
        The image's SOP Instance UID (an identifier free of patient data).
    bits_stored : int or None
        Bits stored per pixel in the file.
    warnings : tuple of str
        One line each: what the loader assumed or doubts (recorded in the
        ``warnings`` column of ``images.csv``). Never holds patient data.
    metadata : dict
        Other technical facts of the file (format, transfer syntax, modality,
        ...). Never patient or study identifiers, unless
        ``LoadOptions.keep_identifiers`` asked for them (then under
        ``"identifiers"``).
    intensity : Intensity
        What the pixel values mean.
    """

    image: np.ndarray
    spacing: tuple[float, float]
    spacing_source: SpacingSource
    laterality: str | None = None
    view: str | None = None
    sop_instance_uid: str | None = None
    bits_stored: int | None = None
    warnings: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)
    intensity: Intensity = Intensity.PRESENTATION


def as_spacing(spacing_mm, *, name: str = "spacing_mm") -> tuple[float, float]:
    """One or two positive finite numbers (mm) as (row_mm, col_mm); ValueError naming `name` otherwise."""
    try:
        values = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (2,))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one or two positive numbers (mm); got {spacing_mm!r}") from None
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"{name} must be one or two positive numbers (mm); got {spacing_mm!r}")
    return float(values[0]), float(values[1])


def check_shape(path, rows: int, cols: int, *, frames: int = 1, bytes_per_pixel: int = 2,
                max_pixels: int = MAX_PIXELS) -> None:
    """Refuse, before allocating, images too small to be a mammogram or too large to load."""
    if rows < MIN_SIDE or cols < MIN_SIDE:
        raise ImageReadError(path, f"image size {rows} x {cols} is too small; a mammogram needs at least "
                                   f"{MIN_SIDE} x {MIN_SIDE} pixels")
    if rows * cols > max_pixels:
        raise ImageReadError(path, f"image size {rows} x {cols} ({rows * cols} pixels) exceeds the limit of "
                                   f"{max_pixels} pixels")
    if rows * cols * max(frames, 1) * bytes_per_pixel > MAX_BYTES:
        raise ImageReadError(path, f"{frames} frames of {rows} x {cols} at {bytes_per_pixel} bytes per pixel "
                                   f"exceed the limit of {MAX_BYTES} bytes")


def check_values(path, image: np.ndarray) -> None:
    """Refuse images with non-finite values or no contrast at all; skip two-valued images (a
    region-of-interest mask such as CBIS-DDSM's "ROI mask images", a drawing), which are no
    mammogram.

    Raises
    ------
    ImageReadError
        Non-finite or constant values.
    NotAnImageError
        Only two distinct values.
    """
    lo, hi = float(np.min(image)), float(np.max(image))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ImageReadError(path, "pixel values are not all finite (NaN or infinity)")
    if lo == hi:
        raise ImageReadError(path, f"constant image (every pixel is {lo:g}): nothing to detect")
    lo_value, hi_value = image.dtype.type(lo), image.dtype.type(hi)
    # A sparse sample settles nearly every mammogram; only a two-valued sample needs the whole.
    if not any(np.any((part != lo_value) & (part != hi_value)) for part in (image[::7, ::7], image)):
        raise NotAnImageError(path, f"skipped: a two-valued image (only {lo:g} and {hi:g}), e.g. a region-of-"
                                    f"interest mask, not a mammogram")


def spacing_warnings(spacing: tuple[float, float], source: SpacingSource) -> list[str]:
    """What a user should know about the spacing a mammogram got."""
    out = []
    if source is SpacingSource.DEFAULT:
        out.append(f"no pixel spacing in the file, a sidecar or the options: assumed {DEFAULT_SPACING_MM} mm "
                   f"(digitised film); give the true one with --spacing-mm or a sidecar JSON")
    if max(spacing) > COARSE_SPACING_MM:
        out.append(f"pixel spacing {max(spacing):g} mm is coarser than {COARSE_SPACING_MM} mm: calcifications "
                   f"smaller than about {3 * max(spacing):.2g} mm are sub-pixel and may be missed")
    return out
