"""Calcifications of a synthetic mammogram: shapes, layouts, placement, cluster specs, rendering.

Shapes are small 3-D objects in mm; layouts arrange them as a BI-RADS
distribution; :class:`_Scene` keeps them inside the breast and apart; rendering
gives each one's projected thickness on the pixel grid (supersampled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from calcdetect.lexicon import Distribution, Morphology
from calcdetect.synth._helpers import _unit
from calcdetect.synth.anatomy import _Anatomy
from calcdetect.synth.settings import Domain, SynthSettings

_G = Distribution
_M = Morphology

# Least attenuation of a calcification over tissue (1/mm), so that contrast
# grows with size as it does for real calcium (about 1-2.5 / mm near 20 keV);
# amorphous calcifications are exempt, being faint and hazy by definition.
_MU_CALCIUM_MIN = 0.8

_SS = 4  # calcification supersampling per axis


#: Which distributions each morphology can be planted in (forced content).
_ALLOWED: dict[Morphology, tuple[Distribution, ...]] = {
    _M.PUNCTATE: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.ROUND: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.AMORPHOUS: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
    _M.COARSE_HETEROGENEOUS: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL),
    _M.FINE_PLEOMORPHIC: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL, _G.REGIONAL),
    _M.FINE_LINEAR_BRANCHING: (_G.GROUPED, _G.LINEAR, _G.SEGMENTAL),
    _M.VASCULAR: (_G.LINEAR,),
    _M.COARSE: (_G.GROUPED,),
    _M.RIM: (_G.GROUPED, _G.REGIONAL, _G.DIFFUSE),
    _M.SKIN: (_G.GROUPED,),
    _M.LARGE_RODLIKE: (_G.LINEAR, _G.SEGMENTAL, _G.REGIONAL, _G.DIFFUSE),
}

# The random mix: suspicious-or-punctate (distribution, morphology) pairs and their
# weights, balanced so that every distribution (0.2 each) and every morphology
# (0.16-0.23; round 0.08) is common, so that a few dozen images show every class.
_MIX = {
    (_G.GROUPED, _M.PUNCTATE): 0.03, (_G.GROUPED, _M.ROUND): 0.02, (_G.GROUPED, _M.AMORPHOUS): 0.03,
    (_G.GROUPED, _M.COARSE_HETEROGENEOUS): 0.05, (_G.GROUPED, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.GROUPED, _M.FINE_LINEAR_BRANCHING): 0.03,
    (_G.LINEAR, _M.PUNCTATE): 0.03, (_G.LINEAR, _M.AMORPHOUS): 0.04,
    (_G.LINEAR, _M.FINE_PLEOMORPHIC): 0.05, (_G.LINEAR, _M.FINE_LINEAR_BRANCHING): 0.08,
    (_G.SEGMENTAL, _M.PUNCTATE): 0.03, (_G.SEGMENTAL, _M.AMORPHOUS): 0.04,
    (_G.SEGMENTAL, _M.COARSE_HETEROGENEOUS): 0.04, (_G.SEGMENTAL, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.SEGMENTAL, _M.FINE_LINEAR_BRANCHING): 0.05,
    (_G.REGIONAL, _M.PUNCTATE): 0.03, (_G.REGIONAL, _M.ROUND): 0.02, (_G.REGIONAL, _M.AMORPHOUS): 0.03,
    (_G.REGIONAL, _M.COARSE_HETEROGENEOUS): 0.08, (_G.REGIONAL, _M.FINE_PLEOMORPHIC): 0.04,
    (_G.DIFFUSE, _M.PUNCTATE): 0.07, (_G.DIFFUSE, _M.ROUND): 0.04, (_G.DIFFUSE, _M.AMORPHOUS): 0.09,
}
# Benign distractor clusters: vascular tram-tracks, popcorn, skin calcifications.
_DISTRACTORS = {(_G.LINEAR, _M.VASCULAR): 0.4, (_G.GROUPED, _M.COARSE): 0.25, (_G.GROUPED, _M.SKIN): 0.35}
# The wide domain's benign clusters: calcified vessels of every kind, popcorn, rim,
# skin and secretory (large rod-like) calcifications.
_DISTRACTORS_WIDE = {
    (_G.LINEAR, _M.VASCULAR): 0.35,
    (_G.GROUPED, _M.COARSE): 0.13,
    (_G.GROUPED, _M.SKIN): 0.13,
    (_G.GROUPED, _M.RIM): 0.1,
    (_G.REGIONAL, _M.RIM): 0.04,
    (_G.SEGMENTAL, _M.LARGE_RODLIKE): 0.1,
    (_G.LINEAR, _M.LARGE_RODLIKE): 0.07,
    (_G.DIFFUSE, _M.LARGE_RODLIKE): 0.08,
}
_MIN_MEMBERS = {_G.GROUPED: 3, _G.LINEAR: 3, _G.SEGMENTAL: 5, _G.REGIONAL: 8, _G.DIFFUSE: 10}
_MIN_MEMBERS_BY_MORPHOLOGY = {_M.COARSE: 2, _M.VASCULAR: 3}


def allowed_pairs() -> dict[Morphology, tuple[Distribution, ...]]:
    """Return the distributions each morphology can be planted in.

    Returns
    -------
    dict
        Morphology -> tuple of Distribution accepted by :class:`ClusterSpec`.
    """
    return dict(_ALLOWED)


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster to plant: ``synthesize(clusters=[ClusterSpec(...)])``.

    Attributes
    ----------
    distribution : Distribution
    morphology : Morphology
        Must be a pair listed by :func:`allowed_pairs`.
    cnr : float, optional
        Target median peak contrast over local noise sigma; None draws one.
    """

    distribution: Distribution
    morphology: Morphology
    cnr: float | None = None

    def __post_init__(self):
        try:
            dist = Distribution(self.distribution)
            morph = Morphology(self.morphology)
        except ValueError as exc:
            raise ValueError(f"unknown distribution or morphology in {self!r}: {exc}") from None
        if dist not in _ALLOWED[morph]:
            allowed = ", ".join(_ALLOWED[morph])
            raise ValueError(f"morphology {morph} cannot be planted as {dist}; allowed: {allowed}")
        if self.cnr is not None and not (math.isfinite(self.cnr) and self.cnr > 0):
            raise ValueError(f"cnr must be None or > 0; got {self.cnr!r}")
        object.__setattr__(self, "distribution", dist)
        object.__setattr__(self, "morphology", morph)


# --------------------------------------------------------------------------------------
# Calcification shapes: primitives in mm relative to the object's anchor.


