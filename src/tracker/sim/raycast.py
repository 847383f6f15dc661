"""Ray casting of primitives into buffers: one box or one ellipsoid at a time, or many ellipsoids at once.

A primitive is given in the camera frame (centre ``c``, rotation ``R``, semi-axes or half extents ``a``) with
the pixel region (v0, v1, u0, u1) it may cover. Where it is hit nearer than the buffers' depth, it writes depth,
surface id, labelled object index, Lambert shading of the sun and the texture multiplier; ``sil`` (a boolean
image of the object with its origin at ``sil_origin``) collects all its hits, occluded or not.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .view import NEAR_M, View

if TYPE_CHECKING:
    from .raster import Buffers

STRIPE_DARKENING = 0.35  # texture multiplier drop on the dark half of each stripe of a striped surface
TINY = 1e-9  # keeps divisions finite (slab test of rays parallel to a box face, normal lengths)


def stripes(phase: np.ndarray) -> np.ndarray:
    """Texture multiplier of a striped surface at ``phase`` = 2π · stripe frequency · local height."""
    return 1.0 - STRIPE_DARKENING * (np.sin(phase) > 0)


def _mark_silhouette(sil, sil_origin, region, hit: np.ndarray) -> None:
    if sil is not None:
        v0, v1, u0, u1 = region
        sil[v0 - sil_origin[0]:v1 - sil_origin[0], u0 - sil_origin[1]:u1 - sil_origin[1]] |= hit


def _write(b: Buffers, region, m: np.ndarray, depth: np.ndarray, sid: int, obj: int, shade: np.ndarray,
           tex) -> None:
    """Write the hits ``m`` of a region: ``depth`` and ``shade`` of the hit pixels, ``tex`` (or a scalar)."""
    v0, v1, u0, u1 = region
    b.depth[v0:v1, u0:u1][m] = depth
    b.sid[v0:v1, u0:u1][m] = sid
    b.obj[v0:v1, u0:u1][m] = obj
    b.shade[v0:v1, u0:u1][m] = shade
    b.tex[v0:v1, u0:u1][m] = tex


def _slab_hits(dx, dy, dz, o: np.ndarray, af: np.ndarray):
    """Entry distance, hit mask and entry face normal (part frame) of rays o + t d against the box |x| ≤ af."""
    eps = np.float32(TINY)
    ts = []
    for d, ok, ak in ((dx, o[0], af[0]), (dy, o[1], af[1]), (dz, o[2], af[2])):
        inv = 1.0 / np.where(np.abs(d) < eps, eps, d)
        t1, t2 = (-ak - ok) * inv, (ak - ok) * inv
        ts.append((np.minimum(t1, t2), np.maximum(t1, t2)))
    tn = np.stack([ts[0][0], ts[1][0], ts[2][0]])
    tmin = tn.max(0)
    tmax = np.minimum(np.minimum(ts[0][1], ts[1][1]), ts[2][1])
    hit = (tmax >= tmin) & (tmin > NEAR_M)
    axis = tn.argmax(0)
    normal = [np.where(axis == k, -np.sign(d), 0).astype(np.float32) for k, d in enumerate((dx, dy, dz))]
    return tmin, hit, normal


def cast_box(b: Buffers, view: View, c: np.ndarray, R: np.ndarray, a: np.ndarray, sid: int, obj: int,
             light_cam: np.ndarray, tex_freq: float, region, sil=None, sil_origin=(0, 0)) -> None:
    """Z-buffer one box (slab test per pixel of ``region``)."""
    v0, v1, u0, u1 = region
    rx = view.rx[v0:v1, u0:u1]
    ry = view.ry[v0:v1, u0:u1]
    Rt = R.T.astype(np.float32)
    o = (-(R.T @ c)).astype(np.float32)  # camera origin in the part frame
    dx = Rt[0, 0] * rx + Rt[0, 1] * ry + Rt[0, 2]
    dy = Rt[1, 0] * rx + Rt[1, 1] * ry + Rt[1, 2]
    dz = Rt[2, 0] * rx + Rt[2, 1] * ry + Rt[2, 2]
    t, hit, (nx, ny, nz) = _slab_hits(dx, dy, dz, o, a.astype(np.float32))
    zloc = o[2] + t * dz
    _mark_silhouette(sil, sil_origin, region, hit)
    m = hit & (t < b.depth[v0:v1, u0:u1])
    if not m.any():
        return
    # Lambert term: normal to the camera frame, dotted with the light direction (camera frame)
    Lp = (R.T @ light_cam).astype(np.float32)
    ndotl = nx * Lp[0] + ny * Lp[1] + nz * Lp[2]
    norm = np.sqrt(nx * nx + ny * ny + nz * nz) + TINY
    shade = np.maximum(ndotl / norm, 0)
    tex = stripes(2 * np.pi * tex_freq * zloc)[m] if tex_freq > 0 else 1.0
    _write(b, region, m, t[m], sid, obj, shade[m], tex)


def cast_ellipsoid(b: Buffers, view: View, c: np.ndarray, R: np.ndarray, a: np.ndarray, sid: int, obj: int,
                   light_cam: np.ndarray, tex_freq: float, region, sil=None, sil_origin=(0, 0)) -> None:
    """Z-buffer one ellipsoid, with the per-pixel work reduced to one feature product and a few ops on the
    hit pixels. In the part frame scaled by 1/a the ray is t·m(r) - g with m = M r, M = diag(1/a) Rᵀ,
    g = M c; the hit is the near root of A t² - 2 B t + C = 0 with A = |m|², B = g·m, C = |g|² - 1."""
    v0, v1, u0, u1 = region
    inv_a = 1.0 / a
    M = R.T * inv_a[:, None]
    g = M @ c
    Q = M.T @ M
    w = M.T @ g
    # columns: A = quadratic form of (rx, ry, 1); B = w0 rx + w1 ry + w2 (features rx², rx·ry, ry², rx, ry, 1)
    coef = np.array([[Q[0, 0], 0.0], [2 * Q[0, 1], 0.0], [Q[1, 1], 0.0], [2 * Q[0, 2], w[0]],
                     [2 * Q[1, 2], w[1]], [Q[2, 2], w[2]]], np.float32)
    AB = view.features[v0:v1, u0:u1] @ coef
    A = AB[..., 0]
    B = AB[..., 1]
    C = np.float32(g @ g - 1.0)
    disc = B * B
    disc -= A * C
    hit = disc >= 0
    np.sqrt(disc, out=disc, where=hit)
    t = B - disc
    t /= A
    hit &= t > NEAR_M
    _mark_silhouette(sil, sil_origin, region, hit)
    m = hit
    m &= t < b.depth[v0:v1, u0:u1]
    if not m.any():
        return
    tm = t[m]
    rxm = view.rx[v0:v1, u0:u1][m]
    rym = view.ry[v0:v1, u0:u1][m]
    # scaled local hit point s = t m - g; normal (local) ∝ s / a; light in the part frame
    Mf = M.astype(np.float32)
    gf = g.astype(np.float32)
    s0 = tm * (Mf[0, 0] * rxm + Mf[0, 1] * rym + Mf[0, 2]) - gf[0]
    s1 = tm * (Mf[1, 0] * rxm + Mf[1, 1] * rym + Mf[1, 2]) - gf[1]
    s2 = tm * (Mf[2, 0] * rxm + Mf[2, 1] * rym + Mf[2, 2]) - gf[2]
    Lp = (R.T @ light_cam) * inv_a
    ndotl = s0 * np.float32(Lp[0]) + s1 * np.float32(Lp[1]) + s2 * np.float32(Lp[2])
    ia = inv_a.astype(np.float32)
    norm = np.sqrt((s0 * ia[0]) ** 2 + (s1 * ia[1]) ** 2 + (s2 * ia[2]) ** 2) + np.float32(TINY)
    shade = np.maximum(ndotl / norm, 0)
    tex = stripes(np.float32(2 * np.pi * tex_freq) * (s2 * np.float32(a[2]))) if tex_freq > 0 else 1.0
    _write(b, region, m, tm, sid, obj, shade, tex)


class EllipsoidPart(NamedTuple):
    """One ellipsoid of a batch: its object's slot (silhouette), pixel region, centre, rotation and semi-axes
    (camera frame), surface id, labelled object index and the sun direction in the object's frame."""
    slot: int
    region: tuple
    center: np.ndarray
    R: np.ndarray
    radii: np.ndarray
    sid: int
    obj: int
    light_obj: np.ndarray


