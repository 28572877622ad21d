"""The filter workbench: every registered filter's speed, memory and detection quality, side by side.

For each filter, :func:`bench_filters` measures, in one invocation and on the same images:

- **speed**: milliseconds per megapixel of the filter alone (decoding excluded), OpenCV
  pinned to one thread and with all cores; the filter's scipy / scikit-image reference
  (``backend="reference"``) on a central crop, so that each speed is also a ratio;
- **memory**: the peak of the memory the filter's arrays take (:mod:`tracemalloc`: numpy's
  arrays and the arrays OpenCV returns; not the C++ buffers OpenCV or scipy use inside a
  call, so a lower bound), in MB per megapixel;
- **detection quality**, on each set of images with a ``truth.json``: the whole pipeline
  run with the filter (:func:`calcdetect.batch.run_detection`) and scored
  (:func:`calcdetect.evaluate.evaluate`): cluster sensitivity at 0.25 and 1 false-positive
  cluster per image (FROC over the detection confidence) and calcification sensitivity
  at 10 false positives per image.

:func:`write_markdown`, :func:`write_json` and :func:`plot` give the table, the numbers
and a figure of speed against sensitivity. ``calcdetect bench`` runs it all.

Notes
-----
The false-positive model was fitted on the default filters' responses (top-hat,
band-pass detector): another filter changes the features it sees, so its detection
figures measure the filter together with a model that was not fitted to it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from calcdetect.errors import FilterError
from calcdetect.filters import get_filter
from calcdetect.filters.spec import format_params

__all__ = ["ROLES", "FilterBench", "SetQuality", "Speed", "bench_figure", "bench_filters", "place_labels", "plot",
           "speed_image", "time_filter", "write_json", "write_markdown"]

#: How a benchmarked filter is used: as the enhancement filter (specks segmented and measured
#: on it, found on the default band-pass) or as the detector (specks found on it).
ROLES = ("filter", "detector")
#: Operating points reported (false positives per image).
CLUSTER_FP_RATES = (0.25, 1.0)
CALCIFICATION_FP_RATE = 10.0


@dataclass(frozen=True)
class Speed:
    """Speed and memory of one filter (per megapixel of input)."""

    ms_per_mpx: float  # fast path, one thread
    ms_per_mpx_all_cores: float  # fast path, OpenCV on every core
    traced_mb_per_mpx: float  # tracemalloc peak of the fast path: its arrays, not OpenCV's inner buffers
    reference_ms_per_mpx: float  # the scipy / scikit-image reference, on the crop
    crop_ms_per_mpx: float  # the fast path on the same crop, one thread

    @property
    def reference_ratio(self) -> float:
        """How many times faster the fast path is than the reference, on the same crop."""
        return self.reference_ms_per_mpx / self.crop_ms_per_mpx if self.crop_ms_per_mpx > 0 else math.nan


@dataclass(frozen=True)
class SetQuality:
    """Detection quality of one filter on one set of images with truth."""

    set_name: str
    n_images: int
    n_failed: int
    cluster_sensitivity: tuple[float, ...]  # at CLUSTER_FP_RATES
    cpm: float
    calcification_sensitivity: float  # at CALCIFICATION_FP_RATE
    run_dir: str


@dataclass(frozen=True)
class FilterBench:
    """Everything measured of one filter."""

    name: str
    summary: str
    params: dict
    reach_mm: float
    speed: Speed | None
    quality: tuple[SetQuality, ...]
    error: str | None = None  # why the filter could not be measured (it raised): the others still are


def speed_image(shape: tuple[int, int] = (4096, 3328), *, spacing_mm: float = 0.07, seed: int = 2024):
    """The synthetic mammogram the speed benchmarks time (``benchmarks/bench_detect.py``,
    ``benchmarks/bench_floor.py``).

    Parameters
    ----------
    shape : tuple of 2 ints
        (rows, cols). The default generator field (4096 x 3328) is drawn at that size;
        another number of rows scales the default field to it.
    spacing_mm : float
        Pixel spacing, both ways.
    seed : int
        Seed of the generator.

    Returns
    -------
    calcdetect.synth.SynthImage
        Its ``pixels`` (uint16) and ``spacing``.
    """
    from calcdetect.synth import SynthSettings, synthesize

    scale = shape[0] / SynthSettings().shape[0]
    settings = (SynthSettings(shape=(int(shape[0]), int(shape[1])), spacing_mm=spacing_mm, scale=1.0) if scale == 1.0
                else SynthSettings(spacing_mm=spacing_mm, scale=scale))
    return synthesize(rng=np.random.default_rng(seed), settings=settings)


def time_filter(function: Callable[[], np.ndarray], *, repeat: int, trace: bool = True) -> tuple[float, float]:
    """(median seconds, peak traced MB) of ``function()`` over `repeat` calls after one warm-up;
    with `trace`, one more call under :mod:`tracemalloc` gives the peak (else NaN)."""
    function()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    if not trace:
        return float(np.median(seconds)), math.nan
    tracemalloc.start()
    try:
        function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return float(np.median(seconds)), peak / 2**20


def _central_crop(image: np.ndarray, size: int) -> np.ndarray:
    rows, cols = image.shape
    r0, c0 = max(0, (rows - size) // 2), max(0, (cols - size) // 2)
    return image[r0:r0 + size, c0:c0 + size]


def _speed(name: str, images: Sequence[tuple[np.ndarray, tuple]], *, window: dict, repeat: int,
           crop_px: int) -> Speed:
    spec = get_filter(name)
    threads = cv2.getNumThreads()
    mpx = sum(image.size for image, _ in images) / 1e6
    try:
        per_threads, peak = {}, 0.0
        for n in sorted({1, os.cpu_count() or 1}):  # one pass on a one-core machine
            cv2.setNumThreads(n)
            total = 0.0
            for image, spacing in images:  # memory traced once, on the single-thread pass
                seconds, mb = time_filter(functools.partial(spec, image, spacing=spacing, **window), repeat=repeat,
                                          trace=n == 1)
                total += seconds
                if n == 1:
                    peak = max(peak, mb / (image.size / 1e6))
            per_threads[n] = 1000 * total / mpx
        cv2.setNumThreads(1)
        image, spacing = images[0]
        crop = _central_crop(image, crop_px)
        crop_mpx = crop.size / 1e6
        fast, _ = time_filter(lambda: spec(crop, spacing=spacing, **window), repeat=repeat, trace=False)
        reference, _ = time_filter(lambda: spec(crop, spacing=spacing, backend="reference", **window),
                                   repeat=repeat, trace=False)
    finally:
        cv2.setNumThreads(threads)
    return Speed(ms_per_mpx=per_threads[1], ms_per_mpx_all_cores=per_threads[os.cpu_count() or 1],
                 traced_mb_per_mpx=peak, reference_ms_per_mpx=1000 * reference / crop_mpx,
                 crop_ms_per_mpx=1000 * fast / crop_mpx)


def _quality(name: str, role: str, image_set: Path, set_key: str, out_dir: Path, *, params, jobs: int) -> SetQuality:
    from calcdetect.batch import run_detection
    from calcdetect.evaluate import evaluate
    from calcdetect.tables import read_table

    params = _with_filter(params, name, role)
    # the filter's code and parameters in the folder's name: an edited filter is run afresh
    window = params.size_window
    run_dir = out_dir / "runs" / set_key / f"{role}-{name}-{get_filter(name).fingerprint(**window)}"
    summary = run_detection([image_set], run_dir, params=params, jobs=jobs)
    if summary.n_images and summary.n_failed == summary.n_images:  # nothing to score: the filter failed
        first = next((row["error"] for row in read_table(run_dir, "images", required=("error",)) if row["error"]),
                     "no error recorded")
        raise FilterError(name, get_filter(name).origin, f"every image of {image_set.name} failed, the first "
                                                         f"with: {first}")
    evaluation = evaluate(image_set / "truth.json", run_dir, fp_rates=CLUSTER_FP_RATES, n_bootstrap=0)
    clusters, calcifications = evaluation.clusters, evaluation.calcifications
    calc = calcifications.froc.operating_point(CALCIFICATION_FP_RATE).sensitivity
    return SetQuality(set_name=image_set.name, n_images=evaluation.n_images, n_failed=evaluation.n_failed,
                      cluster_sensitivity=tuple(float(p.sensitivity) for p in clusters.operating_points),
                      cpm=float(clusters.cpm), calcification_sensitivity=float(calc), run_dir=str(run_dir))


def _with_filter(params, name: str, role: str):
    import dataclasses

    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}; got {role!r}")
    return dataclasses.replace(params, **{role: name})


def _load_images(image_set: Path, limit: int) -> list[tuple[np.ndarray, tuple]]:
    from calcdetect.batch import find_inputs
    from calcdetect.io import read_mammogram

    paths = find_inputs([image_set])[1][:limit]
    if not paths:
        raise ValueError(f"image set {image_set}: no image files in it")
    return [(m.image, m.spacing) for m in map(read_mammogram, paths)]


def bench_filters(names: Sequence[str], image_sets: Sequence, out_dir, *, role: str = "filter", params=None,
                  jobs: int = 1, speed_images: int = 2, repeat: int = 3, crop_px: int = 512,
                  on_progress: Callable[[str], None] | None = None) -> list[FilterBench]:
    """Measure each named filter's speed, memory and detection quality.

    Parameters
    ----------
    names : sequence of str
        Registered filters (:func:`calcdetect.filters.available_filters`).
    image_sets : sequence of str or PathLike
        Folders of images, each with its ``truth.json`` (``docs/truth-format.md``),
        e.g. from ``calcdetect synth`` and ``../shared/data/foreign-phantom``.
    out_dir : str or PathLike
        Where the detection runs go (``runs/<set>/<role>-<filter>``; a run already
        there with the same settings is reused).
    role : {"filter", "detector"}
        Use each filter as the enhancement filter or as the detector (see :data:`ROLES`).
    params : calcdetect.pipeline.Params, optional
        The other settings (default ``Params()``).
    jobs : int
        Worker processes of the detection runs.
    speed_images : int
        Images of the first set timed (whole images, decoded once).
    repeat : int
        Timed calls per image (the median counts).
    crop_px : int
        Side of the central crop on which the reference is timed against the fast path.
    on_progress : callable, optional
        Called with a line of text before each step.

    Returns
    -------
    list of FilterBench
        In the order of `names`.

    Raises
    ------
    ValueError
        If a name is not a registered filter, `role` is not one of :data:`ROLES`, or
        a set has no images or no ``truth.json``.
    """
    from calcdetect.pipeline import Params

    params = Params() if params is None else params
    specs = [get_filter(name) for name in names]  # unknown names fail before any work
    image_sets = [Path(s) for s in image_sets]
    if not image_sets:
        raise ValueError("image_sets must name at least one folder of images with its truth.json")
    for image_set in image_sets:
        if not image_set.is_dir():
            raise ValueError(f"image set {image_set}: no such folder")
        if not (image_set / "truth.json").is_file():
            raise ValueError(f"image set {image_set}: no truth.json in it (make one with 'calcdetect synth', or "
                             "see docs/truth-format.md)")
    # each set's runs under its folder's name, made unique when two sets share one
    keys = [s.name if [t.name for t in image_sets].count(s.name) == 1 else f"{s.name}-{i + 1}"
            for i, s in enumerate(image_sets)]
    _with_filter(params, specs[0].name if specs else "tophat", role)  # role checked before any work
    say = on_progress or (lambda line: None)
    images = _load_images(image_sets[0], speed_images)
    window = params.size_window
    results = []
    for spec in specs:
        described = functools.partial(FilterBench, name=spec.name, summary=spec.summary,
                                      params=spec.params(**window), reach_mm=spec.reach_mm(**window))
        try:
            say(f"{spec.name}: speed on {len(images)} image{'s' if len(images) != 1 else ''}")
            speed = _speed(spec.name, images, window=window, repeat=repeat, crop_px=crop_px)
            quality = []
            for image_set, key in zip(image_sets, keys):
                say(f"{spec.name}: detection on {image_set}")
                quality.append(_quality(spec.name, role, image_set, key, Path(out_dir), params=params, jobs=jobs))
        except FilterError as exc:  # a user's filter that raises, or fails every image: recorded, the others go on
            say(f"{spec.name}: failed: {exc.reason}")
            results.append(described(speed=None, quality=(), error=exc.reason))
            continue
        results.append(described(speed=speed, quality=tuple(quality)))
    return results


def machine() -> dict:
    """Where the numbers were measured."""
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "opencv": cv2.__version__, "numpy": np.__version__}


def write_json(results: Sequence[FilterBench], path, *, role: str) -> Path:
    """Write the numbers (and the machine) as JSON; NaN becomes null."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    rows = [dict(asdict(r), speed=None if r.speed is None else
                 dict(asdict(r.speed), reference_ratio=r.speed.reference_ratio)) for r in results]
    document = {"role": role, "cluster_fp_rates": list(CLUSTER_FP_RATES),
                "calcification_fp_rate": CALCIFICATION_FP_RATE, "machine": machine(), "filters": rows}
    path = Path(path)
    path.write_text(json.dumps(clean(document), indent=2) + "\n")
    return path


