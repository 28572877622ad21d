"""Generation of one synthetic mammogram: the stages chained, calcifications planted, truth measured."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from calcdetect.lexicon import Distribution, Morphology, category_of
from calcdetect.synth.acquisition import (
    _add_artefacts,
    _build_chain,
    _Chain,
    _Detector,
    _detector,
    _draw_acquisition,
    _expose,
    _finish_plan,
    _grain_noise,
    _noise_sigma,
    _place_markers,
    _quantise,
)
from calcdetect.synth.anatomy import _DENSITY_P, _Anatomy, _anatomy
from calcdetect.synth.calcifications import (
    _MIX,
    _MU_CALCIUM_MIN,
    _PLACEMENT_ORDER,
    ClusterSpec,
    _draw_cnr,
    _draw_content,
    _draw_pair,
    _place_cluster,
    _place_isolated,
    _render_member,
    _Rendered,
    _Scene,
)
from calcdetect.synth.image import Source, SynthImage
from calcdetect.synth.settings import (
    BITS_STORED_CHOICES,
    SPACINGS_MM,
    Density,
    Domain,
    SynthSettings,
)
from calcdetect.truth import Artefact, ArtefactKind, TruthCalcification, TruthCluster

_G = Distribution
_M = Morphology


def image_rng(seed: int, index: int) -> np.random.Generator:
    """Return the generator of image `index` of the set made with `seed`.

    ``make_set(..., seed=s)`` writes image ``i`` as
    ``synthesize(rng=image_rng(s, i), settings=...)``.
    """
    if int(seed) != seed or seed < 0 or int(index) != index or index < 0:
        raise ValueError(f"seed and index must be integers >= 0; got seed={seed!r}, index={index!r}")
    return np.random.default_rng([int(seed), int(index)])


def synthesize(
    *,
    rng: np.random.Generator,
    settings: SynthSettings = SynthSettings(),
    clusters: Sequence[ClusterSpec | tuple] | None = None,
    normal: bool | None = None,
    isolated: int | None = None,
    laterality: str | None = None,
    view: str | None = None,
    density: Density | str | None = None,
    source: Source | str | None = None,
) -> SynthImage:
    """Generate one synthetic mammogram with its ground truth.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    settings : SynthSettings
    clusters : sequence of ClusterSpec or (distribution, morphology[, cnr]) tuples, optional
        Plant exactly these clusters (and no others). None draws the content.
    normal : bool, optional
        True plants no cluster; False forces at least one. None draws it
        (probability ``settings.normal_fraction`` of a normal image).
    isolated : int, optional
        Number of isolated benign specks; None draws it.
    laterality : {"L", "R"}, optional
    view : {"CC", "MLO"}, optional
    density : Density or str, optional
        Force these; None draws them.
    source : {"ffdm", "film"}, optional
        Force the source (wide domain only; the classic domain is always
        ``"ffdm"``); None draws it.

    Returns
    -------
    SynthImage

    Raises
    ------
    ValueError
        On an invalid option, or when a forced cluster cannot be placed in the
        breast (field of view too small: use a larger ``scale``).

    Notes
    -----
    In the wide domain the acquisition is drawn after the view, laterality,
    spacing, bits and density, so forcing one of those leaves the rest of the
    stream as it was; calcifications avoid tissue the chain would flatten,
    and a planted one it flattens all the same is left out of the truth
    (see :func:`_render_image_wide`).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if not isinstance(settings, SynthSettings):
        raise TypeError(f"settings must be a SynthSettings; got {type(settings).__name__}")
    specs = None if clusters is None else [_as_spec(c) for c in clusters]
    if specs is not None and normal:
        raise ValueError("normal=True cannot be combined with forced clusters")
    if isolated is not None and (int(isolated) != isolated or isolated < 0):
        raise ValueError(f"isolated must be None or an integer >= 0; got {isolated!r}")
    if laterality is not None and laterality not in ("L", "R"):
        raise ValueError(f"laterality must be 'L' or 'R'; got {laterality!r}")
    if view is not None and view not in ("CC", "MLO"):
        raise ValueError(f"view must be 'CC' or 'MLO'; got {view!r}")
    if density is not None:
        try:
            density = Density(density)
        except ValueError:
            raise ValueError(f"density must be one of {', '.join(Density)}; got {density!r}") from None
    wide = settings.domain == Domain.WIDE
    if source is not None:
        try:
            source = Source(source)
        except ValueError:
            raise ValueError(f"source must be one of {', '.join(Source)}; got {source!r}") from None
        if not wide and source != Source.FFDM:
            raise ValueError(f"source={str(source)!r} needs settings.domain='wide'; the classic domain is ffdm only")

    # Acquisition parameters (always drawn, then overridden, so that forcing one
    # thing leaves the rest of the stream unchanged).
    rows, cols = settings.image_shape
    drawn_view = "CC" if rng.random() < 0.5 else "MLO"
    drawn_lat = "L" if rng.random() < 0.5 else "R"
    drawn_spacing = float(rng.choice(SPACINGS_MM))
    drawn_bits = int(rng.choice(BITS_STORED_CHOICES))
    drawn_density = Density(list(Density)[rng.choice(4, p=_DENSITY_P)])
    view = view or drawn_view
    laterality = laterality or drawn_lat
    density = density or drawn_density
    pixel_mm = float(settings.spacing_mm) if settings.spacing_mm is not None else drawn_spacing
    bits = int(settings.bits_stored) if settings.bits_stored is not None else drawn_bits
    plan = None
    if wide:  # new draws only in the wide domain, so that the classic stream is unchanged
        plan = _draw_acquisition(rng, settings, spacing_mm=pixel_mm, bits=bits, shape=(rows, cols), source=source)
        pixel_mm = plan.spacing_mm
    spacing = (pixel_mm, pixel_mm)

    anatomy = _anatomy(rng, rows=rows, cols=cols, spacing=spacing, view=view, density=density, settings=settings)
    detector = _detector(rng, anatomy, spacing=spacing, bits=bits)
    chain = None
    if plan is not None:  # the wide domain
        plan, detector = _finish_plan(plan, detector)
        chain = _build_chain(plan, anatomy, detector, spacing=spacing)

    drawn_specs, drawn_isolated = _draw_content(rng, settings)
    if specs is None:
        if normal is True:
            specs = []
        elif normal is False and not drawn_specs:
            specs = [_draw_pair(rng, _MIX)]
        else:
            specs = drawn_specs
    n_isolated = drawn_isolated if isolated is None else int(isolated)

    scene = _Scene(anatomy=anatomy, spacing=spacing, settings=settings,
                   forbidden=None if chain is None else chain.forbidden)
    planned = []
    # Large footprints first; diffuse (whole breast) after the compact clusters.
    order = sorted(range(len(specs)), key=lambda i: _PLACEMENT_ORDER[specs[i].distribution])
    for i in order:
        spec = specs[i]
        cnr = spec.cnr if spec.cnr is not None else _draw_cnr(rng, spec.morphology, settings.cnr_range)
        members = _place_cluster(rng, scene, spec)
        if members is None:
            if clusters is not None:
                raise ValueError(
                    f"cannot place a {spec.distribution} {spec.morphology} cluster in this "
                    f"{rows} x {cols} px image; use a larger scale"
                )
            continue  # a drawn cluster that does not fit is left out
        scene.occupy(members)
        planned.append((i, spec, cnr, members))
    if normal is False and not planned:
        spec = ClusterSpec(_G.GROUPED, _M.PUNCTATE)  # fits any breast
        members = _place_cluster(rng, scene, spec)
        if members is None:
            raise ValueError(f"cannot place any cluster in this {rows} x {cols} px image; use a larger scale")
        scene.occupy(members)
        planned.append((0, spec, _draw_cnr(rng, spec.morphology, settings.cnr_range), members))
    planned.sort(key=lambda p: p[0])
    singles = _place_isolated(rng, scene, n_isolated, settings.cnr_range)

    if chain is None:
        pixels, truth_clusters, truth_isolated = _render_image(rng, anatomy, detector, planned, singles, spacing)
        planted, markers = np.zeros((0, 3)), []
    else:
        markers = _place_markers(rng, scene, spacing)
        pixels, truth_clusters, truth_isolated, planted = _render_image_wide(
            rng, anatomy, detector, chain, planned, singles, markers, spacing
        )
        assert plan is not None  # drawn with the chain
        bits = plan.record.export_bits

    breast, pectoral, nipple = anatomy.breast, anatomy.pectoral, anatomy.nipple
    chest_wall = "left"
    if laterality == "R":
        chest_wall = "right"
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        breast = np.ascontiguousarray(breast[:, ::-1])
        pectoral = None if pectoral is None else np.ascontiguousarray(pectoral[:, ::-1])
        nipple = (nipple[0], cols - 1 - nipple[1])
        truth_clusters = [_mirror_cluster(c, cols) for c in truth_clusters]
        truth_isolated = [_mirror_calc(c, cols) for c in truth_isolated]
        planted = planted * [1, -1, 1] + [0, cols - 1, 0]

    artefacts: list[Artefact] = []
    if plan is not None:  # the wide domain: chain is not None
        # Skin markers (in the beam, so drawn with the anatomy), then what lies on the
        # stored image: painted in the image's own frame.
        for r0, c0, patch in markers:
            h, w = patch.shape
            row, col = r0 + (h - 1) / 2, c0 + (w - 1) / 2
            col = cols - 1 - col if chest_wall == "right" else col
            artefacts.append(Artefact(ArtefactKind.MARKER, float(row), float(col)))
            planted = np.vstack([planted, [row, col, 0.5 * max(h, w)]])
        artefacts += _add_artefacts(
            rng, pixels, acquisition=plan.record, spacing=spacing, breast=breast, avoid=planted,
            chest_wall=chest_wall, laterality=laterality, view=view,
        )

    return SynthImage(
        pixels=pixels,
        spacing=spacing,
        laterality=laterality,
        view=view,
        density=density,
        nipple=(round(float(nipple[0]), 2), round(float(nipple[1]), 2)),
        chest_wall=chest_wall,
        clusters=tuple(truth_clusters),
        isolated=tuple(truth_isolated),
        bits_stored=bits,
        breast_mask=breast,
        pectoral_mask=pectoral,
        domain=settings.domain,
        acquisition=None if plan is None else plan.record,
        artefacts=tuple(artefacts),
    )


