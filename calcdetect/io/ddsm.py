"""Read the original DDSM's ``.LJPEG`` files with their ``.ics`` case files.

The Digital Database for Screening Mammography (DDSM; Heath et al., *The Digital
Database for Screening Mammography*, IWDM 2000; University of South Florida) stores
each film scan as a lossless JPEG (SOF3) file named ``A_1234_1.LEFT_CC.LJPEG`` and
each case's facts in a text file ``A-1234-1.ics`` beside it::

    ics_version 1.0
    filename A-1234-1
    DIGITIZER DBA 21
    LEFT_CC LINES 4696 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 16 RESOLUTION 42 OVERLAY

The ``.ics`` gives the image size (the JPEG frame header of some files has width
and height swapped, so the ``.ics`` wins), the bits per pixel, the sampling
(``RESOLUTION``, micrometres) and the digitiser. Grey levels are mapped to optical
density with the calibration the data set's authors published for each digitiser
(:data:`OPTICAL_DENSITY_CALIBRATIONS`), so images of all four scanners share one
scale; the loaded image is the negated optical density (calcium bright).

CBIS-DDSM, the curated subset, ships DICOM files instead: those are read by
:func:`calcdetect.io.read_dicom`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from calcdetect.errors import ImageReadError
from calcdetect.io.hints import resolve_facts
from calcdetect.io.mammogram import Intensity, LoadOptions, Mammogram, SpacingSource, check_shape, check_values
from calcdetect.io.raster import decode_lossless_jpeg, jpeg_frame, read_bytes

#: File name suffix of DDSM images (matched case-insensitively).
LJPEG_SUFFIX = ".ljpeg"

#: What reads a DDSM file that libjpeg-turbo misreads.
_DDSM_DECODER = ("decode it with the data set's own tool (PVRG JPEG with the DDSM patch: jpeg -d -s FILE) and load "
                 "the raw output as a 16-bit TIFF with a sidecar JSON giving its spacing")

#: An ``.ics`` file larger than this is not a DDSM case file.
_MAX_ICS_BYTES = 100_000

#: The four views a DDSM case holds, as the ``.ics`` and the file names spell them.
DDSM_VIEWS = ("LEFT_CC", "LEFT_MLO", "RIGHT_CC", "RIGHT_MLO")


class Digitizer(StrEnum):
    """The film digitisers of DDSM, by site (the ``digitizer`` metadata value).

    A case's letter gives the site: ``A`` Massachusetts General Hospital (MGH),
    ``B`` and ``C`` Wake Forest University (WFU), ``D`` Washington University
    School of Medicine (ISMD). MGH used two scanners; the ``.ics`` names which.
    """

    DBA_MGH = "DBA M2100 ImageClear (MGH)"
    HOWTEK_MGH = "Howtek 960 (MGH)"
    LUMISYS_WFU = "Lumisys 100 (WFU)"
    HOWTEK_ISMD = "Howtek MultiRad850 (ISMD)"


def _dba_mgh(grey: np.ndarray) -> np.ndarray:
    return (np.log10(np.maximum(grey, 1)) - 4.80662) / -1.07553


def _howtek_mgh(grey: np.ndarray) -> np.ndarray:
    return 3.789 - 0.00094568 * grey


def _lumisys_wfu(grey: np.ndarray) -> np.ndarray:
    return (grey - 4096.99) / -1009.01


def _howtek_ismd(grey: np.ndarray) -> np.ndarray:
    return 3.96604095240593 - 0.00099055807612 * grey


#: Grey level -> optical density for each digitiser, as published with DDSM
#: ("Mapping grey levels to optical density", one page per scanner on the DDSM site,
#: http://www.eng.usf.edu/cvprg/Mammography/DDSM/calibrate/): a line fitted to a
#: scanned step wedge whose densities were measured on the film (DBA: to the
#: logarithm of the grey level, the scanner's response being logarithmic).
OPTICAL_DENSITY_CALIBRATIONS: dict[Digitizer, Callable[[np.ndarray], np.ndarray]] = {
    Digitizer.DBA_MGH: _dba_mgh,
    Digitizer.HOWTEK_MGH: _howtek_mgh,
    Digitizer.LUMISYS_WFU: _lumisys_wfu,
    Digitizer.HOWTEK_ISMD: _howtek_ismd,
}


@dataclass(frozen=True)
class IcsView:
    """One image line of an ``.ics`` file.

    Attributes
    ----------
    lines : int
        Rows of the image.
    pixels_per_line : int
        Columns.
    bits_per_pixel : int
        12 (Howtek, Lumisys) or 16 (DBA).
    resolution_um : float
        Sampling pitch (micrometres), the same along rows and columns.
    """

    lines: int
    pixels_per_line: int
    bits_per_pixel: int
    resolution_um: float


@dataclass(frozen=True, eq=False)
class IcsFile:
    """What a DDSM ``.ics`` case file says that loading needs (no patient data).

    Attributes
    ----------
    path : Path
    case : str
        The ``filename`` line, e.g. ``"A-1234-1"``.
    digitizer_text : str
        The ``DIGITIZER`` line as written (``""`` when absent).
    digitizer : Digitizer or None
        The scanner the calibration is known for; None when unrecognised.
    views : dict of str to IcsView
        Keyed by ``LEFT_CC``, ``LEFT_MLO``, ``RIGHT_CC``, ``RIGHT_MLO``.
    """

    path: Path
    case: str
    digitizer_text: str
    digitizer: Digitizer | None
    views: dict[str, IcsView]


def read_ics(path) -> IcsFile:
    """Read a DDSM ``.ics`` case file.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    IcsFile
        The case name, digitiser and image lines; patient facts (age, study
        date) are not read.

    Raises
    ------
    ImageReadError
        Naming the file: unreadable, too large, or an image line that is not
        ``VIEW LINES n PIXELS_PER_LINE n BITS_PER_PIXEL n RESOLUTION n`` with
        positive sizes, bits in 1-16 and a positive resolution.
    """
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_ICS_BYTES:
            raise ImageReadError(path, f"larger than {_MAX_ICS_BYTES} bytes; not a DDSM .ics case file")
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise ImageReadError(path, f"cannot read the .ics file ({type(exc).__name__}: {exc.strerror or exc})") \
            from None
    case, digitizer_text, views = "", "", {}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        key = words[0].upper()
        if key == "FILENAME" and len(words) > 1:
            case = words[1]
        elif key == "DIGITIZER":
            digitizer_text = " ".join(words[1:])
        elif key in DDSM_VIEWS and len(words) > 1:  # a view name alone lists the scanning SEQUENCE
            views[key] = _image_line(path, line, words)
    return IcsFile(path=path, case=case, digitizer_text=digitizer_text,
                   digitizer=identify_digitizer(digitizer_text, case or path.stem), views=views)


def _image_line(path: Path, line: str, words: list[str]) -> IcsView:
    """An ``.ics`` image line: the view, then (name, value) pairs, then OVERLAY or NON_OVERLAY."""
    fields = {words[i].upper(): words[i + 1] for i in range(1, len(words) - 1, 2)}
    try:
        view = IcsView(lines=int(fields["LINES"]), pixels_per_line=int(fields["PIXELS_PER_LINE"]),
                       bits_per_pixel=int(fields["BITS_PER_PIXEL"]), resolution_um=float(fields["RESOLUTION"]))
    except (KeyError, ValueError):
        view = None
    if view is None or not (view.lines > 0 and view.pixels_per_line > 0 and 1 <= view.bits_per_pixel <= 16
                            and 0 < view.resolution_um < math.inf):
        raise ImageReadError(path, f"image line {line.strip()!r} is not 'VIEW LINES n PIXELS_PER_LINE n "
                                   f"BITS_PER_PIXEL n RESOLUTION n' (positive sizes, 1-16 bits, a positive "
                                   f"resolution in micrometres)")
    return view


def identify_digitizer(digitizer_text: str, case: str) -> Digitizer | None:
    """The DDSM scanner from an ``.ics`` ``DIGITIZER`` line and the case name (its letter is the site).

    Examples
    --------
    >>> identify_digitizer("LUMISYS LASER", "B-3024-1")
    <Digitizer.LUMISYS_WFU: 'Lumisys 100 (WFU)'>
    >>> identify_digitizer("HOWTEK", "D-4002-1")
    <Digitizer.HOWTEK_ISMD: 'Howtek MultiRad850 (ISMD)'>
    >>> identify_digitizer("HOWTEK", "Z-1") is None
    True
    """
    text = digitizer_text.upper()
    site = case[:1].upper()
    if "DBA" in text:
        return Digitizer.DBA_MGH
    if "LUMISYS" in text:
        return Digitizer.LUMISYS_WFU
    if "HOWTEK" in text:
        return {"A": Digitizer.HOWTEK_MGH, "D": Digitizer.HOWTEK_ISMD}.get(site)
    return None


def optical_density(grey: np.ndarray, digitizer: Digitizer) -> np.ndarray:
    """Optical density of DDSM grey levels (float32, same shape), by the published calibration.

    Parameters
    ----------
    grey : ndarray
        Grey levels as stored in the ``.LJPEG`` file.
    digitizer : Digitizer

    Returns
    -------
    ndarray of float32
        Optical density (about 0 for clear film to 3.5-4 for the darkest).
    """
    return OPTICAL_DENSITY_CALIBRATIONS[Digitizer(digitizer)](np.asarray(grey, dtype=np.float32)).astype(
        np.float32, copy=False)


def find_ics(path) -> Path:
    """The ``.ics`` case file of DDSM image `path`, in the same folder.

    ``A_1234_1.LEFT_CC.LJPEG`` -> ``A-1234-1.ics`` (the data set's names), else
    any ``.ics`` whose name is the case's with hyphens and underscores alike, in
    any letter case.

    Raises
    ------
    ImageReadError
        Naming `path`, when there is none.
    """
    path = Path(path)
    case = _case_of(path)
    for name in (case.replace("_", "-"), case):
        if (path.parent / f"{name}.ics").is_file():
            return path.parent / f"{name}.ics"
    wanted = _normal(case)
    for candidate in sorted(path.parent.glob("*")):
        if candidate.suffix.lower() == ".ics" and _normal(candidate.stem) == wanted:
            return candidate
    raise ImageReadError(path, f"no .ics case file for case {case} beside it (e.g. {case.replace('_', '-')}.ics): "
                               f"DDSM gives an image's size, bits and digitiser only there; put the case's .ics "
                               f"file in the same folder")


def read_ljpeg(path, options: LoadOptions = LoadOptions()) -> Mammogram:
    """Load a DDSM ``.LJPEG`` image, calibrated to optical density by its ``.ics`` case file.

    Parameters
    ----------
    path : str or PathLike
        ``<case>.<VIEW>.LJPEG``, with ``<case>.ics`` in the same folder.
    options : LoadOptions
        ``max_pixels`` (``spacing_mm`` and sidecars give way to the ``.ics``).

    Returns
    -------
    Mammogram
        ``image``: the negated optical density (calcium bright), float32, or the
        grey levels when the digitiser is unknown (with a warning);
        ``intensity`` ``"optical_density"`` or ``"presentation"``; spacing from
        the ``.ics`` ``RESOLUTION`` (``spacing_source`` ``"ics"``); laterality
        and view from the view name; ``metadata["digitizer"]``.

    Raises
    ------
    ImageReadError
        Naming the file: no ``.ics`` beside it or an invalid one, the view
        missing from it, not a one-channel lossless JPEG, a frame size that
        matches the ``.ics`` neither way round, samples of fewer bits, a
        lossless JPEG that does not decode, or grey levels beyond its bits per
        pixel.
    """
    path = Path(path)
    view_name = _view_of(path)
    ics_path = find_ics(path)
    try:
        ics = read_ics(ics_path)
    except ImageReadError as exc:  # name the image the batch is reading, then its case file
        raise ImageReadError(path, f"{ics_path.name}: {exc.reason}") from None
    view = ics.views.get(view_name)
    if view is None:
        raise ImageReadError(path, f"{ics.path.name} has no {view_name} line (it lists "
                                   f"{', '.join(ics.views) or 'no image'})")
    expected = (view.lines, view.pixels_per_line)
    check_shape(path, *expected, max_pixels=options.max_pixels)
    data = read_bytes(path)
    frame = jpeg_frame(path, data)
    if not frame.lossless:
        raise ImageReadError(path, f"not a lossless JPEG (frame marker 0xFF{frame.marker:02X}; DDSM writes SOF3)")
    stated = (frame.rows, frame.cols)
    if frame.channels != 1 or stated not in (expected, expected[::-1]):
        raise ImageReadError(path, f"the JPEG frame header gives {frame.rows} x {frame.cols} x {frame.channels} "
                                   f"channel(s); {ics.path.name} gives {view.lines} x {view.pixels_per_line} x 1 "
                                   f"(either way round)")
    if frame.precision < view.bits_per_pixel:
        raise ImageReadError(path, f"the JPEG frame holds {frame.precision}-bit samples; {ics.path.name} gives "
                                   f"{view.bits_per_pixel} bits per pixel")
    image = decode_lossless_jpeg(path, data)
    del data
    notes = []
    if stated != expected:
        # Some DDSM files state width and height swapped in the frame header; the pixels are in order.
        image = image.reshape(expected)
        notes.append(f"JPEG frame header gives {frame.rows} x {frame.cols}; the size of {ics.path.name} used")
    top = int(image.max())
    if top >= 2**view.bits_per_pixel:
        raise ImageReadError(path, f"grey level {top} exceeds the {view.bits_per_pixel} bits per pixel of "
                                   f"{ics.path.name}: the lossless JPEG decoded wrongly; {_DDSM_DECODER}")
    if view.bits_per_pixel > 12:
        notes.append(f"{view.bits_per_pixel}-bit DDSM file: some were written by an encoder that standard decoders "
                     f"misread without an error; check the image, and if it is garbled, {_DDSM_DECODER}")
    if ics.digitizer is None:
        image = image.astype(np.float32)
        intensity = Intensity.PRESENTATION
        notes.append(f"digitiser {ics.digitizer_text or '(none given)'!r} has no published calibration: grey levels "
                     f"kept as stored")
    else:
        image = -optical_density(image, ics.digitizer)
        intensity = Intensity.OPTICAL_DENSITY
    check_values(path, image)
    spacing_mm = view.resolution_um / 1000.0
    laterality, ddsm_view = view_name.split("_")
    facts = resolve_facts(path, options, header_spacing=((spacing_mm, spacing_mm), SpacingSource.ICS),
                          laterality=laterality[0], view=ddsm_view)
    metadata = {"format": "ljpeg", "digitizer": str(ics.digitizer or ics.digitizer_text)}
    return facts.mammogram(image, notes=notes, bits_stored=view.bits_per_pixel, metadata=metadata,
                           intensity=intensity)


def _view_of(path: Path) -> str:
    parts = path.name.split(".")
    view = parts[-2].upper() if len(parts) >= 3 else ""
    if view not in DDSM_VIEWS:
        raise ImageReadError(path, f"a DDSM image is named <case>.<view>.LJPEG with view one of "
                                   f"{', '.join(DDSM_VIEWS)}; got {path.name!r}")
    return view


def _case_of(path: Path) -> str:
    return path.name.split(".")[0]


def _normal(name: str) -> str:
    return re.sub(r"[-_]", "_", name).upper()


__all__ = [
    "DDSM_VIEWS",
    "LJPEG_SUFFIX",
    "OPTICAL_DENSITY_CALIBRATIONS",
    "Digitizer",
    "IcsFile",
    "IcsView",
    "find_ics",
    "identify_digitizer",
    "optical_density",
    "read_ics",
    "read_ljpeg",
]
