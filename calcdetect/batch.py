"""Run detection over many files and write the result tables."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import pickle
import platform
import time
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from calcdetect import __version__
from calcdetect.errors import CalcdetectError
from calcdetect.executors import make_executor
from calcdetect.filters import BUILT_IN, get_filter, register_spec, user_filters
from calcdetect.filters.spec import unwrapped
from calcdetect.io import LoadOptions, is_image_file, read_mammogram
from calcdetect.io.peek import peek_shape
from calcdetect.pipeline import Params, detect_mammogram, saturated_margin_mm
from calcdetect.results import calcification_rows, cluster_rows, image_row, write_json
from calcdetect.tables import FORMATS, SCHEMA_VERSION, TABLES, require_format, write_table
from calcdetect.store import RunFolder, source_fingerprint

#: Libraries whose versions go into run.json.
_LIBRARIES = ("numpy", "scipy", "scikit-image", "pydicom", "opencv-python-headless", "pylibjpeg",
              "pylibjpeg-openjpeg", "pyjpegls")


@dataclass(frozen=True)
class ImageOutcome:
    """Rows produced for one input file."""

    image: dict
    calcifications: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    source: dict | None = None  # the input file's fingerprint, taken before it was read

    @property
    def ok(self) -> bool:
        return self.image["status"] == "ok"

    def rows(self) -> dict[str, list[dict]]:
        """The rows of each table, as stored in a part-file."""
        return {"images": [self.image], "calcifications": self.calcifications, "clusters": self.clusters}


@dataclass(frozen=True)
class RunSummary:
    """What a run did; the tables themselves are in `out_dir`.

    `n_processed` images were processed by this call (the others were already
    done), by `workers` workers, spending `work_seconds` inside the per-image work;
    `redone` counts, by reason, those among them whose stored result was not reused.
    """

    out_dir: Path
    n_images: int
    n_ok: int
    n_failed: int
    n_calcifications: int
    n_clusters: int
    seconds: float
    n_processed: int = 0
    workers: int = 1
    work_seconds: float = 0.0
    redone: dict = field(default_factory=dict)

    @property
    def n_redone(self) -> int:
        return sum(self.redone.values())


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
        mammogram = read_mammogram(path, load)
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
    return image_outcome(mammogram, result, image_id=image_id, path=str(path), params=params,
                         seconds=time.perf_counter() - start)


def image_outcome(mammogram, result, *, image_id: str, path: str, params: Params, seconds: float) -> ImageOutcome:
    """The rows of one analysed image: what the batch stores and :func:`calcdetect.detect` returns.

    Parameters
    ----------
    mammogram : Mammogram
        As loaded.
    result : Result
        Of :func:`calcdetect.pipeline.detect_mammogram` on it with `params`.
    image_id, path : str
        The ``image_id`` and ``path`` columns.
    params : Params
    seconds : float
        Processing time (the ``seconds`` column).
    """
    row = image_row(
        image_id,
        path,
        result=result,
        shape=mammogram.image.shape,
        spacing=mammogram.spacing,
        spacing_source=str(mammogram.spacing_source),
        laterality=mammogram.laterality,
        view=mammogram.view,
        seconds=seconds,
        warnings=(*mammogram.warnings, *detection_warnings(result, params, spacing=mammogram.spacing)),
    )
    return ImageOutcome(row, calcification_rows(image_id, result), cluster_rows(image_id, result))


def detection_warnings(result, params: Params, *, spacing=None) -> list[str]:
    """What a user should know about how an image was searched (the ``warnings`` column).

    Parameters
    ----------
    result : calcdetect.pipeline.Result
        The image's detection.
    params : Params
        The settings it ran with.
    spacing : tuple of 2 floats, optional
        The image's pixel spacing (row_mm, col_mm), for the margin round saturated
        plateaus (:func:`calcdetect.pipeline.saturated_margin_mm`).

    Returns
    -------
    list of str
        One sentence per thing to know; empty when there is none.
    """
    if result.saturated_fraction <= 0:
        return []
    margin_mm = saturated_margin_mm(params, spacing=spacing)
    return [f"{100 * result.saturated_fraction:.1f} % of the searched breast is saturated flat (a clipped, "
            f"windowed export): those plateaus and {margin_mm:g} mm round them were not searched"]


@dataclass(frozen=True)
class ImageTask:
    """One file to process: what travels to a worker (a path, never pixels)."""

    path: str
    key: str  # the image's id relative to the input root: the part-file key, stable across runs


def process_task(task: ImageTask, *, params: Params, load: LoadOptions, use_sop_uid: bool,
                 filters: dict | None = None) -> ImageOutcome:
    """Worker entry point (module level, so it pickles): the filters registered in the parent
    (`filters`, :func:`calcdetect.filters.user_filters`: a spawned process or a Dask worker
    starts with the built-in ones only), the input's fingerprint, taken before it is read (so
    rows are never stored beside the hash of bytes they were not made from), then
    :func:`process_file`."""
    for spec in (filters or {}).values():
        register_spec(spec, replace=True)
    source = source_fingerprint(task.path)
    outcome = process_file(task.path, image_id=task.key, params=params, load=load, use_sop_uid=use_sop_uid)
    return dataclasses.replace(outcome, source=source)


def run_detection(
    paths: Iterable,
    out_dir,
    *,
    params: Params = Params(),
    load: LoadOptions = LoadOptions(),
    use_sop_uid: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    retries: int = 1,
    memory_budget_gb: float | None = None,
    table_format: str = "csv",
    overwrite: bool = False,
    resume: bool | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
) -> RunSummary:
    """Detect calcifications in every input file and write the tables of schema v1.

    Each image's rows are committed to a part-file as soon as it finishes; the
    tables (``images``, ``calcifications``, ``clusters``, as CSV or Parquet)
    and ``run.json`` are written at the end, atomically, from the parts, in
    input order. A file that cannot be processed is an ``error`` row; the run
    goes on. Running the same command again after an interruption processes
    only the images without a part-file.

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
    jobs : int
        Worker processes (1: this process); workers of a local Dask cluster.
    scheduler : str, optional
        Dask scheduler address, or ``"local"`` for a LocalCluster of `jobs` workers.
    retries : int
        Times an image whose worker died is tried again before it becomes an error row.
    memory_budget_gb : float, optional
        Run fewer workers when `jobs` images of the largest size would not fit.
    table_format : {"csv", "parquet"}
    overwrite : bool
        Discard a stored run with other settings in `out_dir` instead of refusing.
    resume : bool or None
        True: continue a stored run (it must exist); False: start afresh;
        None (default): continue a compatible run when there is one.
    on_start : callable, optional
        ``on_start(total, already_done)`` before the work starts (for progress).
    on_image : callable, optional
        Called with each :class:`ImageOutcome` as it is committed (for progress).

    Returns
    -------
    RunSummary

    Raises
    ------
    calcdetect.store.RunConflictError
        When `out_dir` holds a run with other settings (and not `overwrite`).
    """
    require_format(table_format)  # fail now, not after the images are processed
    if int(jobs) != jobs or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1; got {jobs!r}")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    paths = [str(p) for p in paths]
    root, files = find_inputs(paths)
    tasks = [ImageTask(str(path), image_id_for(path, root)) for path in files]
    filters = _portable_filters(jobs, scheduler)  # fail now, before the run folder, not in every worker
    settings = {**run_settings(params, load=load, use_sop_uid=use_sop_uid), "input_root": str(root)}
    folder = RunFolder(out_dir, settings, overwrite=overwrite, resume=resume)
    redone: Counter = Counter()  # why stored results were not reused
    todo = []
    for t in tasks:
        if folder.done(t.key):
            reason = folder.stale(t.key, t.path)
            if reason is None:
                continue
            redone[reason] += 1
        todo.append(t)
    todo.sort(key=lambda t: _file_size(t.path), reverse=True)  # largest first
    if on_start is not None:
        on_start(len(tasks), len(tasks) - len(todo))

    workers = _workers_within_budget(jobs, todo, memory_budget_gb)
    work_seconds = 0.0
    if todo:
        executor = make_executor(jobs=workers, scheduler=scheduler, retries=retries)
        try:
            task = functools.partial(process_task, params=params, load=load, use_sop_uid=use_sop_uid,
                                     filters=filters)
            for item, outcome, failure in executor.run(task, todo):
                if failure is not None:
                    outcome = ImageOutcome(image_row(item.key, item.path, error=f"worker failed: {failure}"))
                assert outcome is not None  # the result of an item that did not fail
                folder.commit(item.key, outcome.rows(), source=outcome.source)
                work_seconds += outcome.image["seconds"] or 0.0
                if on_image is not None:
                    on_image(outcome)
        finally:
            executor.close()
        # Every image gets a row, even one an executor lost without a word.
        for item in todo:
            if not folder.done(item.key):
                lost = ImageOutcome(image_row(item.key, item.path,
                                              error="not processed: the executor returned nothing"))
                folder.commit(item.key, lost.rows())
                if on_image is not None:
                    on_image(lost)

    # The tables are streamed from the part-files, one image at a time: a run of
    # any size is merged in bounded memory.
    tally: Counter = Counter()

    def counted(name: str, rows):
        for row in rows:
            tally[name] += 1
            tally["ok"] += name == "images" and row["status"] == "ok"
            yield row

    keys = [t.key for t in tasks]
    for name in TABLES:
        write_table(out_dir, name, counted(name, folder.rows(name, keys)), format=table_format)
        for other in FORMATS:  # tables of the other format from an earlier run would disagree
            if other != table_format:
                (Path(out_dir) / f"{name}.{other}").unlink(missing_ok=True)
    summary = RunSummary(
        out_dir=Path(out_dir),
        n_images=len(tasks),
        n_ok=tally["ok"],
        n_failed=len(tasks) - tally["ok"],
        n_calcifications=tally["calcifications"],
        n_clusters=tally["clusters"],
        seconds=time.perf_counter() - t0,
        n_processed=len(todo),
        workers=workers,
        work_seconds=work_seconds,
        redone=dict(redone),
    )
    write_json(Path(out_dir) / "run.json", {
        "schema_version": SCHEMA_VERSION,
        "calcdetect_version": __version__,
        "parameters": settings,
        "parameters_sha256": folder.hash,
        "libraries": library_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "input_root": str(root),
        "inputs": paths,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "execution": {"executor": "dask" if scheduler else "processes" if workers > 1 else "serial",
                      "scheduler": scheduler, "workers": workers, "processed_now": len(todo),
                      "resumed": len(tasks) - len(todo), "redone": dict(redone), "table_format": table_format},
        "images": {"total": summary.n_images, "ok": summary.n_ok, "failed": summary.n_failed},
        "n_calcifications": summary.n_calcifications,
        "n_clusters": summary.n_clusters,
        "seconds": round(summary.seconds, 3),
    })
    return summary


def _portable_filters(jobs: int, scheduler: str | None) -> dict:
    """The user's registered filters, checked to pickle when they must reach other processes."""
    filters = user_filters()
    if jobs > 1 or scheduler is not None:
        remedy = ("register a function defined at the top level of an importable module (not a lambda, nor one "
                  "defined inside another, nor one typed in at a prompt or a notebook), or run with jobs=1")
        for name, spec in filters.items():
            try:
                pickle.dumps(spec)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise ValueError(f"filter {name!r} cannot reach the worker processes ({exc}): {remedy}") from None
            if _defined_at_a_prompt(spec):
                raise ValueError(f"filter {name!r} cannot reach the worker processes (defined in __main__, which "
                                 f"they cannot import: no script file): {remedy}")
    return filters


