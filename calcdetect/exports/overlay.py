"""Pictures to look at before trusting a number: detections drawn on the mammogram.

:func:`draw_overview` gives the whole image, windowed for display and downsampled to
about :data:`OVERVIEW_PX` on its long side, with every calcification marked and every
cluster outlined (the convex hull of its members) and labelled with its id,
distribution, morphology, extent and score, coloured by suspicion (green 0, yellow
0.5, red 1). :func:`draw_crop` gives one cluster at native resolution. With truth,
its clusters are outlined in magenta and labelled ``hit`` or ``MISS``, and detected
clusters that hit no truth are labelled ``FP``.

:func:`write_overlays` draws a finished run (``detect --overlays``, ``evaluate
--overlays``): it reads each image again with the run's loading options and the rows
from its tables. Drawing is OpenCV's; hulls are scipy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calcdetect.exports._run import by_image, clear_outputs, recorded_loading, safe_name, source_path
from calcdetect.geometry import convex_hull
from calcdetect.store import OVERLAYS

#: Long side (px) of an overview picture; smaller images are not enlarged.
OVERVIEW_PX = 1500

#: Margin (mm) round a cluster's members in its crop.
CROP_MARGIN_MM = 2.0

#: Display window: these percentiles of the image (or of the crop) map to black and white.
WINDOW_PERCENTILES = (1.0, 99.8)

#: Colours (BGR).
TRUTH_COLOUR = (255, 0, 255)
CALCIFICATION_COLOUR = (255, 255, 0)


@dataclass(frozen=True)
class TruthOutline:
    """A truth cluster to draw: its members' centroids (pixels), a label and whether it was hit."""

    points: np.ndarray  # (K, 2) row, col
    label: str
    hit: bool


def window(image: np.ndarray, *, percentiles: Sequence[float] = WINDOW_PERCENTILES) -> np.ndarray:
    """(M, N) uint8 of `image` for display: the given percentiles of its finite values to 0 and 255."""
    values = np.asarray(image, np.float32)
    lo, hi = np.percentile(values[np.isfinite(values)], percentiles)
    scale = 255.0 / max(float(hi - lo), 1e-12)
    return np.clip((values - lo) * scale, 0, 255).astype(np.uint8)


def suspicion_colour(score: float | None) -> tuple[int, int, int]:
    """BGR colour of a suspicion score: green (0) through yellow (0.5) to red (1); grey when None."""
    if score is None or not np.isfinite(score):
        return (160, 160, 160)
    s = float(np.clip(score, 0.0, 1.0))
    return 0, int(round(255 * min(1.0, 2 * (1 - s)))), int(round(255 * min(1.0, 2 * s)))


def cluster_label(cluster: dict) -> str:
    """``"3 segmental fine_pleomorphic 12.5 mm s0.91"`` for one clusters-table row."""
    parts = [str(cluster["cluster_id"]), cluster.get("distribution") or "", cluster.get("morphology") or ""]
    if cluster.get("extent_mm") is not None:
        parts.append(f"{cluster['extent_mm']:.1f} mm")
    if cluster.get("score") is not None:
        parts.append(f"s{cluster['score']:.2f}")
    return " ".join(p for p in parts if p)


def draw_overview(image: np.ndarray, calcifications: Sequence[dict], clusters: Sequence[dict], *,
                  truth: Sequence[TruthOutline] = (), false_positives: frozenset = frozenset(),
                  long_side_px: int = OVERVIEW_PX) -> np.ndarray:
    """The whole mammogram with its detections.

    Parameters
    ----------
    image : (M, N) ndarray
        The mammogram, calcium bright.
    calcifications, clusters : sequence of dict
        Rows of the calcifications and clusters tables of this image.
    truth : sequence of TruthOutline, optional
    false_positives : frozenset of int
        Ids of clusters that hit no truth (labelled ``FP``).
    long_side_px : int
        Long side of the picture; images already smaller keep their size.

    Returns
    -------
    (P, Q, 3) ndarray of uint8
        BGR picture (``cv2.imwrite`` writes it as it is).
    """
    scale = min(1.0, long_side_px / max(image.shape))
    grey = window(image)
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    picture = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    thickness = max(1, round(max(picture.shape) / 700))
    members: dict[int, list[tuple[float, float]]] = {}
    for c in calcifications:
        if c.get("cluster_id") is not None and c["cluster_id"] >= 0:
            members.setdefault(int(c["cluster_id"]), []).append((c["row"], c["col"]))
    labels = []  # drawn last: outlines, then markers, then text
    for outline in truth:
        _draw_hull(picture, outline.points, scale, TRUTH_COLOUR, thickness, pad=6 * thickness)
        labels.append((f"truth {outline.label} {'hit' if outline.hit else 'MISS'}",
                       _below(outline.points, scale, 8 * thickness), TRUTH_COLOUR))
    for cluster in clusters:
        points = np.array(members.get(int(cluster["cluster_id"]), [(cluster["row"], cluster["col"])]), float)
        colour = suspicion_colour(cluster.get("score"))
        _draw_hull(picture, points, scale, colour, thickness + 1, pad=3 * thickness)
        text = cluster_label(cluster) + (" FP" if int(cluster["cluster_id"]) in false_positives else "")
        labels.append((text, _above(points, scale, 6 * thickness), colour))
    for c in calcifications:
        cv2.circle(picture, _point(c["row"], c["col"], scale), max(2, thickness + 1), CALCIFICATION_COLOUR, 1,
                   cv2.LINE_8)
    placed: list[tuple[int, int, int, int]] = []
    for text, origin, colour in labels:
        placed.append(_label(picture, text, origin, colour, thickness, avoid=placed))
    return picture


