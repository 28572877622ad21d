"""calcdetect: find, cluster and describe microcalcifications in mammograms.

One call, a file or an array in, the tables out::

    import calcdetect
    found = calcdetect.detect("image.dcm")
    found.clusters          # rows of the clusters table
    found.to_pandas()       # the three tables as DataFrames (with pandas)

The public names below are imported when first used, so ``import calcdetect`` stays
light (the command line's start-up, worker processes).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "detect": "calcdetect.api",
    "Detection": "calcdetect.api",
    "ImageInfo": "calcdetect.api",
    "Params": "calcdetect.pipeline",
    "Result": "calcdetect.pipeline",
    "LoadOptions": "calcdetect.io",
    "Mammogram": "calcdetect.io",
    "read_mammogram": "calcdetect.io",
    "run_detection": "calcdetect.batch",
    "ImageReadError": "calcdetect.errors",
    "SCHEMA_VERSION": "calcdetect.tables",
    "validate_run": "calcdetect.schema",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'calcdetect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