class _Batch(NamedTuple):
    """Per-part arrays of a batch of ellipsoids (see :func:`cast_ellipsoid` for M, g, A, B, C)."""
    coef: np.ndarray  # (n, 6, 2) float32: A and B from the ray features
    C: np.ndarray  # (n,)
    M: np.ndarray  # (n, 3, 3)
    g: np.ndarray  # (n, 3)
    inv_a: np.ndarray  # (n, 3)
    light: np.ndarray  # (n, 3) sun direction in the part frame scaled by 1/a
    sids: np.ndarray  # (n,) int32
    objs: np.ndarray  # (n,) int16
    tex_freq: np.ndarray  # (n,) float32
    a2: np.ndarray  # (n,) semi-axis along the local height


def _batch(parts: list[EllipsoidPart], tex_freq: np.ndarray) -> _Batch:
    n = len(parts)
    radii = np.array([p.radii for p in parts])
    inv_a = 1.0 / radii
    M = np.transpose(np.array([p.R for p in parts]), (0, 2, 1)) * inv_a[:, :, None]  # diag(1/a) Rᵀ
    g = np.einsum("nij,nj->ni", M, np.array([p.center for p in parts]))
    Q = np.einsum("nki,nkj->nij", M, M)
    w = np.einsum("nki,nk->ni", M, g)
    zero = np.zeros(n)
    coef = np.stack([np.stack([Q[:, 0, 0], zero], 1), np.stack([2 * Q[:, 0, 1], zero], 1),
                     np.stack([Q[:, 1, 1], zero], 1), np.stack([2 * Q[:, 0, 2], w[:, 0]], 1),
                     np.stack([2 * Q[:, 1, 2], w[:, 1]], 1), np.stack([Q[:, 2, 2], w[:, 2]], 1)], 1).astype(np.float32)
    sids = np.array([p.sid for p in parts], np.int32)
    return _Batch(coef, np.einsum("ni,ni->n", g, g) - 1.0, M, g, inv_a, np.array([p.light_obj for p in parts]) * inv_a,
                  sids, np.array([p.obj for p in parts], np.int16), np.asarray(tex_freq[sids], np.float32),
                  radii[:, 2])


