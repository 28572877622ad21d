"""Candidate specks: threshold an enhanced image and measure each bright spot."""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, fields

import cv2
import numpy as np

from scipy import ndimage as ndi

from calcdetect.arrays import StructOfArrays
from calcdetect._checks import check_backend, check_image, check_positive, check_spacing
from calcdetect.specks.noise import NOISE_BLOCK_MM, NoiseMap, local_noise

#: Defaults of :func:`find_specks` and of :class:`calcdetect.pipeline.Params`: peak
#: significance in local noise sigmas, and the size window of a calcification (mm).
THRESHOLD = 5.0
MIN_DIAMETER_MM = 0.1
MAX_DIAMETER_MM = 1.0
MAX_LENGTH_MM = 12.0
#: Pixels within this fraction of a speck's maximum form its plateau (see `find_specks`).
PLATEAU_FRACTION = 0.8
#: Rim (eggshell) calcifications wider than the speck size window are kept when they close
#: round a hollow centre (a lucent centre), they are round (length at most this many times
#: the width) and their diameter is at most RIM_MAX_DIAMETER_MM: above the largest rims the
#: synthetic generator plants (3 mm); larger lucent-centred objects (oil cysts, 1 cm and
#: more) are left out. Tissue arcs and curved vessel pieces are longer than wide.
RIM_MAX_ANISOTROPY = 1.5
RIM_MAX_DIAMETER_MM = 4.0
#: A ring closes when its pixels lie in each of this many equal sectors round its centroid
#: (22.5 degrees: a C open over 90 degrees leaves two empty, its centroid being pulled
#: towards its back).
RIM_DIRECTIONS = 16


@dataclass(frozen=True, eq=False)
class Specks(StructOfArrays):
    """Candidate calcifications of one image, as a struct of arrays (all length K).

    Attributes
    ----------
    row, col : (K,) ndarray of float
        Centroid in pixels (weighted by the partial-volume fraction).
    area_mm2 : (K,) ndarray
        Partial-volume area: the sum over the speck's pixels of their response as a
        fraction of the speck's plateau height, times the pixel area. Exact for a
        flat speck sampled with partial-pixel coverage; about 2/3 of the projected
        area for a sphere, whose projected thickness peaks at its centre.
    diameter_mm : (K,) ndarray
        Equivalent-circle diameter, ``2 * sqrt(area_mm2 / pi)``.
    length_mm, width_mm : (K,) ndarray
        Major and minor axis of the ellipse with the same second moments, each
        pixel counted as the unit square it covers (1/12 px^2 along each axis), so
        never below ``4 * sqrt(1/12)``, about 1.15 pixels.
    orientation : (K,) ndarray
        Angle of the major axis from the row axis towards the column axis, in
        radians in (-pi/2, pi/2], measured in mm (so true on anisotropic pixels).
    contrast : (K,) ndarray
        Peak response over the local background, in units of the local noise sigma.
    significance : (K,) ndarray
        Peak significance (local noise sigmas) of the detection image, the
        quantity thresholded; equals `contrast` when detection is on the response.
    score : (K,) ndarray
        Detection confidence in [0, 1), increasing with `significance`.
    bbox : (K, 4) ndarray of int
        ``row_min, col_min, row_max, col_max`` (inclusive) of the speck's pixels.
    """

    row: np.ndarray
    col: np.ndarray
    area_mm2: np.ndarray
    diameter_mm: np.ndarray
    length_mm: np.ndarray
    width_mm: np.ndarray
    orientation: np.ndarray
    contrast: np.ndarray
    significance: np.ndarray
    score: np.ndarray
    bbox: np.ndarray

    def shifted(self, offset) -> Specks:
        """The same specks with (row, col) coordinates moved by `offset` pixels."""
        d_row, d_col = offset
        bbox = self.bbox + np.array([d_row, d_col, d_row, d_col], dtype=self.bbox.dtype)
        return dataclasses.replace(self, row=self.row + d_row, col=self.col + d_col, bbox=bbox)

    @classmethod
    def empty(cls) -> Specks:
        return cls(**{f.name: np.zeros((0, 4), np.int64) if f.name == "bbox" else np.zeros(0) for f in fields(cls)})


