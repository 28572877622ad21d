"""A run's detections as DICOM for the clinic: per DICOM input a CAD-style SR and a SEG.

``detect --dicom-sr`` / ``--dicom-seg`` (or :func:`write_dicom_objects` on a finished run)
write ``OUT/dicom/<id>.sr.dcm`` and ``<id>.seg.dcm`` with highdicom
(``pip install 'calcdetect[dicom]'``); what they hold is in
:mod:`calcdetect.io.dicom.derived`. Inputs that are not DICOM are listed as skipped
with the reason.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from calcdetect.errors import ImageReadError


def write_dicom_objects(run_dir, *, sr: bool = True, seg: bool = True) -> tuple[list[Path], list[str]]:
    """Write the SR and / or SEG of every processed image of a finished run into ``run_dir/dicom``.

    Returns
    -------
    written : list of Path
    skipped : list of str
        ``"<image_id>: <reason>"`` for each image given no object (not a DICOM input).

    Raises
    ------
    ImportError
        When highdicom is not installed (``pip install 'calcdetect[dicom]'``).
    FileNotFoundError
        When a table is missing.
    """
    if importlib.util.find_spec("highdicom") is None:
        raise ImportError("DICOM SR and SEG need highdicom: pip install 'calcdetect[dicom]'")
    from calcdetect import __version__
    from calcdetect.exports.overlay import safe_name
    from calcdetect.io.dicom.derived import write_cad_sr, write_calcification_seg
    from calcdetect.schema import read_table

    run_dir = Path(run_dir)
    out = run_dir / "dicom"
    out.mkdir(exist_ok=True)
    by_image: dict[str, dict[str, list]] = {}
    for table in ("clusters", "calcifications"):
        for row in read_table(run_dir, table):
            by_image.setdefault(row["image_id"], {"clusters": [], "calcifications": []})[table].append(row)
    written, skipped = [], []
    for image in read_table(run_dir, "images"):
        if image["status"] != "ok":
            continue
        rows = by_image.get(image["image_id"], {"clusters": [], "calcifications": []})
        name = safe_name(image["image_id"])
        try:
            if sr:
                written.append(write_cad_sr(image["path"], rows["clusters"], rows["calcifications"],
                                            out / f"{name}.sr.dcm", software_version=__version__))
            if seg:
                spacing = (image["spacing_mm"], image["column_spacing_mm"] or image["spacing_mm"])
                written.append(write_calcification_seg(image["path"], rows["calcifications"], out / f"{name}.seg.dcm",
                                                       spacing=spacing, software_version=__version__))
        except ImageReadError as exc:
            skipped.append(f"{image['image_id']}: {exc.reason}")
    return written, skipped


__all__ = ["write_dicom_objects"]
