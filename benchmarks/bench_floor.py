"""A lower bound of `detect`'s time on its default design: the passes over the image it cannot do without.

Run:  python benchmarks/bench_floor.py [--repeat 7] [--shape 4096 3328] [--spacing-mm 0.07] [--filter tophat]
                                      [--before-s SECONDS]

On the image `benchmarks/bench_detect.py` times (same seed, shape and spacing),
single threaded, this times the passes over the image that the default
detection cannot do without, each at most as costly as what `detect` does for
it, on the region `detect` itself finds (``pipeline._search_region``):

- breast: one area-averaging pass of the whole image onto the breast's grid and
  one write of a full-size mask from that grid (`detect` also interpolates its
  distances and compares them);
- the enhancement filter and the detection band-pass, as registered (the exact
  disk top-hat and the difference of Gaussians), on the crop `detect` filters;
- specks: one comparison with a threshold (passed by 0.5 % of the breast) and
  one connected-components pass;
- local noise: the block mean and mean square of both filter responses on the
  pixels `local_noise` samples (every third each way), where `detect` takes
  medians and absolute deviations of the same samples.

Everything that `detect` measures per speck or per cluster (speck shapes, the
false-positive features and model, ridges, clustering, description) counts as
free. With ``--before-s`` (the time `bench_detect.py` measured before issue 14,
same machine state) the floor is set against issue 14's target of a third of
that, and what is left for those measurements is stated.
"""

from __future__ import annotations

from _speed import image_arguments  # first: it pins the thread pools before numpy loads

import argparse
from collections.abc import Callable

import cv2
import numpy as np

from calcdetect.bench import speed_image, time_filter
from calcdetect.filters import get_filter
from calcdetect.pipeline import Params, _search_region, detect
from calcdetect.specks.noise import NOISE_STRIDE, noise_block_px


def floor_passes(image: np.ndarray, spacing, params: Params = Params()
                 ) -> tuple[dict[str, Callable[[], object]], tuple[int, int]]:
    """The unavoidable passes of `detect` with `params` on `image`, as callables to time, and
    the shape of the crop `detect` filters."""
    region = _search_region(image, spacing=spacing, params=params)
    if region.box is None or region.geometry is None:
        raise ValueError("no breast found in the image: nothing would be searched")
    crop, mask = np.ascontiguousarray(image[region.box]), np.ascontiguousarray(region.mask[region.box])
    grid = tuple(round(n / cell) for n, cell in zip(image.shape, region.geometry.cell))
    grid_mask = np.zeros(grid, np.uint8)
    window = params.size_window
    responses = [get_filter(name)(crop, spacing=spacing, **window) for name in params.filter_names]
    # Specks are found on the detector's response; a cut that leaves few pixels, as detect's
    # does, keeps the components pass at its cheapest.
    threshold = float(np.percentile(responses[-1][mask], 99.5))
    samples = [r[::NOISE_STRIDE, ::NOISE_STRIDE] for r in responses]
    block = tuple(b // NOISE_STRIDE for b in noise_block_px(spacing, block_mm=params.noise_block_mm))
    blocks = tuple(n // b for n, b in zip(samples[0].shape, block))
    whole = np.s_[: blocks[0] * block[0], : blocks[1] * block[1]]

    def block_moments() -> None:
        for sampled in samples:
            part = np.ascontiguousarray(sampled[whole])  # local_noise gathers its samples too
            cv2.resize(part, blocks[::-1], interpolation=cv2.INTER_AREA)
            cv2.resize(cv2.multiply(part, part), blocks[::-1], interpolation=cv2.INTER_AREA)

    passes: dict[str, Callable[[], object]] = {
        "breast: average onto its grid": lambda: cv2.resize(image, grid[::-1], interpolation=cv2.INTER_AREA),
        "breast: full-size mask from the grid": lambda: cv2.resize(grid_mask, image.shape[::-1],
                                                                   interpolation=cv2.INTER_NEAREST),
    }
    for name in params.filter_names:
        passes[f"filter {name}, as registered"] = lambda name=name: get_filter(name)(crop, spacing=spacing, **window)
    passes["specks: threshold and connected components"] = lambda: cv2.connectedComponents(
        (cv2.compare(responses[-1], threshold, cv2.CMP_GE) & mask.view(np.uint8)), connectivity=8, ltype=cv2.CV_32S)
    passes["noise: block moments of both responses' samples"] = block_moments
    return passes, crop.shape


def main(argv=None) -> int:
    parser = image_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), repeat=7)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)

    synth = speed_image(tuple(args.shape), spacing_mm=args.spacing_mm, seed=args.seed)
    image, spacing = synth.pixels, synth.spacing
    params = Params(filter=args.filter)
    passes, crop = floor_passes(image, spacing, params)
    print(f"image {image.shape[0]} x {image.shape[1]} {image.dtype}, spacing {spacing} mm (the filters, specks and "
          f"noise on detect's crop of it, {crop[0]} x {crop[1]}); median of {args.repeat}, single thread")
    floor = {name: time_filter(work, repeat=args.repeat, trace=False)[0] for name, work in passes.items()}
    total = sum(floor.values())
    detect_s = time_filter(lambda: detect(image, spacing=spacing, params=params), repeat=args.repeat, trace=False)[0]
    for name, seconds in floor.items():
        print(f"  {name:48s} {seconds:7.3f} s")
    print(f"floor: {total:.3f} s per image; detect: {detect_s:.3f} s ({detect_s / total:.2f} x the floor, "
          f"{detect_s - total:.3f} s above it)")
    if args.before_s is not None:
        target = args.before_s / 3
        print(f"a third of {args.before_s:.3f} s before issue 14: {target:.3f} s, "
              f"{target - total:+.3f} s from the floor for every per-speck and per-cluster stage")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
