"""Fit the shipped false-positive and vascular models and write their data card.

Run:  python benchmarks/train_fp_model.py [--work runs/fp-model] [--jobs 2] [--check]

Generates the synthetic sets below (:mod:`calcdetect.synth`, only; never the
validation phantoms in ../shared/data), detects every image with the model off,
labels the candidates against the planted truth, fits the model
(:func:`calcdetect.specks.training.fit`) and writes

- ``calcdetect/specks/fp_model.json``: is a candidate a calcification (every candidate);
- ``calcdetect/specks/vascular_model.json``: is a calcification a vessel's wall (calcifications only);
  each with its data card in ``metadata``;
- ``benchmarks/fp_model.md``: the data card for people.

Same sets, same seeds -> the same models, byte for byte (``--check`` compares
instead of writing; exit 1 when they differ). Needs ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import platform
import sys
from pathlib import Path

import numpy as np

from calcdetect.birads.morphology import (VASCULAR_COURSE_SPECKS, VASCULAR_LINEARITY, VASCULAR_PROBABILITY,
                                          VASCULAR_SPECKS, VASCULAR_SPREAD_MM)
from calcdetect.specks.features import CandidateFeatures
from calcdetect.specks.model import MODEL_FILES
from calcdetect.specks.training import LIGHTGBM_PARAMS, N_TREES, TARGETS, Candidates, fit, roc_auc, set_candidates
from calcdetect.synth import SynthSettings, make_set

ROOT = Path(__file__).resolve().parents[1]
MODEL_PATHS = {target: ROOT / "calcdetect" / "specks" / name for target, name in MODEL_FILES.items()}
CARD_PATH = ROOT / "benchmarks" / "fp_model.md"

#: (seed, images, settings) of the sets the model is fitted on, and of those it is checked on.
TRAINING_SETS = (
    (3000, 300, {"domain": "wide", "scale": 0.5}),
    (3001, 60, {"domain": "classic", "scale": 0.5}),
)
VALIDATION_SETS = (
    (3100, 40, {"domain": "wide", "scale": 0.5}),
    (3101, 10, {"domain": "classic", "scale": 0.5}),
)


def make_sets(work: Path, sets) -> list[Path]:
    """Generate (or reuse, when complete) each set under `work`; returns their folders."""
    folders = []
    for seed, n, settings in sets:
        folder = work / f"{settings['domain']}-s{seed}-n{n}-x{settings['scale']}"
        if not (folder / "truth.json").exists():
            make_set(folder, n=n, seed=seed, settings=SynthSettings(compress=False, **settings))
        folders.append(folder)
    return folders


def candidates_of(folders, *, jobs: int) -> Candidates:
    return Candidates.concatenate([set_candidates(f, jobs=jobs) for f in folders])


def describe_sets(sets) -> list[dict]:
    return [{"seed": seed, "n": n, **settings} for seed, n, settings in sets]


def train(work: Path, *, jobs: int = 1) -> dict:
    """Fit both models on :data:`TRAINING_SETS`, figures on both sets in their metadata; by target."""
    data = {"training": candidates_of(make_sets(work, TRAINING_SETS), jobs=jobs),
            "validation": candidates_of(make_sets(work, VALIDATION_SETS), jobs=jobs)}
    models = {}
    for target in TARGETS:
        card = {
            "target": target,
            "fitted_by": "python benchmarks/train_fp_model.py",
            "training_sets": describe_sets(TRAINING_SETS),
            "validation_sets": describe_sets(VALIDATION_SETS),
            "features": list(CandidateFeatures.names()),
            "label": LABELS[target],
            "lightgbm_params": LIGHTGBM_PARAMS,
            "n_trees": N_TREES,
        }
        model = fit(data["training"], target=target, metadata=card)
        figures = {}
        for name, candidates in data.items():
            rows = candidates.label if target == "vascular" else np.ones(len(candidates.label), bool)
            y = (candidates.vascular if target == "vascular" else candidates.label)[rows]
            columns = {n: v[rows] for n, v in candidates.features.items()}
            figures[name] = {
                "images": candidates.n_images, "rows": int(rows.sum()), "positives": int(y.sum()),
                "roc_auc": round(roc_auc(model.predict_proba(columns), y), 4),
                "roc_auc_significance_alone": round(roc_auc(columns["significance"], y), 4),
            }
        models[target] = dataclasses.replace(model, metadata={**card, "figures": figures})
    return models


#: What each model's positive class is.
LABELS = {
    "calcification": "a candidate within max(0.5 mm, half its length) of a planted calcification (cluster "
                     "member or isolated); every other candidate (noise, tissue, edges, artefacts) is negative",
    "vascular": "among those calcifications, one of a planted vascular cluster",
}


def data_card(models: dict) -> str:
    meta = models["calcification"].metadata
    lines = [
        "# Data card: the false-positive and vascular models (`calcdetect/specks/*.json`)",
        "",
        "Written by `python benchmarks/train_fp_model.py` (needs `pip install -e '.[train]'`); "
        "do not edit by hand.",
        "",
        "**What they do.** `fp_model.json` gives each candidate speck the probability that it is a "
        "calcification; candidates below `Params.min_calcification_probability` are dropped before "
        "clustering, and a cluster's confidence is the mean of its three surest members. "
        "`vascular_model.json` gives each calcification the probability that it is a piece of a "
        "calcified vessel's wall; a cluster "
        f"{VASCULAR_SPECKS:.0%} of whose members are (P >= {VASCULAR_PROBABILITY}), where the candidates "
        f"round them line up (linearity >= {VASCULAR_LINEARITY}, "
        "`calcdetect.birads.morphology.VASCULAR_LINEARITY`), is described as vascular, as is one "
        f"{VASCULAR_COURSE_SPECKS:.0%} of whose members are, spread over {VASCULAR_SPREAD_MM:.0f} mm "
        "or more along lines that cross or bend (`calcdetect.birads.morphology.VASCULAR_SPREAD_MM`). "
        "Both are gradient-boosted trees (LightGBM), stored as JSON and evaluated with numpy.",
        "",
        "**Fitted on** synthetic mammograms of `calcdetect.synth` only (never on the validation "
        "phantoms in `../shared/data`):",
        "",
        "| role | seed | images | settings |",
        "|---|---|---|---|",
    ]
    for role, sets in (("training", meta["training_sets"]), ("validation", meta["validation_sets"])):
        for s in sets:
            settings = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("seed", "n"))
            lines.append(f"| {role} | {s['seed']} | {s['n']} | {settings} |")
    lines += ["", "**Features** (`calcdetect.specks.features.CandidateFeatures`): " +
              ", ".join(f"`{f}`" for f in meta["features"]) + ".", "",
              f"**Models.** {meta['n_trees']} trees each; LightGBM parameters: `{meta['lightgbm_params']}`.", "",
              "| model | positive class | candidates of | images | rows | positives | ROC AUC "
              "| ROC AUC of significance alone |",
              "|---|---|---|---|---|---|---|---|"]
    for target, model in models.items():
        for name, f in model.metadata["figures"].items():
            lines.append(f"| {target} | {model.metadata['label']} | {name} | {f['images']} | {f['rows']} | "
                         f"{f['positives']} | {f['roc_auc']:.4f} | {f['roc_auc_significance_alone']:.4f} |")
    lines += [""] + [f"`{MODEL_FILES[t]}` SHA-256: `{hashlib.sha256(m.to_json().encode()).hexdigest()}`."
                     for t, m in models.items()] + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "fp-model",
                        help="where the synthetic sets go (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare with the shipped model instead of writing")
    args = parser.parse_args(argv)
    models = train(args.work, jobs=args.jobs)
    print(f"{platform.machine()} {platform.python_version()}: " +
          "; ".join(f"{t}: {m.metadata['figures']}" for t, m in models.items()))
    if args.check:
        same = all(MODEL_PATHS[t].exists() and MODEL_PATHS[t].read_text(encoding="utf-8") == m.to_json()
                   for t, m in models.items())
        print("same as the shipped models" if same else "DIFFERS from the shipped models")
        return 0 if same else 1
    for target, model in models.items():
        MODEL_PATHS[target].write_text(model.to_json(), encoding="utf-8")
    CARD_PATH.write_text(data_card(models), encoding="utf-8")
    print(f"wrote {', '.join(str(p) for p in MODEL_PATHS.values())} and {CARD_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