@dataclass(frozen=True)
class _Shape:
    blobs: tuple = ()  # (y, x, z, a, b, h, angle): ellipsoid, in-plane semi-axes a (along angle), b; half-thickness h
    prisms: tuple = ()  # (vertices (n, 2) (y, x) counter-clockwise, z, h, bevel)
    shells: tuple = ()  # (y, x, z, r_out, r_in): spherical shell (lucent centre)
    tubes: tuple = ()  # (points (n, 2), radii (n,)): chain of capsules centred at z = 0
    haze_mm: float = 0.0  # extra Gaussian blur (amorphous)

    def bbox(self) -> tuple[float, float, float, float]:
        ys, xs = [], []
        for y, x, _z, a, b, _h, _t in self.blobs:
            r = max(a, b)
            ys += [y - r, y + r]
            xs += [x - r, x + r]
        for verts, *_ in self.prisms:
            ys += [verts[:, 0].min(), verts[:, 0].max()]
            xs += [verts[:, 1].min(), verts[:, 1].max()]
        for y, x, _z, r, _ri in self.shells:
            ys += [y - r, y + r]
            xs += [x - r, x + r]
        for pts, radii in self.tubes:
            r = float(radii.max())
            ys += [pts[:, 0].min() - r, pts[:, 0].max() + r]
            xs += [pts[:, 1].min() - r, pts[:, 1].max() + r]
        return min(ys), max(ys), min(xs), max(xs)


@dataclass(eq=False)
class _Member:
    shape: _Shape
    anchor: np.ndarray  # (y, x) mm in the left frame
    skeleton: np.ndarray  # (K, 2) absolute mm points the object covers
    radius: float  # half-width of the object round its skeleton, mm


def _speck_member(shape: _Shape, anchor) -> _Member:
    y0, y1, x0, x1 = shape.bbox()
    anchor = np.asarray(anchor, float)
    radius = 0.5 * max(y1 - y0, x1 - x0)
    centre = anchor + [0.5 * (y0 + y1), 0.5 * (x0 + x1)]
    return _Member(shape=shape, anchor=anchor, skeleton=centre[None, :], radius=radius)


def _tube_member(polylines: list[np.ndarray], radii: list[np.ndarray]) -> _Member:
    pts = np.concatenate(polylines)
    anchor = pts.mean(axis=0)
    tubes = tuple((p - anchor, r) for p, r in zip(polylines, radii))
    return _Member(
        shape=_Shape(tubes=tubes), anchor=anchor, skeleton=pts, radius=float(max(r.max() for r in radii))
    )


def _blob(rng, y, x, diameter, *, aspect=1.0, angle=None, z=0.0, flat=(0.8, 1.2)):
    a = 0.5 * diameter * math.sqrt(aspect)
    b = 0.5 * diameter / math.sqrt(aspect)
    ang = rng.uniform(0, np.pi) if angle is None else angle
    h = 0.5 * diameter * rng.uniform(*flat)
    return (float(y), float(x), float(z), a, b, h, float(ang))


def _speck_shape(rng, morph: Morphology, theta: float) -> _Shape:
    """One speck of a speck-like morphology, elongated ones along `theta` (rad)."""
    if morph == _M.PUNCTATE:
        return _Shape(blobs=(_blob(rng, 0, 0, rng.uniform(0.15, 0.45), aspect=rng.uniform(1.0, 1.3)),))
    if morph == _M.ROUND:
        return _Shape(blobs=(_blob(rng, 0, 0, rng.uniform(0.5, 1.0), aspect=rng.uniform(1.0, 1.25)),))
    if morph == _M.AMORPHOUS:
        size = rng.uniform(0.1, 0.25)
        blobs = [_blob(rng, 0, 0, size, aspect=rng.uniform(1.0, 1.5))]
        if rng.random() < 0.4:
            off = 0.3 * size * _unit(rng.uniform(0, 2 * np.pi))
            blobs.append(_blob(rng, off[0], off[1], 0.7 * size, z=rng.normal(0, 0.2 * size)))
        return _Shape(blobs=tuple(blobs), haze_mm=rng.uniform(0.04, 0.1))
    if morph == _M.COARSE_HETEROGENEOUS:
        return _Shape(blobs=_lumpy(rng, rng.uniform(0.5, 1.0), int(rng.integers(3, 7)), (0.18, 0.35)))
    if morph == _M.COARSE:
        return _Shape(blobs=_lumpy(rng, rng.uniform(2.0, 4.0), int(rng.integers(5, 10)), (0.2, 0.33)))
    if morph == _M.FINE_PLEOMORPHIC:
        size = math.exp(rng.uniform(math.log(0.12), math.log(0.5)))
        kind = rng.choice(4, p=(0.35, 0.3, 0.2, 0.15))
        if kind == 0:  # irregular
            return _Shape(blobs=_lumpy(rng, size, int(rng.integers(2, 5)), (0.2, 0.4)))
        if kind == 1:  # angular
            n = int(rng.integers(3, 6))
            angles = (np.arange(n) + rng.uniform(0.3, 0.7, n)) * (2 * np.pi / n) + rng.uniform(0, 2 * np.pi)
            radii = 0.5 * size * rng.uniform(0.6, 1.0, n)
            verts = np.column_stack([radii * np.sin(angles), radii * np.cos(angles)])
            return _Shape(prisms=((verts, 0.0, 0.5 * size * rng.uniform(0.6, 1.0), 0.15 * size),))
        if kind == 2:  # elongated
            ang = theta + rng.normal(0, 0.5)
            return _Shape(blobs=(_blob(rng, 0, 0, size, aspect=rng.uniform(2.0, 3.0), angle=ang),))
        return _Shape(blobs=(_blob(rng, 0, 0, size, aspect=rng.uniform(1.0, 1.4)),))
    if morph == _M.RIM:
        r = 0.5 * rng.uniform(1.0, 3.0)
        return _Shape(shells=((0.0, 0.0, 0.0, r, r - rng.uniform(0.1, 0.25)),))
    if morph == _M.SKIN:
        r = 0.5 * rng.uniform(0.3, 0.8)
        return _Shape(shells=((0.0, 0.0, 0.0, r, r * rng.uniform(0.5, 0.75)),))
    raise ValueError(f"{morph} is not a speck morphology")


