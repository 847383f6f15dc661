"""Ground truth of world B in the colour camera, from its own geometry and render passes.

Same semantics as the contract (docs/data-contract.md): a labelled object is reported when its 3D box centre
is in front of the camera (beyond ``near_m``) and its amodal 2D box is within ``gt_margin_px`` of the image.
2D box = tight box of the projected vertices of all its parts (amodal, not clipped); 3D box = the object-frame
extents of its vertices (length along its heading, width, height) in the colour optical frame; visibility =
visible pixels (object-id pass) / pixels of the object rendered alone (its amodal silhouette inside the
image) x the in-image fraction of the amodal box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform, matrix_to_quat
from tracker.data.gt_rules import in_image_fraction, near_view


@dataclass(frozen=True)
class GTObject:
    id: str
    cls: str
    box2d: tuple  # x1, y1, x2, y2 amodal, colour pixels (not clipped)
    visibility: float  # 0..1
    center3d: np.ndarray  # (3,) box centre, colour optical frame, metres
    size3d: np.ndarray  # (3,) length, width, height, metres
    quat: tuple  # box axes in the colour optical frame (x, y, z, w)


def pixel_bounds(box: tuple, w: int, h: int) -> tuple | None:
    """Integer pixel range (u0, v0, u1, v1), end exclusive, of the image pixels a box can cover."""
    u0, v0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    u1, v1 = min(w, int(np.ceil(box[2])) + 1), min(h, int(np.ceil(box[3])) + 1)
    return (u0, v0, u1, v1) if u1 > u0 and v1 > v0 else None


def candidates(objects: dict, cam: CameraModel, T_cam_world: Transform, near_m: float, margin_px: float
               ) -> list[tuple]:
    """[(gid, box2d, centre, size, quat)] of the labelled ObjectGeometry ``objects`` near the view."""
    out = []
    for gid, og in sorted(objects.items()):
        center = T_cam_world.apply(og.box_center_world())
        if center[2] < near_m:
            continue
        p = T_cam_world.apply(og.world)
        p = p[p[:, 2] > near_m]
        if len(p) == 0:
            continue
        uv, _ = cam.project(p)
        box = (float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max()))
        if not near_view(box, cam.width, cam.height, margin_px):
            continue
        out.append((gid, box, center, og.size.copy(), matrix_to_quat(T_cam_world.R @ og.R)))
    return out


def ground_truth(cands: list, labels: list, ids: np.ndarray, silhouettes: dict, w: int, h: int
                 ) -> list[GTObject]:
    """GTObjects of the candidates, with visibility from the id buffer ``ids`` (H, W) and the amodal pixel
    counts ``silhouettes`` {gid: pixels}."""
    visible = np.bincount(ids.ravel(), minlength=len(labels) + 1)
    out = []
    for gid, box, center, size, quat in cands:
        sil = silhouettes.get(gid, 0)
        vis = visible[gid] / sil * in_image_fraction(box, w, h) if sil > 0 else 0.0
        ident, cls = labels[gid - 1]
        out.append(GTObject(ident, cls, box, float(np.clip(vis, 0, 1)), center, size, quat))
    return out