def _batch_hits(view: View, parts: list[EllipsoidPart], e: _Batch):
    """Hits of all parts on one flat list of their region pixels: (hit positions in that list, their flat
    pixel index, distance and part, the pixel count of each part's region)."""
    ABs, pix, sizes = [], [], []
    for k, p in enumerate(parts):
        v0, v1, u0, u1 = p.region
        ABs.append((view.features[v0:v1, u0:u1] @ e.coef[k]).reshape(-1, 2))
        pix.append(view.flat_index[v0:v1, u0:u1].ravel())
        sizes.append((v1 - v0) * (u1 - u0))
    AB = np.concatenate(ABs)
    pix = np.concatenate(pix)
    sizes = np.asarray(sizes)
    pid = np.repeat(np.arange(len(parts), dtype=np.int32), sizes)
    A = AB[:, 0]
    B = AB[:, 1]
    disc = B * B
    disc -= A * np.asarray(e.C, np.float32)[pid]
    hit = disc >= 0
    np.sqrt(disc, out=disc, where=hit)
    t = B - disc
    t /= A
    hit &= t > NEAR_M
    h = np.flatnonzero(hit)
    return h, pix[h], t[h], pid[h], sizes


def _mark_silhouettes(sils: list, origins: list, parts: list[EllipsoidPart], h, pix_h, sizes, width: int):
    """OR the hits of each object's parts (grouped by object, in order) into its silhouette."""
    starts = np.concatenate([[0], np.cumsum(sizes)])
    part_obj = np.array([p.slot for p in parts])
    bounds = np.searchsorted(h, starts)
    for j in np.unique(part_obj):
        ks = np.flatnonzero(part_obj == j)
        lo, hi = bounds[ks[0]], bounds[ks[-1] + 1]
        if hi <= lo:
            continue
        v0, u0 = origins[j]
        p = pix_h[lo:hi]
        sils[j][p // width - v0, p % width - u0] = True


def cast_ellipsoids(b: Buffers, view: View, parts: list[EllipsoidPart], tex_freq: np.ndarray,
                    sils: list | None = None, origins: list | None = None, shading: bool = True) -> None:
    """Z-buffer many ellipsoids together (the per-part numpy call overhead, not the pixel count, dominates for
    the typical few hundred pixels per part): parts resolve among themselves with ``np.minimum.at``; surface
    id, shading and texture are computed only for the winning pixels. ``sils``/``origins``: silhouette image
    and its (v0, u0) per object slot; ``shading``: also fill ``shade`` and ``obj``."""
    e = _batch(parts, tex_freq)
    h, pix_h, t_h, pid_h, sizes = _batch_hits(view, parts, e)
    if h.size == 0:
        return
    if sils is not None:
        _mark_silhouettes(sils, origins, parts, h, pix_h, sizes, view.w)
    depth = b.depth.reshape(-1)
    old = depth[pix_h]
    np.minimum.at(depth, pix_h, t_h)
    win = (t_h == depth[pix_h]) & (t_h < old)
    if not win.any():
        return
    pw, tw, kw = pix_h[win], t_h[win], pid_h[win]
    b.sid.reshape(-1)[pw] = e.sids[kw]
    if not shading and not np.any(e.tex_freq > 0):
        b.tex.reshape(-1)[pw] = 1.0
        return
    s2 = _shade_winners(b, view, e, pw, tw, kw, shading)
    if np.any(e.tex_freq > 0):
        f = e.tex_freq[kw]
        zloc = s2 * np.asarray(e.a2, np.float32)[kw]
        b.tex.reshape(-1)[pw] = np.where(f > 0, stripes(np.float32(2 * np.pi) * f * zloc), 1.0)
    else:
        b.tex.reshape(-1)[pw] = 1.0


def _shade_winners(b: Buffers, view: View, e: _Batch, pw, tw, kw, shading: bool) -> np.ndarray:
    """Write ``obj`` and the Lambert ``shade`` of the winning pixels ``pw`` (distance ``tw``, part ``kw``) if
    ``shading``; returns the scaled local height of each hit (for the stripes)."""
    r3 = np.stack([view.rx.reshape(-1)[pw], view.ry.reshape(-1)[pw], np.ones(pw.size, np.float32)], 1)
    if not shading:  # only the local height of the hit (texture stripes)
        return tw * np.einsum("ni,ni->n", np.asarray(e.M[:, 2], np.float32)[kw], r3) \
            - np.asarray(e.g[:, 2], np.float32)[kw]
    m = np.einsum("nij,nj->ni", np.asarray(e.M, np.float32)[kw], r3)
    s = tw[:, None] * m - np.asarray(e.g, np.float32)[kw]
    ndotl = np.einsum("ni,ni->n", s, np.asarray(e.light, np.float32)[kw])
    sn = s * np.asarray(e.inv_a, np.float32)[kw]
    norm = np.sqrt(np.einsum("ni,ni->n", sn, sn)) + np.float32(TINY)
    b.obj.reshape(-1)[pw] = e.objs[kw]
    b.shade.reshape(-1)[pw] = np.maximum(ndotl / norm, 0)
    return s[:, 2]
