import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from calcdetect.bench import (CLUSTER_FP_RATES, FilterBench, SetQuality, Speed, bench_figure, bench_filters,
                              markdown_table, plot, time_filter, write_json)
from calcdetect.cli import main

SAMPLES = Path(__file__).parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return out, bench_filters(["tophat", "bandpass"], [SAMPLES], out, jobs=1, speed_images=1, repeat=1, crop_px=128)


def test_every_filter_is_timed_against_its_reference_and_scored_on_the_truth(benched):
    out, results = benched
    assert [r.name for r in results] == ["tophat", "bandpass"]
    for r in results:
        s = r.speed
        assert s.ms_per_mpx > 0 and s.ms_per_mpx_all_cores > 0 and s.reference_ms_per_mpx > 0
        assert s.traced_mb_per_mpx >= 4.0  # at least the float32 response itself
        (q,) = r.quality
        assert (q.set_name, q.n_images, q.n_failed) == ("samples", 5, 0)
        assert len(q.cluster_sensitivity) == len(CLUSTER_FP_RATES)
        assert q.cluster_sensitivity[-1] >= 0.75  # the bundled samples' planted clusters are found
        assert 0 < q.calcification_sensitivity <= 1
        assert (Path(q.run_dir) / "clusters.csv").is_file()
    # the reference top-hat (scipy) is much slower than OpenCV's on the same crop
    assert results[0].speed.reference_ratio > 2


