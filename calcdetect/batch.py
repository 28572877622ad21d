"""Run detection over many files and write the result tables."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from calcdetect import __version__
from calcdetect.errors import CalcdetectError
from calcdetect.io import LoadOptions, is_image_file, read_mammogram
from calcdetect.pipeline import Params, detect_mammogram
from calcdetect.results import (
    CALCIFICATION_COLUMNS,
    CLUSTER_COLUMNS,
    IMAGE_COLUMNS,
    SCHEMA_VERSION,
    calcification_rows,
    cluster_rows,
    image_row,
    write_csv,
    write_json,
)

#: Libraries whose versions go into run.json.
_LIBRARIES = ("numpy", "scipy", "scikit-image", "pydicom", "opencv-python-headless", "pylibjpeg",
              "pylibjpeg-openjpeg", "pyjpegls")


@dataclass(frozen=True)
class ImageOutcome:
    """Rows produced for one input file."""

    image: dict
    calcifications: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.image["status"] == "ok"


@dataclass(frozen=True)
class RunSummary:
    """What a run did; the tables themselves are in `out_dir`."""

    out_dir: Path
    n_images: int
    n_ok: int
    n_failed: int
    n_calcifications: int
    n_clusters: int
    seconds: float


def find_inputs(paths: Iterable) -> tuple[Path, list[Path]]:
    """Expand files and folders into the list of files to process.

    Folders are searched recursively, in sorted order, for the files
    :func:`calcdetect.io.is_image_file` accepts; hidden files and folders are skipped. Files
    named explicitly are always taken (a missing one becomes an error row).

    Returns
    -------
    root : Path
        The deepest folder holding every input: image ids are relative to it.
    files : list of Path
        Without duplicates, in the order given.
    """
    files: list[Path] = []
    anchors: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            anchors.append(path)
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                files.extend(
                    Path(dirpath, name) for name in sorted(filenames)
                    if not name.startswith(".") and is_image_file(Path(dirpath, name))
                )
        else:
            anchors.append(path.parent)
            files.append(path)
    if not anchors:
        return Path("."), []
    root = Path(os.path.commonpath([os.path.abspath(a) for a in anchors]))
    return root, list(dict.fromkeys(files))


def image_id_for(path: Path, root: Path) -> str:
    """The image id of `path`: its path relative to `root`, with forward slashes."""
    return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()


def process_file(path, *, image_id: str, params: Params = Params(), load: LoadOptions = LoadOptions(),
                 use_sop_uid: bool = False) -> ImageOutcome:
    """Load and analyse one file; any failure becomes an error row, never an exception.

    Parameters
    ----------
    path : str or PathLike
    image_id : str
        Id written to the tables (replaced by the SOP Instance UID when
        `use_sop_uid` and the file has one).
    params : Params
    load : LoadOptions
        How files are loaded (e.g. the spacing for files whose header has none).
    """
    start = time.perf_counter()
    try:
        mammogram = read_mammogram(path, spacing_mm=load.spacing_mm)
        if use_sop_uid and mammogram.sop_instance_uid:
            image_id = mammogram.sop_instance_uid
        result = detect_mammogram(mammogram, params=params)
    except CalcdetectError as exc:
        reason = getattr(exc, "reason", str(exc))
        return ImageOutcome(image_row(image_id, str(path), error=reason, seconds=time.perf_counter() - start))
    except MemoryError:
        return ImageOutcome(image_row(image_id, str(path), error="out of memory",
                                      seconds=time.perf_counter() - start))
    except Exception as exc:  # a bug must not stop a batch of thousands; it is recorded, not hidden
        message = " ".join(f"internal error {type(exc).__name__}: {exc}".split())
        return ImageOutcome(image_row(image_id, str(path), error=message, seconds=time.perf_counter() - start))
    row = image_row(
        image_id,
        str(path),
        result=result,
        shape=mammogram.image.shape,
        spacing=mammogram.spacing,
        spacing_source=str(mammogram.spacing_source),
        laterality=mammogram.laterality,
        view=mammogram.view,
        seconds=time.perf_counter() - start,
        warnings=mammogram.warnings,
    )
    return ImageOutcome(row, calcification_rows(image_id, result), cluster_rows(image_id, result))


def run_detection(
    paths: Iterable,
    out_dir,
    *,
    params: Params = Params(),
    load: LoadOptions = LoadOptions(),
    use_sop_uid: bool = False,
    on_image: Callable[[ImageOutcome], None] | None = None,
) -> RunSummary:
    """Detect calcifications in every input file and write the tables of schema v1.

    Writes ``images.csv``, ``calcifications.csv``, ``clusters.csv`` and
    ``run.json`` into `out_dir`, each atomically. A file that cannot be
    processed is an ``error`` row; the run goes on.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders (searched recursively).
    out_dir : str or PathLike
    params : Params
    load : LoadOptions
        How files are loaded.
    use_sop_uid : bool
        Use SOP Instance UIDs as image ids instead of relative paths.
    on_image : callable, optional
        Called with each :class:`ImageOutcome` as it completes (for progress).

    Returns
    -------
    RunSummary
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    paths = [str(p) for p in paths]
    root, files = find_inputs(paths)
    outcomes = []
    for path in files:
        outcome = process_file(path, image_id=image_id_for(path, root), params=params,
                               load=load, use_sop_uid=use_sop_uid)
        outcomes.append(outcome)
        if on_image is not None:
            on_image(outcome)

    out_dir = Path(out_dir)
    write_csv(out_dir / "images.csv", IMAGE_COLUMNS, (o.image for o in outcomes))
    write_csv(out_dir / "calcifications.csv", CALCIFICATION_COLUMNS, (r for o in outcomes for r in o.calcifications))
    write_csv(out_dir / "clusters.csv", CLUSTER_COLUMNS, (r for o in outcomes for r in o.clusters))
    n_ok = sum(o.ok for o in outcomes)
    summary = RunSummary(
        out_dir=out_dir,
        n_images=len(outcomes),
        n_ok=n_ok,
        n_failed=len(outcomes) - n_ok,
        n_calcifications=sum(len(o.calcifications) for o in outcomes),
        n_clusters=sum(len(o.clusters) for o in outcomes),
        seconds=time.perf_counter() - t0,
    )
    settings = run_settings(params, load=load, use_sop_uid=use_sop_uid)
    write_json(out_dir / "run.json", {
        "schema_version": SCHEMA_VERSION,
        "calcdetect_version": __version__,
        "parameters": settings,
        "parameters_sha256": settings_hash(settings),
        "libraries": library_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "input_root": str(root),
        "inputs": paths,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "images": {"total": summary.n_images, "ok": summary.n_ok, "failed": summary.n_failed},
        "n_calcifications": summary.n_calcifications,
        "n_clusters": summary.n_clusters,
        "seconds": round(summary.seconds, 3),
    })
    return summary


def run_settings(params: Params, *, load: LoadOptions = LoadOptions(), use_sop_uid: bool = False) -> dict:
    """Every setting that changes a run's tables."""
    return {"detection": params.to_dict(), "loading": load.to_dict(),
            "image_id": "sop_instance_uid" if use_sop_uid else "path"}


def settings_hash(settings: dict) -> str:
    """SHA-256 of the settings in canonical JSON: equal hashes, comparable runs."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def library_versions() -> dict[str, str | None]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