def draw_crop(image: np.ndarray, calcifications: Sequence[dict], cluster: dict, *, spacing) -> np.ndarray:
    """One cluster at native resolution: its members' box grown by :data:`CROP_MARGIN_MM`,
    windowed on itself, members circled (BGR uint8)."""
    margin = (round(CROP_MARGIN_MM / spacing[0]), round(CROP_MARGIN_MM / spacing[1]))
    r0 = max(0, int(np.floor(cluster["row_min"])) - margin[0])
    r1 = min(image.shape[0], int(np.ceil(cluster["row_max"])) + margin[0] + 1)
    c0 = max(0, int(np.floor(cluster["col_min"])) - margin[1])
    c1 = min(image.shape[1], int(np.ceil(cluster["col_max"])) + margin[1] + 1)
    picture = cv2.cvtColor(window(image[r0:r1, c0:c1]), cv2.COLOR_GRAY2BGR)
    colour = suspicion_colour(cluster.get("score"))
    for c in calcifications:
        if c.get("cluster_id") == cluster["cluster_id"]:
            radius = max(3, round((c.get("length_mm") or 0.3) / 2 / spacing[1]) + 2)  # just outside it
            cv2.circle(picture, _point(c["row"] - r0, c["col"] - c0, 1.0), radius, colour, 1, cv2.LINE_8)
    return picture


def write_overlays(run_dir, *, load=None, truth_path=None, evaluation=None,
                   out_dir=None) -> tuple[list[Path], list[tuple[str, str]]]:
    """Draw every processed image of a finished run into ``run_dir/overlays`` (or `out_dir`).

    Per image :func:`overview_name` (``<name>.png``) and per cluster :func:`crop_name`
    (``<name>.cluster<k>.png``), ``<name>`` the image id as a file name (:func:`safe_name`). Pictures an
    earlier call left there are removed first, so none is stale.

    Parameters
    ----------
    run_dir : str or PathLike
        Output folder of ``calcdetect detect``.
    load : LoadOptions, optional
        How to load the images again; when omitted, the loading options the run
        recorded in its ``run.json`` (the defaults without one).
    truth_path : str or PathLike, optional
        A ``truth.json``: its clusters drawn, hits and misses marked.
    evaluation : Evaluation, optional
        :func:`calcdetect.evaluate.evaluate` of the run against `truth_path`, when the
        caller has it already.
    out_dir : str or PathLike, optional

    Returns
    -------
    written : list of Path
    skipped : list of (str, str)
        (image id, reason) of each image that could not be read again.

    Raises
    ------
    FileNotFoundError
        When a table is missing.
    """
    from calcdetect.errors import ImageReadError
    from calcdetect.io import read_mammogram
    from calcdetect.tables import read_table

    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / OVERLAYS
    clear_outputs(out, "*.png")
    out.mkdir(parents=True, exist_ok=True)
    load = recorded_loading(run_dir) if load is None else load
    images = [r for r in read_table(run_dir, "images") if r["status"] == "ok"]
    calcifications = by_image(read_table(run_dir, "calcifications"))
    clusters = by_image(read_table(run_dir, "clusters"))
    outlines, false_positives = ({}, {}) if truth_path is None else truth_outlines(
        truth_path, run_dir, evaluation=evaluation, clusters=clusters)
    written, skipped = [], []
    for row in images:
        image_id = row["image_id"]
        try:
            mammogram = read_mammogram(source_path(run_dir, row), load)
        except ImageReadError as exc:
            skipped.append((image_id, exc.reason))
            continue
        picture = draw_overview(mammogram.image, calcifications.get(image_id, []), clusters.get(image_id, []),
                                truth=outlines.get(image_id, ()),
                                false_positives=false_positives.get(image_id, frozenset()))
        written.append(_write_png(out / overview_name(image_id), picture))
        for cluster in clusters.get(image_id, []):
            crop = draw_crop(mammogram.image, calcifications.get(image_id, []), cluster, spacing=mammogram.spacing)
            written.append(_write_png(out / crop_name(image_id, cluster["cluster_id"]), crop))
    return written, skipped


