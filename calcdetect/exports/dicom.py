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
from calcdetect.exports._run import by_image, clear_outputs, image_spacing, safe_name, source_path
from calcdetect.store import DICOM_OBJECTS


def require_dicom_extra() -> None:
    """Refuse, before any work, when highdicom is not installed.

    Raises
    ------
    ImportError
        Saying ``pip install 'calcdetect[dicom]'``.
    """
    if importlib.util.find_spec("highdicom") is None:
        raise ImportError("DICOM SR and SEG need highdicom: pip install 'calcdetect[dicom]'")


def write_dicom_objects(run_dir, *, sr: bool = True, seg: bool = True) -> tuple[list[Path], list[tuple[str, str]]]:
    """Write the SR and / or SEG of every processed image of a finished run into ``run_dir/dicom``.

    Objects an earlier call left there are removed first, so none is stale.

    Parameters
    ----------
    run_dir : str or PathLike
        Output folder of ``calcdetect detect``.
    sr, seg : bool
        Which objects to write.

    Returns
    -------
    written : list of Path
    skipped : list of (str, str)
        (image id, reason) of each image given no object (a raster input, a
        multi-frame one, or an input no longer found).

    Raises
    ------
    ImportError
        When highdicom is not installed (``pip install 'calcdetect[dicom]'``).
    FileNotFoundError
        When a table is missing.
    """
    require_dicom_extra()
    from calcdetect import __version__
    from calcdetect.io.dicom.derived import write_cad_sr, write_calcification_seg
    from calcdetect.tables import read_table

    run_dir = Path(run_dir)
    out = run_dir / DICOM_OBJECTS
    clear_outputs(out, "*.dcm")
    out.mkdir(exist_ok=True)
    clusters = by_image(read_table(run_dir, "clusters"))
    calcifications = by_image(read_table(run_dir, "calcifications"))
    written, skipped = [], []
    for image in read_table(run_dir, "images"):
        if image["status"] != "ok":
            continue
        image_id, name = image["image_id"], safe_name(image["image_id"])
        source = source_path(run_dir, image)
        try:
            if sr:
                written.append(write_cad_sr(source, clusters.get(image_id, []), calcifications.get(image_id, []),
                                            out / f"{name}.sr.dcm", software_version=__version__))
            if seg:
                spacing = image_spacing(image)
                written.append(write_calcification_seg(source, calcifications.get(image_id, []),
                                                       out / f"{name}.seg.dcm", spacing=spacing,
                                                       software_version=__version__))
        except ImageReadError as exc:
            skipped.append((image_id, exc.reason))
    return written, skipped


__all__ = ["require_dicom_extra", "write_dicom_objects"]
