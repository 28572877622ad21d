"""``truth.json``: reading and writing a ground truth (``docs/truth-format.md``).

:func:`read_truth` checks everything it reads and names the place of a fault
(``truth.json: images[3] (synth_0003.dcm).clusters[0].category: 'malignant' is not one
of suspicious, benign``); :func:`write_truth` writes what it reads, key for key, so that
a set read and written again is the same document (keys this format does not describe
are not kept).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from calcdetect.atomic import atomic_write_text
from calcdetect.errors import EvaluationError
from calcdetect.lexicon import Category, Distribution, Morphology
from calcdetect.truth.model import (
    FORMAT_VERSION,
    Artefact,
    ArtefactKind,
    Truth,
    TruthCalcification,
    TruthCluster,
    TruthImage,
)

# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_REQUIRED = object()


def _field(obj: dict, key: str, where: str, *, default=_REQUIRED):
    if not isinstance(obj, dict):
        raise EvaluationError(f"{where}: expected a JSON object; got {type(obj).__name__}")
    value = obj.get(key)
    if value is None:
        if default is _REQUIRED:
            raise EvaluationError(f"{where}: '{key}' is missing")
        return default
    return value


@overload
def _number(value, where: str, *, optional: Literal[False] = ...) -> float: ...
@overload
def _number(value, where: str, *, optional: bool) -> float | None: ...
def _number(value, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EvaluationError(f"{where}: expected a number; got {value!r}") from None
    if not math.isfinite(number):
        raise EvaluationError(f"{where}: expected a finite number; got {value!r}")
    return number


def _coded(enum, value, where: str, *, optional: bool = True):
    if value is None and optional:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise EvaluationError(f"{where}: {value!r} is not one of {allowed}") from None


@overload
def _pair(value, where: str, *, optional: Literal[False]) -> tuple[float, float]: ...
@overload
def _pair(value, where: str, *, optional: bool = ...) -> tuple[float, float] | None: ...
def _pair(value, where: str, *, optional: bool = True) -> tuple[float, float] | None:
    if value is None and optional:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise EvaluationError(f"{where}: expected [row, col]; got {value!r}")
    return _number(value[0], where), _number(value[1], where)


def _truth_calcification(obj: dict, where: str) -> TruthCalcification:
    return TruthCalcification(
        row=_number(_field(obj, "row", where), f"{where}.row"),
        col=_number(_field(obj, "col", where), f"{where}.col"),
        diameter_mm=_number(obj.get("diameter_mm"), f"{where}.diameter_mm", optional=True),
        length_mm=_number(obj.get("length_mm"), f"{where}.length_mm", optional=True),
        width_mm=_number(obj.get("width_mm"), f"{where}.width_mm", optional=True),
        contrast=_number(obj.get("contrast"), f"{where}.contrast", optional=True),
    )


def _truth_cluster(obj: dict, where: str) -> TruthCluster:
    calcifications = tuple(
        _truth_calcification(c, f"{where}.calcifications[{k}]")
        for k, c in enumerate(_field(obj, "calcifications", where, default=[]))
    )
    row, col = obj.get("row"), obj.get("col")
    if (row is None or col is None) and calcifications:  # fall back on the centroid of the members
        row, col = np.mean([(c.row, c.col) for c in calcifications], axis=0).tolist()
    return TruthCluster(
        cluster_id=int(_number(_field(obj, "cluster_id", where), f"{where}.cluster_id")),
        category=_coded(Category, _field(obj, "category", where), f"{where}.category", optional=False),
        distribution=_coded(Distribution, obj.get("distribution"), f"{where}.distribution"),
        morphology=_coded(Morphology, obj.get("morphology"), f"{where}.morphology"),
        extent_mm=_number(obj.get("extent_mm"), f"{where}.extent_mm", optional=True),
        cnr=_number(obj.get("cnr"), f"{where}.cnr", optional=True),
        row=_number(row, f"{where}.row"),
        col=_number(col, f"{where}.col"),
        calcifications=calcifications,
    )


def _artefact(obj: dict, where: str) -> Artefact:
    return Artefact(
        kind=_coded(ArtefactKind, _field(obj, "kind", where), f"{where}.kind", optional=False),
        row=_number(_field(obj, "row", where), f"{where}.row"),
        col=_number(_field(obj, "col", where), f"{where}.col"),
    )


def _truth_image(obj: dict, where: str) -> TruthImage:
    image_id = _field(obj, "image_id", where)
    if not isinstance(image_id, str) or not image_id:
        raise EvaluationError(f"{where}.image_id: expected a non-empty string; got {image_id!r}")
    where = f"{where} ({image_id})"
    spacing_mm = _pair(_field(obj, "spacing_mm", where), f"{where}.spacing_mm", optional=False)
    if not all(v > 0 for v in spacing_mm):
        raise EvaluationError(f"{where}.spacing_mm must be positive; got {obj['spacing_mm']!r}")
    rows, columns = obj.get("rows"), obj.get("columns")
    artefacts = obj.get("artefacts")
    acquisition = obj.get("acquisition")
    if acquisition is not None and not isinstance(acquisition, dict):
        raise EvaluationError(f"{where}.acquisition: expected a JSON object; got {type(acquisition).__name__}")
    return TruthImage(
        image_id=image_id,
        spacing_mm=spacing_mm,
        rows=None if rows is None else int(_number(rows, f"{where}.rows")),
        columns=None if columns is None else int(_number(columns, f"{where}.columns")),
        laterality=obj.get("laterality"),
        view=obj.get("view"),
        density=obj.get("density"),
        nipple=_pair(obj.get("nipple"), f"{where}.nipple"),
        chest_wall=obj.get("chest_wall"),
        source=obj.get("source"),
        acquisition=acquisition,
        clusters=tuple(
            _truth_cluster(c, f"{where}.clusters[{k}]")
            for k, c in enumerate(_field(obj, "clusters", where, default=[]))
        ),
        isolated=tuple(
            _truth_calcification(c, f"{where}.isolated[{k}]")
            for k, c in enumerate(_field(obj, "isolated", where, default=[]))
        ),
        artefacts=None if artefacts is None else tuple(
            _artefact(a, f"{where}.artefacts[{k}]") for k, a in enumerate(artefacts)
        ),
    )


def read_truth(path) -> Truth:
    """Read a ``truth.json`` ground truth (format version 1).

    Parameters
    ----------
    path : str or PathLike
        A ``truth.json`` (``docs/truth-format.md``), as ``calcdetect synth`` writes it.

    Returns
    -------
    Truth

    Raises
    ------
    FileNotFoundError
        When `path` does not exist.
    EvaluationError
        (a ValueError) When `path` is a folder, the file is not JSON or not a truth
        file, has another format version, lacks a required field, holds a value of
        the wrong type or a category, distribution or morphology outside
        :mod:`calcdetect.lexicon`, or repeats an image id.
    """
    path = Path(path)
    where = str(path)
    if path.is_dir():
        hint = f"; {path / 'truth.json'} is there" if (path / "truth.json").is_file() else ""
        raise EvaluationError(f"{path}: is a folder; give its truth.json file{hint}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; give the truth.json of a set (calcdetect synth writes one)")
    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "images" not in doc:
        raise EvaluationError(f"{path}: not a calcdetect truth file (no 'images')")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise EvaluationError(
            f"{path}: format_version {version!r} is not supported; this calcdetect reads version "
            f"{FORMAT_VERSION} (regenerate the set with this version's synth)"
        )
    images = doc["images"]
    if not isinstance(images, list):
        raise EvaluationError(f"{where}: 'images' must be a list; got {type(images).__name__}")
    parsed = tuple(_truth_image(obj, f"{where}: images[{k}]") for k, obj in enumerate(images))
    seen: set[str] = set()
    for image in parsed:
        if image.image_id in seen:
            raise EvaluationError(f"{where}: image_id {image.image_id!r} appears more than once")
        seen.add(image.image_id)
    seed, settings = doc.get("seed"), doc.get("settings")
    return Truth(
        images=parsed,
        path=str(path),
        format_version=int(version),
        seed=seed if isinstance(seed, int) else None,
        generator=doc.get("generator"),
        calcdetect_version=doc.get("calcdetect_version"),
        settings=settings if isinstance(settings, dict) else None,
    )


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _str(value) -> str | None:
    return None if value is None else str(value)


def _calcification_dict(c: TruthCalcification) -> dict:
    """A calcification's entry; measurements the truth does not give are left out."""
    entry = {"row": c.row, "col": c.col, "diameter_mm": c.diameter_mm, "length_mm": c.length_mm,
             "width_mm": c.width_mm, "contrast": c.contrast}
    return {k: v for k, v in entry.items() if v is not None}


