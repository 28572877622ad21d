"""truth.json read and written by calcdetect.truth: what is read writes back the same."""

import json
from pathlib import Path

import pytest

from calcdetect.errors import EvaluationError
from calcdetect.lexicon import Category, Morphology
from calcdetect.synth import SynthSettings, make_set
from calcdetect.truth import ArtefactKind, read_truth, write_truth

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT.parent / "shared" / "data" / "foreign-phantom" / "truth.json"
SETS = {"classic": SynthSettings(scale=0.25), "wide": SynthSettings(scale=0.25, domain="wide")}


@pytest.mark.parametrize("domain", list(SETS), ids=list(SETS))
def test_a_synthetic_truth_reads_and_writes_back_byte_for_byte(tmp_path, domain):
    path = make_set(tmp_path / "set", n=2, seed=4, settings=SETS[domain])
    truth = read_truth(path)
    again = write_truth(truth, tmp_path / "again.json")
    assert again.read_bytes() == path.read_bytes()
    assert read_truth(again) == truth
    assert (truth.generator, truth.seed, truth.settings["n"]) == ("calcdetect.synth", 4, 2)
    assert all((image.artefacts is None) == (domain == "classic") for image in truth.images)


def test_the_foreign_truth_reads_and_writes_back_the_same_document(tmp_path):
    if not FOREIGN.is_file():
        pytest.skip(f"{FOREIGN} is absent (the independent phantom set lives in ../shared/data)")
    truth = read_truth(FOREIGN)
    again = write_truth(truth, tmp_path / "truth.json")
    assert json.loads(again.read_text()) == json.loads(FOREIGN.read_text())
    assert len(truth.images) == 40
    kinds = {a.kind for image in truth.images for a in image.artefacts}
    assert ArtefactKind.DUST in kinds and ArtefactKind.HOT_PIXEL in kinds


def _write(tmp_path, **changes):
    image = {"image_id": "a.dcm", "spacing_mm": [0.1, 0.1], "clusters": [
        {"cluster_id": 0, "category": "suspicious", "morphology": "fine_pleomorphic",
         "calcifications": [{"row": 1.0, "col": 2.0}, {"row": 3.0, "col": 6.0}]}]}
    image.update(changes)
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"format_version": 1, "images": [image]}))
    return path


def test_a_sparse_truth_reads_with_defaults(tmp_path):
    image = read_truth(_write(tmp_path)).images[0]
    cluster = image.clusters[0]
    assert (cluster.category, cluster.morphology, cluster.distribution) == (Category.SUSPICIOUS,
                                                                            Morphology.FINE_PLEOMORPHIC, None)
    assert (cluster.row, cluster.col) == (2.0, 4.0)  # the members' centroid where none is given
    assert (image.rows, image.artefacts, image.isolated) == (None, None, ())


@pytest.mark.parametrize(("changes", "match"), [
    ({"spacing_mm": [0.1]}, r"images\[0\] \(a.dcm\).spacing_mm: expected \[row, col\]"),
    ({"spacing_mm": [0.1, -1]}, r"spacing_mm must be positive"),
    ({"artefacts": [{"kind": "smudge", "row": 1, "col": 2}]}, r"artefacts\[0\].kind: 'smudge' is not one of dust"),
    ({"acquisition": "film"}, r"acquisition: expected a JSON object; got str"),
    ({"clusters": [{"cluster_id": 0, "category": "malignant"}]}, r"'malignant' is not one of suspicious, benign"),
], ids=["spacing-length", "spacing-sign", "artefact-kind", "acquisition", "category"])
def test_a_bad_truth_is_refused_with_the_place_of_the_fault(tmp_path, changes, match):
    with pytest.raises(EvaluationError, match=match):
        read_truth(_write(tmp_path, **changes))