def find_specks(
    response,
    *,
    spacing,
    threshold: float = THRESHOLD,
    low_threshold: float | None = None,
    min_diameter_mm: float = MIN_DIAMETER_MM,
    max_diameter_mm: float = MAX_DIAMETER_MM,
    max_length_mm: float = MAX_LENGTH_MM,
    mask=None,
    noise: NoiseMap | None = None,
    detection=None,
    detection_noise: NoiseMap | None = None,
    block_mm: float = NOISE_BLOCK_MM,
    backend: str = "opencv",
) -> Specks:
    """Find and measure bright specks in an enhanced mammogram.

    A speck is a connected region (8-connectivity) of pixels at least
    `low_threshold` local noise sigmas above the local background whose peak
    reaches `threshold` sigmas (hysteresis). Noise is estimated locally
    (:func:`calcdetect.specks.noise.local_noise`), so thresholds do not depend on the
    bit depth or the dose.

    With a separate `detection` image, the thresholds apply to its
    significance instead (e.g. a narrow band-pass matched to small sharp
    specks, which tissue texture hardly excites, so its local noise is close
    to the quantum noise), while every measurement is still made on
    `response` (e.g. a top-hat, which keeps a speck's height and shape).

    Parameters
    ----------
    response : (M, N) ndarray
        Enhanced image (e.g. a white top-hat), calcifications positive.
    spacing : tuple of 2 floats
        Pixel spacing (row_mm, col_mm).
    threshold : float
        Peak significance, in local noise sigmas, for a speck to count.
    low_threshold : float, optional
        Significance of the pixels that make up a speck; ``threshold / 2`` by default.
    min_diameter_mm : float
        Smallest equivalent-circle diameter kept.
    max_diameter_mm : float
        Largest width (minor axis) kept: wider objects are masses or tissue, but
        for round rings closed round a hollow centre, up to
        :data:`RIM_MAX_DIAMETER_MM` across (rim calcifications, whose thin shell
        the filter keeps whole).
    max_length_mm : float
        Largest length (major axis) kept.
    mask : (M, N) ndarray of bool, optional
        Where specks may lie (the breast): every pixel of a speck is inside it.
    noise : NoiseMap, optional
        Precomputed noise estimate of `response`.
    detection : (M, N) ndarray, optional
        Image whose local significance decides where specks are (both
        thresholds); `response` by default.
    detection_noise : NoiseMap, optional
        Precomputed noise estimate of `detection`.
    block_mm : float
        Block size of the noise estimate when `noise` is not given.
    backend : {"opencv", "reference"}
        Connected components by OpenCV or by :func:`scipy.ndimage.label`.

    Returns
    -------
    Specks
        In raster order of their first pixel.
    """
    response = check_image(response)
    row_mm, col_mm = check_spacing(spacing)
    threshold = check_positive("threshold", threshold)
    low_threshold = threshold / 2 if low_threshold is None else check_positive("low_threshold", low_threshold)
    if low_threshold > threshold:
        raise ValueError(f"low_threshold must be <= threshold ({threshold}); got {low_threshold}")
    for name, value in (("min_diameter_mm", min_diameter_mm), ("max_diameter_mm", max_diameter_mm)):
        check_positive(name, value)
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != response.shape:
            raise ValueError(f"mask shape {mask.shape} differs from response shape {response.shape}")
    if detection is None and detection_noise is not None:
        raise ValueError("detection_noise was given without detection; pass the response's noise as noise")
    if noise is None:
        noise = local_noise(response, spacing=spacing, block_mm=block_mm, mask=mask)
    if detection is None:
        detection, detection_noise = response, noise
    else:
        detection = check_image(detection)
        if detection.shape != response.shape:
            raise ValueError(f"detection shape {detection.shape} differs from response shape {response.shape}")
        if detection_noise is None:
            detection_noise = local_noise(detection, spacing=spacing, block_mm=block_mm, mask=mask)

    # Pixels above the low threshold, without full-size level and sigma images:
    # the threshold is formed on the block grid, then interpolated.
    threshold_map = detection_noise.upsample(detection_noise.level + low_threshold * detection_noise.sigma)
    candidate = np.greater_equal(detection, threshold_map)
    del threshold_map
    if mask is not None:
        candidate &= mask
    if check_backend(backend) == "reference":
        labels, n = ndi.label(candidate, structure=np.ones((3, 3), bool))
        n += 1
    else:
        n, labels = cv2.connectedComponents(candidate.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return Specks.empty()

    # Peak significance of each component, from its pixels only (all inside the mask, so
    # the peak is too).
    flat = np.flatnonzero(candidate)  # where labels > 0; a bool image is several times faster to scan
    del candidate
    label = labels.ravel()[flat]
    z_detection = _significance(detection, detection_noise, flat)
    detected = np.zeros(n)
    np.maximum.at(detected, label, z_detection)
    keep = detected >= threshold
    keep[0] = False
    k = int(keep.sum())
    if k == 0:
        return Specks.empty()

    # Grow the kept specks by one pixel, so that the partial-volume sums below
    # also see boundary pixels covered too little to pass the threshold.
    lut = np.zeros(n, np.int32)
    lut[keep] = np.arange(1, k + 1)
    in_kept = lut[label] > 0
    flat, label = flat[in_kept], lut[label[in_kept]]
    labels.ravel()[flat] = label  # now 0 everywhere but on kept specks
    flat, label = _grow_by_one_pixel(labels, flat, label, mask)
    del labels
    label = label - 1
    rows, cols = np.divmod(flat, response.shape[1])
    detected = detected[keep]

    # Measurements are made on the response (which keeps a speck's height and shape).
    z = _significance(response, noise, flat)
    peak = np.full(k, -np.inf)
    np.maximum.at(peak, label, z)

    # Partial-volume weights: a pixel half covered by a flat speck answers half its
    # height. The height is the mean of the speck's plateau (pixels within 80 % of
    # its maximum), since the maximum alone is biased upwards by noise.
    top = z >= PLATEAU_FRACTION * peak[label]
    height = np.bincount(label[top], weights=z[top], minlength=k) / np.maximum(np.bincount(label[top], minlength=k), 1)
    # A speck found on the detection image may barely rise on the response:
    # floor its height at one noise sigma so that the weights stay bounded.
    height = np.maximum(height, 1.0)
    # The weights are not clipped, so that noise on the plateau and in the
    # boundary ring cancels instead of biasing the area and the moments.
    w = z / height[label]
    sums = {name: np.bincount(label, weights=w * v, minlength=k) for name, v in
            (("w", 1.0), ("r", rows), ("c", cols), ("rr", rows * rows.astype(float)),
             ("cc", cols * cols.astype(float)), ("rc", rows * cols.astype(float)))}
    # A speck that does not rise above the response's local level (found on the detection
    # image where the response is flat, e.g. clipped) has no positive weight: it is dropped
    # below, and measured here against a unit weight so that nothing divides by zero.
    measurable = sums["w"] > 0
    total = np.where(measurable, sums["w"], 1.0)
    area = np.where(measurable, total, 0.0) * row_mm * col_mm
    r_mean, c_mean = sums["r"] / total, sums["c"] / total
    # Second moments in mm^2 of the pixel centres, made positive semi-definite (signed noise
    # weights can break Cauchy-Schwarz), then each pixel's own extent added: a unit square
    # spreads 1/12 px^2 along each axis, so no speck is thinner than a pixel is wide.
    var_r = np.maximum(sums["rr"] / total - r_mean**2, 0.0) * row_mm**2
    var_c = np.maximum(sums["cc"] / total - c_mean**2, 0.0) * col_mm**2
    cov = (sums["rc"] / total - r_mean * c_mean) * row_mm * col_mm
    cov = np.clip(cov, -np.sqrt(var_r * var_c), np.sqrt(var_r * var_c))
    var_r, var_c = var_r + row_mm**2 / 12, var_c + col_mm**2 / 12
    half_trace, det_part = (var_r + var_c) / 2, np.sqrt(((var_r - var_c) / 2) ** 2 + cov**2)
    major, minor = half_trace + det_part, np.maximum(half_trace - det_part, 0.0)
    diameter = 2 * np.sqrt(np.maximum(area, 0.0) / math.pi)
    length, width = 4 * np.sqrt(major), 4 * np.sqrt(minor)
    orientation = 0.5 * np.arctan2(2 * cov, var_r - var_c)

    bbox = np.empty((k, 4), np.int64)
    bbox[:, 0] = np.full(k, np.iinfo(np.int64).max)
    bbox[:, 1] = bbox[:, 0]
    bbox[:, 2:] = -1
    np.minimum.at(bbox[:, 0], label, rows)
    np.minimum.at(bbox[:, 1], label, cols)
    np.maximum.at(bbox[:, 2], label, rows)
    np.maximum.at(bbox[:, 3], label, cols)

    # The weights are signed, so noise can pull a faint speck's centroid off its pixels:
    # keep it on them (and so inside the image).
    r_mean = np.clip(r_mean, bbox[:, 0], bbox[:, 2])
    c_mean = np.clip(c_mean, bbox[:, 1], bbox[:, 3])
    specks = Specks(
        row=r_mean,
        col=c_mean,
        area_mm2=area,
        diameter_mm=diameter,
        length_mm=length,
        width_mm=width,
        orientation=orientation,
        contrast=peak,
        significance=detected,
        score=1.0 - np.exp(-(detected / threshold - 1.0)),
        bbox=bbox,
    )
    sized = measurable & (diameter >= min_diameter_mm) & (length <= max_length_mm)
    in_window = sized & (width <= max_diameter_mm)
    # A rim (eggshell) calcification's shell is thin, so the filter keeps the whole ring however
    # wide it is, and its moments make it as wide as long: keep round rings up to
    # RIM_MAX_DIAMETER_MM (a thin ring of diameter D has length = width = sqrt(2) D) that close
    # round a hollow centre (their pixels lie in every one of RIM_DIRECTIONS sectors round the
    # centroid, which is none of them).
    ring = sized & ~in_window & (length <= RIM_MAX_ANISOTROPY * width) & (length / math.sqrt(2) <= RIM_MAX_DIAMETER_MM)
    if ring.any():
        on_ring = ring[label]
        owner = label[on_ring]
        d_r, d_c = rows[on_ring] - r_mean[owner], cols[on_ring] - c_mean[owner]
        sector = np.floor((np.arctan2(d_r, d_c) + np.pi) / (2 * np.pi / RIM_DIRECTIONS)).astype(np.intp)
        around = np.zeros((k, RIM_DIRECTIONS), bool)
        around[owner, sector % RIM_DIRECTIONS] = True
        centre = np.rint(r_mean).astype(np.int64) * response.shape[1] + np.rint(c_mean).astype(np.int64)
        covered = np.zeros(k, bool)
        covered[owner[flat[on_ring] == centre[owner]]] = True
        ring &= around.all(axis=1) & ~covered
    return specks.take(in_window | ring)


def _significance(response: np.ndarray, noise: NoiseMap, flat: np.ndarray) -> np.ndarray:
    """(response - local level) / local sigma at the given flat pixel indices."""
    rows, cols = np.divmod(flat, response.shape[1])
    level, sigma = noise.at(rows, cols)
    return (response.ravel()[flat] - level) / sigma


_NEIGHBOURS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]


def _grow_by_one_pixel(labels: np.ndarray, flat: np.ndarray, label: np.ndarray, mask) -> tuple[np.ndarray, np.ndarray]:
    """Add to each labelled region the unlabelled 8-neighbours of its pixels.

    Works on the region pixels only (no full-image pass). A ring pixel touching
    two regions goes to one of them. `labels` is 0 off the regions.
    """
    rows_count, cols_count = labels.shape
    r, c = np.divmod(flat, cols_count)
    ring_flats: list[np.ndarray] = []
    ring_labels: list[np.ndarray] = []
    for dr, dc in _NEIGHBOURS:
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < rows_count) & (cc >= 0) & (cc < cols_count)
        nb = rr[inside] * cols_count + cc[inside]
        free = labels.ravel()[nb] == 0
        if mask is not None:
            free &= mask.ravel()[nb]
        ring_flats.append(nb[free])
        ring_labels.append(label[inside][free])
    ring_flat, first = np.unique(np.concatenate(ring_flats), return_index=True)
    ring_label = np.concatenate(ring_labels)[first]
    return np.concatenate([flat, ring_flat]), np.concatenate([label, ring_label])
