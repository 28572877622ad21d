"""Small numerical helpers shared by the synthetic-mammogram modules."""

from __future__ import annotations

import math

import cv2
import numpy as np


def _smoothstep(x, lo: float, hi: float):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _unit(theta: float) -> np.ndarray:
    """Unit vector (dy, dx) at angle `theta` (rad, from +col towards +row)."""
    return np.array([math.sin(theta), math.cos(theta)])


def _power_law_noise(rng, shape, *, beta: float, cutoff: float, stretch=(1.0, 1.0), top=None) -> np.ndarray:
    """Periodic Gaussian field with power spectrum (f^2 + cutoff^2)^(-beta/2), unit variance.

    `cutoff` in cycles per sample; `stretch` multiplies the frequencies of each axis
    (a larger value gives longer correlation along that axis); `top` (cycles per
    sample) rolls the spectrum off with a Gaussian above it.
    """
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None] * stretch[0]
    fx = np.fft.rfftfreq(w)[None, :] * stretch[1]
    f2 = fy * fy + fx * fx
    amp = (f2 + cutoff * cutoff) ** (-beta / 4.0)
    if top is not None:
        amp *= np.exp(-f2 / (4.0 * top * top))
    amp[0, 0] = 0.0
    spec = (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) * amp
    out = np.fft.irfft2(spec, s=(h, w))
    out -= out.mean()
    out /= out.std()
    return out.astype(np.float32)


def _gauss_kernel(sigma_px: float) -> np.ndarray:
    half = max(1, math.ceil(3 * sigma_px))
    return cv2.getGaussianKernel(2 * half + 1, sigma_px, cv2.CV_32F)
