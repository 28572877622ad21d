"""Command-line interface: ``calcdetect detect | synth | evaluate | report | schema | filters``. The only module
that prints."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from calcdetect import __version__

#: What `detect` reads (docs/input.md).
INPUT_FORMATS = "DICOM, PNG, TIFF, PGM / PNM, JPEG (lossless too) or DDSM .LJPEG (with its .ics)"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, ImportError) as exc:  # bad arguments, inputs or a missing extra
        print(f"calcdetect {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calcdetect",
                                     description="Find, cluster and describe microcalcifications in mammograms.")
    parser.add_argument("--version", action="version", version=f"calcdetect {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from calcdetect.filters import FILTERS
    from calcdetect.pipeline import RESPONSE, Params
    from calcdetect.tables import FORMATS

    defaults = Params()
    detect = sub.add_parser("detect", help=f"find, cluster and describe calcifications in mammograms ({INPUT_FORMATS})",
                            description="Find, cluster and describe calcifications; write images.csv, "
                                        "calcifications.csv, clusters.csv and run.json into --out.")
    detect.add_argument("paths", nargs="+", metavar="PATH",
                        help=f"{INPUT_FORMATS} files, or folders (searched recursively)")
    detect.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the result tables")
    _add_loading_arguments(detect)
    filters = ", ".join(sorted(FILTERS))  # installed plugins load when a filter is named, not for --help
    detect.add_argument("--filter", default=defaults.filter, metavar="NAME",
                        help=f"enhancement filter, on whose response specks are segmented and measured: {filters}, "
                             "or one registered by --filters-from ('calcdetect filters' lists them; default "
                             "%(default)s)")
    detect.add_argument("--detector", default=defaults.detector, metavar="NAME",
                        help=f"filter on whose response a speck's significance is measured, or {RESPONSE!r} for "
                             "the enhancement filter's (default %(default)s)")
    _add_filters_from(detect)
    detect.add_argument("--threshold", type=float, default=defaults.threshold,
                        help="speck significance in local noise sigmas (default %(default)s)")
    detect.add_argument("--min-confidence", type=float, default=defaults.min_confidence, metavar="C",
                        help="operating point: report clusters at least this confident (default %(default)s, "
                             "chosen on synthetic tuning sets; 0 reports all)")
    detect.add_argument("--min-calcification-probability", type=float,
                        default=defaults.min_calcification_probability, metavar="P",
                        help="drop candidates the false-positive model scores below P before clustering "
                             "(default %(default)s)")
    detect.add_argument("--min-diameter-mm", type=float, default=defaults.min_diameter_mm, metavar="MM",
                        help="smallest calcification the filters are sized for (default %(default)s)")
    detect.add_argument("--max-diameter-mm", type=float, default=defaults.max_diameter_mm, metavar="MM",
                        help="largest round calcification the filters are sized for (default %(default)s)")
    detect.add_argument("--max-length-mm", type=float, default=defaults.max_length_mm, metavar="MM",
                        help="longest calcification kept (default %(default)s)")
    detect.add_argument("--birads-grouping", action="store_true",
                        help="cluster = at least 5 specks within 1 cm (BI-RADS) instead of 3 within 1 cm^2 (CAD)")
    detect.add_argument("--image-id", choices=("path", "sop"), default="path",
                        help="image ids: path relative to the input root, or SOP Instance UID (default "
                             "%(default)s)")
    run = detect.add_argument_group("running")
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="worker processes (default: the machine's %(default)s cores); 1 runs in this process")
    run.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"), metavar="ADDRESS",
                     help="run on a Dask cluster at ADDRESS (default $DASK_SCHEDULER_ADDRESS), "
                          "or 'local' for a LocalCluster of --jobs workers; needs calcdetect[dask]")
    run.add_argument("--retries", type=int, default=1, metavar="N",
                     help="retries of an image whose worker died (default %(default)s)")
    run.add_argument("--memory-budget-gb", type=float, metavar="GB",
                     help="run fewer workers when --jobs of the largest images would not fit in GB (default: no "
                          "limit)")
    run.add_argument("--format", choices=FORMATS, default="csv",
                     help="table format (default %(default)s; parquet needs calcdetect[parquet])")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="continue the run stored in --out (the default whenever its settings match)")
    resume.add_argument("--overwrite", action="store_true", help="discard a run with other settings stored in --out")
    run.add_argument("--overlays", action="store_true",
                     help="also draw each image with its detections into OUT/overlays (an overview of about "
                          "1,500 px and a native-resolution crop per cluster)")
    run.add_argument("--report", action="store_true",
                     help="also write OUT/report.html, one static page of the run with the overlays (implies "
                          "--overlays)")
    run.add_argument("--dicom-sr", action="store_true",
                     help="also write per DICOM input a Comprehensive SR measurement report (TID 1500) of its "
                          "clusters into OUT/dicom (needs calcdetect[dicom]; copies the source's patient and study "
                          "attributes)")
    run.add_argument("--dicom-seg", action="store_true",
                     help="also write per DICOM input a binary DICOM Segmentation of its calcifications into "
                          "OUT/dicom (needs calcdetect[dicom])")
    run.add_argument("--coco", action="store_true",
                     help="also write the detections as COCO (detections.coco.json: a box, category and score per "
                          "calcification and per cluster)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar and no per-image warnings; failures and the summary are still printed")
    detect.set_defaults(handler=_detect)

    synth = sub.add_parser("synth", help="make synthetic mammograms with planted calcifications and truth.json")
    synth.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the images and truth.json")
    synth.add_argument("--n", type=int, default=10, help="number of images (default %(default)s)")
    synth.add_argument("--seed", type=int, default=0, help="random seed; the same seed makes the same files "
                                                          "(default %(default)s)")
    synth.add_argument("--scale", type=float, default=1.0,
                       help="field-of-view scale; 1 = 4096 x 3328, 0.25 for quick tests (default %(default)s)")
    synth.add_argument("--spacing-mm", type=float,
                       help="pixel spacing; default drawn per image from 0.065-0.1 mm (wide domain: film 0.04-0.05 mm)")
    synth.add_argument("--balanced", action="store_true",
                       help="two clusters per image cycling through every morphology and distribution "
                            "(for scoring the BI-RADS description)")
    synth.add_argument("--domain", choices=("classic", "wide"), default="classic",
                       help="classic: the original digital look (default); wide: per image, digitised film or "
                            "processed digital images, more anatomy, benign calcifications and artefacts")
    synth.set_defaults(handler=_synth)

    evaluate = sub.add_parser("evaluate", help="FROC and calcification sensitivity of a run against truth.json, or "
                                               "lesion-level FROC against a public data set")
    against = evaluate.add_mutually_exclusive_group(required=True)
    against.add_argument("--truth", type=Path, help="truth.json of a synthetic set")
    against.add_argument("--dataset", nargs=2, metavar=("NAME", "ROOT"),
                         help="a public data set: NAME is cbis-ddsm, inbreast or mini-mias, ROOT its folder "
                              "(run detect on ROOT first)")
    evaluate.add_argument("--split", choices=("train", "test"),
                          help="with --dataset cbis-ddsm: score one split only (the shipped parameters were fitted "
                               "on no public data set, so either is held out)")
    evaluate.add_argument("--plot", type=Path, metavar="PNG",
                          help="draw the FROC (lesions with --dataset, clusters with --truth) with its 95%% "
                               "bootstrap band (needs calcdetect[report])")
    evaluate.add_argument("--margin-mm", type=float, default=_MARGIN_MM,
                          help="how far outside a lesion's region (--dataset) or a truth cluster's hull (--truth) "
                               "a cluster centre still finds it (default 2)")
    evaluate.add_argument("--pred", required=True, type=Path, metavar="DIR", help="output folder of 'detect'")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the full evaluation as JSON")
    evaluate.add_argument("--sweep", choices=("confidence", "score"), default="confidence",
                          help="cluster column that traces the FROC curve: detection confidence (default) "
                               "or the suspicion score")
    evaluate.add_argument("--overlays", action="store_true",
                          help="also draw each image with its detections and the truth (hits, misses, false "
                               "positives marked) into PRED/overlays")
    evaluate.set_defaults(handler=_evaluate)

    report = sub.add_parser("report", help="write report.html for a finished run (overlays, clusters, failures, "
                                           "settings; with --truth the FROC curve, froc.png, and confusion "
                                           "matrices)")
    report.add_argument("out", type=Path, metavar="OUT", help="output folder of 'detect'")
    report.add_argument("--truth", type=Path, help="truth.json to evaluate against (needs calcdetect[report] for "
                                                   "the FROC plot)")
    report.set_defaults(handler=_report)

    schema = sub.add_parser("schema", help="write the output schema (docs and JSON Schemas), or check a run "
                                           "against it")
    action = schema.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="DIR",
                        help="write schema.md and schema/*.schema.json into DIR (the project keeps them in docs)")
    action.add_argument("--check", type=Path, metavar="RUN",
                        help="check a run folder's tables (CSV or Parquet) and run.json against the schema "
                             "(needs calcdetect[schema])")
    schema.set_defaults(handler=_schema)

    listing = sub.add_parser("filters", help="list the registered filters: name, parameters for the default size "
                                             "window, reach and what each is")
    _add_filters_from(listing)
    listing.set_defaults(handler=_filters)

    bench = sub.add_parser("bench", help="speed, memory and detection quality of every registered filter, side by "
                                         "side: a Markdown table, JSON and a plot")
    bench.add_argument("--out", required=True, type=Path, metavar="DIR",
                       help="folder for bench.md, bench.json, bench.png and the detection runs")
    bench.add_argument("--filters", nargs="+", metavar="NAME",
                       help="the filters to compare (default: every registered one)")
    bench.add_argument("--set", dest="sets", action="append", type=Path, metavar="DIR",
                       help="a folder of images with its truth.json, e.g. ../shared/data/foreign-phantom (may be "
                            "repeated; the first set's images are timed)")
    bench.add_argument("--synth", type=int, default=10, metavar="N",
                       help="also make (once, in OUT) and use a synthetic set of N images at half scale; 0 for "
                            "none (default %(default)s)")
    bench.add_argument("--synth-seed", type=int, default=2026, metavar="SEED",
                       help="seed of the synthetic set (default %(default)s)")
    bench.add_argument("--role", choices=("filter", "detector"), default="filter",
                       help="use each filter as the enhancement filter (specks found on the band-pass, measured on "
                            "it) or as the detector (specks found on it) (default %(default)s)")
    bench.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="worker processes of the detection runs (default %(default)s)")
    bench.add_argument("--speed-images", type=int, default=2, metavar="N",
                       help="images timed, from the first set (default %(default)s)")
    bench.add_argument("--repeat", type=int, default=3, metavar="N",
                       help="timed calls per image; the median counts (default %(default)s)")
    _add_filters_from(bench)
    bench.set_defaults(handler=_bench)
    return parser


def _bench(args) -> int:
    from calcdetect import bench
    from calcdetect.filters import available_filters, get_filter
    from calcdetect.synth import SynthSettings, make_set

    import_filter_modules(args.filters_from or ())
    for option in ("synth", "jobs", "speed_images", "repeat"):
        minimum = 0 if option == "synth" else 1
        if getattr(args, option) < minimum:
            raise ValueError(f"--{option.replace('_', '-')} must be >= {minimum}; got {getattr(args, option)}")
    names = args.filters or available_filters()
    for name in names:  # before anything is made
        _with_own_filters_hint(lambda: get_filter(name))  # noqa: B023 (called at once)
    sets = list(args.sets or [])
    if args.synth:
        synthetic = args.out / f"synth-{args.synth_seed}-n{args.synth}"
        if not (synthetic / "truth.json").is_file():
            print(f"making {args.synth} synthetic mammograms in {synthetic}")
            make_set(synthetic, n=args.synth, seed=args.synth_seed, settings=SynthSettings(scale=0.5))
        sets.insert(0, synthetic)
    if not sets:
        raise ValueError("no image set: give --set DIR or --synth N")
    args.out.mkdir(parents=True, exist_ok=True)
    results = bench.bench_filters(names, sets, args.out, role=args.role, jobs=args.jobs,
                                  speed_images=args.speed_images, repeat=args.repeat, on_progress=print)
    command = "calcdetect " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("calcdetect") else ""
    outputs = [bench.write_json(results, args.out / "bench.json", role=args.role),
               bench.write_markdown(results, args.out / "bench.md", role=args.role, command=command)]
    try:
        outputs.append(bench.plot(results, args.out / "bench.png"))
    except ImportError as exc:
        print(f"no plot: {exc}", file=sys.stderr)
    print(bench.markdown_table(results))
    print("\n".join(str(p) for p in outputs))
    failed = [r.name for r in results if r.error]
    if failed:
        print(f"{len(failed)} filter{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)} (see their rows)",
              file=sys.stderr)
    return 1 if failed else 0


def _add_filters_from(parser: argparse.ArgumentParser) -> None:
    """``--filters-from``, which :func:`import_filter_modules` reads."""
    parser.add_argument("--filters-from", action="append", metavar="MODULE",
                        help="import MODULE (a module name, or a .py file) first: the filters it registers with "
                             "calcdetect.filters.register_filter can be named by --filter and --detector "
                             "(may be repeated)")


def import_filter_modules(names) -> None:
    """Import each module (a name, or the path of a .py file, whose folder joins the end of
    sys.path so that worker processes import it too; see :func:`_importable_folder`): the
    filters it registers become available by name. A module that cannot be imported, or
    registers no filter, is refused."""
    import importlib

    from calcdetect.filters import FILTERS

    for name in names:
        path = None
        if name.endswith(".py"):
            path = Path(name).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"--filters-from {name}: no such file")
            folder = _importable_folder(path)
            if folder not in sys.path:
                sys.path.append(folder)
            name = path.stem
        where = f"--filters-from {path or name}"
        before = {key: id(spec) for key, spec in FILTERS.items()}
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if path is None and exc.name == name:
                raise ImportError(f"{where}: no module of that name on the Python path; give the path of a .py "
                                  "file, or make the module importable (PYTHONPATH)") from None
            raise ImportError(f"{where}: importing it failed: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # a syntax error or anything the file raises: named, with its place
            place = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            raise ValueError(f"{where}: importing it failed{place}: {type(exc).__name__}: {exc}") from None
        if path is not None and Path(getattr(module, "__file__", "") or "").resolve() not in (
                path, (Path(folder) / path.name).resolve()):
            raise ValueError(f"--filters-from {path}: the module name {name!r} is taken by "
                             f"{getattr(module, '__file__', None) or 'a built-in module'}; rename the file")
        if {key: id(spec) for key, spec in FILTERS.items()} == before:
            raise ValueError(f"{where}: it registers no filter (call calcdetect.filters.register_filter in it; "
                             "see README, Filter workbench)")


def _importable_folder(path: Path) -> str:
    """The folder from which worker processes import the filter file `path`: its own, or, when
    that folder holds something importable as ``calcdetect`` other than calcdetect itself (a
    checkout next to the file: with an editable install, workers would import that folder as
    an empty namespace package and die), a private folder holding only a link to the file."""
    import atexit
    import importlib.machinery
    import shutil
    import tempfile

    import calcdetect

    found = importlib.machinery.PathFinder.find_spec("calcdetect", [str(path.parent)])
    ours = Path(calcdetect.__file__).resolve()
    if found is None or (found.origin is not None and Path(found.origin).resolve() == ours):
        return str(path.parent)
    private = Path(tempfile.mkdtemp(prefix="calcdetect-filters-"))
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    try:
        (private / path.name).symlink_to(path)
    except OSError:  # no symbolic links here: a copy, imported now, is what the workers import too
        shutil.copyfile(path, private / path.name)
    return str(private)


def _with_own_filters_hint(make):
    """``make()``, its unknown-filter error completed with how to add one's own."""
    from calcdetect.filters.registry import UnknownFilterError

    try:
        return make()
    except UnknownFilterError as exc:
        raise UnknownFilterError(f"{exc}; a filter of your own is named after --filters-from FILE") from None


