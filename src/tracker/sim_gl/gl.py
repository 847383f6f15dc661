"""The rasteriser: moderngl on a standalone (headless) OpenGL context, EGL first (Mesa llvmpipe on a CPU).

One scene pass per camera frame renders the geometry into two float targets (linear radiance + camera z;
apparent temperature + object id + reflective flag + albedo), with an optional sun shadow map: the static
scene is rasterised once per camera into a cache and composited (with the frame's shadows), then the dynamic
objects are drawn over it with the depth test. ``silhouettes`` counts the labelled objects' amodal pixels in
one mask pass per 8 objects (same vertex stage).

Pixel convention: the projection puts pixel (u, v) of the camera model (centre at integer u, v) at the
centre of GL pixel (u, v), with v counted from the first row read back, so read-back rows are image rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform

from . import shaders
from .geometry import ID_COLUMN, Geometry
from .masks import mask_channels
from .shadowfoot import shadow_tiles, tile_rects

MAX_LAMPS = 8
SHADOW_HALF_M = 45.0  # half extent of the sun's orthographic view
SHADOW_CENTER_X_M = 22.0  # it looks at this forward distance of the area
SHADOW_DEPTH_M = 200.0
SHADOW_BIAS = 0.0015
ATTRS = ("in_pos", "in_nrm", "in_mat", "in_id")
FMT = "3f 3f 1f 1f"
MASK_VAO = 4  # index of the labelled-triangles vertex array in a geometry group
#: fragment shader modes (``mask_mode`` uniform): full shading, object mask, range only (depth camera)
SHADE, MASK, RANGE = 0, 1, 2
NO_CHANNEL = -1.0  # channel texture value of an object the mask pass culls
CHANNEL_TABLE_MIN = 256  # object ids the channel lookup texture holds at least (more when needed)
#: texture units: materials 0, shadow map 1, the static cache's four colour targets 2..5, its depth 6, channels 7
CACHE_UNIT, CACHE_DEPTH_UNIT, CHANNEL_UNIT = 2, 6, 7


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
    cache_fbo: object  # the static scene: base colour, base aux, sun terms, world position + depth texture
    shaded_fbo: object  # the static scene shaded with the static shadow map (same layout as ``fbo``)
    cache_key: tuple | None = None
    dirty: np.ndarray | None = None  # tiles of ``fbo`` the last frame's moving objects touched (None: all)


@dataclass(frozen=True)
class CacheSettings:
    """The static-scene cache (``enabled``) and the tiles (``tile_px``, grown by ``margin_tiles``) in which it
    is re-shaded with the moving objects' shadows."""
    enabled: bool
    tile_px: int
    margin_tiles: int


NO_CACHE = CacheSettings(False, 1, 0)  # every frame rasterises the whole scene


