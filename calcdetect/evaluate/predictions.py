"""A run's tables as read for scoring: the predicted clusters and calcifications of each image.

:func:`load_predictions` reads the ``images``, ``clusters`` and ``calcifications`` tables of
a ``calcdetect detect`` run (output contract schema v1), CSV or Parquet alike, through
:func:`calcdetect.tables.read_table`; tables written by another tool need only the columns
it names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calcdetect.arrays import StructOfArrays
from calcdetect.errors import EvaluationError
from calcdetect.tables import read_table


@dataclass(frozen=True, eq=False)
class PredictedClusters(StructOfArrays):
    """The predicted clusters of one image (struct of arrays, K clusters).

    Attributes
    ----------
    cluster_id : (K,) ndarray of int64
    centre : (K, 2) ndarray of float64
        Centre (row, col) in pixels; NaN where the table left it empty.
    score : (K,) ndarray of float64
        Suspicion; 0 where the table left it empty.
    distribution, morphology : tuple of (str or None)
        As written in the table (free text: not checked against the lexicon).
    confidence : (K,) ndarray of float64
        Detection confidence (the ``confidence`` column); `score` where the
        table leaves it empty or has no such column.
    birads_category : tuple of (str or None)
        The ``birads_category`` column as written (None where empty or absent).
    """

    cluster_id: np.ndarray
    centre: np.ndarray
    score: np.ndarray
    distribution: tuple[str | None, ...]
    morphology: tuple[str | None, ...]
    confidence: np.ndarray
    birads_category: tuple[str | None, ...]


@dataclass(frozen=True, eq=False)
class PredictedCalcifications(StructOfArrays):
    """The predicted calcifications of one image (struct of arrays, P specks).

    Attributes
    ----------
    calc_id, cluster_id : (P,) ndarray of int64
        ``cluster_id == -1`` means unclustered (also where the table left it empty).
    centroid : (P, 2) ndarray of float64
        Centroid (row, col) in pixels; NaN where the table left it empty.
    score : (P,) ndarray of float64
        Detection confidence; 0 where the table left it empty.
    """

    calc_id: np.ndarray
    cluster_id: np.ndarray
    centroid: np.ndarray
    score: np.ndarray


@dataclass(frozen=True, eq=False)
class PredictedImage:
    """The predictions for one image.

    Attributes
    ----------
    image_id : str
    path : str or None
    status : str
        ``"ok"`` or ``"error"``.
    error : str or None
        Reason of the failure for ``status == "error"``.
    clusters : PredictedClusters
    calcifications : PredictedCalcifications
    shape : tuple of 2 ints or None
        (rows, columns) the run recorded; None where it did not.
    spacing : tuple of 2 floats or None
        (row_mm, col_mm) the run used; None where it did not record it.
    breast_area_mm2 : float or None
        Area of the breast the run found; None where it did not record one.
    """

    image_id: str
    path: str | None
    status: str
    error: str | None
    clusters: PredictedClusters
    calcifications: PredictedCalcifications
    shape: tuple[int, int] | None = None
    spacing: tuple[float, float] | None = None
    breast_area_mm2: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the image was processed (``status == "ok"``)."""
        return self.status == "ok"


@dataclass(frozen=True, eq=False)
class Predictions:
    """A prediction folder as read by :func:`load_predictions`.

    Attributes
    ----------
    images : dict of str to PredictedImage
        By ``image_id``, in the order of the ``images`` table; images that only the
        cluster or calcification tables name follow, with status ``"ok"``.
    folder : str or None
        The folder it was read from.
    """

    images: dict[str, PredictedImage]
    folder: str | None = None


#: The columns scoring needs in each table (the rest are optional).
REQUIRED_COLUMNS = {
    "images": ("image_id", "status"),
    "clusters": ("image_id", "cluster_id", "row", "col", "score"),
    "calcifications": ("image_id", "row", "col", "score"),
}


def _rows(folder: Path, table: str) -> list[dict]:
    try:
        return read_table(folder, table, required=REQUIRED_COLUMNS[table], lenient=True)
    except FileNotFoundError as exc:
        raise EvaluationError(
            f"{str(exc).split(';')[0]}; give the output folder of 'calcdetect detect' "
            f"(it holds images.csv, calcifications.csv and clusters.csv, or their .parquet files)"
        ) from None
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None


def _float(row: dict, column: str) -> float:
    """A numeric cell (read by :func:`calcdetect.tables.read_table`); NaN when empty or absent."""
    value = row.get(column)
    return math.nan if value is None else float(value)


def _score(row: dict, column: str = "score") -> float:
    """The row's `column`; an empty or absent one falls back to ``score``, then 0."""
    value = _float(row, column if row.get(column) is not None else "score")
    return value if math.isfinite(value) else 0.0


