"""One call from a file or an array to the tables: :func:`detect` and its :class:`Detection`.

The same code as ``calcdetect detect`` runs (loading, :func:`calcdetect.pipeline.detect_mammogram`,
the rows of :mod:`calcdetect.results`), so a file gives the rows the command line writes
for it; only ``seconds`` differs from run to run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path

import numpy as np

from calcdetect.batch import ImageOutcome, detection_warnings, image_outcome
from calcdetect.errors import ImageReadError
from calcdetect.io import LoadOptions, Mammogram, SpacingSource, read_mammogram
from calcdetect.io.hints import MAMMOGRAPHY_VIEWS
from calcdetect.io.mammogram import as_spacing, check_values
from calcdetect.pipeline import Params, Result, detect_mammogram
from calcdetect.tables import SCHEMA_VERSION, TABLES, plain_value

#: Options :func:`detect` takes for an array source (a file's come from its header).
ARRAY_OPTIONS = ("laterality", "view")

#: The ``path`` column of an image given as an array.
ARRAY_PATH = "(array)"


@dataclass(frozen=True)
class ImageInfo:
    """What was analysed.

    Attributes
    ----------
    image_id : str
        The ``image_id`` column: the file's name, the caller's id, or ``"image"``.
    path : str
        The file, or ``"(array)"``.
    rows, columns : int
        Size in pixels.
    spacing : tuple of 2 floats
        (row_mm, col_mm).
    spacing_source : SpacingSource
    laterality, view : str or None
    warnings : tuple of str
        What the loader assumed and detection noticed (the ``warnings`` column).
    """

    image_id: str
    path: str
    rows: int
    columns: int
    spacing: tuple[float, float]
    spacing_source: SpacingSource
    laterality: str | None
    view: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Detection:
    """The result of :func:`detect` on one image.

    Attributes
    ----------
    image : ImageInfo
    calcifications : tuple of dict
        Rows of the calcifications table (:data:`calcdetect.tables.TABLES`), in its column order.
    clusters : tuple of dict
        Rows of the clusters table.
    images : tuple of dict
        The one row of the images table.
    result : Result
        The pipeline's arrays (specks, cluster labels, shapes, descriptions, breast geometry),
        for work beyond the tables.
    """

    image: ImageInfo
    calcifications: tuple[dict, ...]
    clusters: tuple[dict, ...]
    images: tuple[dict, ...]
    result: Result

    def to_records(self) -> dict[str, list[dict]]:
        """The three tables as lists of rows (plain Python values, None where missing)."""
        return {name: [{column: plain_value(row.get(column)) for column in TABLES[name]} for row in getattr(self, name)]
                for name in TABLES}

    def to_dict(self) -> dict:
        """A JSON-serialisable dict: schema version, the image, and the three tables' rows."""
        image = {f.name: getattr(self.image, f.name) for f in fields(ImageInfo)}
        image["spacing"] = list(image["spacing"])
        image["spacing_source"] = str(image["spacing_source"])
        image["warnings"] = list(image["warnings"])
        return {"schema_version": SCHEMA_VERSION, "image": image, **self.to_records()}

    def to_pandas(self) -> dict:
        """The three tables as pandas DataFrames keyed by table name, typed by the schema.

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Detection.to_pandas needs pandas: pip install 'calcdetect[pandas]'") from None
        from calcdetect.tables import COLUMN_TYPES

        dtypes = {"string": "string", "int64": "Int64", "float64": "float64"}
        return {name: pd.DataFrame(rows, columns=list(TABLES[name])).astype(
                    {column: dtypes[COLUMN_TYPES[column]] for column in TABLES[name]})
                for name, rows in self.to_records().items()}


def detect(source, *, spacing=None, params: Params | None = None, image_id: str | None = None,
           **options) -> Detection:
    """Find, cluster and describe the calcifications of one mammogram, in one call.

    Parameters
    ----------
    source : str, PathLike or (M, N) ndarray
        A file any of calcdetect's readers takes (DICOM, PNG, TIFF, PGM, JPEG,
        DDSM ``.LJPEG``), or an image, calcium bright, in detector, log or
        presentation units.
    spacing : float or tuple of 2 floats, optional
        Pixel spacing (row_mm, col_mm). Required for an array; for a file, used
        only when its header and sidecar give none (``LoadOptions.spacing_mm``).
    params : Params, optional
        Detection settings; the defaults of ``calcdetect detect`` when omitted.
    image_id : str, optional
        The ``image_id`` column; the file's name, or ``"image"`` for an array.
    **options
        For a file, fields of :class:`calcdetect.io.LoadOptions` (``force``,
        ``frames``, ``voi``, ...); for an array, ``laterality`` (``"L"``/``"R"``)
        and ``view`` (``"CC"``, ``"MLO"``, ...: oblique views get the pectoral
        muscle left out).

    Returns
    -------
    Detection
        ``.calcifications``, ``.clusters`` and ``.images`` hold the rows
        ``calcdetect detect`` writes for this file (the same code makes them).

    Raises
    ------
    ImageReadError
        The file cannot be read as a mammogram (one line: the file and the reason).
    ValueError
        An array that is not 2-D, finite and non-constant; a missing or invalid
        `spacing` for an array.
    TypeError
        An option that is not one of those above.

    Examples
    --------
    >>> import calcdetect
    >>> found = calcdetect.detect("data/samples/synth_0003.dcm")  # doctest: +SKIP
    >>> [(c["distribution"], c["morphology"], round(c["score"], 2)) for c in found.clusters]  # doctest: +SKIP
    """
    params = Params() if params is None else params
    start = time.perf_counter()
    if isinstance(source, (str, PathLike)):
        unknown = set(options) - {f.name for f in fields(LoadOptions)}
        if unknown:
            raise TypeError(f"detect() got options {sorted(unknown)} that LoadOptions does not have "
                            f"(it has {[f.name for f in fields(LoadOptions)]})")
        if spacing is not None:
            options["spacing_mm"] = spacing
        path = Path(source)
        mammogram = read_mammogram(path, LoadOptions(**options))
        image_id = image_id or path.name
        where = str(path)
    else:
        unknown = set(options) - set(ARRAY_OPTIONS)
        if unknown:
            raise TypeError(f"detect() got options {sorted(unknown)}; for an array it takes {list(ARRAY_OPTIONS)}")
        mammogram = _array_mammogram(source, spacing, **options)
        image_id = image_id or "image"
        where = ARRAY_PATH
    result = detect_mammogram(mammogram, params=params)
    outcome = image_outcome(mammogram, result, image_id=image_id, path=where, params=params,
                            seconds=time.perf_counter() - start)
    warnings = (*mammogram.warnings, *detection_warnings(result, params, spacing=mammogram.spacing))
    return _detection(outcome, mammogram, result, warnings=warnings)


def _array_mammogram(image, spacing, *, laterality: str | None = None, view: str | None = None) -> Mammogram:
    if spacing is None:
        raise ValueError("spacing is required for an array: (row_mm, col_mm) or one number in mm")
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype.kind not in "uif":
        raise ValueError(f"image must be a 2-D array of numbers; got shape {image.shape}, dtype {image.dtype}")
    if laterality not in (None, "L", "R"):
        raise ValueError(f"laterality must be 'L', 'R' or None; got {laterality!r}")
    if view is not None and str(view).upper() not in MAMMOGRAPHY_VIEWS:
        raise ValueError(f"view must be an ACR view abbreviation ({', '.join(sorted(MAMMOGRAPHY_VIEWS))}) or None; "
                         f"got {view!r}")
    image = image.astype(np.float32, copy=False)
    try:
        check_values(ARRAY_PATH, image)
    except ImageReadError as exc:  # the loader's checks, as a ValueError for an array
        raise ValueError(f"image: {exc.reason}") from None
    return Mammogram(image=image, spacing=as_spacing(spacing, name="spacing"), spacing_source=SpacingSource.USER,
                     laterality=laterality, view=None if view is None else str(view).upper())


def _detection(outcome: ImageOutcome, mammogram: Mammogram, result: Result, *, warnings) -> Detection:
    row = outcome.image
    warnings = tuple(dict.fromkeys(warnings))  # as the warnings column holds them
    info = ImageInfo(image_id=row["image_id"], path=row["path"], rows=int(row["rows"]), columns=int(row["columns"]),
                     spacing=mammogram.spacing, spacing_source=mammogram.spacing_source,
                     laterality=mammogram.laterality, view=mammogram.view, warnings=warnings)
    return Detection(image=info, calcifications=tuple(_ordered(r, TABLES["calcifications"]) for r in
                                                      outcome.calcifications),
                     clusters=tuple(_ordered(r, TABLES["clusters"]) for r in outcome.clusters),
                     images=(_ordered(row, TABLES["images"]),), result=result)


def _ordered(row: dict, columns) -> dict:
    return {name: row.get(name) for name in columns}


__all__ = ["ARRAY_OPTIONS", "Detection", "ImageInfo", "detect"]
