"""Peak memory of loading and detecting one full-size mammogram, as a multiple of its float32 size.

Run:  python benchmarks/bench_memory.py [--shape 4096 3328] [--spacing-mm 0.07] [--view MLO]
                                        [--compress | --no-compress] [--json FILE]

A synthetic 4096 x 3328 mammogram (``calcdetect.synth``, fixed seed) is written
as DICOM (JPEG-LS lossless by default) to a temporary folder; then a fresh
Python process, after importing everything and before reading the file,
measures two peaks while it runs ``read_mammogram`` and ``detect_mammogram``:

- **tracemalloc**: the largest amount of memory held at once by allocations
  Python and NumPy report (every NumPy array; OpenCV and decoder scratch
  buffers outside NumPy are not seen);
- **resident set** (Linux): the process's high-water mark ``VmHWM`` minus its
  resident size just before reading (everything, libraries' own buffers
  included, but also the allocator's caching and lazily imported modules).

Both are reported as multiples of the float32 image, ``rows * cols * 4`` bytes
(54.5 MB for 4096 x 3328), the reference computed in the same run. The target
is below 6. The machine is printed with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 6.0

_CHILD = r"""
import json, sys, time, tracemalloc
from calcdetect.io import read_mammogram
from calcdetect.pipeline import detect_mammogram

def status_bytes(field):
    # VmRSS / VmHWM of this process (Linux): unlike ru_maxrss, the high-water mark is not
    # inherited from the parent across fork + exec.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None

linux = sys.platform.startswith("linux")
path = sys.argv[1]
baseline_rss = status_bytes("VmRSS") if linux else None
tracemalloc.start()
t = time.perf_counter()
mammogram = read_mammogram(path)
load_seconds = time.perf_counter() - t
_, load_peak = tracemalloc.get_traced_memory()
tracemalloc.reset_peak()
t = time.perf_counter()
result = detect_mammogram(mammogram)
detect_seconds = time.perf_counter() - t
_, detect_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
max_rss = status_bytes("VmHWM") if linux else None
print(json.dumps({
    "shape": list(mammogram.image.shape), "view": mammogram.view,
    "load_peak_bytes": load_peak, "detect_peak_bytes": detect_peak,
    "baseline_rss_bytes": baseline_rss, "max_rss_bytes": max_rss,
    "load_seconds": load_seconds, "detect_seconds": detect_seconds,
    "n_calcifications": int(len(result.specks.row)),
}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 3328))
    parser.add_argument("--spacing-mm", type=float, default=0.07)
    parser.add_argument("--view", choices=("CC", "MLO"), default="MLO")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--compress", action=argparse.BooleanOptionalAction, default=True,
                        help="JPEG-LS lossless (default) or uncompressed DICOM")
    parser.add_argument("--json", help="write the numbers to this file too")
    args = parser.parse_args(argv)

    import numpy as np

    from calcdetect.io import write_mammogram
    from calcdetect.synth import SynthSettings, synthesize

    shape = tuple(args.shape)
    settings = SynthSettings(shape=shape, spacing_mm=args.spacing_mm)
    synth = synthesize(rng=np.random.default_rng(args.seed), settings=settings, view=args.view)
    with tempfile.TemporaryDirectory() as folder:
        path = write_mammogram(Path(folder) / "bench.dcm", synth.pixels, spacing=synth.spacing,
                               bits_stored=synth.bits_stored, laterality=synth.laterality, view=synth.view,
                               compress=args.compress)
        file_bytes = path.stat().st_size
        del synth
        child = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                               check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    numbers = json.loads(child.stdout.strip().splitlines()[-1])
    reference = shape[0] * shape[1] * 4
    ratios = {
        "load_peak": numbers["load_peak_bytes"] / reference,
        "detect_peak": numbers["detect_peak_bytes"] / reference,
    }
    ratios["tracemalloc_peak"] = max(ratios["load_peak"], ratios["detect_peak"])
    if numbers["baseline_rss_bytes"] is not None and numbers["max_rss_bytes"] is not None:
        ratios["rss_growth"] = (numbers["max_rss_bytes"] - numbers["baseline_rss_bytes"]) / reference
    machine = f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, " \
              f"Python {platform.python_version()}, {platform.platform()}"
    print(f"image {shape[0]} x {shape[1]}, {args.view}, {'JPEG-LS' if args.compress else 'uncompressed'} "
          f"DICOM of {file_bytes / 2**20:.1f} MiB; float32 image = {reference / 2**20:.1f} MiB")
    print(f"machine: {machine}")
    print(f"load:   peak {numbers['load_peak_bytes'] / 2**20:7.1f} MiB = {ratios['load_peak']:.2f} x float32 "
          f"({numbers['load_seconds']:.2f} s)")
    print(f"detect: peak {numbers['detect_peak_bytes'] / 2**20:7.1f} MiB = {ratios['detect_peak']:.2f} x float32 "
          f"({numbers['detect_seconds']:.2f} s, {numbers['n_calcifications']} specks)")
    if "rss_growth" in ratios:
        print(f"resident set growth over the baseline: "
              f"{(numbers['max_rss_bytes'] - numbers['baseline_rss_bytes']) / 2**20:.1f} MiB = "
              f"{ratios['rss_growth']:.2f} x float32")
    verdict = "below" if ratios["tracemalloc_peak"] < TARGET else "ABOVE"
    print(f"peak (tracemalloc) {ratios['tracemalloc_peak']:.2f} x float32: {verdict} the target of {TARGET} x")
    if args.json:
        Path(args.json).write_text(json.dumps({"shape": list(shape), "view": args.view, "machine": machine,
                                               "file_bytes": file_bytes, **numbers, "ratios": ratios}, indent=2))
    return 0 if ratios["tracemalloc_peak"] < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
