"""One static page for a finished run: ``report.html`` (``calcdetect report OUT``, ``detect --report``).

The page needs no server and no network: its pictures lie next to it (the overlays
of :mod:`calcdetect.exports.overlay`, and with an evaluation the FROC curve drawn by
matplotlib), its script is inline. It holds the run's summary and settings, the
failures with their reasons, the warnings, and a table of every cluster with a
thumbnail linking to its crop and to the image's overview; a click on a column
heading sorts the table by it (``report.html#sort=score`` opens it sorted by score,
highest first). With a truth file it adds the FROC curve, the evaluation summary and
the distribution and morphology confusion matrices.

When the page has loaded, its ``body`` carries ``data-images-loaded`` (pictures that
loaded, out of all) and ``data-images-failed``: what the browser test reads.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from calcdetect.results import WARNING_SEPARATOR
from calcdetect.store import FROC_FILE, OVERLAYS, REPORT_FILE

#: Columns of the cluster table: (table column, heading, numeric).
CLUSTER_HEADINGS = (
    ("image_id", "image", False), ("cluster_id", "cluster", True), ("distribution", "distribution", False),
    ("morphology", "morphology", False), ("n_calcifications", "calcifications", True),
    ("extent_mm", "extent (mm)", True), ("confidence", "confidence", True), ("score", "score", True),
)

_SCRIPT = """
function sortBy(key, descending) {
  const table = document.getElementById('clusters');
  const body = table.tBodies[0];
  const numeric = table.querySelector('th[data-key="' + key + '"]').dataset.numeric === 'true';
  const rows = Array.from(body.rows);
  rows.sort(function (a, b) {
    let x = a.querySelector('td[data-key="' + key + '"]').dataset.value;
    let y = b.querySelector('td[data-key="' + key + '"]').dataset.value;
    if (numeric) { x = x === '' ? -Infinity : parseFloat(x); y = y === '' ? -Infinity : parseFloat(y); }
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  rows.forEach(function (row) { body.appendChild(row); });
  table.dataset.sortedBy = key + (descending ? ' descending' : ' ascending');
}
document.querySelectorAll('#clusters th[data-key]').forEach(function (th) {
  th.addEventListener('click', function () {
    const again = document.getElementById('clusters').dataset.sortedBy === th.dataset.key + ' descending';
    sortBy(th.dataset.key, !again);
  });
});
const wanted = /sort=([a-z_]+)/.exec(window.location.hash);
if (wanted && document.querySelector('#clusters th[data-key="' + wanted[1] + '"]')) { sortBy(wanted[1], true); }
window.addEventListener('load', function () {
  const images = Array.from(document.images);
  const loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
  document.body.dataset.imagesLoaded = loaded + '/' + images.length;
  document.body.dataset.imagesFailed = String(images.length - loaded);
});
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: middle; }
#clusters th { cursor: pointer; background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.thumb { width: 96px; height: auto; display: block; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; }
"""


def write_report(run_dir, *, truth_path=None, draw: bool = True) -> Path:
    """Write ``report.html`` for a finished run folder, with its overlays.

    Parameters
    ----------
    run_dir : str or PathLike
        Output folder of ``calcdetect detect``.
    truth_path : str or PathLike, optional
        A ``truth.json``: the page adds the evaluation, the overlays the truth.
    draw : bool
        Draw the overlays (:func:`calcdetect.exports.overlay.write_overlays`); False
        when the caller has just drawn them.

    Returns
    -------
    Path
        The page.

    Raises
    ------
    FileNotFoundError
        When the run's tables or ``run.json`` are missing.
    ImportError
        With a truth file, when matplotlib is missing (``pip install 'calcdetect[report]'``).
    """
    from calcdetect.atomic import atomic_write_text
    from calcdetect.exports.overlay import write_overlays
    from calcdetect.tables import read_table

    run_dir = Path(run_dir)
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    images = read_table(run_dir, "images")
    clusters = read_table(run_dir, "clusters")
    evaluation = None
    if truth_path is not None:
        from calcdetect.evaluate import evaluate

        evaluation = evaluate(truth_path, run_dir)
    skipped = write_overlays(run_dir, truth_path=truth_path, evaluation=evaluation)[1] if draw else []
    parts = [f"<h1>calcdetect run: {html.escape(run_dir.name)}</h1>",
             "<p><strong>A research aid, not a diagnosis.</strong> Scores are estimates of a model fitted on "
             "synthetic mammograms.</p>", _summary(run, images, clusters)]
    if evaluation is not None:
        parts.append(_evaluation_section(run_dir, Path(truth_path), evaluation))
    parts += [_clusters_section(clusters), _failures_section(images), _warnings_section(images, skipped),
              _settings_section(run)]
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>calcdetect report: {html.escape(run_dir.name)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            "<body>\n" + "\n".join(parts) + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")
    return Path(atomic_write_text(run_dir / REPORT_FILE, page))


def _summary(run: dict, images: list[dict], clusters: list[dict]) -> str:
    counts = run.get("images", {})
    suspicious = sum(r.get("n_suspicious_clusters") or 0 for r in images)
    high = sum(1 for c in clusters if (c.get("score") or 0) >= 0.3)
    rows = [
        ("calcdetect", f"{run.get('calcdetect_version')} (schema version {run.get('schema_version')})"),
        ("started / finished", f"{run.get('started')} / {run.get('finished')}"),
        ("images", f"{counts.get('total', len(images))}: {counts.get('ok')} ok, {counts.get('failed')} failed"),
        ("calcifications", str(run.get("n_calcifications"))),
        ("clusters", f"{len(clusters)}: {suspicious} of a suspicious BI-RADS morphology (diffuse ones left out), "
                     f"{high} scoring 0.3 or more"),
        ("run", f"{run.get('execution', {}).get('executor')}, {run.get('seconds')} s"),
    ]
    return "<h2>Summary</h2>\n" + _table(("", ""), rows, head=False)


def _clusters_section(clusters: list[dict]) -> str:
    from calcdetect.exports.overlay import crop_name, overview_name

    heads = "".join(f'<th data-key="{key}" data-numeric="{str(numeric).lower()}">{html.escape(title)}</th>'
                    for key, title, numeric in CLUSTER_HEADINGS)
    body = []
    for c in clusters:
        cells = []
        for key, _, numeric in CLUSTER_HEADINGS:
            value = c.get(key)
            shown = "" if value is None else (f"{value:.3g}" if isinstance(value, float) else str(value))
            raw = "" if value is None else str(value)
            cells.append(f'<td data-key="{key}" data-value="{html.escape(raw)}"'
                         f'{" class=num" if numeric else ""}>{html.escape(shown)}</td>')
        crop = f"{OVERLAYS}/{crop_name(c['image_id'], c['cluster_id'])}"
        overview = f"{OVERLAYS}/{overview_name(c['image_id'])}"
        cells.append(f'<td><a href="{crop}"><img class="thumb" src="{crop}" alt="cluster {c["cluster_id"]}"></a>'
                     f'<a href="{overview}">whole image</a></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<h2>Clusters</h2>\n<p>Click a heading to sort; the thumbnail opens the cluster at native "
            "resolution.</p>\n"
            f'<table id="clusters">\n<thead><tr>{heads}<th>picture</th></tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody>\n</table>")


def _failures_section(images: list[dict]) -> str:
    failed = [(r["image_id"], r["error"] or "") for r in images if r["status"] != "ok"]
    if not failed:
        return "<h2>Failures</h2>\n<p>None.</p>"
    return "<h2>Failures</h2>\n" + _table(("image", "reason"), failed)


def _warnings_section(images: list[dict], skipped: list[tuple[str, str]]) -> str:
    rows = [(r["image_id"], w) for r in images if r.get("warnings") for w in r["warnings"].split(WARNING_SEPARATOR)]
    rows += [(image_id, f"no picture: {reason}") for image_id, reason in skipped]
    if not rows:
        return "<h2>Warnings</h2>\n<p>None.</p>"
    return "<h2>Warnings</h2>\n" + _table(("image", "warning"), rows)


def _settings_section(run: dict) -> str:
    text = json.dumps(run.get("parameters", {}), indent=2)
    return f"<h2>Settings</h2>\n<pre>{html.escape(text)}</pre>"


def _evaluation_section(run_dir: Path, truth_path: Path, evaluation) -> str:
    from calcdetect.evaluate import format_summary

    froc = run_dir / FROC_FILE
    plot_froc(evaluation.clusters.froc, froc, operating_points=evaluation.clusters.operating_points,
              band=evaluation.clusters.band)
    parts = ["<h2>Evaluation</h2>", f"<p>Against <code>{html.escape(str(truth_path))}</code>.</p>",
             f'<img src="{froc.name}" alt="cluster FROC curve" width="560">',
             f"<pre>{html.escape(format_summary(evaluation, matrices=False))}</pre>"]
    description = evaluation.clusters.description
    if description is not None:
        for title, confusion in (("distribution", description.distribution), ("morphology", description.morphology)):
            if confusion.n:
                rows = [(label, *map(str, counts)) for label, counts in zip(confusion.labels, confusion.counts)]
                parts.append(f"<h3>{title} (rows truth, columns predicted; accuracy {confusion.accuracy:.3f})</h3>")
                parts.append(_table(("", *confusion.labels), rows))
    return "\n".join(parts)


def plot_froc(froc, path, *, operating_points=(), band=None, truth: str = "truth clusters",
              sensitivity: str = "cluster sensitivity") -> Path:
    """Draw a FROC curve (sensitivity against false positives per image) into a PNG.

    Parameters
    ----------
    froc : calcdetect.evaluate.FrocCurve
    path : str or PathLike
    operating_points : sequence of OperatingPoint, optional
        Marked on the curve.
    band : tuple of 3 sequences, optional
        (FP/image rates, low, high): an interval band drawn round the curve.
    truth, sensitivity : str
        What the truth objects are called in the title, and the y axis's label.

    Raises
    ------
    ImportError
        When matplotlib is missing (``pip install 'calcdetect[report]'``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the report's FROC curve needs matplotlib: pip install 'calcdetect[report]'") from None
    import io

    from calcdetect.atomic import atomic_open

    figure = Figure(figsize=(5.6, 4.0), dpi=100)  # no pyplot: the caller's backend stays as it is
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = [0.0, *map(float, froc.fp_per_image)]
    y = [0.0, *map(float, froc.sensitivity)]
    right = max(8.0, x[-1])
    if band is not None and len(band[0]):
        axes.fill_between(band[0], band[1], band[2], step="post", color="#c03030", alpha=0.15, linewidth=0,
                          label="95% interval")
    axes.step([*x, right], [*y, y[-1]], where="post", color="#c03030")  # flat after the last detection
    for point in operating_points:
        axes.plot(point.fp_per_image, point.sensitivity, "o", color="#303030", markersize=4)
    axes.set_xscale("symlog", linthresh=0.1)
    axes.set_xlim(0, right)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("false-positive clusters per image")
    axes.set_ylabel(sensitivity)
    axes.set_title(f"FROC ({froc.n_truth} {truth}, {froc.n_images} images)")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    with atomic_open(path, "wb") as fh:
        fh.write(buffer.getvalue())
    return Path(path)


def _table(heads, rows, *, head: bool = True) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in heads) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


__all__ = ["CLUSTER_HEADINGS", "REPORT_FILE", "plot_froc", "write_report"]