def _lumpy(rng, size: float, n: int, frac: tuple[float, float]) -> tuple:
    """Union of `n` ellipsoids making an irregular object about `size` mm across."""
    blobs = []
    for _ in range(n):
        d = size * rng.uniform(*frac) * 2
        off = 0.3 * size * math.sqrt(rng.random()) * _unit(rng.uniform(0, 2 * np.pi))
        blobs.append(_blob(rng, off[0], off[1], d, aspect=rng.uniform(1.0, 1.8), z=rng.normal(0, 0.15 * size)))
    return tuple(blobs)


_PIECE_MORPHS = frozenset({_M.FINE_LINEAR_BRANCHING, _M.LARGE_RODLIKE})


def _piece_radius(rng, morph: Morphology) -> float:
    if morph == _M.FINE_LINEAR_BRANCHING:
        return rng.uniform(0.05, 0.15)  # 0.1-0.3 mm wide
    if morph == _M.LARGE_RODLIKE:
        return rng.uniform(0.25, 0.5)
    return rng.uniform(0.08, 0.2)  # vascular wall


def _vary(rng, radius: float, n: int, lo: float, hi: float) -> np.ndarray:
    return np.clip(radius * (1.0 + 0.2 * rng.standard_normal(n)), lo, hi)


def _radius_limits(morph: Morphology) -> tuple[float, float]:
    return {_M.FINE_LINEAR_BRANCHING: (0.05, 0.15), _M.LARGE_RODLIKE: (0.2, 0.55)}.get(morph, (0.06, 0.25))


def _branch(rng, pts: np.ndarray, radius: float, morph: Morphology):
    """A short side branch (Y shape) leaving an interior vertex of `pts` forwards."""
    if len(pts) < 3:
        return None
    j = int(rng.integers(1, len(pts) - 1))
    t = pts[min(j + 1, len(pts) - 1)] - pts[j - 1]
    ang = math.atan2(t[0], t[1]) + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.35, 0.8)
    length = rng.uniform(0.5, 2.0)
    n = max(2, math.ceil(length / 0.3) + 1)
    s = np.linspace(0, length, n)[:, None]
    bend = rng.normal(0, 0.15)
    angs = ang + bend * s[:, 0]
    steps = np.column_stack([np.sin(angs), np.cos(angs)]) * (length / (n - 1))
    steps[0] = 0
    b = pts[j] + np.cumsum(steps, axis=0)
    lo, hi = _radius_limits(morph)
    return b, _vary(rng, 0.8 * radius, n, lo, hi)


# --------------------------------------------------------------------------------------
# Paths (polylines in mm, 0.1 mm steps)


def _arc(start, theta: float, length: float, curvature: float, step: float = 0.1) -> np.ndarray:
    n = max(2, math.ceil(length / step) + 1)
    s = np.linspace(0.0, length, n)
    ang = theta + curvature * s
    d = np.column_stack([np.sin(ang), np.cos(ang)]) * (length / (n - 1))
    d[0] = 0
    return np.asarray(start, float) + np.cumsum(d, axis=0)


def _arclength(path: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])


def _sub_path(path, s_cum, s0, s1, step=0.3) -> np.ndarray:
    n = max(2, math.ceil((s1 - s0) / step) + 1)
    s = np.linspace(s0, s1, n)
    return np.column_stack([np.interp(s, s_cum, path[:, 0]), np.interp(s, s_cum, path[:, 1])])


def _tangent_at(path, s_cum, s) -> float:
    i = int(np.clip(np.searchsorted(s_cum, s), 1, len(path) - 1))
    d = path[i] - path[i - 1]
    return math.atan2(d[0], d[1])


def _duct_tree(rng, apex, theta: float, length: float) -> list[tuple[np.ndarray, int]]:
    """A branching duct (segment) from `apex` spreading along `theta` within a wedge.

    Returns (path, parent index or -1) per branch.
    """
    half_wedge = rng.uniform(0.25, 0.5)
    axis = _unit(theta)
    branches: list[tuple[np.ndarray, int]] = []
    stack = [(np.asarray(apex, float), theta, length * rng.uniform(0.25, 0.35), 0, -1)]
    while stack:
        p, th, seg, depth, parent = stack.pop()
        path = _arc(p, th, seg, rng.normal(0, 0.02))
        branches.append((path, parent))
        me = len(branches) - 1
        end = path[-1]
        remaining = length - float((end - apex) @ axis)
        if depth < 4 and remaining > 3.0 and len(branches) < 24:
            for sign in (1, -1):
                if sign == -1 and rng.random() < 0.2:
                    continue
                th2 = float(np.clip(th + sign * rng.uniform(0.2, 0.6), theta - half_wedge, theta + half_wedge))
                seg2 = min(remaining, seg * rng.uniform(0.7, 1.0) + rng.uniform(1.0, 4.0))
                stack.append((end, th2, seg2, depth + 1, me))
    return branches


# --------------------------------------------------------------------------------------
# Placement


_PLACEMENT_ORDER = {_G.SEGMENTAL: 0, _G.REGIONAL: 1, _G.LINEAR: 2, _G.GROUPED: 3, _G.DIFFUSE: 4}