def _defined_at_a_prompt(spec) -> bool:
    """Whether a callable of `spec` lives in a ``__main__`` without a file (python -c, stdin, a
    notebook): spawned workers re-import a script's ``__main__``, never an interactive one."""
    main = sys.modules.get("__main__")
    scripted = bool(getattr(main, "__file__", None))
    return not scripted and any(getattr(unwrapped(f), "__module__", None) == "__main__" for f in spec.callables)


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


#: Peak memory of one image in flight, as a multiple of its float32 pixels (load + detect).
PEAK_MEMORY_FACTOR = 8


def _workers_within_budget(jobs: int, tasks: list[ImageTask], budget_gb: float | None) -> int:
    """Lower `jobs` so that `jobs` of the largest images fit in the memory budget."""
    if budget_gb is None or not tasks:
        return jobs
    if budget_gb <= 0:
        raise ValueError(f"memory_budget_gb must be > 0; got {budget_gb}")
    largest = max(_pixels(t.path) for t in tasks[: 2 * jobs])  # tasks are sorted largest file first
    per_image = largest * 4 * PEAK_MEMORY_FACTOR
    return max(1, min(jobs, int(budget_gb * 2**30 // max(per_image, 1))))


def _pixels(path: str) -> int:
    shape = peek_shape(path)
    if shape is not None:
        return shape[0] * shape[1]
    return 4 * _file_size(path)  # unknown format: assume about 4 pixels per byte


def run_settings(params: Params, *, load: LoadOptions = LoadOptions(), use_sop_uid: bool = False) -> dict:
    """Every setting that changes a run's tables (their columns included: parts written by
    a calcdetect with other columns are not mixed into a resumed run)."""
    settings = {"detection": params.to_dict(), "loading": load.to_dict(),
                "image_id": "sop_instance_uid" if use_sop_uid else "path",
                "columns": {name: list(columns) for name, columns in TABLES.items()}}
    # A user's filter is not in calcdetect's code fingerprint: its own goes with the settings, so
    # that a run made before the filter was edited is not taken for this one.
    names = sorted(set(params.filter_names) - BUILT_IN)
    if names:
        settings["filters"] = {name: get_filter(name).fingerprint(**params.size_window) for name in names}
    return settings


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
