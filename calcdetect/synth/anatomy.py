"""Breast anatomy of a synthetic mammogram: outline, skin, tissue, muscle, vessels, ligaments.

Everything is attenuation (optical depth, dimensionless) in the left frame: the
chest wall at the image's left edge. The wide domain adds Cooper's ligaments,
trabecular strands and more vessels (:func:`_wide_structures`), drawn after
everything the classic domain draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from calcdetect.synth._helpers import _power_law_noise, _smoothstep, _unit
from calcdetect.synth.settings import Density, Domain

# Effective linear attenuation coefficients (1/mm) near 20 keV.
_MU_FAT = 0.048
_MU_GLAND = 0.080
_MU_SKIN = 0.078
_MU_MUSCLE = 0.088
_MU_BLOOD = 0.075

_COARSE = 4  # anatomy is computed on a grid 4 x coarser per axis, then upsampled

_BORDER_MM = 5.0  # calcifications stay this far from the image border
_SKIN_MARGIN_MM = 3.0  # ... and this far inside the skin line (skin calcifications excepted)


# Fraction of the breast area that is glandular, by density class.
_GLAND_AREA = {
    Density.FATTY: (0.03, 0.12),
    Density.SCATTERED: (0.12, 0.30),
    Density.HETEROGENEOUS: (0.30, 0.55),
    Density.DENSE: (0.55, 0.80),
}
_DENSITY_P = (0.1, 0.4, 0.4, 0.1)


@dataclass(eq=False)
class _Anatomy:
    a_phys: np.ndarray  # (M, N) float32 attenuation (optical depth) that sets the photon count
    a_eq: np.ndarray  # (M, N) float32 display-only offset (presentation processing), added to a_phys
    sdf: np.ndarray  # (M, N) float32 signed distance to the skin line, mm (> 0 inside)
    breast: np.ndarray  # (M, N) bool
    pectoral: np.ndarray | None  # (M, N) bool, MLO only
    nipple: tuple[float, float]  # (row, col) px, left frame
    coarse_shape: tuple[int, int]
    coarse_mm: tuple[float, float]  # size of a coarse pixel (row_mm, col_mm)
    clear: np.ndarray  # coarse: distance (mm) to the nearest place a calcification may not be
    skin_clear: np.ndarray  # coarse: same, for skin calcifications (no skin margin)
    dskin: np.ndarray  # coarse: signed distance to the skin line, mm
    breast_area_mm2: float
    thickness_mm: float = 0.0  # compressed thickness H
    roll_mm: float = 0.0  # width of the thickness roll-off at the skin line
    fat_sub: float = 0.0  # fraction of the fat-equivalent thickness subtracted for display (a_eq)


def _anatomy(rng, *, rows, cols, spacing, view, density, settings) -> _Anatomy:
    """Build the attenuation maps of a breast (chest wall at the left edge)."""
    sr, sc = spacing
    k = float(settings.scale)  # anatomy shrinks with the field of view
    rc, cc = math.ceil(rows / _COARSE), math.ceil(cols / _COARSE)
    cy_mm, cx_mm = rows / rc * sr, cols / cc * sc  # coarse pixel size
    yc = (((np.arange(rc) + 0.5) * rows / rc - 0.5) * sr)[:, None]
    xc = (((np.arange(cc) + 0.5) * cols / cc - 0.5) * sc)[None, :]
    height_mm, width_mm = rows * sr, cols * sc

    # Outline: a perturbed super-ellipse against the chest wall (x = 0).
    p_exp = rng.uniform(1.8, 2.3)
    harm = rng.normal(0.0, 1.0, 4) * 0.025 / np.arange(2, 6)
    phase = rng.uniform(0, 2 * np.pi, 4)
    rho_max = 1.0 + np.abs(harm).sum()
    if view == "CC":
        depth = rng.uniform(0.62, 0.86) * width_mm
        half_h = rng.uniform(0.30, 0.45) * height_mm
        centre = rng.uniform(0.45, 0.55) * height_mm
        tilt = rng.uniform(-0.12, 0.12)
    else:
        depth = rng.uniform(0.60, 0.84) * width_mm
        half_h = rng.uniform(0.38, 0.47) * height_mm
        centre = rng.uniform(0.50, 0.58) * height_mm
        tilt = rng.uniform(0.10, 0.30)
    depth = min(depth, 0.92 * width_mm / rho_max)
    xr = xc * math.cos(tilt) + (yc - centre) * math.sin(tilt)
    yr = -xc * math.sin(tilt) + (yc - centre) * math.cos(tilt)
    q = (np.abs(xr / depth) ** p_exp + np.abs(yr / half_h) ** p_exp) ** (1.0 / p_exp)
    theta = np.arctan2(yr / half_h, xr / depth)
    rho = 1.0 + sum(h * np.cos((i + 2) * theta + ph) for i, (h, ph) in enumerate(zip(harm, phase)))
    f = (rho - q) * min(depth, half_h)
    ax_w = ax_h = 0.0
    if view == "MLO":
        # Axillary tail: the breast reaches the top edge near the chest wall.
        ax_w = rng.uniform(0.30, 0.45) * width_mm
        ax_h = rng.uniform(0.55, 0.80) * height_mm
        f_ax = (1.0 - (xc / ax_w + yc / ax_h)) * 0.5 * min(ax_w, ax_h)
        soft = 0.04 * width_mm
        f = 0.5 * (f + f_ax + np.sqrt((f - f_ax) ** 2 + soft * soft))
    f = f.astype(np.float32)
    inside_c = f > 0

    # Signed distance to the skin line: f / |grad f| near the boundary (exact zero set,
    # sub-pixel), a distance transform further in; the chest wall is not skin.
    gy, gx = np.gradient(f, cy_mm, cx_mm)
    d_near = f / np.maximum(np.hypot(gy, gx), 1e-6)
    pad = max(2, math.ceil(40.0 / cy_mm))
    m = cv2.copyMakeBorder(inside_c.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    din = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pad:-pad, pad:-pad]
    dout = cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pad:-pad, pad:-pad]
    px_c = 0.5 * (cy_mm + cx_mm)
    d_far = np.where(inside_c, (din - 0.5) * px_c, -(dout - 0.5) * px_c)
    w = _smoothstep(np.abs(d_far), 1.0, 3.0)
    dskin_c = ((1 - w) * d_near + w * d_far).astype(np.float32)
    sdf = cv2.resize(dskin_c, (cols, rows), interpolation=cv2.INTER_LINEAR)
    breast = sdf > 0

    # Nipple: the point of the outline farthest from the chest wall.
    reach = np.where(inside_c, xc, -1.0).max(axis=1)
    best = np.flatnonzero(reach >= reach.max() - 0.5 * cx_mm)
    nip_row = float(np.mean((best + 0.5) * rows / rc - 0.5))
    r_i = int(round(nip_row))
    cols_in = np.flatnonzero(breast[r_i])
    nip_col = float(cols_in.max()) if cols_in.size else float(reach.max() / sc)
    nipple = (nip_row, nip_col)

    # Pectoral muscle (MLO): from (0, w_p) to (h_p, 0), a curved edge.
    pect = None
    muscle_c = np.zeros((rc, cc), np.float32)
    pect_w = pect_h = pect_g = 0.0
    if view == "MLO":
        top = np.flatnonzero(inside_c[0])
        x_top = float(xc[0, top.max()]) if top.size else ax_w
        pect_w = rng.uniform(0.45, 0.75) * x_top
        pect_h = rng.uniform(0.35, 0.60) * height_mm
        pect_g = rng.uniform(0.7, 1.2)

        def muscle_fraction(y_mm, x_mm):
            edge = pect_w * np.clip(1.0 - y_mm / pect_h, 0.0, None) ** pect_g
            delta = edge - x_mm  # horizontal depth into the muscle, mm
            return np.clip(delta / 1.0, 0, 1) * (0.6 + 0.4 * np.clip(delta / (0.5 * pect_w), 0, 1))

        muscle_c = (muscle_fraction(yc, xc) * inside_c).astype(np.float32)

    # Fibroglandular tissue: soft-thresholded power-law texture, less near the skin.
    gland_area = rng.uniform(*_GLAND_AREA[density])
    g_max = rng.uniform(0.55, 0.85)
    width_f = rng.uniform(0.4, 0.7)
    beta = rng.uniform(2.8, 3.2)
    fat0 = rng.uniform(2.0, 6.0) * k
    fat1 = fat0 + rng.uniform(8.0, 20.0) * k
    # 1/f^beta between about 40 mm and 1 mm (finer detail is lost in the projection
    # of overlapping structures; quantum noise dominates there).
    iso = _power_law_noise(rng, (rc, cc), beta=beta, cutoff=cy_mm / 40.0, top=cy_mm / 1.0)
    radial = _radial_texture(rng, yc, xc, nipple=(nipple[0] * sr, nipple[1] * sc), beta=beta, k=k)
    tex: np.ndarray = 0.85 * iso + 0.4 * radial
    # No detail at the scale of the coarse grid (it would show as blocks once upsampled).
    tex = cv2.GaussianBlur(tex.astype(np.float32), (0, 0), 0.8)
    envelope = _smoothstep(dskin_c, fat0, fat1) * (1.0 - 0.8 * muscle_c)
    region = inside_c & (muscle_c < 0.5)
    thr = float(np.quantile(tex[region], 1.0 - gland_area)) if region.any() else 0.0
    envelope = envelope.astype(np.float32)

    vessels_c = np.zeros((rc, cc), np.float32)
    n_vessels = int(rng.integers(2, 6))
    if settings.texture:
        for _ in range(n_vessels):
            vessels_c += _vessel(
                rng, inside_c, dskin_c, yc, xc, (cy_mm, cx_mm),
                nipple_mm=(nipple[0] * sr, nipple[1] * sc), depth=depth, k=k,
            )
        vessels_c *= _smoothstep(dskin_c, 0.0, 2.0)

    # Full-resolution attenuation.
    thick = rng.uniform(35.0, 70.0)  # compressed thickness H, mm
    roll = rng.uniform(10.0, 20.0) * max(k, 0.5)  # edge roll-off width, mm
    skin = min(rng.uniform(1.0, 2.0), 0.4 * roll)
    fat_sub = rng.uniform(0.5, 0.7)  # presentation processing: fat-equivalent thickness subtracted
    d = np.maximum(sdf, 0.0)
    u = np.minimum(d * (1.0 / roll), 1.0)
    t_out = thick * np.sqrt(u * (2.0 - u))
    v = np.clip((d - skin) * (1.0 / (roll - skin)), 0.0, 1.0)
    t_in = (thick - 2 * skin) * np.sqrt(v * (2.0 - v))
    # Glandular fraction of the tissue path: the texture is upsampled before the soft
    # threshold, so that gland boundaries are smooth at full resolution.
    if settings.texture:
        gland: np.ndarray = cv2.resize(tex, (cols, rows), interpolation=cv2.INTER_CUBIC)
        gland -= np.float32(thr)
        gland *= np.float32(-1.0 / width_f)
        np.exp(gland, out=gland)
        gland += np.float32(1.0)
        np.divide(np.float32(g_max), gland, out=gland)
    else:
        gland = np.full((rows, cols), g_max * gland_area, np.float32)
    gland *= cv2.resize(envelope, (cols, rows), interpolation=cv2.INTER_LINEAR)
    mu = gland
    mu *= np.float32(_MU_GLAND - _MU_FAT)
    mu += np.float32(_MU_FAT)
    if view == "MLO":
        r_end = min(rows, math.ceil(pect_h / sr) + 2)
        c_end = min(cols, math.ceil(pect_w / sc) + 2)
        ys = (np.arange(r_end) * sr)[:, None]
        xs = (np.arange(c_end) * sc)[None, :]
        mfrac = muscle_fraction(ys, xs).astype(np.float32)
        mfrac *= breast[:r_end, :c_end]
        mu[:r_end, :c_end] += (_MU_MUSCLE - mu[:r_end, :c_end]) * mfrac
        pect = np.zeros((rows, cols), bool)
        pect[:r_end, :c_end] = mfrac > 0
    a_phys = t_in * mu
    a_phys += _MU_SKIN * (t_out - t_in)
    if settings.texture:
        a_phys += cv2.resize(vessels_c, (cols, rows), interpolation=cv2.INTER_LINEAR)
    a_phys *= breast
    # Presentation processing (display only, the photon count is set by a_phys):
    # subtract a fat-equivalent of the local thickness so that fat is mid-grey;
    # this is linear in the log signal, so calcification contrasts are unchanged.
    a_eq = t_out
    a_eq *= np.float32(-fat_sub * _MU_FAT)
    a_eq *= breast
    if settings.domain == Domain.WIDE and settings.texture:
        # Drawn after everything the classic domain draws, so that it stays as it was.
        fatty_c = inside_c & (envelope * g_max / (1.0 + np.exp(-(tex - thr) / width_f)) < 0.15)
        vessels_w, lines = _wide_structures(
            rng, rows=rows, cols=cols, spacing=spacing, k=k, inside_c=inside_c, dskin_c=dskin_c,
            fatty_c=fatty_c, yc=yc, xc=xc, coarse_mm=(cy_mm, cx_mm),
            nipple_mm=(nipple[0] * sr, nipple[1] * sc), depth=depth, fat_mm=fat1,
        )
        lines += cv2.resize(vessels_w, (cols, rows), interpolation=cv2.INTER_LINEAR)
        lines *= breast
        a_phys += lines
        del lines

    # Where calcifications may go (coarse): in the breast, not in the muscle, away
    # from the image border, and (except skin calcifications) away from the skin.
    border = np.minimum(np.minimum(yc, height_mm - yc), np.minimum(xc, width_mm - xc))
    base = inside_c & (muscle_c <= 0) & (border >= _BORDER_MM)
    if view == "MLO":
        # A margin round the muscle edge too.
        base &= muscle_fraction(yc, xc - 2.0) <= 0
    allowed = base & (dskin_c >= _SKIN_MARGIN_MM)
    clear = cv2.distanceTransform(allowed.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * px_c
    skin_clear = cv2.distanceTransform(base.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * px_c

    return _Anatomy(
        a_phys=a_phys.astype(np.float32, copy=False),
        a_eq=a_eq.astype(np.float32, copy=False),
        sdf=sdf,
        breast=breast,
        pectoral=pect,
        nipple=nipple,
        coarse_shape=(rc, cc),
        coarse_mm=(cy_mm, cx_mm),
        clear=clear,
        skin_clear=skin_clear,
        dskin=dskin_c,
        breast_area_mm2=float(inside_c.sum() * cy_mm * cx_mm),
        thickness_mm=float(thick),
        roll_mm=float(roll),
        fat_sub=float(fat_sub),
    )


def _radial_texture(rng, yc, xc, *, nipple, beta, k) -> np.ndarray:
    """Texture streaming towards the nipple: a field in (angle, radius) mapped to the breast."""
    n_ang, n_rad = 1024, 512
    r_max = float(np.hypot(yc.max() - yc.min(), xc.max() - xc.min())) + 1.0
    field = _power_law_noise(rng, (n_ang, n_rad), beta=beta, cutoff=1.0 / 64, stretch=(1.0, 4.0))
    warp = _power_law_noise(rng, (yc.shape[0], xc.shape[1]), beta=3.5, cutoff=0.02)
    dy, dx = yc - nipple[0], xc - nipple[1]
    ang = (np.arctan2(dy, dx) + np.pi + 0.08 * warp) * (n_ang / (2 * np.pi))
    rad = np.sqrt(dy * dy + dx * dx + (25.0 * k) ** 2) * (n_rad / r_max)
    map_x = rad.astype(np.float32)
    map_y = ang.astype(np.float32)
    out = cv2.remap(field, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    out -= out.mean()
    return out / max(float(out.std()), 1e-6)


def _vessel(
    rng, inside_c, dskin_c, yc, xc, coarse_mm, *, nipple_mm, depth, k,
    start_reach=0.35, length_range=(0.4, 0.8), radius_range=(0.6, 1.4), wander=0.02,
) -> np.ndarray:
    """Attenuation (coarse grid) of one soft-tissue blood vessel running towards the nipple.

    It starts within ``start_reach * depth`` of the chest wall; its length is
    drawn in ``length_range * depth`` and its radius (mm, scaled with the
    field of view) in `radius_range`; `wander` is the std of the heading's
    change per mm (rad).
    """
    rc, cc = inside_c.shape
    cand = np.flatnonzero(inside_c & (dskin_c > 8.0 * k) & (xc < start_reach * depth))
    out = np.zeros((rc, cc), np.float32)
    if cand.size == 0:
        return out
    pick = cand[rng.integers(cand.size)]
    p = np.array([yc[pick // cc, 0], xc[0, pick % cc]])
    heading = math.atan2(nipple_mm[0] - p[0], nipple_mm[1] - p[1]) + rng.normal(0, 0.5)
    length = rng.uniform(*length_range) * depth
    step = 1.0
    pts = [p.copy()]
    turn = 0.0
    for _ in range(int(length / step)):
        turn = 0.9 * turn + rng.normal(0, wander)
        heading += turn
        p = p + step * _unit(heading)
        pts.append(p.copy())
    path = np.array(pts)
    canvas = np.full((rc, cc), 255, np.uint8)
    poly = np.round(np.column_stack([path[:, 1] / coarse_mm[1], path[:, 0] / coarse_mm[0]])).astype(np.int32)
    cv2.polylines(canvas, [poly], False, 0, 1)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * coarse_mm[0]
    radius = rng.uniform(*radius_range) * max(k, 0.5)
    chord = 2.0 * np.sqrt(np.maximum(radius * radius - dist * dist, 0.0))
    return ((_MU_BLOOD - _MU_FAT) * chord * inside_c).astype(np.float32)


# --------------------------------------------------------------------------------------
# Wide domain: more vessels, Cooper's ligaments, trabecular strands


def _wide_structures(
    rng, *, rows, cols, spacing, k, inside_c, dskin_c, fatty_c, yc, xc, coarse_mm, nipple_mm, depth, fat_mm
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the wide domain's extra anatomy.

    Returns
    -------
    vessels : (rc, cc) ndarray of float32
        Attenuation of 2-8 more soft-tissue vessels (0.4-2 mm radius, anywhere
        in the front two thirds of the breast), coarse grid.
    lines : (rows, cols) ndarray of float32
        Attenuation of thin bright lines at full resolution: Cooper's ligaments
        (scalloped arcs bulging towards the skin in the subcutaneous fat, and
        curved arcs in fatty areas) and trabecular strands (short straight
        strands pointing at the nipple).
    """
    sr, sc = spacing
    cy, cx = coarse_mm
    rc, cc = inside_c.shape
    vessels = np.zeros((rc, cc), np.float32)
    for _ in range(int(rng.integers(2, 9))):
        vessels += _vessel(
            rng, inside_c, dskin_c, yc, xc, coarse_mm, nipple_mm=nipple_mm, depth=depth, k=k,
            start_reach=0.7, length_range=(0.15, 0.7), radius_range=(0.4, 2.0), wander=0.04,
        )
    vessels *= _smoothstep(dskin_c, 0.0, 2.0)

    lines = np.zeros((rows, cols), np.float32)
    area = float(inside_c.sum()) * cy * cx
    size = max(k, 0.35)  # structures shrink with the field of view, but not below visibility
    gy, gx = np.gradient(dskin_c, cy, cx)
    nipple = np.asarray(nipple_mm, float)

    def pick(mask) -> tuple[np.ndarray, tuple[int, int]] | None:
        cand = np.flatnonzero(mask)
        if cand.size == 0:
            return None
        i, j = divmod(int(cand[rng.integers(cand.size)]), cc)
        return np.array([yc[i, 0], xc[0, j]]), (i, j)

    def draw(points_mm: np.ndarray, width_mm: float, value: float) -> None:
        poly = np.round(np.column_stack([points_mm[:, 1] / sc, points_mm[:, 0] / sr])).astype(np.int32)
        thickness = max(1, round(width_mm / sr))
        cv2.polylines(lines, [poly], False, float(value), thickness, cv2.LINE_8)

    # Cooper's ligaments in the subcutaneous fat: arcs along the skin line that bulge towards it.
    zone = inside_c & (dskin_c >= 1.0) & (dskin_c <= fat_mm + 6.0 * size)
    for _ in range(int(rng.poisson(min(max(area / 500.0, 4.0), 40.0)))):
        got = pick(zone)
        if got is None:
            break
        p, (i, j) = got
        g = np.array([gy[i, j], gx[i, j]])
        g_norm = float(np.hypot(*g))
        to_skin = -g / g_norm if g_norm > 1e-6 else _unit(rng.uniform(0, 2 * np.pi))
        along = np.array([to_skin[1], -to_skin[0]])
        length = rng.uniform(4.0, 20.0) * size
        bulge = length * rng.uniform(0.08, 0.3)
        t = np.linspace(0.0, 1.0, max(8, math.ceil(length / 0.2)))[:, None]
        pts = p + (t - 0.5) * length * along + 4.0 * t * (1.0 - t) * bulge * to_skin
        draw(pts, rng.uniform(0.1, 0.4), rng.uniform(0.04, 0.15))
    # Ligaments crossing fatty areas deeper in: gently curved arcs in any direction.
    deep_fat = fatty_c & (dskin_c > fat_mm)
    for _ in range(int(rng.poisson(min(max(area / 2000.0, 2.0), 15.0)))):
        got = pick(deep_fat)
        if got is None:
            break
        p = got[0]
        theta = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(5.0, 25.0) * size
        curvature = rng.normal(0.0, 1.5 / length)
        s = np.linspace(-0.5 * length, 0.5 * length, max(8, math.ceil(length / 0.2)))
        ang = theta + curvature * s
        pts = p + np.cumsum(np.column_stack([np.sin(ang), np.cos(ang)]) * (s[1] - s[0]), axis=0)
        pts -= pts[len(pts) // 2] - p
        draw(pts, rng.uniform(0.1, 0.35), rng.uniform(0.03, 0.1))
    # Trabecular strands: short, thin, nearly straight, pointing at the nipple.
    tissue = inside_c & (dskin_c > 2.0)
    for _ in range(int(rng.poisson(min(max(area / 250.0, 10.0), 80.0)))):
        got = pick(tissue)
        if got is None:
            break
        p = got[0]
        d = nipple - p
        theta = math.atan2(d[0], d[1]) + rng.normal(0.0, 0.3)
        length = rng.uniform(3.0, 20.0) * size
        pts = p + np.linspace(-0.5, 0.5, 16)[:, None] * length * _unit(theta)[None, :]
        draw(pts, rng.uniform(0.08, 0.25), rng.uniform(0.01, 0.05))
    # Soften the drawn lines to a smooth cross profile (about 0.05 mm of blur).
    sigma_px = max(0.6, 0.05 / sr)
    return vessels, cv2.GaussianBlur(lines, (0, 0), sigma_px)
