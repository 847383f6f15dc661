"""Posed objects -> one vertex/index buffer for the GPU, plus each labelled object's vertices for the ground
truth (world vertices for the amodal 2D box; object-frame extents for the 3D box).

Vertex layout (float32 x 8): position (3, world), normal (3, world), material index, GPU object id
(0 = unlabelled, else label index + 1).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .mesh import primitive, transform_parts

VERTEX_FLOATS = 8
ID_COLUMN = 7  # the GPU object id's column


@dataclass
class ObjectGeometry:
    gid: int
    R: np.ndarray  # R_world_obj
    t: np.ndarray  # t_world_obj
    world: np.ndarray  # (N, 3) world vertices of all its parts
    lo: np.ndarray  # (3,) object-frame min
    hi: np.ndarray  # (3,) object-frame max

    def box_center_world(self) -> np.ndarray:
        return self.R @ ((self.lo + self.hi) / 2) + self.t

    @property
    def size(self) -> np.ndarray:
        return self.hi - self.lo


@dataclass
class Geometry:
    vertices: np.ndarray  # (V, 8) float32
    indices: np.ndarray  # (3F,) uint32
    objects: dict  # gid -> ObjectGeometry (labelled objects only)


def assemble(objects, labelled: bool = True) -> Geometry:
    """``objects``: [(parts, R_world_obj, t_world_obj, gid)]. One batched transform per primitive kind."""
    groups = defaultdict(list)  # prim -> [(M_world (4x4), M_obj, mat, gid, object index)]
    frames = []
    for k, (parts, R, t, gid) in enumerate(objects):
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = R, t
        frames.append((R, t, gid))
        for p in parts:
            groups[p.prim].append((T @ p.M, p.M, p.mat, gid, k))
    verts, idx, per_obj = [], [], defaultdict(lambda: ([], []))
    base = 0
    # the ground (quads) last: drawn after what stands on it, most of it fails the depth test early
    for prim, items in sorted(groups.items(), key=lambda kv: kv[0] == "quad"):
        m = primitive(prim)
        Mw = np.stack([it[0] for it in items])
        v, n = transform_parts(prim, Mw)
        P, N = v.shape[:2]
        attrs = np.empty((P, N, VERTEX_FLOATS), np.float32)
        attrs[..., :3], attrs[..., 3:6] = v, n
        attrs[..., 6] = np.array([it[2] for it in items], np.float32)[:, None]
        attrs[..., ID_COLUMN] = np.array([it[3] for it in items], np.float32)[:, None]
        verts.append(attrs.reshape(-1, VERTEX_FLOATS))
        idx.append((m.f[None] + (base + N * np.arange(P))[:, None, None]).reshape(-1))
        base += P * N
        if labelled:
            v_obj = transform_parts(prim, np.stack([it[1] for it in items]))[0]
            for j, it in enumerate(items):
                if it[3] > 0:
                    per_obj[it[4]][0].append(v[j])
                    per_obj[it[4]][1].append(v_obj[j])
    geo = {}
    for k, (w, o) in per_obj.items():
        R, t, gid = frames[k]
        o = np.concatenate(o)
        geo[gid] = ObjectGeometry(gid, R, t, np.concatenate(w), o.min(0), o.max(0))
    if not verts:
        return Geometry(np.zeros((0, VERTEX_FLOATS), np.float32), np.zeros(0, np.uint32), geo)
    return Geometry(np.concatenate(verts), np.concatenate(idx).astype(np.uint32), geo)
