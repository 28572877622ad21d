"""The ``truth.json`` file of a synthetic set: reading it and its format version.

The format is described in ``docs/truth-format.md``; :mod:`calcdetect.synth`
writes it and :mod:`calcdetect.evaluate` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from calcdetect.errors import EvaluationError

#: The ``format_version`` written and read by this calcdetect.
FORMAT_VERSION = 1


def read_truth(path) -> dict:
    """Parse a ``truth.json`` and check its format version.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    FileNotFoundError
        When `path` does not exist.
    EvaluationError
        (a ValueError) When the file is not JSON, not a truth file, or of
        another format version.
    """
    path = Path(path)
    if path.is_dir():
        hint = f"; {path / 'truth.json'} is there" if (path / "truth.json").is_file() else ""
        raise EvaluationError(f"{path}: is a folder; give its truth.json file{hint}")
    with open(path, encoding="utf-8") as fh:
        try:
            truth = json.load(fh)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(truth, dict) or "images" not in truth:
        raise EvaluationError(f"{path}: not a calcdetect truth file (no 'images')")
    version = truth.get("format_version")
    if version != FORMAT_VERSION:
        raise EvaluationError(
            f"{path}: format_version {version!r} is not supported; this calcdetect reads version "
            f"{FORMAT_VERSION} (regenerate the set with this version's synth)"
        )
    return truth