def _filters(args) -> int:
    from calcdetect.filters import available_filters, get_filter
    from calcdetect.filters.spec import format_params

    import_filter_modules(args.filters_from or ())
    names = available_filters()
    width = max(map(len, names))
    for name in names:
        spec = get_filter(name)
        print(f"{name:{width}s}  reach {spec.reach_mm():.3g} mm  ({format_params(spec.defaults)})  {spec.summary}")
    return 0


def _add_loading_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of how input files are loaded (see :class:`calcdetect.io.LoadOptions` and docs/input.md)."""
    from calcdetect.io import DEFAULT_SPACING_MM, MAX_PIXELS

    def frames(text: str) -> str | int:
        if text in ("error", "mip"):
            return text
        if text.isdigit():
            return int(text)
        raise argparse.ArgumentTypeError(f"expected 'error', 'mip' or a frame index >= 0; got {text!r}")

    group = parser.add_argument_group("loading (see docs/input.md)")
    group.add_argument("--spacing-mm", type=_spacing, metavar="MM",
                       help="pixel spacing for files whose header and sidecar have none, 'ROW' or 'ROW,COL' in mm "
                            f"(else {DEFAULT_SPACING_MM} mm, with a warning)")
    group.add_argument("--force", action="store_true",
                       help="load images whose header says they are not a breast (refused by default)")
    group.add_argument("--frames", type=frames, default="error", metavar="error|mip|K",
                       help="multi-frame files (tomosynthesis): refuse (error, the default), maximum-intensity "
                            "projection (mip) or frame K (0-based)")
    group.add_argument("--voi", action="store_true",
                       help="apply the file's VOI LUT / window (display values) instead of detector or log values")
    group.add_argument("--linear-for-processing", action="store_true",
                       help="keep FOR PROCESSING (raw) images linear instead of log-transforming them")
    group.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                       help="refuse images with more pixels than this, before decoding (default %(default)s)")


def _load_options(args):
    from calcdetect.io import LoadOptions

    return LoadOptions(spacing_mm=args.spacing_mm, force=args.force, frames=args.frames, voi=args.voi,
                       log_for_processing=not args.linear_for_processing, max_pixels=args.max_pixels)


def _spacing(text: str) -> float | tuple[float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'ROW' or 'ROW,COL' in mm; got {text!r}") from None
    if len(values) not in (1, 2) or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected one or two positive numbers; got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])


def _detect(args) -> int:
    from calcdetect.batch import run_detection
    from calcdetect.pipeline import Params
    from calcdetect.store import RunConflictError

    import_filter_modules(args.filters_from or ())
    changes = dict(filter=args.filter, detector=args.detector, threshold=args.threshold,
                   min_diameter_mm=args.min_diameter_mm, max_diameter_mm=args.max_diameter_mm,
                   max_length_mm=args.max_length_mm, min_confidence=args.min_confidence,
                   min_calcification_probability=args.min_calcification_probability)
    params = _with_own_filters_hint(
        lambda: Params.birads_grouping(**changes) if args.birads_grouping else Params(**changes))
    from calcdetect.batch import find_inputs

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        print(f"calcdetect detect: error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not find_inputs(args.paths)[1]:
        print(f"calcdetect detect: error: no image files in {', '.join(args.paths)} (searched recursively, hidden "
              f"files skipped, for {INPUT_FORMATS} files)", file=sys.stderr)
        return 2
    if args.dicom_sr or args.dicom_seg:  # refuse a missing extra before hours of work
        from calcdetect.exports.dicom import require_dicom_extra

        require_dicom_extra()
    progress = _Progress(quiet=args.quiet)
    try:
        summary = run_detection(
            args.paths, args.out, params=params, load=_load_options(args), use_sop_uid=args.image_id == "sop",
            jobs=args.jobs, scheduler=args.scheduler, retries=args.retries, memory_budget_gb=args.memory_budget_gb,
            table_format=args.format, overwrite=args.overwrite, resume=True if args.resume else None,
            on_start=progress.start, on_image=progress.update,
        )
    except RunConflictError as exc:
        progress.close()
        print(f"calcdetect detect: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.close()
        print(f"\ninterrupted; finished images are kept in {args.out}/parts: run the same command again to go on",
              file=sys.stderr)
        return 130
    progress.close()
    resumed = summary.n_images - summary.n_processed
    stored = [f"{resumed} from the stored run"] if resumed else []
    stored += [f"{n} done again because {reason}" for reason, n in sorted(summary.redone.items())]
    print(f"{_count(summary.n_images, 'image')}: {summary.n_ok} ok, {summary.n_failed} failed"
          + (f" ({'; '.join(stored)})" if stored else "")
          + f"; {_count(summary.n_calcifications, 'calcification')} in {_count(summary.n_clusters, 'cluster')}; "
          f"{summary.seconds:.1f} s with {_count(summary.workers, 'worker')}. Tables in {summary.out_dir}/")
    if args.coco:
        from calcdetect.exports import write_coco

        write_coco(args.out)
    if args.overlays or args.report:
        _draw_overlays(args.out, quiet=args.quiet, load=_load_options(args))
    if args.report:
        from calcdetect.exports import write_report

        page = write_report(args.out, draw=False)
        if not args.quiet:
            print(f"report: {page}")
    if args.dicom_sr or args.dicom_seg:
        from calcdetect.exports.dicom import write_dicom_objects

        written, skipped = write_dicom_objects(args.out, sr=args.dicom_sr, seg=args.dicom_seg)
        for image_id, reason in skipped:
            print(f"no DICOM SR / SEG for {image_id}: {reason}", file=sys.stderr)
        if not args.quiet:
            print(f"{_count(len(written), 'DICOM object')} in {args.out}/dicom/")
    return 0 if summary.n_ok > 0 else 1


def _count(n: int, noun: str) -> str:
    """'1 image', '2 images'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _Progress:
    """A tqdm bar on a terminal (images done, failed, rate, time left); failures always on stderr."""

    def __init__(self, *, quiet: bool):
        self.quiet = quiet
        self.bar: Any = None  # a tqdm bar once started
        self.failed = 0

    def start(self, total: int, done: int) -> None:
        if self.quiet or not sys.stderr.isatty():
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=done, unit="img", dynamic_ncols=True, file=sys.stderr)
        self.bar.set_postfix(failed=self.failed)

    def update(self, outcome) -> None:
        row = outcome.image
        if outcome.ok and row.get("warnings") and not self.quiet:  # once per image, as in the warnings column
            from calcdetect.results import WARNING_SEPARATOR

            for warning in row["warnings"].split(WARNING_SEPARATOR):
                self._say(f"warning {row['image_id']}: {warning}")
        if not outcome.ok:
            self.failed += 1
            # Failures are printed even with --quiet: they are what a quiet run must not hide.
            self._say(f"error  {row['image_id']}: {row['error']}")
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update()

    def _say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _synth(args) -> int:
    from calcdetect.synth import SynthSettings, make_set

    if args.n < 1:
        raise ValueError(f"--n must be >= 1; got {args.n}")
    settings = SynthSettings(scale=args.scale, spacing_mm=args.spacing_mm, balanced=args.balanced,
                             domain=args.domain)
    truth = make_set(args.out, n=args.n, seed=args.seed, settings=settings)
    print(f"{args.n} synthetic mammograms and their truth in {truth}")
    return 0


