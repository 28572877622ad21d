"""Acquisition of a synthetic mammogram: detector, noise, blur, film and display processing, artefacts.

The classic domain has one chain: log signal, quantum and electronic noise,
detector blur, quantisation (:func:`_expose`, :func:`_quantise`). The wide
domain draws, per image, a chain of pointwise maps after it (:class:`_Chain`):
a film characteristic curve with grain, digitiser banding and scanning, or
peripheral equalisation, unsharp masking and an export window; then it paints
artefacts on the stored image. See :mod:`calcdetect.synth` for the models.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from calcdetect.specks.noise import pixel_noise_sigma
from calcdetect.synth._helpers import _gauss_kernel, _smoothstep
from calcdetect.synth.anatomy import _MU_FAT, _Anatomy
from calcdetect.synth.image import Acquisition, Source
from calcdetect.truth import Artefact, ArtefactKind
from calcdetect.synth.settings import SynthSettings


@dataclass(frozen=True)
class _Detector:
    lo: float  # stored value of zero attenuation
    gain: float  # stored units per unit optical depth
    n0: float  # photons per pixel without attenuation
    electronic: float  # electronic noise, photon-equivalents per pixel (std)
    kernel: np.ndarray  # 1-D Gaussian detector blur kernel
    noise_factor: float  # std of blurred white noise / std before the blur
    maxv: int
    a_ref: float = 0.0  # attenuation of typical tissue (where AEC sets the exposure)
    blur_px: float = 0.0  # sigma of the blur kernel, px


def _detector(rng, anatomy: _Anatomy, *, spacing, bits) -> _Detector:
    maxv = 2**bits - 1
    sub = (slice(None, None, 8), slice(None, None, 8))
    inside = anatomy.breast[sub]
    a_phys = anatomy.a_phys[sub][inside]
    a_disp = a_phys + anatomy.a_eq[sub][inside]
    if anatomy.pectoral is not None:
        soft = ~anatomy.pectoral[sub][inside]
        a_ref = float(np.median(a_phys[soft])) if soft.any() else float(np.median(a_phys))
    else:
        a_ref = float(np.median(a_phys))
    a_hi = float(np.percentile(a_disp, 99.5))
    lo = rng.uniform(0.015, 0.04) * maxv
    hi = rng.uniform(0.78, 0.86) * maxv
    fluence = rng.uniform(1.0e5, 2.5e5)  # detected photons per mm^2 behind typical tissue (AEC)
    n_target = fluence * spacing[0] * spacing[1]
    blur = rng.uniform(0.5, 0.7)
    kernel = _gauss_kernel(blur)
    return _Detector(
        lo=lo,
        gain=(hi - lo) / max(a_hi, 1e-3),
        n0=n_target * math.exp(a_ref),
        electronic=rng.uniform(2.0, 6.0),
        kernel=kernel,
        noise_factor=float((kernel.astype(np.float64) ** 2).sum()),
        maxv=maxv,
        a_ref=a_ref,
        blur_px=blur,
    )


def _noise_sigma(det: _Detector, a_phys) -> np.ndarray:
    """Std (stored units, before the detector blur) of quantum + electronic noise."""
    n = det.n0 * np.exp(-np.asarray(a_phys, dtype=np.float64))
    return det.gain * np.sqrt(n + det.electronic**2) / n


def _expose(rng, a_phys: np.ndarray, a_eq: np.ndarray | None, det: _Detector) -> np.ndarray:
    """Stored-unit log signal with quantum and electronic noise, then the detector blur.

    `a_phys` (float32, the attenuation that sets the photon count) is reused in
    place; `a_eq` is the display-only offset (None: none, as for film). Returns
    float32, not yet quantised.
    """
    rows, cols = a_phys.shape
    photons = np.exp(-a_phys)
    photons *= np.float32(det.n0)
    std = photons + np.float32(det.electronic**2)
    np.sqrt(std, out=std)
    std /= photons
    std *= np.float32(det.gain)
    del photons
    image = a_phys  # reused in place: the anatomy is not needed any more
    if a_eq is not None:
        image += a_eq
    image *= np.float32(det.gain)
    image += np.float32(det.lo)
    noise = rng.standard_normal((rows, cols), dtype=np.float32)
    noise *= std
    image += noise
    del noise, std
    return cv2.sepFilter2D(image, cv2.CV_32F, det.kernel, det.kernel, borderType=cv2.BORDER_REFLECT)


def _quantise(image: np.ndarray, maxv: int) -> np.ndarray:
    """Round float32 `image` (in place) to integers in [0, maxv]; return uint16."""
    np.rint(image, out=image)
    np.clip(image, 0, maxv, out=image)
    return image.astype(np.uint16)


# --------------------------------------------------------------------------------------
# Wide domain: what is drawn per image

#: Pixel spacings (mm) of digitised film drawn in the wide domain (film digitisers
#: such as those of DDSM scanned at 42-50 um).
FILM_SPACINGS_MM = (0.04, 0.042, 0.0435, 0.045, 0.05)

#: Bits stored of digitised film drawn in the wide domain.
FILM_BITS_CHOICES = (12, 16)

_P_FILM = 0.35  # fraction of digitised film among wide-domain images
_LOG10E = math.log10(math.e)
_ALL = (slice(None), slice(None))


@dataclass(frozen=True, eq=False)
class _Plan:
    """The drawn acquisition of one wide-domain image: the public record and private details."""

    record: Acquisition
    spacing_mm: float
    d_ref: float = 0.0  # film: optical density that exposure control gives typical tissue
    grain_corr_px: float = 0.0  # film: sigma of the grain's correlation, px
    toe_boost: float = 0.0  # film: grain at the toe is (1 + toe_boost) times that at mid-curve
    banding: np.ndarray | None = None  # film: digitiser stripes, optical density per row or column
    roll_factor: float = 1.0  # equalisation: assumed roll-off width / true width
    window_floor: float = 0.0  # export window: black at this fraction of the zero-attenuation level
    window_top: float = 1.0  # export window without clipping: the brightest tissue at this fraction


def _draw_acquisition(rng, settings: SynthSettings, *, spacing_mm: float, bits: int, shape, source=None) -> _Plan:
    """Draw the source, processing and storage of one wide-domain image.

    `spacing_mm` and `bits` are the classic draws (or the fixed settings);
    `source` forces the source.
    """
    film = rng.random() < _P_FILM
    if source is not None:
        film = Source(source) == Source.FILM
    if film:
        spacing = float(rng.choice(FILM_SPACINGS_MM))
        film_bits = int(rng.choice(FILM_BITS_CHOICES))
        if settings.spacing_mm is not None:
            spacing = float(settings.spacing_mm)
        if settings.bits_stored is not None:
            film_bits = int(settings.bits_stored)
        blur = rng.uniform(0.8, 1.5)  # screen blur: about 40-70 um at 0.045 mm
        gamma = rng.uniform(2.0, 3.5)
        base_fog = rng.uniform(0.12, 0.3)
        d_max = rng.uniform(3.4, 4.2)
        asymmetry = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
        scan_d_max = rng.uniform(3.2, 4.0)
        grain = rng.uniform(0.008, 0.03)
        grain_corr = rng.uniform(0.5, 1.2)
        toe_boost = rng.uniform(1.0, 3.0)
        d_ref = rng.uniform(1.0, 1.8)
        axis = ("rows", "cols", None)[int(rng.choice(3, p=(0.4, 0.4, 0.2)))]
        profile = None
        if axis is not None:
            n = shape[0] if axis == "rows" else shape[1]
            profile = _banding_profile(rng, n, amplitude=rng.uniform(0.003, 0.02))
        record = Acquisition(
            source=Source.FILM, blur_px=blur, film_gamma=gamma, film_base_fog=base_fog, film_d_max=d_max,
            film_asymmetry=asymmetry, film_scan_d_max=scan_d_max, film_grain=grain, banding=axis,
            export_bits=film_bits,
        )
        return _Plan(
            record=record, spacing_mm=spacing, d_ref=d_ref, grain_corr_px=grain_corr, toe_boost=toe_boost,
            banding=profile,
        )
    # Digital: 30 % as the detector gives it (the classic look), the rest display-processed,
    # each processing step drawn independently (at least one).
    processed = rng.random() < 0.7
    equalisation = rng.uniform(0.7, 1.3) if rng.random() < 0.5 else None
    roll_factor = rng.uniform(0.6, 1.4)
    unsharp = rng.random() < 0.6
    radius = math.exp(rng.uniform(math.log(2.0), math.log(20.0)))
    amount = rng.uniform(0.3, 1.5)
    clip = rng.uniform(0.005, 0.05) if rng.random() < 0.5 else 0.0
    eight = rng.random() < 0.4 and settings.bits_stored is None
    gamma = math.exp(rng.uniform(math.log(0.8), math.log(1.25))) if rng.random() < 0.5 else 1.0
    floor = rng.uniform(0.0, 1.0)
    top = rng.uniform(0.8, 0.92)
    if not settings.texture:
        clip = 0.0  # a uniform breast has no "brightest few percent" to clip
    if not processed:
        equalisation, unsharp, clip, eight = None, False, 0.0, False
    elif equalisation is None and not unsharp and clip == 0 and not eight:
        clip = rng.uniform(0.005, 0.05) if settings.texture else 0.0
        eight = not clip and settings.bits_stored is None
    record = Acquisition(
        source=Source.FFDM,
        blur_px=0.0,  # the detector's, filled in by _finish_plan
        equalisation=equalisation,
        unsharp_radius_mm=radius if unsharp else None,
        unsharp_amount=amount if unsharp else None,
        clip_fraction=clip,
        export_bits=8 if eight else int(bits),
        export_gamma=gamma if processed else 1.0,
    )
    return _Plan(record=record, spacing_mm=float(spacing_mm), roll_factor=roll_factor, window_floor=floor,
                 window_top=top)


def _finish_plan(plan: _Plan, det: _Detector) -> tuple[_Plan, _Detector]:
    """Give film its screen blur, and record the digital detector's blur."""
    if plan.record.source == Source.FILM:
        kernel = _gauss_kernel(plan.record.blur_px)
        det = dataclasses.replace(
            det, kernel=kernel, noise_factor=float((kernel.astype(np.float64) ** 2).sum()), blur_px=plan.record.blur_px
        )
        return plan, det
    return dataclasses.replace(plan, record=dataclasses.replace(plan.record, blur_px=round(det.blur_px, 4))), det