def overview_name(image_id: str) -> str:
    """File name of an image's overview picture in the overlays folder."""
    return f"{safe_name(image_id)}.png"


def crop_name(image_id: str, cluster_id: int) -> str:
    """File name of a cluster's native-resolution crop in the overlays folder."""
    return f"{safe_name(image_id)}.cluster{cluster_id}.png"


def truth_outlines(truth_path, run_dir, *, evaluation=None, clusters=None) -> tuple[dict, dict]:
    """Truth outlines per image and the ids of detected clusters that hit no truth, by
    :func:`calcdetect.evaluate.evaluate`'s matching (`evaluation`, or one made here); `clusters`
    are the run's cluster rows by image id when the caller has read them."""
    from calcdetect.evaluate import evaluate
    from calcdetect.tables import read_table
    from calcdetect.truth import read_truth

    if clusters is None:
        clusters = by_image(read_table(run_dir, "clusters"))
    if evaluation is None:
        evaluation = evaluate(truth_path, run_dir, n_bootstrap=0)
    matches = evaluation.clusters.matches
    hit = {(m.image_id, m.truth_cluster_id) for m in matches}
    matched = {(m.image_id, m.predicted_cluster_id) for m in matches}
    outlines = {
        image.image_id: tuple(
            TruthOutline(points=c.member_centroids(),
                         label=f"{c.cluster_id} {c.morphology or ''}".strip(),
                         hit=(image.image_id, c.cluster_id) in hit)
            for c in image.clusters if c.calcifications)
        for image in read_truth(truth_path).images
    }
    false_positives = {image_id: frozenset(int(r["cluster_id"]) for r in rows
                                           if (image_id, int(r["cluster_id"])) not in matched)
                       for image_id, rows in clusters.items()}
    return outlines, false_positives


def _point(row: float, col: float, scale: float) -> tuple[int, int]:
    """The pixel of the scaled picture holding (row, col) of the image (pixel centres at +0.5)."""
    return int(round((col + 0.5) * scale - 0.5)), int(round((row + 0.5) * scale - 0.5))


def _draw_hull(picture, points: np.ndarray, scale: float, colour, thickness: int, *, pad: int) -> None:
    hull = convex_hull(points)  # collinear members: their extreme points
    xy = (np.column_stack([hull[:, 1], hull[:, 0]]) + 0.5) * scale - 0.5
    centre = xy.mean(axis=0)
    away = xy - centre
    norm = np.maximum(np.hypot(away[:, 0], away[:, 1]), 1e-9)[:, None]
    grown = np.round(xy + away / norm * pad).astype(np.int32)
    if len(grown) == 1:
        cv2.circle(picture, tuple(int(v) for v in grown[0]), pad, colour, thickness, cv2.LINE_8)
    else:  # LINE_8: outlines and markers keep their exact colour (the tests find them by it)
        cv2.polylines(picture, [grown.reshape(-1, 1, 2)], True, colour, thickness, cv2.LINE_8)


def _above(points: np.ndarray, scale: float, gap: int) -> tuple[int, int]:
    return int(round(points[:, 1].min() * scale)), max(12, int(round(points[:, 0].min() * scale)) - gap)


def _below(points: np.ndarray, scale: float, gap: int) -> tuple[int, int]:
    return int(round(points[:, 1].min() * scale)), int(round(points[:, 0].max() * scale)) + gap + 10


def _label(picture, text: str, origin: tuple[int, int], colour, thickness: int,
           avoid: Sequence[tuple[int, int, int, int]] = ()) -> tuple[int, int, int, int]:
    """`text` in `colour` on a black box, wholly inside the picture, its baseline near `origin`,
    moved down (or up) by whole lines off the boxes in `avoid`; returns its box (x0, y0, x1, y1)."""
    size = max(0.5, 0.4 * thickness)
    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thickness)
    x = int(np.clip(origin[0], 0, max(0, picture.shape[1] - width - 4)))
    line = height + base + 6
    for step in (0, 1, -1, 2, -2, 3, -3, 4, -4):
        y = int(np.clip(origin[1] + step * line, height + 4, picture.shape[0] - base - 2))
        box = (x - 2, y - height - 3, x + width + 2, y + base + 1)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in avoid):
            break
    cv2.rectangle(picture, box[:2], box[2:], (0, 0, 0), -1)
    cv2.putText(picture, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, colour, thickness, cv2.LINE_AA)
    return box


def _write_png(path: Path, picture: np.ndarray) -> Path:
    from calcdetect.atomic import atomic_open

    ok, data = cv2.imencode(".png", picture)
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode the picture as PNG")
    with atomic_open(path, "wb") as fh:
        fh.write(data.tobytes())
    return path


__all__ = ["OVERVIEW_PX", "TruthOutline", "cluster_label", "crop_name", "draw_crop", "draw_overview", "overview_name",
           "safe_name", "suspicion_colour", "truth_outlines", "window", "write_overlays"]