class GLRenderer:
    def __init__(self, material_table: np.ndarray, cameras: dict, shadow_px: int, near: float, far: float,
                 cache: CacheSettings = NO_CACHE):
        self.ctx = ctx = create_context()
        self.near, self.far, self.cache = near, far, cache
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
        self.composite = ctx.program(vertex_shader=shaders.COMPOSITE_VERTEX,
                                     fragment_shader=shaders.COMPOSITE_FRAGMENT)
        self.quad = ctx.vertex_array(self.composite, [])
        for k, u in enumerate(("base_col", "base_aux", "sun_term", "world_pos")):
            self.composite[u].value = CACHE_UNIT + k
        self.composite["depth_tex"].value = CACHE_DEPTH_UNIT
        self.composite["shadow_map"].value = 1
        self.composite["shadow_bias"].value = SHADOW_BIAS
        self.channels = None
        self._static = None
        self._dyn = None
        self._dyn_points = np.zeros((0, 3), "f4")
        self._static_version = 0  # bumped by set_static / set_lighting: invalidates the static caches
        self.prog["materials"].value = 0
        self.prog["shadow_map"].value = 1
        self.prog["channels"].value = CHANNEL_UNIT
        self._set_channels({})

    def _target(self, cam: CameraModel) -> Target:
        ctx, size = self.ctx, (cam.width, cam.height)
        fbo = ctx.framebuffer([ctx.texture(size, 4, dtype="f4"), ctx.texture(size, 4, dtype="f4")],
                              ctx.depth_renderbuffer(size))
        mask = ctx.framebuffer([ctx.texture(size, 4, dtype="f1"), ctx.texture(size, 4, dtype="f1")])
        depth = ctx.depth_texture(size)
        depth.compare_func = ""
        cache = ctx.framebuffer([ctx.texture(size, 4, dtype="f4") for _ in range(4)], depth)
        shaded = ctx.framebuffer([ctx.texture(size, 4, dtype="f4"), ctx.texture(size, 4, dtype="f4")],
                                 ctx.depth_renderbuffer(size))
        return Target(fbo, mask, size, cache, shaded)

    def _set_channels(self, chan: dict) -> None:
        """Mask channel of each object id (``NO_CHANNEL`` for the rest) in the vertex stage's lookup texture."""
        n = max([CHANNEL_TABLE_MIN, *(g + 1 for g in chan)])
        table = np.full(n, NO_CHANNEL, "f4")
        for g, c in chan.items():
            table[g] = c
        if self.channels is None or self.channels.width != n:
            if self.channels is not None:
                self.channels.release()
            self.channels = self.ctx.texture((n, 1), 1, dtype="f4")
            self.channels.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
        self.channels.write(table.tobytes())
        self.channels.use(CHANNEL_UNIT)

    def _vaos(self, geo: Geometry):
        ctx = self.ctx
        vbo = ctx.buffer(geo.vertices.astype("f4").tobytes())
        ibo = ctx.buffer(geo.indices.astype("u4").tobytes())
        group = [ctx.vertex_array(self.prog, [(vbo, FMT, *ATTRS)], ibo),
                 ctx.vertex_array(self.shadow_prog, [(vbo, "3f 20x", "in_pos")], ibo), vbo, ibo]
        tri = geo.indices.reshape(-1, 3)
        labelled = tri[geo.vertices[tri[:, 0], ID_COLUMN] > 0]  # the mask pass draws only these triangles
        if len(labelled):
            lbo = ctx.buffer(labelled.astype("u4").tobytes())
            group += [ctx.vertex_array(self.prog, [(vbo, FMT, *ATTRS)], lbo), lbo]
        else:
            group += [None, None]
        return tuple(group)

    def _replace(self, group, geo: Geometry):
        if group is not None:
            for obj in group:
                if obj is not None:
                    obj.release()
        return self._vaos(geo) if len(geo.indices) else None

    def set_static(self, geo: Geometry) -> None:
        self._static = self._replace(self._static, geo)
        self._static_version += 1

    def set_dynamic(self, geo: Geometry) -> None:
        self._dyn = self._replace(self._dyn, geo)
        self._dyn_points = geo.vertices[:, :3]

    def _draw(self, shadow: bool = False, dynamic: bool = True) -> None:
        for group in (self._dyn if dynamic else None, self._static):  # moving objects first (early depth test)
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
        self._static_version += 1

    def _shadow_pass(self, dynamic: bool = True) -> np.ndarray:
        tex, fbo = self.shadow
        vp = look_ortho(self.sun_dir, np.array([SHADOW_CENTER_X_M, 0, 0]), SHADOW_HALF_M, SHADOW_DEPTH_M)
        fbo.use()
        fbo.clear(depth=1.0)
        self.shadow_prog["light_vp"].write(vp.T.astype("f4").tobytes())
        self._draw(shadow=True, dynamic=dynamic)
        return vp

    def _camera_uniforms(self, cam: CameraModel, T_world_cam: Transform) -> None:
        V = T_world_cam.inverse().matrix()
        self.view_proj = vp = projection(cam, self.near, self.far) @ V
        self.prog["view_proj"].write(vp.T.astype("f4").tobytes())
        self.prog["cam_pos"].value = tuple(T_world_cam.t)
        self.prog["cam_fwd"].value = tuple(T_world_cam.R[:, 2])

    def render(self, name: str, cam: CameraModel, T_world_cam: Transform, shading: bool = True) -> tuple:
        """(colour target (H, W, 4): linear RGB + camera z, aux target (H, W, 4): apparent temperature K,
        object id, reflective flag, albedo) of the current geometry; z = 0 and id = 0 where nothing is.

        With the cache on, the static scene is rasterised once per (camera, pose, mode); each frame re-shades
        from the cache, with this frame's shadow map, the tiles that this or the last frame's moving objects
        and their sun shadows can touch (the rest of the target still holds the static scene), then
        rasterises only the moving objects, depth-tested against the static depth."""
        ctx = self.ctx
        ctx.enable(ctx.DEPTH_TEST)
        ctx.disable(ctx.CULL_FACE)
        use_shadow = shading and self.use_sun
        tgt = self.targets[name]
        self._camera_uniforms(cam, T_world_cam)
        self.prog["mask_mode"].value = SHADE if shading else RANGE
        self.prog["mask_pass"].value = 0
        self.materials.use(0)
        if self.shadow is not None:
            self.shadow[0].use(1)
        if self.cache.enabled:
            self._cache_static(tgt, (shading, T_world_cam.matrix().tobytes(), self._static_version), use_shadow)
        light_vp = self._shadow_pass() if use_shadow else np.eye(4)
        if self.cache.enabled:
            self._restore_static(tgt, light_vp, use_shadow)
        else:
            tgt.fbo.use()
            tgt.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            tgt.dirty = None
        self._draw_scene(light_vp, use_shadow, dynamic_only=self.cache.enabled)
        W, H = tgt.size
        col = np.frombuffer(tgt.fbo.read(components=4, attachment=0, dtype="f4"), "f4").reshape(H, W, 4)
        aux = np.frombuffer(tgt.fbo.read(components=4, attachment=1, dtype="f4"), "f4").reshape(H, W, 4)
        return col, aux

    def _draw_scene(self, light_vp: np.ndarray, use_shadow: bool, dynamic_only: bool) -> None:
        self.prog["light_vp"].write(light_vp.T.astype("f4").tobytes())
        self.prog["use_shadow"].value = int(use_shadow)
        self.prog["split_sun"].value = 0
        if dynamic_only:
            if self._dyn is not None:
                self._dyn[0].render()
        else:
            self._draw()

    def _cache_static(self, tgt: Target, key: tuple, use_shadow: bool) -> None:
        """Unless ``tgt`` holds ``key`` already: rasterise the static scene into ``tgt.cache_fbo`` (sun terms
        apart) and shade it with the static objects' shadows into ``tgt.shaded_fbo``."""
        if tgt.cache_key == key:
            return
        tgt.cache_fbo.use()
        tgt.cache_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self.prog["use_shadow"].value = 0
        self.prog["split_sun"].value = 1
        if self._static is not None:
            self._static[0].render()
        light_vp = self._shadow_pass(dynamic=False) if use_shadow else np.eye(4)
        tgt.shaded_fbo.use()
        tgt.shaded_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self._composite(tgt, light_vp, use_shadow)
        tgt.cache_key, tgt.dirty = key, None

    def _restore_static(self, tgt: Target, light_vp: np.ndarray, use_shadow: bool) -> None:
        """Make ``tgt.fbo`` the static scene shaded with this frame's shadow map: a copy of the shaded cache
        when its content is unknown, else re-shading only the tiles the last frame's moving objects touched;
        then the tiles this frame's moving objects' shadows can reach (``shadowfoot``)."""
        c = self.cache
        tiles = shadow_tiles(self._dyn_points, self.sun_dir if use_shadow else None, self.view_proj, tgt.size,
                             c.tile_px, c.margin_tiles, self.near)
        if tgt.dirty is None or tgt.dirty.shape != tiles.shape:
            self.ctx.copy_framebuffer(tgt.fbo, tgt.shaded_fbo)
            redo = tiles
        else:
            redo = tiles | tgt.dirty
        tgt.fbo.use()
        for rect in tile_rects(redo, c.tile_px, tgt.size):
            self.ctx.scissor = rect
            self._composite(tgt, light_vp, use_shadow)
        self.ctx.scissor = None
        tgt.dirty = tiles

    def _composite(self, tgt: Target, light_vp: np.ndarray, use_shadow: bool) -> None:
        """Draw the cached static scene (colour, aux, depth) into the bound target, its sun terms shadowed by
        the current shadow map."""
        for k, tex in enumerate(tgt.cache_fbo.color_attachments):
            tex.use(CACHE_UNIT + k)
        tgt.cache_fbo.depth_attachment.use(CACHE_DEPTH_UNIT)
        self.composite["light_vp"].write(light_vp.T.astype("f4").tobytes())
        self.composite["use_shadow"].value = int(use_shadow)
        self.ctx.depth_func = "1"
        self.quad.render(self.ctx.TRIANGLES, vertices=3)
        self.ctx.depth_func = "<"

    def silhouettes(self, name: str, boxes: dict, static_ids: frozenset | None = None) -> dict:
        """{gid: amodal pixel count} of each labelled object rendered alone, counted inside its clipped box
        ``boxes[gid] = (u0, v0, u1, v1)`` (integer pixel bounds, exclusive end). One mask pass (depth test
        off) per 8 objects: objects sharing a channel have disjoint boxes (``mask_channels``), so a channel's
        pixels inside a box are exactly that object's silhouette. Uses the camera of the last :meth:`render`
        of ``name``; the static group is drawn only for objects in ``static_ids`` (None: always)."""
        tgt, ctx = self.targets[name], self.ctx
        ctx.disable(ctx.DEPTH_TEST)
        ctx.enable(ctx.BLEND)
        ctx.blend_func = ctx.ONE, ctx.ONE  # unorm targets saturate at 1: a channel is the union of its objects
        self.prog["mask_mode"].value = MASK
        self.prog["mask_pass"].value = 1
        out = {}
        for chan in mask_channels(boxes):
            self._set_channels(chan)
            tgt.mask_fbo.use()
            tgt.mask_fbo.clear(0.0, 0.0, 0.0, 0.0)
            need_static = static_ids is None or not static_ids.isdisjoint(chan)
            for group in (self._dyn, self._static if need_static else None):
                if group is not None and group[MASK_VAO] is not None:
                    group[MASK_VAO].render()
            out.update(self._count_channels(tgt, {g: (boxes[g], c) for g, c in chan.items()}))
        ctx.disable(ctx.BLEND)
        ctx.enable(ctx.DEPTH_TEST)
        self._set_channels({})
        self.prog["mask_mode"].value = SHADE
        self.prog["mask_pass"].value = 0
        return out

    def _count_channels(self, tgt: Target, chans: dict) -> dict:
        """{gid: non-zero pixels of its channel inside its box} for ``chans`` {gid: (box, channel)}, reading
        back only the boxes' union from the mask targets that hold the channels."""
        bs = np.array([b for b, _ in chans.values()])
        u0, v0 = bs[:, :2].min(0)
        u1, v1 = bs[:, 2:].max(0)
        planes = {}
        for k in sorted({c // 4 for _, c in chans.values()}):
            raw = tgt.mask_fbo.read(viewport=(u0, v0, u1 - u0, v1 - v0), components=4, attachment=k, dtype="f1")
            planes[k] = np.frombuffer(raw, np.uint8).reshape(v1 - v0, u1 - u0, 4)
        return {g: int(np.count_nonzero(planes[c // 4][b[1] - v0:b[3] - v0, b[0] - u0:b[2] - u0, c % 4]))
                for g, (b, c) in chans.items()}

    def release(self) -> None:
        self.ctx.release()
