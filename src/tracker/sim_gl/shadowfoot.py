"""Where on screen a frame's moving objects can cast sun shadows: the pixels that the cached static scene
(lit with the static shadow map only) must re-shade with the frame's full shadow map.

A vertex P shadows the points of the segment from P to its ground hit S = P - sun * P_z / sun_z (z = 0 is the
ground, nothing in the scene lies below it). The screen image of a segment in front of the camera lies in the
bounding box of its end points' images, so marking every segment's (near-clipped) box on a tile grid, grown
by a margin for the shadow map's filtering, gives a conservative set of scissor rectangles.
"""
from __future__ import annotations

import numpy as np

MIN_SUN_Z = 1e-3  # below this sun height every pixel may be shadowed


def _clip_near(w_p: np.ndarray, w_s: np.ndarray, near: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: kept (some part beyond ``near``), and the parameters [s0, s1] of its part beyond it."""
    keep = (w_p > near) | (w_s > near)
    dw = np.where(np.abs(w_s - w_p) > 0, w_s - w_p, 1.0)
    s_near = np.clip((near - w_p) / dw, 0.0, 1.0)
    s0 = np.where(w_p > near, 0.0, s_near)
    s1 = np.where(w_s > near, 1.0, s_near)
    return keep, s0, s1


def shadow_tiles(points: np.ndarray, sun_dir: np.ndarray | None, view_proj: np.ndarray, size: tuple, tile: int,
                 margin: int, near: float) -> np.ndarray:
    """(rows, cols) bool grid of ``tile``-pixel tiles that ``points`` (N, 3, world) and their shadows may
    cover, grown by ``margin`` tiles (``sun_dir`` None: no shadows, the points' own tiles). ``view_proj``:
    clip matrix whose w is the camera z; ``size`` (W, H) px."""
    W, H = size
    rows, cols = -(-H // tile), -(-W // tile)
    if len(points) == 0:
        return np.zeros((rows, cols), bool)
    if sun_dir is not None and sun_dir[2] < MIN_SUN_Z:
        return np.ones((rows, cols), bool)
    P = np.asarray(points, np.float64)
    S = P if sun_dir is None else P - sun_dir[None] * (np.maximum(P[:, 2:3], 0.0) / sun_dir[2])
    cp, cs = _clip(P, view_proj), _clip(S, view_proj)
    keep, s0, s1 = _clip_near(cp[:, 3], cs[:, 3], near)
    cp, cs, s0, s1 = cp[keep], cs[keep], s0[keep, None], s1[keep, None]
    ends = [cp + (cs - cp) * s for s in (s0, s1)]
    uv = [np.stack([(e[:, 0] / e[:, 3] + 1) * (W / 2), (e[:, 1] / e[:, 3] + 1) * (H / 2)], 1) for e in ends]
    lo, hi = np.minimum(*uv), np.maximum(*uv)
    c0 = np.clip(np.floor(lo[:, 0] / tile).astype(int) - margin, 0, cols)
    c1 = np.clip(np.floor(hi[:, 0] / tile).astype(int) + margin + 1, 0, cols)
    r0 = np.clip(np.floor(lo[:, 1] / tile).astype(int) - margin, 0, rows)
    r1 = np.clip(np.floor(hi[:, 1] / tile).astype(int) + margin + 1, 0, rows)
    ok = (c1 > c0) & (r1 > r0)
    acc = np.zeros((rows + 1, cols + 1), np.int64)  # 2D difference array of the boxes
    for r, c, sgn in ((r0, c0, 1), (r0, c1, -1), (r1, c0, -1), (r1, c1, 1)):
        np.add.at(acc, (r[ok], c[ok]), sgn)
    return acc.cumsum(0).cumsum(1)[:rows, :cols] > 0


def _clip(p: np.ndarray, view_proj: np.ndarray) -> np.ndarray:
    return p @ view_proj[:, :3].T + view_proj[:, 3]


def tile_rects(tiles: np.ndarray, tile: int, size: tuple) -> list[tuple]:
    """Scissor rectangles (x, y, w, h) in pixels covering the marked tiles: runs along each tile row, merged
    with the identical runs of the rows below."""
    W, H = size
    open_runs: dict = {}  # (c0, c1) -> first row
    out = []
    for r in range(tiles.shape[0] + 1):
        runs = set()
        if r < tiles.shape[0]:
            d = np.diff(np.concatenate([[0], tiles[r].astype(np.int8), [0]]))
            runs = set(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist()))
        for run in [k for k in open_runs if k not in runs]:
            r0 = open_runs.pop(run)
            x0, y0 = run[0] * tile, r0 * tile
            out.append((x0, y0, min(run[1] * tile, W) - x0, min(r * tile, H) - y0))
        for run in runs:
            open_runs.setdefault(run, r)
    return out
