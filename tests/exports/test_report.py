"""report.html: a static page whose pictures load and whose cluster table sorts, checked in a
real browser (headless Chromium) where one is installed."""

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from calcdetect.cli import main
from calcdetect.exports.report import REPORT_FILE
from calcdetect.tables import read_table

SAMPLES = Path(__file__).parents[2] / "data" / "samples"

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def run(tmp_path_factory, detect_samples):
    """The five samples and a broken file, detected with --report, then reported with the truth."""
    out = detect_samples(tmp_path_factory.mktemp("report"), [p.name for p in SAMPLES.glob("*.dcm")], "--report",
                         broken=True)
    assert (out / REPORT_FILE).is_file()
    assert main(["report", str(out), "--truth", str(SAMPLES / "truth.json")]) == 0
    return out


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets, self.rows = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.targets.append(attrs["src"])
        if tag == "a":
            self.targets.append(attrs["href"])
        if tag == "td" and attrs.get("data-key") == "cluster_id":
            self.rows += 1


def test_every_picture_and_link_lies_next_to_the_page(run):
    text = (run / REPORT_FILE).read_text(encoding="utf-8")
    links = _Links()
    links.feed(text)
    assert links.targets and "froc.png" in links.targets
    for target in links.targets:
        assert not re.match(r"[a-z]+://", target), f"{target}: the page must work without a network"
        assert (run / target).is_file(), target
    assert links.rows == len(read_table(run, "clusters")) >= 5
    failed = next(r for r in read_table(run, "images") if r["status"] == "error")
    assert failed["image_id"] == "broken.dcm" and html.escape(failed["error"]) in text  # the failure, its reason
    assert "<h3>distribution" in text and "<h3>morphology" in text  # the truth's confusion matrices


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _chromium(browser: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=10000", *arguments], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(_browser() is None, reason="no Chromium here: .ci/run installs Debian's chromium; "
                                               "install it to run the browser test")
def test_in_a_browser_pictures_load_and_the_table_sorts(run, tmp_path):
    browser = _browser()
    page = (run / REPORT_FILE).resolve().as_uri()
    dom = _chromium(browser, "--dump-dom", page + "#sort=score").stdout
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded is not None, "the page's load handler did not run"
    assert loaded.group(1) == loaded.group(2) and int(loaded.group(2)) >= 6
    assert 'data-images-failed="0"' in dom
    assert 'data-sorted-by="score descending"' in dom
    shown = [float(v) for v in re.findall(r'<td data-key="score" data-value="([^"]+)"', dom)]
    assert len(shown) == len(read_table(run, "clusters")) and shown == sorted(shown, reverse=True)
    unsorted = [float(v) for v in re.findall(r'<td data-key="score" data-value="([^"]+)"',
                                             _chromium(browser, "--dump-dom", page).stdout)]
    assert sorted(unsorted, reverse=True) == shown  # the same rows, reordered by the script
    screenshot = tmp_path / "report.png"
    _chromium(browser, f"--screenshot={screenshot}", "--window-size=1300,1900", page)
    import cv2

    picture = cv2.imread(str(screenshot))
    assert picture is not None and picture.shape[:2] == (1900, 1300)
    assert picture.std() > 20  # text, tables and pictures, not a blank page


def test_report_with_truth_refuses_before_drawing_when_matplotlib_is_missing(tmp_path, detect_samples, monkeypatch,
                                                                            capsys):
    import importlib.util

    out = detect_samples(tmp_path, [p.name for p in sorted(SAMPLES.glob("*.dcm"))[:1]])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["report", str(out), "--truth", str(SAMPLES / "truth.json")]) == 2
    assert "report --truth (its FROC plot) needs matplotlib" in capsys.readouterr().err
    assert not (out / "overlays").exists() and not (out / REPORT_FILE).exists()


def test_the_evaluation_shows_each_matrix_once_and_the_froc_with_its_band(run, monkeypatch, tmp_path):
    # The page's text summary leaves the confusion matrices to the tables below it; the FROC
    # plot gets the bootstrap band, as `evaluate --plot` draws it.
    from calcdetect.evaluate import evaluate
    from calcdetect.exports import report

    text = (run / REPORT_FILE).read_text(encoding="utf-8")
    assert text.count("rows truth, columns predicted") == 2  # the two table headings, no text copies
    drawn = {}
    monkeypatch.setattr(report, "plot_froc", lambda froc, path, **kwargs: drawn.update(kwargs))
    evaluation = evaluate(SAMPLES / "truth.json", run)
    report._evaluation_section(run, SAMPLES / "truth.json", evaluation)
    rates, low, high = drawn["band"]
    assert len(rates) > 0 and np.all(np.asarray(low) <= np.asarray(high))


def test_the_summary_counts_suspicious_clusters_as_the_images_table_does(run):
    text = (run / REPORT_FILE).read_text(encoding="utf-8")
    suspicious = sum(int(r["n_suspicious_clusters"] or 0) for r in read_table(run, "images"))
    n_clusters = len(read_table(run, "clusters"))
    assert f"{n_clusters}: {suspicious} of a suspicious BI-RADS morphology (diffuse ones left out)" in text
