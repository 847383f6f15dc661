"""The rasteriser: moderngl on a standalone (headless) OpenGL context, EGL first (Mesa llvmpipe on a CPU).

One scene pass per camera frame renders static + dynamic geometry into two float targets (linear radiance +
camera z; apparent temperature + object id + reflective flag + albedo), with an optional sun shadow map.
``silhouettes`` renders labelled objects one at a time (same vertex stage) to count their amodal pixels.

Pixel convention: the projection puts pixel (u, v) of the camera model (centre at integer u, v) at the
centre of GL pixel (u, v), with v counted from the first row read back, so read-back rows are image rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform

from . import shaders
from .geometry import Geometry

MAX_LAMPS = 8
SHADOW_HALF_M = 45.0  # half extent of the sun's orthographic view
SHADOW_CENTER_X_M = 22.0  # it looks at this forward distance of the area
SHADOW_DEPTH_M = 200.0
SHADOW_BIAS = 0.0015
ATTRS = ("in_pos", "in_nrm", "in_mat", "in_id")
FMT = "3f 3f 1f 1f"
#: fragment shader modes (``mask_mode`` uniform): full shading, object mask, range only (depth camera)
SHADE, MASK, RANGE = 0, 1, 2


class ContextError(RuntimeError):
    """No OpenGL context could be created (the message says which backends were tried and why)."""


def create_context():
    """A standalone OpenGL >= 3.3 context: EGL (headless), else the platform default."""
    import moderngl
    errors = []
    for kw in ({"backend": "egl"}, {}):
        try:
            return moderngl.create_standalone_context(require=330, **kw)
        except Exception as e:  # noqa: BLE001 - each backend fails with its own exception type
            errors.append(f"{kw.get('backend', 'default')}: {e}")
    raise ContextError("cannot create an OpenGL context: " + "; ".join(errors))


def projection(cam: CameraModel, near: float, far: float) -> np.ndarray:
    """Clip matrix of a pinhole camera (optical frame x right, y down, z forward), pixel centres on GL pixel
    centres, image row v = GL row v."""
    W, H = cam.width, cam.height
    return np.array([[2 * cam.fx / W, 0, 2 * (cam.cx + 0.5) / W - 1, 0],
                     [0, 2 * cam.fy / H, 2 * (cam.cy + 0.5) / H - 1, 0],
                     [0, 0, (far + near) / (far - near), -2 * far * near / (far - near)],
                     [0, 0, 1, 0]])


def look_ortho(direction: np.ndarray, center: np.ndarray, half: float, depth: float) -> np.ndarray:
    """Orthographic clip matrix of a view along ``-direction`` (towards the scene) centred on ``center``."""
    d = direction / np.linalg.norm(direction)
    up = np.array([0, 0, 1.0]) if abs(d[2]) < 0.95 else np.array([1.0, 0, 0])
    x = np.cross(up, d)
    x /= np.linalg.norm(x)
    y = np.cross(d, x)
    eye = center + d * depth / 2
    V = np.eye(4)
    V[:3, :3] = np.stack([x, y, d])
    V[:3, 3] = -V[:3, :3] @ eye
    P = np.diag([1 / half, 1 / half, -2 / depth, 1.0])
    return P @ V


@dataclass
class Target:
    fbo: object
    mask_fbo: object
    size: tuple


class GLRenderer:
    def __init__(self, material_table: np.ndarray, cameras: dict, shadow_px: int, near: float, far: float):
        self.ctx = ctx = create_context()
        self.near, self.far = near, far
        self.prog = ctx.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.FRAGMENT)
        self.shadow_prog = ctx.program(vertex_shader=shaders.SHADOW_VERTEX, fragment_shader=shaders.SHADOW_FRAGMENT)
        rows, n, _ = material_table.shape
        self.materials = ctx.texture((n, rows), 4, material_table.astype("f4").tobytes(), dtype="f4")
        self.materials.filter = (ctx.NEAREST, ctx.NEAREST)
        self.targets = {name: self._target(cam) for name, cam in cameras.items()}
        self.shadow = None
        if shadow_px > 0:
            tex = ctx.depth_texture((shadow_px, shadow_px))
            tex.compare_func = "<="
            tex.filter = (ctx.LINEAR, ctx.LINEAR)
            self.shadow = (tex, ctx.framebuffer(depth_attachment=tex))
        self._static = None
        self._dyn = None
        self.prog["materials"].value = 0
        self.prog["shadow_map"].value = 1

    def _target(self, cam: CameraModel) -> Target:
        ctx, size = self.ctx, (cam.width, cam.height)
        fbo = ctx.framebuffer([ctx.texture(size, 4, dtype="f4"), ctx.texture(size, 4, dtype="f4")],
                              ctx.depth_renderbuffer(size))
        mask = ctx.framebuffer([ctx.texture(size, 1, dtype="f1")], ctx.depth_renderbuffer(size))
        return Target(fbo, mask, size)

    def _vaos(self, geo: Geometry):
        ctx = self.ctx
        vbo = ctx.buffer(geo.vertices.astype("f4").tobytes())
        ibo = ctx.buffer(geo.indices.astype("u4").tobytes())
        return (ctx.vertex_array(self.prog, [(vbo, FMT, *ATTRS)], ibo),
                ctx.vertex_array(self.shadow_prog, [(vbo, "3f 20x", "in_pos")], ibo), vbo, ibo)

    def _replace(self, group, geo: Geometry):
        if group is not None:
            for obj in group:
                obj.release()
        return self._vaos(geo) if len(geo.indices) else None

    def set_static(self, geo: Geometry) -> None:
        self._static = self._replace(self._static, geo)

    def set_dynamic(self, geo: Geometry) -> None:
        self._dyn = self._replace(self._dyn, geo)

    def _draw(self, shadow: bool = False) -> None:
        for group in (self._dyn, self._static):  # near, moving objects first (early depth rejection)
            if group is not None:
                group[1 if shadow else 0].render()

    def set_lighting(self, lighting, sky_k: float, air_k: float, lamp_power: float, solar_scale: float) -> None:
        p = self.prog
        p["sun_dir"].value = tuple(lighting.sun_dir)
        p["sun_rgb"].value = tuple(lighting.sun_rgb)
        p["ambient_rgb"].value = tuple(lighting.ambient_rgb)
        lamps = np.zeros((MAX_LAMPS, 3), "f4")
        k = min(len(lighting.lamps), MAX_LAMPS)
        lamps[:k] = lighting.lamps[:k]
        p["n_lamps"].value = k
        p["lamps"].write(lamps.tobytes())
        p["lamp_power"].value = lamp_power
        p["sky_k"].value = sky_k
        p["air_k"].value = air_k
        p["solar_scale"].value = solar_scale
        p["shadow_bias"].value = SHADOW_BIAS
        self.sun_dir = np.asarray(lighting.sun_dir)
        self.use_sun = float(np.max(lighting.sun_rgb)) > 0 and self.shadow is not None

    def _shadow_pass(self) -> np.ndarray:
        tex, fbo = self.shadow
        vp = look_ortho(self.sun_dir, np.array([SHADOW_CENTER_X_M, 0, 0]), SHADOW_HALF_M, SHADOW_DEPTH_M)
        fbo.use()
        fbo.clear(depth=1.0)
        self.shadow_prog["light_vp"].write(vp.T.astype("f4").tobytes())
        self._draw(shadow=True)
        return vp

    def _camera_uniforms(self, cam: CameraModel, T_world_cam: Transform) -> None:
        V = T_world_cam.inverse().matrix()
        vp = projection(cam, self.near, self.far) @ V
        self.prog["view_proj"].write(vp.T.astype("f4").tobytes())
        self.prog["cam_pos"].value = tuple(T_world_cam.t)
        self.prog["cam_fwd"].value = tuple(T_world_cam.R[:, 2])

    def render(self, name: str, cam: CameraModel, T_world_cam: Transform, shading: bool = True) -> tuple:
        """(colour target (H, W, 4): linear RGB + camera z, aux target (H, W, 4): apparent temperature K,
        object id, reflective flag, albedo) of the current geometry; z = 0 and id = 0 where nothing is."""
        ctx = self.ctx
        ctx.enable(ctx.DEPTH_TEST)
        ctx.disable(ctx.CULL_FACE)
        use_shadow = shading and self.use_sun
        light_vp = self._shadow_pass() if use_shadow else np.eye(4)
        tgt = self.targets[name]
        tgt.fbo.use()
        tgt.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self._camera_uniforms(cam, T_world_cam)
        self.prog["light_vp"].write(light_vp.T.astype("f4").tobytes())
        self.prog["use_shadow"].value = int(use_shadow)
        self.prog["mask_mode"].value = SHADE if shading else RANGE
        self.prog["only_id"].value = 0.0
        self.materials.use(0)
        if self.shadow is not None:
            self.shadow[0].use(1)
        self._draw()
        W, H = tgt.size
        col = np.frombuffer(tgt.fbo.read(components=4, attachment=0, dtype="f4"), "f4").reshape(H, W, 4)
        aux = np.frombuffer(tgt.fbo.read(components=4, attachment=1, dtype="f4"), "f4").reshape(H, W, 4)
        return col, aux

    def silhouettes(self, name: str, boxes: dict, static_ids=frozenset()) -> dict:
        """{gid: amodal pixel count} of each labelled object rendered alone, counted inside its clipped box
        ``boxes[gid] = (u0, v0, u1, v1)`` (integer pixel bounds, exclusive end); only the geometry group that
        holds the object is drawn (``static_ids``: objects of the static group). Uses the camera of the last
        :meth:`render` of ``name``."""
        tgt = self.targets[name]
        tgt.mask_fbo.use()
        self.prog["mask_mode"].value = MASK
        out = {}
        for gid, (u0, v0, u1, v1) in boxes.items():
            vp = (u0, v0, u1 - u0, v1 - v0)
            self.ctx.scissor = vp
            tgt.mask_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=vp)
            self.prog["only_id"].value = float(gid)
            group = self._static if gid in static_ids else self._dyn
            if group is not None:
                group[0].render()
            m = np.frombuffer(tgt.mask_fbo.read(viewport=vp, components=1, dtype="f1"), np.uint8)
            out[gid] = int(np.count_nonzero(m))
        self.ctx.scissor = None
        self.prog["mask_mode"].value = SHADE
        self.prog["only_id"].value = 0.0
        return out

    def release(self) -> None:
        self.ctx.release()