def markdown_table(results: Sequence[FilterBench]) -> str:
    """The table: one row per filter and set."""
    lines = ["| filter | set | ms/Mpx, 1 thread | ms/Mpx, all cores | traced MB/Mpx "
             "| reference ms/Mpx on the crop (x the fast path's there) "
             "| clusters at 0.25 / 1 FP/image | CPM | calcifications at 10 FP/image |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.speed
        if s is None:
            lines.append(f"| `{r.name}` | - | failed: {r.error} | | | | | | |")
            continue
        speed = (f"{s.ms_per_mpx:.1f} | {s.ms_per_mpx_all_cores:.1f} | {s.traced_mb_per_mpx:.1f} | "
                 f"{s.reference_ms_per_mpx:.0f} ({s.reference_ratio:.1f}x of {s.crop_ms_per_mpx:.1f})")
        for q in r.quality or [None]:
            if q is None:
                lines.append(f"| `{r.name}` | - | {speed} | - | - | - |")
                continue
            sens = " / ".join(f"{v:.3f}" for v in q.cluster_sensitivity)
            failed = f", {q.n_failed} failed" if q.n_failed else ""
            lines.append(f"| `{r.name}` | {q.set_name} ({q.n_images}{failed}) | {speed} | {sens} | {q.cpm:.3f} | "
                         f"{q.calcification_sensitivity:.3f} |")
    return "\n".join(lines)


def write_markdown(results: Sequence[FilterBench], path, *, role: str, command: str = "") -> Path:
    """Write the table with what each filter is and where it was measured."""
    info = machine()
    text = [f"# Filter benchmark (each filter as the {role})", ""]
    if command:
        text += [f"`{command}`", ""]
    text += [markdown_table(results), "",
             f"Machine: {info['cpus']} cores, {info['machine']}, Python {info['python']}, OpenCV {info['opencv']}. "
             "Speed: the filter alone, decoding excluded, median of the repeats; the reference runs on a central "
             "crop beside the fast path. Traced memory: the peak of the filter's arrays (tracemalloc; not "
             "OpenCV's or scipy's inner buffers). Sensitivity: FROC over the detection confidence.", ""]
    text += [f"- `{r.name}`: {r.summary}; parameters {format_params(r.params)}; reach {r.reach_mm:.3g} mm"
             for r in results]
    path = Path(path)
    path.write_text("\n".join(text) + "\n")
    return path


def plot(results: Sequence[FilterBench], path) -> Path:
    """Write :func:`bench_figure` as a PNG to `path`. Needs matplotlib (``calcdetect[report]``)."""
    figure = bench_figure(results)
    path = Path(path)
    figure.savefig(path, dpi=figure.dpi)
    return path


def bench_figure(results: Sequence[FilterBench]):
    """Speed (ms per Mpx, one thread, log scale) against cluster sensitivity at 1 FP per image,
    one point per filter and set, each filter labelled once (:func:`place_labels`).

    Returns
    -------
    matplotlib.figure.Figure
        Made without pyplot (no backend is chosen, no figure stays open).

    Raises
    ------
    ImportError
        Without matplotlib (``calcdetect[report]``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the bench plot needs matplotlib: pip install 'calcdetect[report]'") from None
    fig = Figure(figsize=(6.5, 4.5), dpi=120)
    ax = fig.add_subplot()
    set_names = sorted({q.set_name for r in results for q in r.quality})
    markers = dict(zip(set_names, "osD^v<>"))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    speeds = [r.speed.ms_per_mpx for r in results if r.speed is not None]
    if speeds:  # room for the labels either side
        ax.set_xlim(0.5 * min(speeds), 2 * max(speeds))
    labelled, points = [], []
    for r in results:
        if r.speed is None:
            continue
        ys = [q.cluster_sensitivity[CLUSTER_FP_RATES.index(1.0)] for q in r.quality]
        ax.plot([r.speed.ms_per_mpx] * len(ys), ys, color="0.8", linewidth=1, zorder=1)  # one filter, its sets
        for q, y in zip(r.quality, ys):
            ax.scatter(r.speed.ms_per_mpx, y, marker=markers[q.set_name], color=f"C{set_names.index(q.set_name)}",
                       label=q.set_name, zorder=2)
            points.append((r.speed.ms_per_mpx, y))
        if ys:  # one label per filter, by its highest point
            labelled.append((r.name, (r.speed.ms_per_mpx, max(ys))))
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    legend = ax.legend(unique.values(), unique.keys(), title="set", loc="lower right")
    ax.set_xlabel("filter time, ms per megapixel (one thread, log scale)")
    ax.set_ylabel("cluster sensitivity at 1 FP / image")
    ax.grid(alpha=0.3)
    fig.tight_layout()  # the axes where they end up, before the labels are placed in them
    place_labels(ax, labelled, avoid=points, boxes=[legend.get_window_extent()])
    return fig


#: Where a point's label may go, tried in turn (offset points from the point): right of it,
#: above then below, then left, then farther out.
_LABEL_OFFSETS = ((4, 4), (4, -11), (-4, 4), (-4, -11), (4, 14), (4, -21), (-4, 14), (-4, -21), (4, 24), (4, -31))


def place_labels(ax, labelled, *, avoid=(), boxes=()) -> list:
    """Annotate points with their names inside the axes, where no two labels overlap, nor a
    label a point or one of `boxes`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes already laid out (after ``tight_layout``): placement is decided in display
        coordinates.
    labelled : sequence of (str, (float, float))
        Name and data coordinates of each point to label.
    avoid : sequence of (float, float)
        Data coordinates of every plotted point (markers of the default size,
        ``rcParams["lines.markersize"]`` points across).
    boxes : sequence of matplotlib.transforms.Bbox
        Display extents to keep clear too (a legend).

    Returns
    -------
    list of matplotlib.text.Annotation
        One per label, in the order given. A label that finds no free place among
        :data:`_LABEL_OFFSETS` takes the first.
    """
    from matplotlib import rcParams
    from matplotlib.transforms import Bbox

    inside = ax.get_window_extent()
    half = rcParams["lines.markersize"] * ax.figure.dpi / 72 / 2
    taken = list(boxes)
    if len(avoid):
        taken += [Bbox.from_bounds(x - half, y - half, 2 * half, 2 * half) for x, y in ax.transData.transform(avoid)]
    texts = []
    for name, xy in labelled:
        for offset in _LABEL_OFFSETS:
            text = _annotate(ax, name, xy, offset)
            box = text.get_window_extent()
            if (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                    and not any(box.overlaps(other) for other in taken)):
                break
            text.remove()
        else:  # no free place: the first
            text = _annotate(ax, name, xy, _LABEL_OFFSETS[0])
            box = text.get_window_extent()
        taken.append(box)
        texts.append(text)
    return texts


def _annotate(ax, name: str, xy, offset: tuple[int, int]):
    """`name` at `offset` points from `xy`, on the side the offset points to."""
    return ax.annotate(name, xy, textcoords="offset points", xytext=offset, fontsize=8,
                       ha="left" if offset[0] > 0 else "right")