def _as_spec(value) -> ClusterSpec:
    if isinstance(value, ClusterSpec):
        return value
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return ClusterSpec(*value)
    raise ValueError(f"a cluster must be a ClusterSpec or (distribution, morphology[, cnr]); got {value!r}")


def _mirror_calc(c: TruthCalcification, cols: int) -> TruthCalcification:
    return dataclasses.replace(c, col=round(cols - 1 - c.col, 3))


def _mirror_cluster(c: TruthCluster, cols: int) -> TruthCluster:
    return dataclasses.replace(
        c,
        col=round(cols - 1 - c.col, 3),
        calcifications=tuple(_mirror_calc(m, cols) for m in c.calcifications),
    )


def _render_image(rng, anatomy: _Anatomy, det: _Detector, planned, singles, spacing):
    """Plant the calcifications, add noise and blur, quantise; return pixels and truth."""
    a_phys = anatomy.a_phys
    rows, cols = a_phys.shape

    def local_sigma(r: _Rendered) -> float:
        i = int(np.clip(round(r.row), 0, rows - 1))
        j = int(np.clip(round(r.col), 0, cols - 1))
        return float(_noise_sigma(det, a_phys[i, j])) * det.noise_factor

    patches = []  # (rendered, mu) added after every sigma is known
    clusters = []
    for cid, (_i, spec, cnr, members) in enumerate(planned):
        rendered = [_render_member(m, spacing, det.kernel) for m in members]
        sigma = np.array([local_sigma(r) for r in rendered])
        unit = np.array([det.gain * r.peak for r in rendered]) / sigma  # CNR per unit coefficient
        mu = cnr / float(np.median(unit))
        if spec.morphology != _M.AMORPHOUS:
            # Calcium attenuates at least this much: a large speck drawn with a low
            # target CNR is still as conspicuous as real calcium of its size.
            mu = max(mu, _MU_CALCIUM_MIN)
        calcs = []
        for r in rendered:
            calcs.append(_truth_calc(r, det.gain * mu * r.peak))
            patches.append((r, mu))
        achieved = float(np.median(unit * mu))
        clusters.append(_make_cluster(cid, spec, calcs, achieved, spacing))
    isolated = []
    for m, cnr in singles:
        r = _render_member(m, spacing, det.kernel)
        mu = cnr * local_sigma(r) / (det.gain * r.peak)
        isolated.append(_truth_calc(r, det.gain * mu * r.peak))
        patches.append((r, mu))

    for r, mu in patches:
        h, w = r.patch.shape
        a_phys[r.r0 : r.r0 + h, r.c0 : r.c0 + w] += np.float32(mu) * r.patch

    # Detector: log signal plus signal-dependent noise, then the blur (which
    # correlates the noise), then quantisation.
    image = _expose(rng, a_phys, anatomy.a_eq, det)
    return _quantise(image, det.maxv), clusters, isolated


