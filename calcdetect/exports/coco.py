"""A run's detections as a COCO file (``detections.coco.json``).

COCO (Lin et al., *Microsoft COCO: Common Objects in Context*, ECCV 2014; format at
https://cocodataset.org/#format-data) is what object-detection tools read. The file is
in COCO's dataset layout, loadable unchanged by ``pycocotools.coco.COCO``, with a
``score`` on every annotation (as in COCO's results layout):

- ``images``: one per image processed (``status`` ok), ``file_name`` its input path,
  ``calcdetect_image_id`` the tables' ``image_id``;
- ``categories``: ``calcification`` (id 1), then one per BI-RADS morphology (the
  clusters' ``morphology``), supercategory ``cluster``;
- ``annotations``: one per calcification (category ``calcification``; its box is the
  square round the circle of its major axis, centred on its centroid) and one per
  cluster (category its morphology, or ``cluster`` when it was not described; its box
  the union of its members' boxes). ``score`` is the table's.

COCO boxes are ``[x, y, width, height]`` in pixels with x along the columns and the
origin at the top-left corner of the top-left pixel; calcdetect's ``row``, ``col``
have theirs at that pixel's centre, hence the half-pixel shift.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from calcdetect.exports._run import image_spacing
from calcdetect.lexicon import Morphology
from calcdetect.tables import SCHEMA_VERSION, read_table
from calcdetect.store import COCO_FILE

#: Category id of single calcifications; the morphologies follow from 2.
CALCIFICATION_CATEGORY = 1

#: Category of a cluster without a BI-RADS morphology (description turned off), the last one.
UNDESCRIBED = "cluster"


def coco_detections(run_dir) -> dict:
    """The COCO document of a finished run folder (its tables, CSV or Parquet).

    Parameters
    ----------
    run_dir : str or PathLike
        Output folder of ``calcdetect detect``.

    Returns
    -------
    dict
        ``info``, ``images``, ``categories``, ``annotations`` (see the module's notes).

    Raises
    ------
    FileNotFoundError
        When a table is missing.
    """
    from calcdetect import __version__

    run_dir = Path(run_dir)
    images_rows = [r for r in read_table(run_dir, "images") if r["status"] == "ok"]
    spacing = {r["image_id"]: image_spacing(r) for r in images_rows}
    ids = {r["image_id"]: i for i, r in enumerate(images_rows, start=1)}
    categories: list[dict[str, Any]] = [
        {"id": CALCIFICATION_CATEGORY, "name": "calcification", "supercategory": "calcification"}]
    categories += [{"id": CALCIFICATION_CATEGORY + 1 + k, "name": str(m), "supercategory": "cluster"}
                   for k, m in enumerate(Morphology)]
    categories.append({"id": len(categories) + 1, "name": UNDESCRIBED, "supercategory": "cluster"})
    by_name = {c["name"]: c["id"] for c in categories}
    annotations: list[dict[str, Any]] = []

    def add(image_id: str, category: int, box: list[float], score, **extra) -> None:
        annotations.append({"id": len(annotations) + 1, "image_id": ids[image_id], "category_id": category,
                            "bbox": [round(v, 3) for v in box], "area": round(box[2] * box[3], 3), "iscrowd": 0,
                            "score": None if score is None else float(score), **extra})

    members: dict[tuple[str, int], list[list[float]]] = {}
    for r in read_table(run_dir, "calcifications"):
        if r["image_id"] not in ids:
            continue
        row_mm, col_mm = spacing[r["image_id"]]
        size_mm = r["length_mm"] or r["diameter_mm"] or 0.0
        box = _box(r["row"], r["col"], r["row"], r["col"], size_mm / 2 / row_mm, size_mm / 2 / col_mm)
        add(r["image_id"], CALCIFICATION_CATEGORY, box, r["score"], calcdetect_cluster_id=r["cluster_id"])
        members.setdefault((r["image_id"], r["cluster_id"]), []).append(box)
    for r in read_table(run_dir, "clusters"):
        if r["image_id"] not in ids:
            continue
        boxes = members.get((r["image_id"], r["cluster_id"]))
        if boxes:  # the union of its members' boxes
            left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
            right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
            box = [left, top, right - left, bottom - top]
        else:  # a table without members: the centroids' box
            box = _box(r["row_min"], r["col_min"], r["row_max"], r["col_max"], 0.0, 0.0)
        add(r["image_id"], by_name.get(r["morphology"] or UNDESCRIBED, by_name[UNDESCRIBED]), box, r["score"],
            calcdetect_cluster_id=r["cluster_id"], distribution=r["distribution"], morphology=r["morphology"],
            n_calcifications=r["n_calcifications"])
    return {
        "info": {"description": "calcdetect detections", "version": __version__,
                 "calcdetect_schema_version": SCHEMA_VERSION,
                 "date_created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
        "images": [{"id": ids[r["image_id"]], "file_name": r["path"], "width": r["columns"], "height": r["rows"],
                    "calcdetect_image_id": r["image_id"]} for r in images_rows],
        "categories": categories,
        "annotations": annotations,
    }


def _box(row_min, col_min, row_max, col_max, pad_rows, pad_cols) -> list[float]:
    """[x, y, w, h] (COCO) of a pixel-centre box grown by the pads, at least one pixel each way,
    about the same centre."""
    height, width = max(row_max - row_min + 2 * pad_rows, 1.0), max(col_max - col_min + 2 * pad_cols, 1.0)
    centre_row, centre_col = (row_min + row_max) / 2 + 0.5, (col_min + col_max) / 2 + 0.5
    return [centre_col - width / 2, centre_row - height / 2, width, height]


def write_coco(run_dir, *, path=None) -> Path:
    """Write :func:`coco_detections` of `run_dir` to `path` (default ``run_dir/detections.coco.json``),
    atomically."""
    from calcdetect.results import write_json

    return write_json(Path(run_dir) / COCO_FILE if path is None else path, coco_detections(run_dir))


__all__ = ["CALCIFICATION_CATEGORY", "COCO_FILE", "UNDESCRIBED", "coco_detections", "write_coco"]