def _cluster_dict(c: TruthCluster) -> dict:
    """A cluster's entry; what the truth does not give (a distribution, an extent, ...) is left out."""
    entry = {
        "cluster_id": int(c.cluster_id),
        "category": str(c.category),
        "distribution": _str(c.distribution),
        "morphology": _str(c.morphology),
        "extent_mm": c.extent_mm,
        "cnr": c.cnr,
        "row": c.row,
        "col": c.col,
        "calcifications": [_calcification_dict(m) for m in c.calcifications],
    }
    return {k: v for k, v in entry.items() if v is not None}


def image_to_dict(image: TruthImage) -> dict:
    """The ``truth.json`` entry of one image, JSON-ready.

    Keys come in the order of ``docs/truth-format.md``; what the image does not record
    (None) is left out.
    """
    entry: dict[str, Any] = {
        "image_id": image.image_id,
        "rows": None if image.rows is None else int(image.rows),
        "columns": None if image.columns is None else int(image.columns),
        "spacing_mm": [float(v) for v in image.spacing_mm],
        "laterality": image.laterality,
        "view": image.view,
        "density": _str(image.density),
        "nipple": None if image.nipple is None else [float(v) for v in image.nipple],
        "chest_wall": image.chest_wall,
        "source": _str(image.source),
        "acquisition": None if image.acquisition is None else dict(image.acquisition),
    }
    entry = {k: v for k, v in entry.items() if v is not None}
    entry["clusters"] = [_cluster_dict(c) for c in image.clusters]
    entry["isolated"] = [_calcification_dict(m) for m in image.isolated]
    if image.artefacts is not None:
        entry["artefacts"] = [{"kind": str(a.kind), "row": a.row, "col": a.col} for a in image.artefacts]
    return entry


def truth_to_dict(truth: Truth) -> dict:
    """The whole ``truth.json`` document, JSON-ready (see :func:`image_to_dict`)."""
    head = {"format_version": int(truth.format_version), "generator": truth.generator,
            "calcdetect_version": truth.calcdetect_version, "seed": truth.seed,
            "settings": None if truth.settings is None else dict(truth.settings)}
    return {**{k: v for k, v in head.items() if v is not None},
            "images": [image_to_dict(image) for image in truth.images]}


def write_truth(truth: Truth, path) -> Path:
    """Write `truth` as ``truth.json`` at `path`, atomically (a temporary file renamed).

    Returns
    -------
    Path
        `path`.
    """
    return Path(atomic_write_text(path, json.dumps(truth_to_dict(truth), indent=1) + "\n"))
