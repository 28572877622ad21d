"""Time `detect` on a realistic-size synthetic mammogram, against a scikit-image / scipy reference.

Run:  python benchmarks/bench_detect.py [--repeat 5] [--shape 4096 3328] [--spacing-mm 0.07] [--filter dog]
                                       [--before-s SECONDS]

Both paths run the same stages on the same image in the same process, single
threaded (OpenCV, BLAS and OpenMP pools pinned to one thread); decoding is
excluded. Reported: seconds per image (median of the repeats) for each stage,
the fast path's total, the reference path's total and their ratio. The
reference path swaps OpenCV for scipy.ndimage / scikit-image in the filters
and the connected components (``Params(backend="reference")``). Targets (issue
14): the fast path at least 25 x faster than the reference, and, given the time
the same command took before that issue on the same machine state
(``--before-s``, e.g. from ``git worktree add /tmp/before 98e5343``), at most a
third of it.
"""

from __future__ import annotations

from _speed import image_arguments  # first: it pins the thread pools before numpy loads

import argparse
import json
import os
import platform
import statistics
import time

import cv2

from calcdetect.bench import speed_image
from calcdetect.pipeline import Params, detect


def main(argv=None) -> int:
    parser = image_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), repeat=5)
    parser.add_argument("--json", help="write the numbers to this file too")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)

    synth = speed_image(tuple(args.shape), spacing_mm=args.spacing_mm, seed=args.seed)
    image, spacing = synth.pixels, synth.spacing
    print(f"image {image.shape[0]} x {image.shape[1]} {image.dtype}, spacing {spacing} mm, "
          f"{sum(len(c.calcifications) for c in synth.clusters)} planted calcifications")

    fast, reference = Params(filter=args.filter), Params(filter=args.filter, backend="reference")
    detect(image, spacing=spacing, params=fast)  # warm-up: imports, caches
    runs = {"fast": [], "reference": []}
    stage_runs = {"fast": [], "reference": []}
    for _ in range(args.repeat):
        for name, params in (("fast", fast), ("reference", reference)):
            t = time.perf_counter()
            result = detect(image, spacing=spacing, params=params)
            runs[name].append(time.perf_counter() - t)
            stage_runs[name].append(result.seconds)

    fast_s, ref_s = statistics.median(runs["fast"]), statistics.median(runs["reference"])
    for name in ("fast", "reference"):
        print(f"\n{name} path, median of {args.repeat} (s):")
        for stage in stage_runs[name][0]:
            print(f"  {stage:32s} {statistics.median(r[stage] for r in stage_runs[name]):7.3f}")
    ratio = ref_s / fast_s
    print(f"\ndetect: {fast_s:.3f} s per image (fast), {ref_s:.3f} s (scikit-image / scipy reference), "
          f"ratio {ratio:.1f}x; target >= 25x: {'met' if ratio >= 25 else 'NOT met'}")
    if args.before_s is not None:
        share = fast_s / args.before_s
        print(f"against {args.before_s:.3f} s before issue 14: {share:.2f} of it "
              f"({args.before_s / fast_s:.2f}x faster); target <= 1/3: {'met' if share <= 1 / 3 else 'NOT met'}")
    print(f"last run: {len(result.specks)} specks, {len(result.clusters)} clusters")
    machine = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor(),
               "cpus": os.cpu_count(), "opencv": cv2.__version__}
    print("machine:", machine)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seconds_fast": fast_s, "seconds_reference": ref_s, "ratio": ref_s / fast_s,
                       "shape": list(image.shape), "spacing_mm": list(spacing), "machine": machine}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
