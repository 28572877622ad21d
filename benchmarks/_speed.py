"""What the speed benchmarks share: one thread for every pool, and the options of the image they time.

Import it before numpy and OpenCV: it pins the BLAS and OpenMP pools to one thread
(unless the environment already sets them), which they read when they load.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402


def image_arguments(parser: argparse.ArgumentParser, *, repeat: int) -> argparse.ArgumentParser:
    """Add the options `calcdetect.bench.speed_image` and `detect` are timed with: ``--repeat``,
    ``--shape``, ``--spacing-mm``, ``--seed``, ``--filter`` and ``--before-s``."""
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 3328))
    parser.add_argument("--spacing-mm", type=float, default=0.07)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--filter", default="tophat", help="enhancement filter (calcdetect.filters.FILTERS)")
    parser.add_argument("--before-s", type=float, metavar="SECONDS",
                        help="detect's time per image before issue 14, measured on the same machine state")
    return parser
