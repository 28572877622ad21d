"""Writing a synthetic set: DICOM files and ``truth.json`` (``docs/truth-format.md``)."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from calcdetect import __version__
from calcdetect.io.dicom import write_mammogram
from calcdetect.synth.calcifications import balanced_specs
from calcdetect.synth.generate import image_rng, synthesize
from calcdetect.synth.settings import SynthSettings
from calcdetect.truth import Truth, read_truth, write_truth

#: ContentDate of every synthetic file, so that a set is byte-identical whenever it is made.
_CONTENT_DATE = datetime.date(2000, 1, 1)


def make_set(
    out_dir,
    *,
    n: int,
    seed: int,
    settings: SynthSettings = SynthSettings(),
    start: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a synthetic set: ``synth_0000.dcm``, ... and ``truth.json``.

    Image ``i`` is ``synthesize(rng=image_rng(seed, i), settings=settings)``,
    so a set is the same whether made at once or in parts (``start``).

    Parameters
    ----------
    out_dir : str or PathLike
        Folder, created if needed.
    n : int
        Number of images to make (>= 1).
    seed : int
        Seed of the set (>= 0).
    settings : SynthSettings
    start : int
        Index of the first image. When ``truth.json`` already exists in `out_dir`
        for the same seed and settings, the new images are merged into it
        (images with the same id are replaced); otherwise it is an error.
    progress : callable, optional
        Called as ``progress(done, n)`` after each image.

    Returns
    -------
    Path
        The ``truth.json`` written (atomically).

    Raises
    ------
    ValueError
        On invalid arguments or when `out_dir` holds the truth of another set.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    if int(start) != start or start < 0:
        raise ValueError(f"start must be an integer >= 0; got {start!r}")
    out_dir = Path(out_dir)
    truth_path = out_dir / "truth.json"
    settings_dict = settings.to_dict()
    images = {}
    if truth_path.exists():
        old = read_truth(truth_path)
        old_settings = {k: v for k, v in (old.settings or {}).items() if k != "n"}
        if old.seed != seed or old_settings != settings_dict:
            raise ValueError(
                f"{truth_path} holds a set made with another seed or settings; "
                f"use an empty folder or the same seed and settings"
            )
        images = {image.image_id: image for image in old.images}
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps(settings_dict, sort_keys=True).encode()).hexdigest()[:16]
    for done, i in enumerate(range(int(start), int(start) + int(n)), start=1):
        forced = balanced_specs(i) if settings.balanced else None
        image = synthesize(rng=image_rng(seed, i), settings=settings, clusters=forced)
        image_id = f"synth_{i:04d}.dcm"
        stored = image.pixels
        if settings.photometric == "MONOCHROME1":
            stored = (2**image.bits_stored - 1 - stored.astype(np.int32)).astype(np.uint16)
        write_mammogram(
            out_dir / image_id,
            stored,
            spacing=image.spacing,
            bits_stored=image.bits_stored,
            laterality=image.laterality,
            view=image.view,
            photometric=settings.photometric,
            compress=settings.compress,
            uid_seed=f"calcdetect.synth:{seed}:{i}:{digest}",
            content_date=_CONTENT_DATE,
        )
        images[image_id] = image.to_truth(image_id)
        if progress is not None:
            progress(done, int(n))
    truth = Truth(
        images=tuple(images[k] for k in sorted(images)),
        generator="calcdetect.synth",
        calcdetect_version=__version__,
        seed=int(seed),
        settings={"n": len(images), **settings_dict},
    )
    return write_truth(truth, truth_path)
