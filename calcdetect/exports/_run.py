"""What every exporter needs of a finished run folder: file names, input paths, loading options."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from calcdetect.tables import run_record


def safe_name(image_id: str) -> str:
    """`image_id` as one file name: unchanged when it is one already, else its unsafe characters
    (path separators among them) replaced by ``_`` and 8 hex digits of its SHA-256 added, so
    that two ids never share a name (``sub/a b.dcm`` -> ``sub_a_b.dcm-1f3c9a0e``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", image_id).strip("._") or "image"
    if slug == image_id:
        return slug
    return f"{slug}-{hashlib.sha256(image_id.encode('utf-8')).hexdigest()[:8]}"


def image_spacing(image: dict) -> tuple[float, float]:
    """(row_mm, col_mm) of an images-table row; the column spacing is the row spacing where empty."""
    return image["spacing_mm"], image["column_spacing_mm"] or image["spacing_mm"]


def source_path(run_dir: Path, image: dict) -> Path:
    """The input file of an images-table row: its ``path`` when that exists from here, else the
    run's input root (``run.json``) joined with its image id when that exists, else ``path``
    as it is (whose reader then says the file is not found)."""
    path = Path(image["path"])
    if path.exists():
        return path
    root = run_record(run_dir).get("input_root")
    if root and (Path(root) / image["image_id"]).exists():
        return Path(root) / image["image_id"]
    return path


def recorded_loading(run_dir: Path):
    """The :class:`~calcdetect.io.LoadOptions` the run recorded (the defaults without a record)."""
    from calcdetect.io import LoadOptions

    recorded = run_record(run_dir).get("parameters", {}).get("loading")
    if not isinstance(recorded, dict):
        return LoadOptions()
    recorded = dict(recorded)
    if isinstance(recorded.get("spacing_mm"), list):
        recorded["spacing_mm"] = tuple(recorded["spacing_mm"])
    return LoadOptions(**recorded)


def by_image(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped by their ``image_id``, in order."""
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["image_id"], []).append(row)
    return out


def clear_outputs(folder: Path, pattern: str) -> None:
    """Remove the files matching `pattern` in `folder` (an exporter's earlier output), if any."""
    if folder.is_dir():
        for path in folder.glob(pattern):
            if path.is_file():
                path.unlink()