def _int(row: dict, column: str, where: str) -> int:
    """An integer cell; -1 when empty, absent or NaN."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -1
    if not float(value).is_integer():
        raise EvaluationError(f"{where}: column {column} is not an integer: {value!r}")
    return int(value)


def empty_clusters() -> PredictedClusters:
    """No predicted cluster."""
    return PredictedClusters(np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0), (), (), np.zeros(0), ())


def empty_calcifications() -> PredictedCalcifications:
    """No predicted calcification."""
    return PredictedCalcifications(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0))


def _by_image(rows: list[dict], where: Path) -> dict[str, list[tuple[str, dict]]]:
    """Rows grouped by their image id, each with its place (file and row) for messages."""
    grouped: dict[str, list[tuple[str, dict]]] = {}
    for number, row in enumerate(rows, start=1):
        place = f"{where}: row {number}"
        if row.get("image_id") is None:
            raise EvaluationError(f"{place}: image_id is empty")
        grouped.setdefault(str(row["image_id"]), []).append((place, row))
    return grouped


def load_predictions(folder) -> Predictions:
    """Read the ``images``, ``clusters`` and ``calcifications`` tables of a run (CSV, or Parquet
    for a run written with ``--format parquet``).

    Parameters
    ----------
    folder : str or PathLike
        Output folder of ``calcdetect detect`` (output contract schema v1).
        Empty cells are missing values; a missing ``score`` counts as 0.

    Returns
    -------
    Predictions

    Raises
    ------
    EvaluationError
        When a table is absent or lacks a required column (:data:`REQUIRED_COLUMNS`), a
        number does not parse, an integer column holds a fraction, a status is neither
        ``ok`` nor ``error``, or ``images`` repeats an image id.
    """
    folder = Path(folder)
    headers: dict[str, tuple[str, dict]] = {}
    for image_id, image_rows in _by_image(_rows(folder, "images"), folder / "images").items():
        where, row = image_rows[0]
        if len(image_rows) > 1:
            raise EvaluationError(f"{image_rows[1][0]}: image_id {image_id!r} appears more than once")
        if row.get("status") not in ("ok", "error"):
            raise EvaluationError(f"{where}: status must be 'ok' or 'error'; got {row.get('status')!r}")
        headers[image_id] = (where, row)
    clusters = _by_image(_rows(folder, "clusters"), folder / "clusters")
    calcifications = _by_image(_rows(folder, "calcifications"), folder / "calcifications")

    images: dict[str, PredictedImage] = {}
    for image_id in [*headers, *(i for i in {**clusters, **calcifications} if i not in headers)]:
        where, header = headers.get(image_id, (str(folder / "images"), {"status": "ok"}))
        rows, columns = _int(header, "rows", where), _int(header, "columns", where)
        row_mm, col_mm = _float(header, "spacing_mm"), _float(header, "column_spacing_mm")
        col_mm = row_mm if math.isnan(col_mm) else col_mm
        area = _float(header, "breast_area_mm2")
        found = clusters.get(image_id, [])
        image_clusters = PredictedClusters(
            cluster_id=np.array([_int(r, "cluster_id", w) for w, r in found], dtype=np.int64),
            centre=np.array([(_float(r, "row"), _float(r, "col")) for _, r in found], float).reshape(-1, 2),
            score=np.array([_score(r) for _, r in found], float),
            distribution=tuple(r.get("distribution") for _, r in found),
            morphology=tuple(r.get("morphology") for _, r in found),
            confidence=np.array([_score(r, "confidence") for _, r in found], float),
            birads_category=tuple(r.get("birads_category") for _, r in found),
        ) if found else empty_clusters()
        specks = calcifications.get(image_id, [])
        image_calcifications = PredictedCalcifications(
            calc_id=np.array([_int(r, "calc_id", w) for w, r in specks], dtype=np.int64),
            cluster_id=np.array([_int(r, "cluster_id", w) for w, r in specks], dtype=np.int64),
            centroid=np.array([(_float(r, "row"), _float(r, "col")) for _, r in specks], float).reshape(-1, 2),
            score=np.array([_score(r) for _, r in specks], float),
        ) if specks else empty_calcifications()
        images[image_id] = PredictedImage(
            image_id, header.get("path"), header["status"], header.get("error"), image_clusters,
            image_calcifications,
            shape=(rows, columns) if rows > 0 and columns > 0 else None,
            spacing=(row_mm, col_mm) if row_mm > 0 and col_mm > 0 else None,
            breast_area_mm2=area if area > 0 else None,
        )
    return Predictions(images=images, folder=str(folder))