def _banding_profile(rng, n: int, *, amplitude: float) -> np.ndarray:
    """Digitiser stripes along one axis: 1/f noise plus a few sharp bands, optical density."""
    f = np.fft.rfftfreq(n)
    amp = (f * f + (2.0 / n) ** 2) ** -0.4
    amp[0] = 0.0
    spec = (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) * amp
    out = np.fft.irfft(spec, n=n)
    out *= amplitude / max(float(out.std()), 1e-12)
    for _ in range(int(rng.integers(0, 6))):
        width = int(rng.integers(1, 21))
        start = int(rng.integers(0, max(1, n - width)))
        out[start : start + width] += rng.normal(0.0, 2.0 * amplitude)
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------
# Film


def film_density(log_exposure, *, gamma: float, base_fog: float, d_max: float, asymmetry: float = 1.0):
    """Optical density of screen-film at a relative log exposure: the H&D curve.

    The characteristic curve of Hurter & Driffield, as a generalised logistic
    (Richards) curve between the base-plus-fog density (the toe's floor) and
    `d_max` (the shoulder's ceiling)::

        D(u) = base_fog + (d_max - base_fog) * (1 + exp(-s * u)) ** (-1 / asymmetry)

    with ``s`` set so that the greatest slope dD/du (film gamma, the
    "average gradient" of mammographic film being about 2.5-3.5) is `gamma`.

    Parameters
    ----------
    log_exposure : array_like
        log10 of the exposure relative to the curve's speed point.
    gamma : float
        Greatest slope, optical density per decade of exposure (> 0).
    base_fog : float
        Density of unexposed film (>= 0).
    d_max : float
        Saturation density (> base_fog).
    asymmetry : float
        Richards exponent (> 0); 1 gives the symmetric logistic, below 1 a
        longer toe, above 1 a longer shoulder.

    Returns
    -------
    ndarray of float
        Optical density, increasing with exposure, in (base_fog, d_max).

    References
    ----------
    .. [1] F. Hurter and V. C. Driffield, "Photo-chemical investigations and a new
       method of determination of the sensitiveness of photographic plates",
       J. Soc. Chem. Ind. 9 (1890) 455-469.
    .. [2] F. J. Richards, "A flexible growth function for empirical use",
       J. Exp. Bot. 10 (1959) 290-300.
    .. [3] J. T. Bushberg et al., The Essential Physics of Medical Imaging, 3rd ed.,
       ch. 7-8 (screen-film characteristic curve, film gradient, mammographic film).

    Examples
    --------
    >>> d = film_density([-2.0, 0.0, 2.0], gamma=3.0, base_fog=0.2, d_max=4.0)
    >>> bool(d[0] < d[1] < d[2])
    True
    """
    if not (math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    if not (math.isfinite(base_fog) and base_fog >= 0):
        raise ValueError(f"base_fog must be >= 0; got {base_fog!r}")
    if not (math.isfinite(d_max) and d_max > base_fog):
        raise ValueError(f"d_max must be > base_fog ({base_fog!r}); got {d_max!r}")
    if not (math.isfinite(asymmetry) and asymmetry > 0):
        raise ValueError(f"asymmetry must be > 0; got {asymmetry!r}")
    return _richards(np.asarray(log_exposure, dtype=np.float64), gamma, base_fog, d_max, asymmetry)


def _richards(u: np.ndarray, gamma, base_fog, d_max, asymmetry) -> np.ndarray:
    """:func:`film_density` without the checks, in the dtype of `u`."""
    dt = u.dtype.type
    out = u * dt(-_film_slope(gamma, base_fog, d_max, asymmetry))
    np.exp(out, out=out)
    out += dt(1.0)
    if asymmetry != 1.0:
        np.power(out, dt(-1.0 / asymmetry), out=out)
    else:
        np.reciprocal(out, out=out)
    out *= dt(d_max - base_fog)
    out += dt(base_fog)
    return out


def _film_slope(gamma, base_fog, d_max, asymmetry) -> float:
    # The greatest slope of the Richards curve is (d_max - base_fog) s (1 + nu)^(-(1 + nu) / nu).
    return gamma / ((d_max - base_fog) * (1.0 + asymmetry) ** (-(1.0 + asymmetry) / asymmetry))


def _film_log_exposure(density: float, *, gamma, base_fog, d_max, asymmetry) -> float:
    """Inverse of :func:`film_density`."""
    s = _film_slope(gamma, base_fog, d_max, asymmetry)
    f = (density - base_fog) / (d_max - base_fog)
    return -math.log(f ** (-asymmetry) - 1.0) / s


# --------------------------------------------------------------------------------------
# The chain after the detector: pointwise maps, some with a smooth field


@dataclass(frozen=True, eq=False)
class _AddField:
    """Add a smooth field (peripheral equalisation)."""

    field: np.ndarray

    def __call__(self, x, index, calcs):
        return x + self.field[index]


@dataclass(eq=False)
class _Unsharp:
    """Unsharp masking with a fixed low-pass: ``x + amount * (x - low)``.

    The low-pass of the background is computed before calcifications are
    planted; that of the planted calcifications (``low_calc``) is added where
    `calcs` is true, so that the image and the calcification-free background
    of the truth are processed alike.
    """

    amount: float
    low_bg: np.ndarray
    low_calc: np.ndarray | None = None

    def __call__(self, x, index, calcs):
        low = self.low_bg[index]
        if calcs and self.low_calc is not None:
            low = low + self.low_calc[index]
        return x + self.amount * (x - low)


@dataclass(frozen=True)
class _Window:
    """Export window: ``lo_in`` -> ``lo_out``, ``hi_in`` -> ``hi_out``, tone exponent ``gamma``."""

    lo_in: float
    hi_in: float
    lo_out: float
    hi_out: float
    gamma: float

    def __call__(self, x, index, calcs):
        t = np.maximum((x - self.lo_in) * (1.0 / (self.hi_in - self.lo_in)), 0.0)
        if self.gamma != 1.0:
            t = t**self.gamma
        return self.lo_out + (self.hi_out - self.lo_out) * t


@dataclass(frozen=True)
class _Clip:
    """Stored values: 0 to ``maxv``."""

    maxv: int

    def __call__(self, x, index, calcs):
        return np.clip(x, 0.0, self.maxv)


@dataclass(frozen=True)
class _FilmExposure:
    """Log signal -> optical density: relative log exposure through the H&D curve."""

    lo: float
    gain: float
    a_ref: float
    u_ref: float
    gamma: float
    base_fog: float
    d_max: float
    asymmetry: float

    def __call__(self, x, index, calcs):
        x = np.asarray(x)
        dt = x.dtype.type if x.dtype in (np.float32, np.float64) else np.float64
        # u = (a_ref - (x - lo) / gain) log10(e) + u_ref, as one affine map in the dtype of x
        scale = -_LOG10E / self.gain
        u = x * dt(scale)
        u += dt(self.u_ref + (self.a_ref + self.lo / self.gain) * _LOG10E)
        return _richards(u, self.gamma, self.base_fog, self.d_max, self.asymmetry)


@dataclass(frozen=True)
class _Grain:
    """Film grain: correlated noise added to the optical density, larger in the toe.

    Its std is ``sigma0 * (1 + toe_boost * w)``, ``w`` rising from 0 at
    mid-curve to 1 at base-plus-fog. The clean path leaves the density as is.
    """

    sigma0: float
    toe_boost: float
    d_mid: float
    base_fog: float
    corr_px: float

    def __call__(self, x, index, calcs):
        return x

    def sigma(self, d):
        w = np.clip((self.d_mid - d) * (1.0 / (self.d_mid - self.base_fog)), 0.0, 1.0)
        return self.sigma0 * (1.0 + self.toe_boost * w)


@dataclass(frozen=True, eq=False)
class _Banding:
    """Digitiser stripes: an optical-density offset per row (axis 0) or column (axis 1)."""

    profile: np.ndarray
    axis: int

    def __call__(self, x, index, calcs):
        sel = index[self.axis]
        p = self.profile[sel]
        if isinstance(sel, slice):
            p = p[:, None] if self.axis == 0 else p[None, :]
        return x + p


@dataclass(frozen=True)
class _Scan:
    """Digitiser: stored value linear in optical density, dense (low density) bright."""

    scan_d_max: float
    maxv: int

    def __call__(self, x, index, calcs):
        return self.maxv * (1.0 - x * (1.0 / self.scan_d_max))


@dataclass(eq=False)
class _Chain:
    """The wide domain's pointwise maps from the detector's log signal to stored values.

    Each step is called as ``step(x, index, calcs)``: `x` the values at the
    pixels `index` (a pair of slices, or of broadcastable integer arrays),
    `calcs` whether the values include the planted calcifications.
    """

    steps: list
    maxv: int
    display_offset: bool  # the log signal holds the display-only offset a_eq (digital) or not (film)
    unsharp: _Unsharp | None = None
    grain: _Grain | None = None
    forbidden: np.ndarray | None = None  # coarse: where calcifications would be flattened
    low_pass_px: float = 0.0

    def apply(self, x, index=_ALL, *, calcs=True, grain_noise=None):
        """Values after the chain (noise-free unless `grain_noise`, unit-std, is given)."""
        for step in self.steps:
            if isinstance(step, _Grain):
                if grain_noise is not None:
                    x = x + step.sigma(x) * grain_noise
                continue
            x = step(x, index, calcs)
        return x

    def response(self, b, index, sigma):
        """Small-signal gain and output noise std at background `b` with input noise std `sigma`.

        The noise is carried through each step by its slope over +-1 std
        (so partial clipping counts), film grain adds its variance, and the
        output's quantisation adds 1/12.
        """
        x = np.asarray(b, dtype=np.float64)
        var = np.broadcast_to(np.asarray(sigma, dtype=np.float64) ** 2, x.shape).copy()
        gain = np.ones_like(x)
        for step in self.steps:
            if isinstance(step, _Grain):
                var = var + step.sigma(x) ** 2
                continue
            h = np.maximum(np.sqrt(var), 1e-9)
            y = step(x, index, False)
            slope = (step(x + h, index, False) - step(x - h, index, False)) / (2.0 * h)
            var = slope * slope * var
            gain = gain * slope
            x = y
        return gain, np.sqrt(var + 1.0 / 12.0)

    def set_planted(self, layer: np.ndarray) -> None:
        """Give unsharp masking the low-pass of the planted calcifications (stored units)."""
        if self.unsharp is not None:
            self.unsharp.low_calc = _low_pass(layer, self.low_pass_px)

    def add_background(self, layer: np.ndarray) -> None:
        """Add planted background objects (skin markers, stored units) to the unsharp low-pass."""
        if self.unsharp is not None:
            self.unsharp.low_bg = self.unsharp.low_bg + _low_pass(layer, self.low_pass_px)


def _low_pass(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian low-pass of float32 `image` (sigma in px), computed on a coarser grid when wide."""
    rows, cols = image.shape
    f = sigma_px / 4.0
    if f < 1.5:
        return cv2.GaussianBlur(image, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    size = (max(8, round(cols / f)), max(8, round(rows / f)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma_px * size[0] / cols, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (cols, rows), interpolation=cv2.INTER_LINEAR)


def _coarse_index(anatomy: _Anatomy):
    """Full-resolution pixel of each coarse grid point (for sampling full-resolution maps)."""
    rows, cols = anatomy.sdf.shape
    rc, cc = anatomy.coarse_shape
    ri = np.clip(np.round((np.arange(rc) + 0.5) * rows / rc - 0.5), 0, rows - 1).astype(np.intp)
    ci = np.clip(np.round((np.arange(cc) + 0.5) * cols / cc - 0.5), 0, cols - 1).astype(np.intp)
    return ri[:, None], ci[None, :]


def _build_chain(plan: _Plan, anatomy: _Anatomy, det: _Detector, *, spacing) -> _Chain:
    """The chain of one wide-domain image, set on the calcification-free breast.

    Also marks (coarse) where a calcification would be flattened: where the
    chain's gain over a bright calcification's contrast (10 noise std) is
    below 0.4 of its 75th percentile in the breast (clipped tissue, the
    film's toe and shoulder). Calcifications are not planted there.
    """
    acq = plan.record
    film = acq.source == Source.FILM
    idx = _coarse_index(anatomy)
    a_c = anatomy.a_phys[idx].astype(np.float64)
    b = det.gain * (a_c + (0.0 if film else anatomy.a_eq[idx])) + det.lo
    inside = anatomy.dskin > 0
    unsharp = grain = None
    low_pass_px = 0.0
    steps: list[Callable[..., Any]]  # each called as step(x, index, calcs) (see _Chain)
    if film:
        # A film acquisition (drawn by _draw_acquisition) carries every film parameter.
        assert (acq.film_gamma is not None and acq.film_base_fog is not None and acq.film_d_max is not None
                and acq.film_asymmetry is not None and acq.film_grain is not None
                and acq.film_scan_d_max is not None)
        maxv = 2**acq.export_bits - 1
        u_ref = _film_log_exposure(
            plan.d_ref, gamma=acq.film_gamma, base_fog=acq.film_base_fog, d_max=acq.film_d_max,
            asymmetry=acq.film_asymmetry,
        )
        grain = _Grain(
            sigma0=acq.film_grain, toe_boost=plan.toe_boost, d_mid=0.5 * (acq.film_base_fog + acq.film_d_max),
            base_fog=acq.film_base_fog, corr_px=plan.grain_corr_px,
        )
        steps = [
            _FilmExposure(
                lo=det.lo, gain=det.gain, a_ref=det.a_ref, u_ref=u_ref, gamma=acq.film_gamma,
                base_fog=acq.film_base_fog, d_max=acq.film_d_max, asymmetry=acq.film_asymmetry,
            ),
            grain,
        ]
        if plan.banding is not None:
            steps.append(_Banding(plan.banding, 0 if acq.banding == "rows" else 1))
        steps += [_Scan(acq.film_scan_d_max, maxv), _Clip(maxv)]
    else:
        maxv = 2**acq.export_bits - 1
        steps = []
        if acq.equalisation is not None:
            steps.append(_AddField(_equalisation_field(anatomy, det, acq.equalisation, plan.roll_factor)))
        if acq.unsharp_amount is not None:
            low_pass_px = acq.unsharp_radius_mm / spacing[0]
            clean = anatomy.a_phys + anatomy.a_eq
            clean *= np.float32(det.gain)
            clean += np.float32(det.lo)
            unsharp = _Unsharp(acq.unsharp_amount, _low_pass(clean, low_pass_px))
            del clean
            steps.append(unsharp)
        if acq.processed:
            v = b
            for step in steps:
                v = step(v, idx, False)
            v_in = v[inside] if inside.any() else v.ravel()
            lo_in = det.lo * plan.window_floor
            if acq.clip_fraction > 0:
                hi_in, hi_out = float(np.quantile(v_in, 1.0 - acq.clip_fraction)), float(maxv)
            else:
                top = float(v_in.max())
                hi_in, hi_out = top, plan.window_top * maxv
            hi_in = max(hi_in, lo_in + 1.0)
            steps.append(_Window(lo_in, hi_in, 0.0, hi_out, acq.export_gamma))
        steps.append(_Clip(maxv))
    chain = _Chain(steps=steps, maxv=maxv, display_offset=not film, unsharp=unsharp, grain=grain,
                   low_pass_px=low_pass_px)
    delta = 10.0 * _noise_sigma(det, a_c) * det.noise_factor
    span = (chain.apply(b + delta, idx, calcs=False) - chain.apply(b, idx, calcs=False)) / delta
    region = anatomy.clear > 0
    # The reference is the gain of most of the breast (75th percentile: robust when
    # much of it is near the clip level).
    ref = float(np.percentile(span[region], 75)) if region.any() else 0.0
    chain.forbidden = span < 0.4 * ref
    return chain


def _equalisation_field(anatomy: _Anatomy, det: _Detector, strength: float, roll_factor: float) -> np.ndarray:
    """Peripheral equalisation: add back `strength` times the fat lost where the breast thins.

    The thickness is modelled with a roll-off `roll_factor` times as wide as
    the true one, so that the compensation misses a little (a bright band at
    the skin line when it overshoots).
    """
    sdf = anatomy.sdf
    roll = anatomy.roll_mm * roll_factor
    out = np.zeros(sdf.shape, np.float32)
    band = (sdf > 0) & (sdf < roll)
    d = sdf[band].astype(np.float64)
    u = d / roll
    t_est = anatomy.thickness_mm * np.sqrt(u * (2.0 - u))
    scale = det.gain * strength * (1.0 - anatomy.fat_sub) * _MU_FAT
    out[band] = scale * (anatomy.thickness_mm - t_est) * _smoothstep(d, 0.0, 0.3)
    return out


def _grain_noise(rng, shape, corr_px: float) -> np.ndarray:
    """Unit-std Gaussian noise correlated by a Gaussian of sigma `corr_px` (float32)."""
    white = rng.standard_normal(shape, dtype=np.float32)
    kernel = _gauss_kernel(corr_px)
    noise: np.ndarray = cv2.sepFilter2D(white, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    noise *= np.float32(1.0 / float((kernel.astype(np.float64) ** 2).sum()))
    return noise


# --------------------------------------------------------------------------------------
# Artefacts


def _marker_patch(rng, spacing) -> np.ndarray:
    """Attenuation of a skin marker, centred in an odd-sized patch: a metal bead or a wire ring."""
    sr, sc = spacing
    if rng.random() < 0.6:  # bead (BB), 1-2.5 mm
        r_out = 0.5 * rng.uniform(1.0, 2.5)
        peak = rng.uniform(2.5, 5.0)

        def chord(rho):
            return 2.0 * np.sqrt(np.maximum(r_out * r_out - rho * rho, 0.0)) / (2.0 * r_out)
    else:  # ring of wire, 3-8 mm across
        ring = rng.uniform(1.5, 4.0)
        tube = rng.uniform(0.15, 0.35)
        r_out = ring + tube
        peak = rng.uniform(1.5, 3.0)

        def chord(rho):
            return np.sqrt(np.maximum(tube * tube - (rho - ring) ** 2, 0.0)) / tube
    half_r = math.ceil(r_out / sr) + 2
    half_c = math.ceil(r_out / sc) + 2
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    ys = (np.arange(-half_r, half_r + 1)[:, None] + sub[None, :]).ravel() * sr
    xs = (np.arange(-half_c, half_c + 1)[:, None] + sub[None, :]).ravel() * sc
    t = chord(np.hypot(ys[:, None], xs[None, :]))
    patch = t.reshape(2 * half_r + 1, 4, 2 * half_c + 1, 4).mean(axis=(1, 3)) * peak
    return patch.astype(np.float32)


def _place_markers(rng, scene, spacing) -> list[tuple[int, int, np.ndarray]]:
    """Skin markers of one image (none in most): (top row, left col, attenuation patch).

    On the skin line, at least 8 mm from every calcification and 3 mm inside
    the image border; left frame.
    """
    if rng.random() >= 0.25:
        return []
    patch = _marker_patch(rng, spacing)
    a = scene.anatomy
    rows, cols = scene.full_shape
    rc, cc = a.coarse_shape
    h, w = patch.shape
    yc = ((np.arange(rc) + 0.5) * rows / rc - 0.5)[:, None]
    xc = ((np.arange(cc) + 0.5) * cols / cc - 0.5)[None, :]
    edge_r = h / 2 + 3.0 / spacing[0]
    edge_c = w / 2 + 3.0 / spacing[1]
    ok = (np.abs(a.dskin) <= 0.75 * max(a.coarse_mm)) & (scene.occupied_distance() >= 8.0)
    ok &= (yc >= edge_r) & (yc <= rows - 1 - edge_r) & (xc >= edge_c) & (xc <= cols - 1 - edge_c)
    cand = np.flatnonzero(ok)
    if cand.size == 0:
        return []
    i, j = divmod(int(cand[rng.integers(cand.size)]), cc)
    r0 = int(round(yc[i, 0])) - h // 2
    c0 = int(round(xc[0, j])) - w // 2
    return [(r0, c0, patch)]


_DUST_SHAPES = (
    ((0, 0),),
    ((0, 0), (0, 1)),
    ((0, 0), (1, 0)),
    ((0, 0), (0, 1), (1, 0), (1, 1)),
    ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)),
    ((0, 0), (0, 1), (1, 1)),
)

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX)


def _add_artefacts(
    rng, pixels: np.ndarray, *, acquisition: Acquisition, spacing, breast, avoid, chest_wall, laterality, view
) -> list[Artefact]:
    """Paint a wide-domain image's artefacts on its stored values (in place); return them.

    Drawn in the image's own frame (labels read the right way round), after
    the detector, so none is blurred: film borders (strips with a sharp edge
    along an edge away from the chest wall), labels (text outside or at the
    edge of the breast), fibres, dust and hot pixels. None comes within 3 mm
    of `avoid`, an (n, 3) array of (row, col, radius px) of the planted
    calcifications and markers; specks and fibres only go where they stand
    out (local level at most 70 % of the range).
    """
    rows, cols = pixels.shape
    maxv = 2**acquisition.export_bits - 1
    film = acquisition.source == Source.FILM
    sr, sc = spacing
    gap_px = 3.0 / sr
    avoid = np.asarray(avoid, dtype=np.float64).reshape(-1, 3)
    out: list[Artefact] = []

    def clear_of(r, c, reach_px) -> bool:
        if not len(avoid):
            return True
        d = np.hypot(avoid[:, 0] - r, avoid[:, 1] - c) - avoid[:, 2]
        return bool(d.min() >= gap_px + reach_px)

    def level(r, c) -> float:
        win = pixels[max(0, r - 4) : r + 5, max(0, c - 4) : c + 5]
        return float(np.median(win))

    def put(r0, c0, values) -> None:
        h, w = values.shape
        pixels[r0 : r0 + h, c0 : c0 + w] = np.clip(np.rint(values), 0, maxv).astype(np.uint16)

    def random_spot(margin: int, p_breast: float):
        in_breast = rng.random() < p_breast
        for _ in range(50):
            r = int(rng.integers(margin, rows - margin))
            c = int(rng.integers(margin, cols - margin))
            if breast[r, c] == in_breast:
                return r, c
        return int(rng.integers(margin, rows - margin)), int(rng.integers(margin, cols - margin))

    far_side = "right" if chest_wall == "left" else "left"

    # Film border: a strip of unexposed film (bright) or of the digitiser's backing (dark).
    if rng.random() < (0.75 if film else 0.1):
        edge = ("top", "bottom", far_side)[int(rng.integers(3))]
        width = rng.uniform(1.0, 6.0) / sr
        bright = rng.random() < 0.6
        value = maxv * (rng.uniform(0.8, 0.98) if bright else rng.uniform(0.0, 0.04))
        if len(avoid):
            dist = {"top": avoid[:, 0], "bottom": rows - 1 - avoid[:, 0], "left": avoid[:, 1],
                    "right": cols - 1 - avoid[:, 1]}[edge] - avoid[:, 2]
            width = min(width, float(dist.min()) - 2.0 / sr)
        width = int(width)
        if width >= max(2, 0.5 / sr):
            if edge in ("top", "bottom"):
                r0 = 0 if edge == "top" else rows - width
                shape, (c0, row, col) = (width, cols), (0, r0 + 0.5 * (width - 1), 0.5 * (cols - 1))
            else:
                c0 = 0 if edge == "left" else cols - width
                r0, shape, row, col = 0, (rows, width), 0.5 * (rows - 1), c0 + 0.5 * (width - 1)
            put(r0, c0, value + rng.normal(0.0, 0.003 * maxv, shape))
            out.append(Artefact(ArtefactKind.FILM_BORDER, round(row, 3), round(col, 3)))

    # Label: text, bright on the background or dark in a bright box, beside the breast.
    if rng.random() < 0.45:
        text = [f"{laterality}{view}", f"{laterality} {view}", laterality, view,
                "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"), int(rng.integers(3, 7))))]
        text = text[int(rng.integers(len(text)))]
        font = _FONTS[int(rng.integers(len(_FONTS)))]
        height = rng.uniform(3.0, 9.0) / sr
        (_w, h1), _base = cv2.getTextSize(text, font, 1.0, 1)
        scale = height / max(h1, 1)
        thick = max(1, round(height / 8))
        (tw, th), baseline = cv2.getTextSize(text, font, scale, thick)
        pad = max(2, round(0.1 * height))
        bh, bw = th + baseline + 2 * pad, tw + 2 * pad
        boxed = rng.random() < 0.35
        if bh < rows // 2 and bw < cols // 2:
            for _ in range(30):
                top = rng.random() < 0.5
                r0 = int(rng.uniform(0.5, 4.0) / sr) if top else rows - bh - int(rng.uniform(0.5, 4.0) / sr)
                span = max(1, int(0.25 * cols))
                inset = int(rng.integers(0, span)) + int(1.0 / sc)
                c0 = cols - bw - inset if far_side == "right" else inset
                if r0 < 0 or c0 < 0 or r0 + bh > rows or c0 + bw > cols:
                    continue
                if breast[r0 : r0 + bh, c0 : c0 + bw].mean() > 0.3:
                    continue
                if not clear_of(r0 + bh / 2, c0 + bw / 2, 0.5 * math.hypot(bh, bw)):
                    continue
                canvas = np.zeros((bh, bw), np.uint8)
                cv2.putText(canvas, text, (pad, pad + th), font, scale, 255, thick, cv2.LINE_AA)
                alpha = canvas.astype(np.float32) / 255.0
                region = pixels[r0 : r0 + bh, c0 : c0 + bw].astype(np.float32)
                if boxed:
                    box = maxv * rng.uniform(0.75, 0.95)
                    ink = maxv * rng.uniform(0.0, 0.1)
                    region = box * (1.0 - alpha) + ink * alpha
                else:
                    ink = maxv * rng.uniform(0.85, 1.0)
                    region = np.maximum(region, ink * alpha + region * (1.0 - alpha))
                put(r0, c0, region)
                out.append(Artefact(ArtefactKind.LABEL, round(r0 + 0.5 * (bh - 1), 3), round(c0 + 0.5 * (bw - 1), 3)))
                break

    # Fibres (lint): thin bright curvy lines, 1.5-6 mm.
    for _ in range(int(rng.poisson(0.8 if film else 0.4))):
        n = max(8, int(rng.uniform(1.5, 6.0) / sr))
        for _try in range(20):
            r, c = random_spot(n + 3, 0.7)
            if level(r, c) > 0.7 * maxv or not clear_of(r, c, 0.5 * n):
                continue
            heading, turn = rng.uniform(0, 2 * np.pi), 0.0
            walk = [(float(r), float(c))]
            for _step in range(n):
                turn = 0.8 * turn + rng.normal(0.0, 0.08)
                heading += turn
                walk.append((walk[-1][0] + math.sin(heading), walk[-1][1] + math.cos(heading)))
            pts = np.round(np.array(walk)).astype(np.int32)
            pts -= pts[n // 2] - np.array([r, c], np.int32)  # the middle point on (r, c)
            r0, c0 = pts.min(axis=0) - 2
            r1, c1 = pts.max(axis=0) + 3
            if r0 < 0 or c0 < 0 or r1 > rows or c1 > cols:
                continue
            mask = np.zeros((r1 - r0, c1 - c0), np.uint8)
            poly = np.column_stack([pts[:, 1] - c0, pts[:, 0] - r0]).astype(np.int32)
            cv2.polylines(mask, [poly], False, 1, 1 if rng.random() < 0.7 else 2, cv2.LINE_8)
            region = pixels[r0:r1, c0:c1].astype(np.float32)
            bright = level(r, c) + maxv * rng.uniform(0.2, 0.45)
            region[mask > 0] = np.maximum(region[mask > 0], bright)
            put(r0, c0, region)
            out.append(Artefact(ArtefactKind.FIBER, float(r), float(c)))
            break

    def local_sigma(r, c) -> float:
        """Robust noise of the stored values round (r, c): MAD of horizontal differences / sqrt 2."""
        return max(1.0, pixel_noise_sigma(pixels[max(0, r - 8) : r + 9, max(0, c - 8) : c + 9]))

    def amplitude(r, c, *, faint: float) -> float:
        """From `faint` local noise sigmas (log-uniform) up to 60 % of the range."""
        lo, hi = faint * local_sigma(r, c), 0.6 * maxv
        return float(math.exp(rng.uniform(math.log(lo), math.log(max(hi, lo * 1.01)))))

    def group(r, c, n: int, radius_mm: float):
        """`n` spots within `radius_mm` of (r, c), inside the image and clear of calcifications."""
        spots: list[tuple[int, int]] = []
        for _ in range(4 * n):
            dr, dc = rng.uniform(-radius_mm, radius_mm, 2) / (sr, sc)
            rr, cc = int(round(r + dr)), int(round(c + dc))
            if 4 <= rr < rows - 4 and 4 <= cc < cols - 4 and clear_of(rr, cc, 2.0) and len(spots) < n:
                spots.append((rr, cc))
        return spots

    # Dust on the screen, film or detector: 1-5 pixel specks, sharp (not blurred), from
    # barely visible to near white; a third of them in clumps of 3-7 within a few mm.
    for _ in range(int(rng.poisson(4.0 if film else 1.5))):
        for _try in range(20):
            r, c = random_spot(4, 0.75)
            if level(r, c) > 0.7 * maxv or not clear_of(r, c, 2.0):
                continue
            spots = group(r, c, int(rng.integers(3, 8)), rng.uniform(1.5, 4.0)) if rng.random() < 0.35 else [(r, c)]
            for sr_, sc_ in spots:
                offsets = np.array(_DUST_SHAPES[int(rng.integers(len(_DUST_SHAPES)))])
                base, amp = level(sr_, sc_), amplitude(sr_, sc_, faint=6.0)
                for dr, dc in offsets:
                    value = min(maxv, base + amp * rng.uniform(0.8, 1.0))
                    pixels[sr_ + dr, sc_ + dc] = max(int(pixels[sr_ + dr, sc_ + dc]), int(round(value)))
                cy, cx = offsets.mean(axis=0)
                out.append(Artefact(ArtefactKind.DUST, round(sr_ + float(cy), 3), round(sc_ + float(cx), 3)))
            break

    # Hot pixels of a digital detector (or a digitiser's sensor): 1 or 2 x 2, near full
    # scale or only partly stuck; a third of the time a defect cluster of 3-6 within 2 mm.
    for _ in range(int(rng.poisson(0.3 if film else 1.2))):
        size = 1 if rng.random() < 0.7 else 2
        for _try in range(20):
            r, c = random_spot(4, 0.5)
            if level(r, c) > 0.7 * maxv or not clear_of(r, c, 2.0):
                continue
            spots = group(r, c, int(rng.integers(3, 7)), 2.0) if rng.random() < 0.35 else [(r, c)]
            stuck = rng.random() < 0.5
            for sr_, sc_ in spots:
                value = maxv * rng.uniform(0.9, 1.0) if stuck else level(sr_, sc_) + amplitude(sr_, sc_, faint=10.0)
                pixels[sr_ : sr_ + size, sc_ : sc_ + size] = int(round(min(value, maxv)))
                off = 0.5 * (size - 1)
                out.append(Artefact(ArtefactKind.HOT_PIXEL, sr_ + off, sc_ + off))
            break
    return out