def test_the_table_json_and_plot_carry_the_same_numbers(benched, tmp_path):
    _, results = benched
    table = markdown_table(results)
    assert table.count("| `tophat` |") == 1 and table.count("| `bandpass` |") == 1
    document = json.loads(write_json(results, tmp_path / "bench.json", role="filter").read_text())
    assert [f["name"] for f in document["filters"]] == ["tophat", "bandpass"]
    assert document["filters"][0]["speed"]["ms_per_mpx"] == pytest.approx(results[0].speed.ms_per_mpx)
    quality = document["filters"][0]["quality"][0]
    assert quality["cluster_sensitivity"] == list(results[0].quality[0].cluster_sensitivity)
    pytest.importorskip("matplotlib")
    png = plot(results, tmp_path / "bench.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _benched(rows) -> list[FilterBench]:
    """FilterBench results from (name, ms per Mpx, sensitivity at 1 FP per image on each set)."""
    return [FilterBench(name, "", {}, 1.0, Speed(ms, ms, 8.0, 10 * ms, ms),
                        tuple(SetQuality(set_name, 40, 0, (y, y), y, y, "") for set_name, y in
                              zip(("synth40", "foreign-phantom"), ys)))
            for name, ms, ys in rows]


@pytest.mark.parametrize("rows", [
    # the README's table: a crowded corner of filters a few ms per Mpx and points of sensitivity apart
    [("atrous", 10.3, (0.906, 0.839)), ("bandpass", 4.3, (0.859, 0.768)), ("dog", 19.3, (0.859, 0.821)),
     ("hdome", 880.1, (0.376, 0.304)), ("hessian-blob", 21.9, (0.765, 0.661)),
     ("hessian-line", 18.9, (0.835, 0.786)), ("log", 33.5, (0.906, 0.804)), ("tophat", 9.2, (0.906, 0.857)),
     ("tophat-octagon", 4.8, (0.906, 0.839))],
    [(f"filter-{i}", 10.0, (0.9, 0.9)) for i in range(4)],  # four filters on one point
    [("low", 10.0, (0.02, 0.01)), ("high", 10.0, (1.0, 0.99)), ("slow", 1000.0, (0.5, 0.5))],  # at the edges
], ids=["readme-table", "one-point", "edges"])
def test_plot_labels_stay_in_the_axes_clear_of_one_another_the_points_and_the_legend(rows):
    pytest.importorskip("matplotlib")
    from matplotlib import rcParams
    from matplotlib.transforms import Bbox

    figure = bench_figure(_benched(rows))
    (ax,) = figure.axes
    texts = ax.texts
    assert sorted(t.get_text() for t in texts) == sorted(name for name, _, _ in rows)
    boxes = [t.get_window_extent() for t in texts]
    half = rcParams["lines.markersize"] * figure.dpi / 72 / 2
    points = [(ms, y) for _, ms, ys in rows for y in ys]
    markers = [Bbox.from_bounds(x - half, y - half, 2 * half, 2 * half) for x, y in ax.transData.transform(points)]
    legend, inside = ax.get_legend().get_window_extent(), ax.get_window_extent()
    for i, (text, box) in enumerate(zip(texts, boxes)):
        name = text.get_text()
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, name
        assert not any(box.overlaps(other) for other in boxes[i + 1:]), name
        assert not any(box.overlaps(marker) for marker in markers), name
        assert not box.overlaps(legend), name


@pytest.mark.parametrize(("make", "mb"), [
    (lambda image: np.ones((1024, 1024), np.float64), 8.0),
    (lambda image: cv2.GaussianBlur(image, (5, 5), 1.0), 4.0),  # an array OpenCV returns
], ids=["numpy", "opencv"])
def test_time_filter_sees_the_arrays_a_filter_returns(make, mb):
    image = np.zeros((1024, 1024), np.float32)
    seconds, peak_mb = time_filter(lambda: make(image), repeat=2)
    assert seconds > 0
    assert mb <= peak_mb < 2 * mb
    assert np.isnan(time_filter(lambda: make(image), repeat=1, trace=False)[1])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"names": ["nope"]}, "filter must be one of"),
    ({"role": "both"}, r"role must be one of \('filter', 'detector'\); got 'both'"),
    ({"image_sets": [Path(__file__).parent]}, "no truth.json in it"),
    ({"image_sets": []}, "image_sets must name at least one folder"),
    ({"image_sets": [Path(__file__).parent / "no-such-set"]}, "no-such-set: no such folder"),
], ids=["unknown-filter", "bad-role", "set-without-truth", "no-set", "missing-set"])
def test_bad_arguments_fail_before_any_work(tmp_path, kwargs, match):
    arguments = {"names": ["tophat"], "image_sets": [SAMPLES], **kwargs}
    with pytest.raises(ValueError, match=match):
        bench_filters(arguments.pop("names"), arguments.pop("image_sets"), tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_the_command_writes_table_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "bench"
    assert main(["bench", "--out", str(out), "--set", str(SAMPLES), "--synth", "0", "--filters", "tophat",
                 "--jobs", "1", "--speed-images", "1", "--repeat", "1"]) == 0
    assert {p.name for p in out.iterdir()} >= {"bench.md", "bench.json", "bench.png", "runs"}
    assert "| `tophat` | samples (5) |" in (out / "bench.md").read_text()
    assert "| `tophat` |" in capsys.readouterr().out


def _raising(image, *, spacing, backend="opencv"):
    raise RuntimeError("my filter is broken")


def test_the_command_exits_1_when_a_filter_failed_and_writes_the_others(tmp_path, capsys, filter_registry):
    from calcdetect.filters import register_filter

    register_filter("broken", _raising, reach_mm=0.0)
    out = tmp_path / "bench"
    assert main(["bench", "--out", str(out), "--set", str(SAMPLES), "--synth", "0", "--filters", "broken", "tophat",
                 "--jobs", "1", "--speed-images", "1", "--repeat", "1"]) == 1
    assert "| `tophat` | samples (5) |" in (out / "bench.md").read_text()
    assert "1 filter failed: broken (see their rows)" in capsys.readouterr().err


def test_a_failing_filter_is_recorded_and_the_others_measured(tmp_path, filter_registry):
    from calcdetect.filters import register_filter

    register_filter("broken", _raising, reach_mm=0.0)
    results = bench_filters(["broken", "tophat"], [SAMPLES], tmp_path, jobs=1, speed_images=1, repeat=1, crop_px=64)
    assert results[0].speed is None and "filter 'broken' (from " in results[0].error
    assert "RuntimeError: my filter is broken" in results[0].error
    assert results[1].error is None and results[1].quality[0].cluster_sensitivity[-1] >= 0.75
    assert "| `broken` | - | failed: filter 'broken'" in markdown_table(results)
    document = json.loads(write_json(results, tmp_path / "b.json", role="filter").read_text())
    assert document["filters"][0]["speed"] is None


def test_a_filter_that_fails_on_every_image_is_a_failed_row_not_zeros(tmp_path, filter_registry, monkeypatch):
    """Its speed measured (here: taken as measured), its every detection failed: the row says so,
    with the first image's error, instead of showing a sensitivity of 0."""
    import calcdetect.bench as bench
    from calcdetect.filters import register_filter

    register_filter("broken", _raising, reach_mm=0.0)
    monkeypatch.setattr(bench, "_speed", lambda *args, **kwargs: bench.Speed(1.0, 1.0, 1.0, 1.0, 1.0))
    (result,) = bench_filters(["broken"], [SAMPLES], tmp_path, jobs=1, speed_images=1, repeat=1, crop_px=64)
    assert result.quality == () and result.speed is None
    assert "every image of samples failed, the first with: " in result.error
    assert "my filter is broken" in result.error


def test_two_sets_of_one_name_get_their_own_runs(tmp_path):
    copy = tmp_path / "other" / "samples"
    shutil.copytree(SAMPLES, copy)
    (result,) = bench_filters(["tophat"], [SAMPLES, copy], tmp_path / "out", jobs=1, speed_images=1, repeat=1,
                              crop_px=64)
    first, second = result.quality
    assert first.run_dir != second.run_dir
    assert first.cluster_sensitivity == second.cluster_sensitivity  # the same images