def _evaluate(args) -> int:
    from calcdetect.evaluate import evaluate, format_summary
    from calcdetect.results import write_json

    if args.dataset:
        return _evaluate_dataset(args)
    if args.split:
        raise ValueError("--split applies to --dataset only; got it with --truth")
    _check_plot(args.plot)
    evaluation = evaluate(args.truth, args.pred, sweep=args.sweep, margin_mm=args.margin_mm)
    print(format_summary(evaluation))
    if args.json:
        write_json(args.json, evaluation.to_dict())
    if args.plot:
        from calcdetect.exports.report import plot_froc

        clusters = evaluation.clusters
        plot_froc(clusters.froc, args.plot, operating_points=clusters.operating_points, band=clusters.band)
    if args.overlays:
        _draw_overlays(args.pred, quiet=False, truth_path=args.truth, evaluation=evaluation)
    return 0


#: Default of evaluate --margin-mm (mm): :data:`calcdetect.evaluate.matching.MARGIN_MM`, written out so
#: that the command line starts without loading the evaluation (a test holds them equal).
_MARGIN_MM = 2.0
#: Lesion attributes each data set's evaluation is broken down by.
_BREAKDOWNS = {"cbis-ddsm": ("subtlety", "breast_density", "pathology", "morphology", "distribution"),
               "inbreast": ("source", "breast_density", "assessment"), "mini-mias": ("severity", "tissue")}