class _Scene:
    """What has been placed, and where more may go."""

    def __init__(self, *, anatomy: _Anatomy, spacing, settings: SynthSettings, forbidden=None):
        self.anatomy = anatomy
        self.spacing = spacing
        self.gap = float(settings.cluster_gap_mm)
        self.wide = settings.domain == Domain.WIDE
        self.occupied = np.zeros((0, 2))
        rows, cols = anatomy.sdf.shape
        self.full_shape = (rows, cols)
        self.nipple_mm = np.array([anatomy.nipple[0] * spacing[0], anatomy.nipple[1] * spacing[1]])
        self.slack = 0.75 * max(anatomy.coarse_mm)
        # Distance (mm, coarse) to the nearest place a calcification may not be; `forbidden`
        # (coarse bool, wide domain) adds where the acquisition would flatten one.
        self.clear = anatomy.clear
        if forbidden is not None and forbidden.any():
            allowed = ((anatomy.clear > 0) & ~forbidden).astype(np.uint8)
            px = 0.5 * (anatomy.coarse_mm[0] + anatomy.coarse_mm[1])
            self.clear = cv2.distanceTransform(allowed, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * px
        self.max_extent = 2.0 * float(self.clear.max()) * 0.9
        self._occ = np.zeros(anatomy.coarse_shape, bool)  # coarse pixels holding a calcification
        self._occ_dist: np.ndarray | None = None  # distance (mm) to the nearest of them, computed when needed

    def _coarse_index(self, pts):
        rc, cc = self.anatomy.coarse_shape
        rows, cols = self.full_shape
        i = np.clip(np.round((pts[:, 0] / self.spacing[0] + 0.5) * rc / rows - 0.5), 0, rc - 1).astype(int)
        j = np.clip(np.round((pts[:, 1] / self.spacing[1] + 0.5) * cc / cols - 0.5), 0, cc - 1).astype(int)
        return i, j

    def clearance(self, pts, *, skin=False) -> np.ndarray:
        i, j = self._coarse_index(pts)
        return (self.anatomy.skin_clear if skin else self.clear)[i, j] - self.slack

    def sdf(self, pts) -> np.ndarray:
        rows, cols = self.full_shape
        i = np.clip(np.round(pts[:, 0] / self.spacing[0]), 0, rows - 1).astype(int)
        j = np.clip(np.round(pts[:, 1] / self.spacing[1]), 0, cols - 1).astype(int)
        return self.anatomy.sdf[i, j]

    def fits(self, m: _Member, *, skin=False) -> bool:
        if np.any(self.clearance(m.skeleton, skin=skin) < m.radius):
            return False
        if np.any(self.sdf(m.skeleton) < m.radius + 0.2):
            return False
        return True

    def far_from_others(self, pts, gap=None) -> bool:
        gap = self.gap if gap is None else gap
        if not len(self.occupied) or gap <= 0:
            return True
        d2 = ((pts[:, None, :] - self.occupied[None, :, :]) ** 2).sum(-1)
        return bool(d2.min() >= gap * gap)

    def occupy(self, members: list[_Member]) -> None:
        pts = np.concatenate([m.skeleton for m in members])
        self.occupied = np.concatenate([self.occupied, pts])
        i, j = self._coarse_index(pts)
        self._occ[i, j] = True
        self._occ_dist = None

    def occupied_distance(self) -> np.ndarray:
        """Coarse map: distance (mm) to the nearest placed calcification (a lower bound)."""
        if self._occ_dist is None:
            if self._occ.any():
                free = (~self._occ).astype(np.uint8)
                d = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
                self._occ_dist = d * min(self.anatomy.coarse_mm) - self.slack
            else:
                self._occ_dist = np.full(self.anatomy.coarse_shape, np.inf, np.float32)
        return self._occ_dist

    def pick_centre(self, rng, radius: float, *, skin=False, gap=None) -> np.ndarray | None:
        """A random point whose surroundings of `radius` mm are allowed and at least
        `gap` mm (default: the cluster gap) from anything placed."""
        a = self.anatomy
        gap = self.gap if gap is None else gap
        if skin:
            ok = (a.skin_clear > 1.0) & (a.dskin >= 1.0) & (a.dskin <= 3.0)
        else:
            ok = self.clear >= radius + self.slack
        ok &= self.occupied_distance() >= radius + gap
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            return None
        idx = cand[rng.integers(cand.size)]
        rc, cc = a.coarse_shape
        rows, cols = self.full_shape
        i, j = divmod(int(idx), cc)
        y = ((i + rng.uniform(0, 1)) * rows / rc - 0.5) * self.spacing[0]
        x = ((j + rng.uniform(0, 1)) * cols / cc - 0.5) * self.spacing[1]
        return np.array([y, x])

    def nipple_angle(self, p) -> float:
        d = self.nipple_mm - p
        return math.atan2(d[0], d[1])


def _place_cluster(rng, scene: _Scene, spec: ClusterSpec) -> list[_Member] | None:
    dist, morph = spec.distribution, spec.morphology
    need = _MIN_MEMBERS_BY_MORPHOLOGY.get(morph, _MIN_MEMBERS[dist])
    skin = morph == _M.SKIN
    for attempt in range(40):
        shrink = 0.85 ** (attempt // 4)
        members = _layout(rng, scene, spec, shrink)
        if not members:
            continue
        planned = len(members)
        members = [m for m in members if scene.fits(m, skin=skin)]
        if dist != _G.DIFFUSE and len(members) < 0.75 * planned:
            continue  # most of it fell outside the breast: place it elsewhere
        if skin:
            members = [m for m in members if scene.sdf(m.skeleton).max() <= 3.5]
        if dist == _G.DIFFUSE:
            members = [m for m in members if scene.far_from_others(m.skeleton)]
        if len(members) < need:
            continue
        if not scene.far_from_others(np.concatenate([m.skeleton for m in members])):
            continue
        return members
    return None


_EXTENT_MM = {  # drawn extent and the least extent that still honours the descriptor
    _G.GROUPED: ((3.0, 10.0), 2.0),
    _G.LINEAR: ((10.0, 30.0), 8.0),
    _G.SEGMENTAL: ((20.0, 50.0), 15.0),
    _G.REGIONAL: ((25.0, 50.0), 21.0),
}


def _extent(rng, scene: _Scene, dist: Distribution, shrink: float) -> float | None:
    """Nominal size of a cluster (mm), capped to fit the breast; None when it cannot fit."""
    (lo, hi), least = _EXTENT_MM[dist]
    if dist == _G.GROUPED and rng.random() < 0.2:
        lo, hi = 10.0, 15.0
    size = min(rng.uniform(lo, hi) * shrink, scene.max_extent)
    return size if size >= least else None


def _layout(rng, scene: _Scene, spec: ClusterSpec, shrink: float) -> list[_Member]:
    """Members of one cluster (unchecked against the breast), or [] on failure."""
    dist, morph = spec.distribution, spec.morphology
    if morph == _M.VASCULAR:
        return _layout_vascular_wide(rng, scene, shrink) if scene.wide else _layout_vascular(rng, scene, shrink)
    if morph == _M.SKIN:
        return _layout_skin(rng, scene)
    if dist == _G.DIFFUSE:
        return _layout_diffuse(rng, scene, morph)
    size = _extent(rng, scene, dist, shrink)
    if size is None:
        return []
    if morph == _M.COARSE:
        size = max(size, 8.0)  # 2-4 blobs of 2-4 mm need room
    foot = 0.5 * size + 1.0
    centre = scene.pick_centre(rng, foot)
    if centre is None:
        return []
    theta_n = scene.nipple_angle(centre)
    if dist == _G.GROUPED:
        if morph in _PIECE_MORPHS:
            return _pieces_in_disc(rng, morph, centre, 0.5 * size, theta_n, int(rng.integers(3, 9)))
        if morph == _M.COARSE:
            return _specks_in_disc(rng, morph, centre, 0.5 * size - 1.5, theta_n, int(rng.integers(2, 5)), 1.0)
        return _specks_in_disc(rng, morph, centre, 0.5 * size, theta_n, int(rng.integers(5, 16)), 0.3)
    if dist == _G.REGIONAL:
        n = int(rng.integers(15, 41))
        if morph in _PIECE_MORPHS:
            return _pieces_in_disc(rng, morph, centre, 0.5 * size, theta_n, n // 2, aspect=rng.uniform(0.5, 0.9))
        return _specks_in_disc(rng, morph, centre, 0.5 * size, theta_n, n, 1.5, aspect=rng.uniform(0.5, 0.9))
    if dist == _G.LINEAR:
        theta = theta_n + rng.normal(0, 0.35)
        curv = rng.normal(0, 0.5 / size)
        path = _arc((0, 0), theta, size, curv)
        path += centre - path[len(path) // 2]
        paths = [(path, -1)]
    else:  # segmental: a duct tree whose apex points to the nipple
        axis = theta_n + np.pi + rng.normal(0, 0.15)
        apex = centre - 0.5 * size * _unit(axis)
        paths = _duct_tree(rng, apex, axis, size)
    if morph in _PIECE_MORPHS:
        return _pieces_on_paths(rng, morph, paths)
    return _specks_on_paths(rng, morph, paths, dense=dist == _G.LINEAR)


def _too_close(member: _Member, members: list[_Member], sep: float) -> bool:
    for other in members:
        d2 = ((member.skeleton[:, None, :] - other.skeleton[None, :, :]) ** 2).sum(-1)
        if d2.min() < (member.radius + other.radius + sep) ** 2:
            return True
    return False


def _specks_in_disc(rng, morph, centre, radius, theta_n, n, sep, *, aspect=1.0) -> list[_Member]:
    """`n` specks uniformly in an ellipse (semi-axes radius, radius*aspect) round `centre`."""
    members: list[_Member] = []
    orient = rng.uniform(0, np.pi)
    for _ in range(n):
        shape = _speck_shape(rng, morph, theta_n + rng.normal(0, 0.4))
        for _try in range(30):
            r = radius * math.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            u, v = r * math.cos(phi), aspect * r * math.sin(phi)
            off = u * _unit(orient) + v * _unit(orient + np.pi / 2)
            m = _speck_member(shape, centre + off)
            if not _too_close(m, members, sep):
                members.append(m)
                break
    return members


def _piece_along(rng, morph, start, theta, length) -> _Member:
    path = _arc(start, theta, length, rng.normal(0, 0.15), step=0.3)
    radius = _piece_radius(rng, morph)
    lo, hi = _radius_limits(morph)
    polys, radii = [path], [_vary(rng, radius, len(path), lo, hi)]
    if morph == _M.FINE_LINEAR_BRANCHING and rng.random() < 0.4:
        br = _branch(rng, path, radius, morph)
        if br is not None:
            polys.append(br[0])
            radii.append(br[1])
    return _tube_member(polys, radii)


def _piece_length(rng, morph, limit: float) -> float:
    if morph == _M.LARGE_RODLIKE:
        return min(rng.uniform(3.0, 10.0), limit)
    return min(rng.uniform(1.0, 3.5), limit)


def _pieces_in_disc(rng, morph, centre, radius, theta_n, n, *, aspect=1.0) -> list[_Member]:
    members: list[_Member] = []
    orient = rng.uniform(0, np.pi)
    for _ in range(n):
        for _try in range(30):
            r = radius * math.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            off = r * math.cos(phi) * _unit(orient) + aspect * r * math.sin(phi) * _unit(orient + np.pi / 2)
            length = _piece_length(rng, morph, max(1.0, 1.2 * radius))
            theta = theta_n + np.pi + rng.normal(0, 0.5)
            start = centre + off - 0.5 * length * _unit(theta)
            m = _piece_along(rng, morph, start, theta, length)
            if not _too_close(m, members, 0.5):
                members.append(m)
                break
    return members


def _specks_on_paths(rng, morph, paths, *, dense: bool) -> list[_Member]:
    members: list[_Member] = []
    for path, _parent in paths:
        s_cum = _arclength(path)
        step_lo, step_hi = (0.8, 2.5) if dense else (1.5, 3.0)
        if morph in (_M.ROUND, _M.COARSE_HETEROGENEOUS, _M.COARSE):
            step_lo, step_hi = step_lo + 1.0, step_hi + 1.5
        s = rng.uniform(0, step_hi)
        while s < s_cum[-1] and len(members) < 60:
            theta = _tangent_at(path, s_cum, s)
            p = np.array([np.interp(s, s_cum, path[:, 0]), np.interp(s, s_cum, path[:, 1])])
            p += rng.normal(0, 0.2) * _unit(theta + np.pi / 2)
            m = _speck_member(_speck_shape(rng, morph, theta), p)
            if not _too_close(m, members, 0.3):
                members.append(m)
            s += rng.uniform(step_lo, step_hi)
    return members


def _pieces_on_paths(rng, morph, paths) -> list[_Member]:
    """Discontinuous casts along duct paths; Y-shaped pieces at some branch points."""
    lo, hi = _radius_limits(morph)
    children: dict[int, list[int]] = {}
    for k, (_p, parent) in enumerate(paths):
        children.setdefault(parent, []).append(k)
    head = {k: 0.0 for k in range(len(paths))}  # reserved length at the start of each branch
    tail = {k: 0.0 for k in range(len(paths))}
    members: list[_Member] = []
    if morph == _M.FINE_LINEAR_BRANCHING:
        for k, (path, _parent) in enumerate(paths):
            kids = children.get(k, [])
            if kids and rng.random() < 0.6:
                s_cum = _arclength(path)
                back = min(rng.uniform(0.6, 1.5), 0.5 * s_cum[-1])
                polys = [_sub_path(path, s_cum, s_cum[-1] - back, s_cum[-1])]
                tail[k] = back
                for kid in kids:
                    kp = paths[kid][0]
                    ks = _arclength(kp)
                    fwd = min(rng.uniform(0.6, 1.5), 0.5 * ks[-1])
                    polys.append(_sub_path(kp, ks, 0.0, fwd))
                    head[kid] = fwd
                radius = _piece_radius(rng, morph)
                members.append(_tube_member(polys, [_vary(rng, radius, len(p), lo, hi) for p in polys]))
    for k, (path, _parent) in enumerate(paths):
        s_cum = _arclength(path)
        s = head[k] + (rng.uniform(0.5, 2.0) if head[k] > 0 else rng.uniform(0, 2.0))
        end = s_cum[-1] - tail[k] - (rng.uniform(0.5, 2.0) if tail[k] > 0 else 0.0)
        while s < end - 0.5:
            length = min(_piece_length(rng, morph, 5.0), end - s)
            if length < 0.7:
                break
            poly = _sub_path(path, s_cum, s, s + length)
            poly += rng.normal(0, 0.05, poly.shape)
            radius = _piece_radius(rng, morph)
            polys, radii = [poly], [_vary(rng, radius, len(poly), lo, hi)]
            if morph == _M.FINE_LINEAR_BRANCHING and rng.random() < 0.35:
                br = _branch(rng, poly, radius, morph)
                if br is not None:
                    polys.append(br[0])
                    radii.append(br[1])
            m = _tube_member(polys, radii)
            if not _too_close(m, members, 0.3):
                members.append(m)
            s += length + rng.uniform(0.5, 3.0)
    return members


def _layout_vascular(rng, scene: _Scene, shrink: float) -> list[_Member]:
    """Tram-track: two parallel discontinuous lines 1-2 mm apart, 15-40 mm long."""
    length = min(rng.uniform(15.0, 40.0), scene.max_extent) * shrink
    centre = scene.pick_centre(rng, 0.5 * length + 2.0)
    if centre is None:
        return []
    theta = scene.nipple_angle(centre) + rng.normal(0, 0.6)
    path = _arc((0, 0), theta, length, rng.normal(0, 0.4 / length))
    path += centre - path[len(path) // 2]
    s_cum = _arclength(path)
    tang = np.gradient(path, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    normal = np.column_stack([tang[:, 1], -tang[:, 0]])
    sep = rng.uniform(1.0, 2.0)
    radius = _piece_radius(rng, _M.VASCULAR)
    members = []
    for side in (0.5, -0.5):
        rail = path + side * sep * normal
        s = rng.uniform(0, 2.0)
        while s < s_cum[-1] - 1.0:
            seg = min(rng.uniform(2.0, 8.0), s_cum[-1] - s)
            if seg < 1.0:
                break
            poly = _sub_path(rail, s_cum, s, s + seg)
            members.append(_tube_member([poly], [_vary(rng, radius, len(poly), 0.06, 0.25)]))
            s += seg + rng.uniform(0.5, 3.0)
    return members


def _layout_vascular_wide(rng, scene: _Scene, shrink: float) -> list[_Member]:
    """Calcified vessels of the wide domain: every length, wall separation and dash pattern.

    Two times in three, one vessel: a wavy path 4-80 mm long (log-uniform), one
    wall (a quarter of them) or two 0.5-3.5 mm apart, each broken into pieces
    whose mean length (0.4-12 mm) and mean gap (0.3-6 mm) are drawn per vessel,
    from dotted walls to nearly continuous tram-tracks, 0.1-0.9 mm thick.
    Otherwise (a third of the draws; networks fail to fit small breasts more
    often, so fewer are planted) a calcified network, as arteriosclerosis
    calcifies a breast's arteries together: a first vessel 20-80 mm long and
    1-4 more, half to fully as long, roughly parallel and 3-20 mm to its
    side (they may cross each other), each with two thick walls 0.8-2.5 mm
    apart calcified nearly all along (pieces 0.8-6 mm, gaps 0.2-1.2 mm), as on
    digitised film of older women. One member per wall piece.
    """
    length = min(math.exp(rng.uniform(math.log(4.0), math.log(80.0))), scene.max_extent) * shrink
    network = rng.random() < 1.0 / 3.0
    if network:
        length = min(rng.uniform(20.0, 80.0), scene.max_extent) * shrink
    if length < 3.0:
        return []
    n_vessels = int(rng.integers(2, 6)) if network else 1
    centre = scene.pick_centre(rng, 0.5 * length + 2.0 + (10.0 if network else 0.0))
    if centre is None:
        return []
    heading = scene.nipple_angle(centre) + rng.normal(0, 0.8)
    members: list[_Member] = []
    for v in range(n_vessels):
        start = centre
        if v:  # the next vessel of the network: beside the first, roughly parallel
            side = _unit(heading + np.pi / 2)
            start = (centre + side * rng.choice((-1.0, 1.0)) * rng.uniform(3.0, 20.0)
                     + _unit(heading) * rng.normal(0, 5.0))
        path = _wavy_path(rng, start, heading + (rng.normal(0, 0.25) if v else 0.0),
                          length * (rng.uniform(0.5, 1.0) if v else 1.0))
        members += _vessel_walls(rng, path, heavy=network, limit=150 * n_vessels - len(members))
    return members


def _wavy_path(rng, centre, heading: float, length: float) -> np.ndarray:
    """A gently curving path (mm, (n, 2)) `length` mm long, centred on `centre`."""
    n = max(2, math.ceil(length / 0.1) + 1)
    bend = rng.normal(0, 0.4 / length)
    turns = np.zeros(n)
    turn = 0.0
    for i in range(1, n):
        turn = 0.97 * turn + rng.normal(0, 0.003)
        turns[i] = turn + bend * 0.1
    ang = heading + np.cumsum(turns)
    steps = np.column_stack([np.sin(ang), np.cos(ang)]) * (length / (n - 1))
    steps[0] = 0
    path = np.cumsum(steps, axis=0)
    return path + (centre - path[len(path) // 2])


def _vessel_walls(rng, path: np.ndarray, *, heavy: bool, limit: int) -> list[_Member]:
    """The calcified wall pieces along a vessel's `path` (see :func:`_layout_vascular_wide`)."""
    s_cum = _arclength(path)
    tang = np.gradient(path, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    normal = np.column_stack([tang[:, 1], -tang[:, 0]])
    sep = rng.uniform(0.5, 3.5)
    sides = (0.5, -0.5) if rng.random() >= 0.25 else (0.0,)
    if heavy:
        sep, sides = rng.uniform(0.8, 2.5), (0.5, -0.5)
        radius = rng.uniform(0.1, 0.4)
        dash = math.exp(rng.uniform(math.log(0.8), math.log(6.0)))
        gap = math.exp(rng.uniform(math.log(0.2), math.log(1.2)))
    else:
        radius = rng.uniform(0.05, 0.3)
        if rng.random() < 0.15:  # nearly continuous
            dash, gap = rng.uniform(5.0, 20.0), rng.uniform(0.2, 0.5)
        else:
            dash = math.exp(rng.uniform(math.log(0.4), math.log(12.0)))
            gap = math.exp(rng.uniform(math.log(0.3), math.log(6.0)))
    members: list[_Member] = []
    for side in sides:
        rail = path + side * sep * normal
        s = rng.uniform(0, gap)
        while s < s_cum[-1] - 0.3 and len(members) < limit:
            seg = min(dash * math.exp(rng.normal(0, 0.4)), s_cum[-1] - s)
            if seg < 0.2:
                break
            poly = _sub_path(rail, s_cum, s, s + seg, step=min(0.3, 0.5 * seg))
            members.append(_tube_member([poly], [_vary(rng, radius, len(poly), 0.04, 0.5)]))
            s += seg + gap * math.exp(rng.normal(0, 0.5))
    return members


def _layout_skin(rng, scene: _Scene) -> list[_Member]:
    """A tight group (< 5 mm) of lucent-centred specks within about 3 mm of the skin line."""
    centre = scene.pick_centre(rng, 0.0, skin=True)
    if centre is None:
        return []
    radius = rng.uniform(1.0, 2.3)
    return _specks_in_disc(rng, _M.SKIN, centre, radius, 0.0, int(rng.integers(3, 9)), 0.2)


def _layout_diffuse(rng, scene: _Scene, morph) -> list[_Member]:
    """Specks scattered at random throughout the breast."""
    area = scene.anatomy.breast_area_mm2
    n = max(15, round(rng.uniform(30, 80) * min(1.0, area / 12000.0)))
    members: list[_Member] = []
    for _ in range(n):
        shape = _speck_shape(rng, morph, rng.uniform(0, np.pi)) if morph not in _PIECE_MORPHS else None
        for _try in range(20):
            centre = scene.pick_centre(rng, 1.0)
            if centre is None:
                return []
            if shape is None:
                m = _piece_along(rng, morph, centre, scene.nipple_angle(centre) + np.pi, _piece_length(rng, morph, 8.0))
            else:
                m = _speck_member(shape, centre)
            if not _too_close(m, members, 3.0):
                members.append(m)
                break
    return members


def _place_isolated(rng, scene: _Scene, n: int, cnr_range) -> list[tuple[_Member, float]]:
    out: list[tuple[_Member, float]] = []
    gap = max(scene.gap, 12.0)
    for _ in range(n):
        morph = _M.PUNCTATE if rng.random() < 0.6 else _M.ROUND
        shape = _speck_shape(rng, morph, 0.0)
        cnr = cnr_range[0] + (cnr_range[1] - cnr_range[0]) * rng.beta(2.0, 1.0)
        for _try in range(30):
            centre = scene.pick_centre(rng, 1.5, gap=gap)
            if centre is None:
                return out
            m = _speck_member(shape, centre)
            if scene.fits(m) and scene.far_from_others(m.skeleton, gap):
                scene.occupy([m])
                out.append((m, cnr))
                break
    return out


# --------------------------------------------------------------------------------------
# Content draws


def balanced_specs(index: int) -> list[ClusterSpec]:
    """The two clusters of image `index` of a balanced set (see ``SynthSettings.balanced``)."""
    pairs = sorted(set(_MIX) | set(_DISTRACTORS))
    morphologies = sorted({m for _, m in pairs})
    distributions = sorted({d for d, _ in _MIX})
    morphology = morphologies[index % len(morphologies)]
    with_morphology = [p for p in pairs if p[1] == morphology]
    distribution = distributions[index % len(distributions)]
    with_distribution = [p for p in sorted(_MIX) if p[0] == distribution]
    first = with_morphology[(index // len(morphologies)) % len(with_morphology)]
    second = with_distribution[(index // len(distributions)) % len(with_distribution)]
    return [ClusterSpec(*first), ClusterSpec(*second)]


def _draw_pair(rng, table: dict) -> ClusterSpec:
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    dist, morph = keys[rng.choice(len(keys), p=p / p.sum())]
    return ClusterSpec(dist, morph)


def _draw_content(rng, settings: SynthSettings) -> tuple[list[ClusterSpec], int]:
    """Draw the clusters and the number of isolated specks of one image."""
    if settings.domain == Domain.WIDE:
        return _draw_content_wide(rng, settings)
    specs: list[ClusterSpec] = []
    if rng.random() >= settings.normal_fraction:
        benign_only = rng.random() < 0.1
        if not benign_only:
            k = 1 + int(rng.binomial(settings.max_clusters - 1, 0.55))
            specs += [_draw_pair(rng, _MIX) for _ in range(k)]
        if benign_only or rng.random() < settings.benign_fraction:
            nb = 1 if rng.random() < 0.8 else 2
            specs += [_draw_pair(rng, _DISTRACTORS) for _ in range(nb)]
    n_iso = int(rng.integers(1, 5)) if rng.random() < settings.isolated_fraction else 0
    return specs, n_iso


def _draw_content_wide(rng, settings: SynthSettings) -> tuple[list[ClusterSpec], int]:
    """The wide domain's draw: benign clusters more often, and more of them."""
    specs: list[ClusterSpec] = []
    if rng.random() >= settings.normal_fraction:
        benign_only = rng.random() < 0.2
        if not benign_only:
            k = 1 + int(rng.binomial(settings.max_clusters - 1, 0.5))
            specs += [_draw_pair(rng, _MIX) for _ in range(k)]
        if benign_only or rng.random() < settings.benign_fraction:
            nb = 1 + int(rng.binomial(2, 0.3))
            specs += [_draw_pair(rng, _DISTRACTORS_WIDE) for _ in range(nb)]
    n_iso = int(rng.integers(1, 6)) if rng.random() < settings.isolated_fraction else 0
    return specs, n_iso


def _draw_cnr(rng, morph: Morphology, cnr_range: tuple[float, float]) -> float:
    """Target CNR of a cluster: mostly clearly visible, some near threshold."""
    lo, hi = cnr_range
    span = hi - lo
    if morph == _M.AMORPHOUS:  # faint, hazy
        return lo + span * 0.6 * rng.beta(1.5, 2.0)
    if morph in (_M.COARSE_HETEROGENEOUS, _M.ROUND, _M.SKIN, _M.RIM):  # conspicuous
        return lo + span * (0.4 + 0.6 * rng.beta(2.0, 1.0))
    if morph in (_M.COARSE, _M.LARGE_RODLIKE):  # dense benign calcium, mm thick
        return hi * rng.uniform(3.0, 6.0)
    if morph == _M.VASCULAR:
        return lo + span * rng.beta(2.0, 1.5)
    return lo + span * rng.beta(1.8, 1.0)


# --------------------------------------------------------------------------------------
# Rendering


@dataclass(eq=False)
class _Rendered:
    r0: int
    c0: int
    patch: np.ndarray  # (h, w) float32 mean projected thickness per pixel, mm
    peak: float  # peak of the patch after the detector blur, mm
    blurred: np.ndarray  # (h, w) float32 the patch after the detector blur, mm
    row: float
    col: float
    diameter_mm: float
    length_mm: float
    width_mm: float


def _thickness(shape: _Shape, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Projected thickness (mm) of the union of a shape's primitives on the grid ys x xs (mm)."""
    H, W = len(ys), len(xs)
    los, his = [], []

    def window(y0, y1, x0, x1):
        i0, i1 = np.searchsorted(ys, y0), np.searchsorted(ys, y1, side="right")
        j0, j1 = np.searchsorted(xs, x0), np.searchsorted(xs, x1, side="right")
        return slice(i0, i1), slice(j0, j1)

    if shape.tubes:
        half = np.zeros((H, W))
        for pts, radii in shape.tubes:
            for k in range(len(pts) - 1):
                p0, p1 = pts[k], pts[k + 1]
                r0, r1 = float(radii[k]), float(radii[k + 1])
                r = max(r0, r1)
                lo_pt, hi_pt = np.minimum(p0, p1) - r, np.maximum(p0, p1) + r
                sy, sx = window(lo_pt[0], hi_pt[0], lo_pt[1], hi_pt[1])
                Y = ys[sy][:, None] - p0[0]
                X = xs[sx][None, :] - p0[1]
                d = p1 - p0
                L2 = max(float(d @ d), 1e-12)
                t = np.clip((Y * d[0] + X * d[1]) / L2, 0.0, 1.0)
                rho2 = (Y - t * d[0]) ** 2 + (X - t * d[1]) ** 2
                rr = r0 + t * (r1 - r0)
                h = np.sqrt(np.maximum(rr * rr - rho2, 0.0))
                np.maximum(half[sy, sx], h, out=half[sy, sx])
        los.append(-half)
        his.append(half)
    for y, x, z, a, b, h, ang in shape.blobs:
        r = max(a, b)
        sy, sx = window(y - r, y + r, x - r, x + r)
        Y = ys[sy][:, None] - y
        X = xs[sx][None, :] - x
        c, s = math.cos(ang), math.sin(ang)
        u = (X * c + Y * s) / a
        v = (-X * s + Y * c) / b
        hh = h * np.sqrt(np.maximum(1.0 - u * u - v * v, 0.0))
        lo = np.full((H, W), z)
        hi = np.full((H, W), z)
        lo[sy, sx] -= hh
        hi[sy, sx] += hh
        los.append(lo)
        his.append(hi)
    for verts, z, h, bevel in shape.prisms:
        Y = ys[:, None]
        X = xs[None, :]
        depth = np.full((H, W), np.inf)
        n = len(verts)
        for k in range(n):
            p0, p1 = verts[k], verts[(k + 1) % n]
            e = p1 - p0
            norm = math.hypot(*e)
            # inside of a counter-clockwise polygon (in (x, y)) is on the left of each edge
            dist = ((Y - p0[0]) * e[1] - (X - p0[1]) * e[0]) / norm
            np.minimum(depth, dist, out=depth)
        hh = h * np.sqrt(np.clip(depth / bevel, 0.0, 1.0))
        los.append(z - hh)
        his.append(z + hh)
    for y, x, z, ro, ri in shape.shells:
        rho2 = (ys[:, None] - y) ** 2 + (xs[None, :] - x) ** 2
        ho = np.sqrt(np.maximum(ro * ro - rho2, 0.0))
        hi_ = np.sqrt(np.maximum(ri * ri - rho2, 0.0))
        los += [z - ho, z + hi_]
        his += [z - hi_, z + ho]
    if len(los) == 1:
        return his[0] - los[0]
    lo = np.stack(los)
    hi = np.stack(his)
    order = np.argsort(lo, axis=0)
    lo = np.take_along_axis(lo, order, axis=0)
    hi = np.take_along_axis(hi, order, axis=0)
    total = np.zeros((H, W))
    end = np.full((H, W), -np.inf)
    for k in range(len(lo)):
        total += np.maximum(hi[k] - np.maximum(lo[k], end), 0.0)
        np.maximum(end, hi[k], out=end)
    return total


def _render_member(m: _Member, spacing, kernel: np.ndarray) -> _Rendered:
    sr, sc = spacing
    y0, y1, x0, x1 = m.shape.bbox()
    ar, ac = m.anchor[0] / sr, m.anchor[1] / sc  # anchor in px
    haze_px = m.shape.haze_mm / sr
    margin = math.ceil(3 * haze_px) + len(kernel) // 2 + 2
    r0 = math.floor(ar + y0 / sr) - margin
    r1 = math.ceil(ar + y1 / sr) + margin + 1
    c0 = math.floor(ac + x0 / sc) - margin
    c1 = math.ceil(ac + x1 / sc) + margin + 1
    h, w = r1 - r0, c1 - c0
    sub = (np.arange(_SS) + 0.5) / _SS - 0.5
    ys = ((np.arange(r0, r1)[:, None] + sub[None, :]).ravel() - ar) * sr
    xs = ((np.arange(c0, c1)[:, None] + sub[None, :]).ravel() - ac) * sc
    t = _thickness(m.shape, ys, xs)
    patch = t.reshape(h, _SS, w, _SS).mean(axis=(1, 3)).astype(np.float32)
    if haze_px > 0:
        patch = cv2.GaussianBlur(patch, (0, 0), haze_px, borderType=cv2.BORDER_CONSTANT)
    blurred = cv2.sepFilter2D(patch, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    weight = float(patch.sum())
    row = r0 + float((patch.sum(axis=1) * np.arange(h)).sum()) / weight
    col = c0 + float((patch.sum(axis=0) * np.arange(w)).sum()) / weight
    # Projected area and its second moments, on the supersampled grid.
    inside = t > 0
    cell = sr * sc / _SS**2
    area = float(inside.sum()) * cell
    yy, xx = np.nonzero(inside)
    py, px = ys[yy], xs[xx]
    cov = np.cov(np.vstack([py, px]), bias=True) if py.size > 1 else np.zeros((2, 2))
    ev = np.sort(np.linalg.eigvalsh(cov + np.eye(2) * (sr / _SS) ** 2 / 12.0))[::-1]
    return _Rendered(
        r0=r0,
        c0=c0,
        patch=patch,
        peak=float(blurred.max()),
        blurred=blurred,
        row=row,
        col=col,
        diameter_mm=math.sqrt(4 * area / math.pi),
        length_mm=4 * math.sqrt(max(ev[0], 0.0)),
        width_mm=4 * math.sqrt(max(ev[1], 0.0)),
    )
