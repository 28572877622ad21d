"""The least time the default design can take: its unavoidable library passes, timed on `detect`'s own crop.

Run:  python benchmarks/bench_floor.py [--repeat 7] [--shape 4096 3328] [--spacing-mm 0.07] [--filter tophat]
                                      [--before-s SECONDS]

On the image `benchmarks/bench_detect.py` times (same seed, shape and spacing),
single threaded, this times the passes over the image that the default
detection cannot do without, each by the fastest exact implementation the
project has (a single OpenCV call, or the registered filter itself):

- breast: one area-averaging pass of the whole image onto the 0.5 mm grid the
  breast is found on, and one write of the full-size mask from that grid;
- the enhancement filter and the detection band-pass, as registered (the exact
  disk top-hat and the difference of Gaussians), on the crop `detect` filters;
- specks: one comparison with a threshold (passed by 0.5 % of the breast) and one
  connected-components pass;
- local noise: the block mean and mean square of both filter responses (one
  area-averaging pass each; a plain standard deviation, cheaper than the robust
  estimate `detect` uses).

Everything that `detect` measures per speck or per cluster (shapes, the
false-positive features and model, ridges, clustering, description) counts as
free here. The sum is therefore a lower bound of `detect` on this design and
this machine state; with ``--before-s`` (the time `bench_detect.py` measured
before issue 14, same machine state) it is set against issue 14's target of a
third of that.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from calcdetect.breast import breast_geometry  # noqa: E402
from calcdetect.filters import get_filter  # noqa: E402
from calcdetect.pipeline import Params, _bounding_box, _reach_mm, detect  # noqa: E402
from calcdetect.specks.noise import noise_block_px  # noqa: E402
from calcdetect.synth import SynthSettings, synthesize  # noqa: E402

#: The breast's grid (mm), as in :func:`calcdetect.breast.breast_geometry`.
BREAST_GRID_MM = 0.5


def _median_seconds(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_passes(image: np.ndarray, spacing, params: Params = Params()
                 ) -> tuple[dict[str, Callable[[], object]], tuple[int, int]]:
    """The unavoidable passes of `detect` with `params` on `image`, as callables to time, and
    the shape of the crop `detect` filters (the breast's bounding box grown by the filters' reach)."""
    geometry = breast_geometry(image, spacing=spacing, margin_mm=params.skin_margin_mm)
    reach_mm = _reach_mm(params)
    box = _bounding_box(geometry.mask, reach_px=[math.ceil(reach_mm / s) for s in spacing])
    crop, mask = np.ascontiguousarray(image[box]), np.ascontiguousarray(geometry.mask[box])
    grid = tuple(max(1, round(n * s / BREAST_GRID_MM)) for n, s in zip(image.shape, spacing))
    grid_mask = np.zeros(grid, np.uint8)
    window = params.size_window
    responses = [get_filter(name)(crop, spacing=spacing, **window) for name in params.filter_names]
    # Specks are found on the detector's response; a cut that leaves few pixels, as detect's
    # does, keeps the components pass at its cheapest.
    threshold = float(np.percentile(responses[-1][mask], 99.5))
    block = noise_block_px(spacing, block_mm=params.noise_block_mm)
    blocks = tuple(n // b for n, b in zip(crop.shape, block))
    whole = np.s_[: blocks[0] * block[0], : blocks[1] * block[1]]

    def block_moments() -> None:
        for filtered in responses:
            part = filtered[whole]
            cv2.resize(part, blocks[::-1], interpolation=cv2.INTER_AREA)
            cv2.resize(cv2.multiply(part, part), blocks[::-1], interpolation=cv2.INTER_AREA)

    passes = {
        "breast: average onto the 0.5 mm grid": lambda: cv2.resize(image, grid[::-1], interpolation=cv2.INTER_AREA),
        "breast: full-size mask from the grid": lambda: cv2.resize(grid_mask, image.shape[::-1],
                                                                   interpolation=cv2.INTER_NEAREST),
    }
    for name in params.filter_names:
        passes[f"filter {name}, as registered"] = lambda name=name: get_filter(name)(crop, spacing=spacing, **window)
    passes["specks: threshold and connected components"] = lambda: cv2.connectedComponents(
        (cv2.compare(responses[-1], threshold, cv2.CMP_GE) & mask.view(np.uint8)), connectivity=8, ltype=cv2.CV_32S)
    passes["noise: block moments of both responses"] = block_moments
    return passes, crop.shape


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 3328))
    parser.add_argument("--spacing-mm", type=float, default=0.07)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--filter", default="tophat", help="enhancement filter (calcdetect.filters.FILTERS)")
    parser.add_argument("--before-s", type=float, metavar="SECONDS",
                        help="detect's time per image before issue 14, measured on the same machine state")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)

    scale = args.shape[0] / SynthSettings().shape[0]
    synth = synthesize(rng=np.random.default_rng(args.seed),
                       settings=SynthSettings(shape=tuple(args.shape), spacing_mm=args.spacing_mm, scale=1.0)
                       if scale == 1.0 else SynthSettings(spacing_mm=args.spacing_mm, scale=scale))
    image, spacing = synth.pixels, synth.spacing
    params = Params(filter=args.filter)
    passes, crop = floor_passes(image, spacing, params)
    print(f"image {image.shape[0]} x {image.shape[1]} {image.dtype}, spacing {spacing} mm (the filters, specks and "
          f"noise on detect's crop of it, {crop[0]} x {crop[1]}); median of {args.repeat}, single thread")
    floor = {name: _median_seconds(work, args.repeat) for name, work in passes.items()}
    total = sum(floor.values())
    detect_s = _median_seconds(lambda: detect(image, spacing=spacing, params=params), args.repeat)
    for name, seconds in floor.items():
        print(f"  {name:48s} {seconds:7.3f} s")
    print(f"floor: {total:.3f} s per image; detect: {detect_s:.3f} s ({detect_s / total:.2f} x the floor)")
    if args.before_s:
        target = args.before_s / 3
        print(f"a third of {args.before_s:.3f} s before issue 14: {target:.3f} s, "
              f"{'above' if target > total else 'at or below'} the floor; "
              f"{max(target - total, 0.0):.3f} s would be left for every per-speck and per-cluster stage")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
