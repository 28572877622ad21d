"""Throughput of `calcdetect detect` over a folder: 1 worker, all cores, and Dask.

Run:  python benchmarks/bench_batch.py [--n 40] [--data DIR]

Makes (once, then reuses) a set of full-size synthetic mammograms (4096 x 3328
field) and runs the whole batch on it three ways in this process's machine:
serially (1 worker), with a spawn process pool of all cores, and on a Dask
LocalCluster of as many single-threaded workers. Reported: images per minute
for each, the speed-up of all cores over one, the Dask overhead relative to
the process pool, and the per-image overhead of the batch machinery (input
search, part-files, merging, table writing: wall time minus the time spent
inside per-image work, serial run) as a share of the per-image work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from calcdetect.batch import run_detection
from calcdetect.synth import SynthSettings, make_set


def timed_run(data: Path, **kwargs) -> tuple[float, object]:
    out = Path(tempfile.mkdtemp(prefix="calcdetect-bench-"))
    try:
        t = time.perf_counter()
        summary = run_detection([data], out, **kwargs)
        return time.perf_counter() - t, summary
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="images (default %(default)s)")
    parser.add_argument("--seed", type=int, default=4040)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "calcdetect-bench-batch")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--json", help="write the numbers to this file too")
    args = parser.parse_args(argv)

    data = args.data / f"n{args.n}-seed{args.seed}"
    if not (data / "truth.json").is_file():
        print(f"making {args.n} full-size synthetic images in {data} ...", flush=True)
        make_set(data, n=args.n, seed=args.seed, settings=SynthSettings())
    cores = os.cpu_count() or 1
    print(f"{args.n} images of 4096 x 3328 (field) in {data}; {cores} cores")

    results = {}
    wall, summary = timed_run(data, jobs=1)
    overhead = (wall - summary.work_seconds) / args.n
    results["serial"] = {"seconds": wall, "images_per_minute": 60 * args.n / wall,
                         "work_seconds_per_image": summary.work_seconds / args.n,
                         "overhead_seconds_per_image": overhead,
                         "overhead_fraction": overhead / (summary.work_seconds / args.n)}
    print(f"1 worker:           {wall:6.1f} s  {60 * args.n / wall:6.1f} images/min; batch overhead "
          f"{1000 * overhead:.1f} ms per image = {100 * results['serial']['overhead_fraction']:.1f} % of the "
          f"{summary.work_seconds / args.n:.3f} s per-image work (target < 5 %)")

    wall_pool, summary = timed_run(data, jobs=cores)
    results["processes"] = {"workers": summary.workers, "seconds": wall_pool,
                            "images_per_minute": 60 * args.n / wall_pool, "speedup": wall / wall_pool}
    print(f"{summary.workers} worker processes: {wall_pool:6.1f} s  {60 * args.n / wall_pool:6.1f} images/min; "
          f"speed-up {wall / wall_pool:.2f}x over 1 worker (target >= 1.4x on 2 cores)")

    if not args.no_dask:
        wall_dask, summary = timed_run(data, jobs=cores, scheduler="local")
        results["dask"] = {"workers": summary.workers, "seconds": wall_dask,
                           "images_per_minute": 60 * args.n / wall_dask,
                           "overhead_vs_processes": wall_dask / wall_pool - 1}
        print(f"Dask LocalCluster ({summary.workers} workers): {wall_dask:6.1f} s  "
              f"{60 * args.n / wall_dask:6.1f} images/min; {100 * (wall_dask / wall_pool - 1):+.1f} % vs the "
              f"process pool (cluster start-up included)")
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": cores}
    print("machine:", machine)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"n": args.n, "results": results, "machine": machine}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