def _evaluate_dataset(args) -> int:
    from calcdetect.datasets import lesions
    from calcdetect.datasets.scoring import score_calcifications, score_lesions
    from calcdetect.evaluate import load_predictions
    from calcdetect.results import write_json

    name, root = args.dataset
    if args.overlays:
        raise ValueError("--overlays applies to --truth only (the overlays mark a synthetic truth); got it with "
                         "--dataset")
    if name not in _BREAKDOWNS:
        raise ValueError(f"--dataset NAME must be one of {', '.join(_BREAKDOWNS)}; got {name!r}")
    _check_plot(args.plot)
    if args.split and name != "cbis-ddsm":
        raise ValueError(f"--split applies to --dataset cbis-ddsm only; got --dataset {name}")
    if name == "cbis-ddsm":
        from calcdetect.datasets.cbis_ddsm import open_cbis_ddsm

        cbis = open_cbis_ddsm(root)
        report, images = cbis.report.summary(), lesions.cbis_ddsm_lesions(cbis, split=args.split)
    elif name == "inbreast":
        from calcdetect.datasets.inbreast import open_inbreast

        inbreast = open_inbreast(root)
        report, images = inbreast.summary(), lesions.inbreast_lesions(inbreast)
    else:
        from calcdetect.datasets.mini_mias import open_mini_mias

        mias = open_mini_mias(root)
        report, images = mias.summary(), lesions.mini_mias_lesions(mias)
    print(f"Data set: {name} at {root}" + (f", {args.split} split" if args.split else ", all splits"))
    print(report if not args.split else f"{report}\n(matching counts are of the whole download; the {args.split} "
                                         f"split scored here holds {len(images)} images)")
    predictions = load_predictions(args.pred)
    evaluation = score_lesions(images, predictions, margin_mm=args.margin_mm, sweep=args.sweep,
                               breakdowns=_BREAKDOWNS[name])
    print(evaluation.summary())
    calcifications = score_calcifications(images, predictions)
    if calcifications is not None:
        print(calcifications.summary())
    if args.json:
        write_json(args.json, {"dataset": name, "root": str(root), "split": args.split, "matching": report,
                               **evaluation.to_dict(),
                               "calcifications": calcifications.to_dict() if calcifications is not None else None})
    if args.plot:
        from calcdetect.exports.report import plot_froc

        plot_froc(evaluation.froc, args.plot, operating_points=evaluation.operating_points, band=evaluation.band,
                  truth="lesions", sensitivity="lesion sensitivity")
    return 0