def _make_cluster(cid: int, spec: ClusterSpec, calcs: list[TruthCalcification], cnr: float, spacing) -> TruthCluster:
    rr = np.array([c.row for c in calcs])
    cc = np.array([c.col for c in calcs])
    dy = (rr[:, None] - rr[None, :]) * spacing[0]
    dx = (cc[:, None] - cc[None, :]) * spacing[1]
    extent = float(np.sqrt(dy * dy + dx * dx).max()) + float(np.mean([c.diameter_mm for c in calcs]))
    return TruthCluster(
        cluster_id=cid,
        category=category_of(spec.morphology),
        distribution=spec.distribution,
        morphology=spec.morphology,
        extent_mm=round(extent, 3),
        cnr=round(cnr, 3),
        row=round(float(rr.mean()), 3),
        col=round(float(cc.mean()), 3),
        calcifications=tuple(calcs),
    )


#: A calcification the chain leaves less than this fraction of its small-signal contrast
#: (or less than half a grey level) is flattened: it is left out of the truth.
_MIN_KEPT = 0.25

#: Largest factor by which the wide domain raises a calcification's coefficient over
#: the classic calibration to make up for grain, quantisation or a flat film gradient.
_MAX_BOOST = 3.0


def _render_image_wide(rng, anatomy: _Anatomy, det: _Detector, chain: _Chain, planned, singles, markers, spacing):
    """The wide domain's rendering: calibrated and measured through the drawn chain.

    Each cluster's coefficient is set so that its median CNR *in the stored
    image* (after the film curve, grain, processing, window and
    quantisation, linearised at each calcification's background) meets the
    drawn CNR, within a factor :data:`_MAX_BOOST` of the classic one. The truth
    then records, per calcification, the exact noise-free peak contrast the
    chain leaves (the chain run on the calcification-free background with
    and without it) and the CNR over the output noise std there. A
    calcification the chain flattens (left with under :data:`_MIN_KEPT` of
    its small-signal contrast, or under half a grey level) is dropped, and
    so is a cluster left with fewer than two; placement avoids this, so it
    is rare.

    Returns
    -------
    pixels, clusters, isolated, planted
        ``planted`` is an (n, 3) array of (row, col, radius px) of every
        planted calcification (for keeping artefacts off them).
    """
    a_phys = anatomy.a_phys
    a_eq = anatomy.a_eq if chain.display_offset else None
    rows, cols = a_phys.shape
    gain = det.gain

    # Skin markers are in the beam: part of the background of everything else.
    if markers:
        layer = np.zeros((rows, cols), np.float32) if chain.unsharp is not None else None
        for r0, c0, patch in markers:
            h, w = patch.shape
            a_phys[r0 : r0 + h, c0 : c0 + w] += patch
            if layer is not None:
                layer[r0 : r0 + h, c0 : c0 + w] += np.float32(gain) * patch
        if layer is not None:
            chain.add_background(layer)

    def window(r: _Rendered):
        h, w = r.patch.shape
        return slice(r.r0, r.r0 + h), slice(r.c0, r.c0 + w)

    def background(r: _Rendered) -> np.ndarray:
        win = window(r)
        b = a_phys[win].astype(np.float64)
        if a_eq is not None:
            b += a_eq[win]
        return gain * b + det.lo

    def local_sigma(r: _Rendered) -> float:
        i = int(np.clip(round(r.row), 0, rows - 1))
        j = int(np.clip(round(r.col), 0, cols - 1))
        return float(_noise_sigma(det, a_phys[i, j])) * det.noise_factor

    def at(r: _Rendered, b: np.ndarray, ij) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        i, j = ij
        return b[i : i + 1, j : j + 1], (np.array([[r.r0 + i]]), np.array([[r.c0 + j]]))

    def calibrate(rendered, backgrounds, cnr, morph):
        sigma = np.array([local_sigma(r) for r in rendered])
        peak = np.array([r.peak for r in rendered])
        unit_lin = gain * peak / sigma
        unit = np.empty(len(rendered))
        for k, (r, b) in enumerate(zip(rendered, backgrounds, strict=True)):
            ij = np.unravel_index(int(np.argmax(r.blurred)), r.blurred.shape)
            g, s_out = chain.response(*at(r, b, ij), sigma[k])
            unit[k] = gain * peak[k] * float(g.ravel()[0]) / float(s_out.ravel()[0])
        mu_lin = cnr / float(np.median(unit_lin))
        med = float(np.median(unit))
        mu = min(cnr / med, _MAX_BOOST * mu_lin) if med > 0 else _MAX_BOOST * mu_lin
        if morph != _M.AMORPHOUS:
            mu = max(mu, _MU_CALCIUM_MIN)
        return mu, sigma

    groups = []  # (spec or None, [(rendered, background, sigma)], mu)
    for _i, spec, cnr, members in planned:
        rendered = [_render_member(m, spacing, det.kernel) for m in members]
        backgrounds = [background(r) for r in rendered]
        mu, sigma = calibrate(rendered, backgrounds, cnr, spec.morphology)
        groups.append((spec, list(zip(rendered, backgrounds, sigma, strict=True)), mu))
    for m, cnr in singles:
        r = _render_member(m, spacing, det.kernel)
        b = background(r)
        mu, sigma = calibrate([r], [b], cnr, _M.AMORPHOUS)  # no floor, as in the classic domain
        groups.append((None, [(r, b, sigma[0])], mu))

    layer = np.zeros((rows, cols), np.float32) if chain.unsharp is not None else None
    planted = []
    for _spec, items, mu in groups:
        for r, _b, _s in items:
            h, w = r.patch.shape
            a_phys[r.r0 : r.r0 + h, r.c0 : r.c0 + w] += np.float32(mu) * r.patch
            if layer is not None:
                layer[r.r0 : r.r0 + h, r.c0 : r.c0 + w] += np.float32(gain * mu) * r.patch
            planted.append((r.row, r.col, 0.5 * r.length_mm / spacing[0] + 1.0))
    if layer is not None:
        chain.set_planted(layer)
        del layer

    def measure(r: _Rendered, b: np.ndarray, sigma: float, mu: float):
        """Contrast the chain leaves, output noise std there, and the small-signal contrast."""
        win = window(r)
        c = (gain * mu) * r.blurred
        d = chain.apply(b + c, win, calcs=True) - chain.apply(b, win, calcs=False)
        ij = np.unravel_index(int(np.argmax(d)), d.shape)
        g, s_out = chain.response(*at(r, b, ij), sigma)
        return float(d[ij]), float(s_out.ravel()[0]), float(g.ravel()[0]) * gain * mu * r.peak

    clusters: list[TruthCluster] = []
    isolated: list[TruthCalcification] = []
    for spec, items, mu in groups:
        calcs, cnrs = [], []
        for r, b, sigma in items:
            contrast, s_out, linear = measure(r, b, sigma, mu)
            if contrast >= 0.5 and contrast >= _MIN_KEPT * linear:  # else flattened: not visible, not truth
                calcs.append(_truth_calc(r, contrast))
                cnrs.append(contrast / s_out)
        if spec is None:
            isolated += calcs
        elif len(calcs) >= 2:
            clusters.append(_make_cluster(len(clusters), spec, calcs, float(np.median(cnrs)), spacing))

    image = _expose(rng, a_phys, a_eq, det)
    grain = None if chain.grain is None else _grain_noise(rng, image.shape, chain.grain.corr_px)
    image = chain.apply(image, calcs=True, grain_noise=grain)
    del grain
    pixels = _quantise(np.asarray(image, dtype=np.float32), chain.maxv)
    return pixels, clusters, isolated, np.array(planted, dtype=np.float64).reshape(-1, 3)


def _truth_calc(r: _Rendered, contrast: float) -> TruthCalcification:
    return TruthCalcification(
        row=round(r.row, 3),
        col=round(r.col, 3),
        diameter_mm=round(r.diameter_mm, 4),
        length_mm=round(r.length_mm, 4),
        width_mm=round(r.width_mm, 4),
        contrast=round(float(contrast), 2),
    )