def _check_plot(plot, *, option: str = "--plot") -> None:
    """Refuse `option` (given when `plot` is set) before any work when matplotlib is missing."""
    import importlib.util

    if plot and importlib.util.find_spec("matplotlib") is None:
        raise ImportError(f"{option} needs matplotlib: pip install 'calcdetect[report]'")


def _draw_overlays(out: Path, *, quiet: bool, **options) -> None:
    """Draw a run's overlays, saying which images had none and why, and (unless quiet) how many."""
    from calcdetect.exports import write_overlays

    written, skipped = write_overlays(out, **options)
    for image_id, reason in skipped:
        print(f"no picture of {image_id}: {reason}", file=sys.stderr)
    if not quiet:
        print(f"{_count(len(written), 'picture')} in {out}/overlays/")


def _report(args) -> int:
    from calcdetect.exports import write_report

    if not (args.out / "run.json").is_file():
        raise FileNotFoundError(f"{args.out} holds no finished run (no run.json): run 'calcdetect detect' first")
    _check_plot(args.truth, option="report --truth (its FROC plot)")
    print(f"report: {write_report(args.out, truth_path=args.truth)}")
    return 0


def _schema(args) -> int:
    from calcdetect.schema import validate_run, write_schema_files
    from calcdetect.tables import SCHEMA_VERSION

    if args.write is not None:
        for path in write_schema_files(args.write):
            print(path)
        return 0
    try:
        import jsonschema
    except ImportError:
        raise ImportError("checking a run needs jsonschema: pip install 'calcdetect[schema]'") from None
    try:
        validate_run(args.check)
    except (ValueError, FileNotFoundError, jsonschema.ValidationError) as exc:  # cells, order, counts, tables
        print(f"calcdetect schema: {args.check} does not follow the schema: {exc}", file=sys.stderr)
        return 1
    print(f"{args.check}: the tables and run.json follow schema version {SCHEMA_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
