"""World B content without a GPU context: articulated people in every pose, vehicle kinds, hard negatives."""
from __future__ import annotations

import numpy as np
import pytest

from tracker.sim_gl import props
from tracker.sim_gl.geometry import assemble
from tracker.sim_gl.materials import KELVIN_0C, Palette, ThermalScene
from tracker.sim_gl.people import POSES, pose_parts, random_body
from tracker.sim_gl.vehicles import KINDS, vehicle_materials, vehicle_parts

AIR_C = 15.0


def palette() -> Palette:
    return Palette(ThermalScene(AIR_C, 2.0, -20.0, 37.0, 0.85, 0.65, 10.0, 35.0, 45.0, 8.0))


def extents(parts) -> tuple[np.ndarray, np.ndarray]:
    og = assemble([(parts, np.eye(3), np.zeros(3), 1)]).objects[1]
    return og.lo, og.hi


@pytest.mark.parametrize("pose", POSES)
def test_every_pose_builds_a_finite_body_on_the_ground(pose):
    rng = np.random.default_rng(0)
    body = random_body(rng, palette(), child=False)
    for phase in np.linspace(0, 2 * np.pi, 5):
        lo, hi = extents(pose_parts(body, pose, phase))
        assert np.isfinite(lo).all() and np.isfinite(hi).all()
        assert lo[2] > -0.02  # nothing below the ground
        if pose in ("walk", "run", "stand"):
            assert abs(lo[2]) < 0.02 and 0.85 * body.height < hi[2] < 1.08 * body.height


def test_poses_change_the_silhouette_and_children_are_smaller():
    rng = np.random.default_rng(1)
    pal = palette()
    adult = random_body(rng, pal, child=False)
    child = random_body(rng, pal, child=True)
    top = {p: extents(pose_parts(adult, p, 0.3))[1][2] for p in ("stand", "sit", "crouch", "wave")}
    assert top["crouch"] < top["sit"] < top["stand"] < top["wave"]  # the waving hand is above the head
    assert extents(pose_parts(child, "stand", 0.0))[1][2] < 0.8 * top["stand"]


@pytest.mark.parametrize("kind", KINDS)
def test_vehicle_kinds_have_plausible_sizes_and_wheels(kind):
    rng = np.random.default_rng(2)
    pal = palette()
    mats = vehicle_materials(rng, pal, running=True, night=False)
    parts, seat = vehicle_parts(kind, rng, mats)
    lo, hi = extents(parts)
    length = {"car": (3.5, 5.2), "van": (4.5, 5.8), "truck": (6.4, 9.4), "bicycle": (1.4, 2.0)}[kind]
    assert length[0] < hi[0] - lo[0] < length[1]
    assert sum(p.mat == mats.tyre for p in parts) >= (2 if kind == "bicycle" else 4)
    assert (seat is not None) == (kind == "bicycle")
    if kind != "bicycle":
        assert pal.kelvin(mats.hood) > pal.kelvin(mats.paint) + 20  # a running engine is hot


def test_hard_negatives_look_human_or_feel_warm_but_are_not_labelled():
    rng = np.random.default_rng(3)
    pal = palette()
    mannequin = props.mannequin(rng, pal)
    assert 1.4 < extents(mannequin)[1][2] < 2.2
    assert {round(pal.kelvin(p.mat) - KELVIN_0C, 3) for p in mannequin} == {AIR_C}  # a person's shape, cold
    dog = props.dog(rng, pal)
    assert pal.kelvin(dog[0].mat) - KELVIN_0C > AIR_C + 10  # warm, not a person
    assert extents(props.bollard(rng, pal))[1][2] > 1.3


def test_mask_channels_never_share_a_channel_between_overlapping_boxes():
    from tracker.sim_gl.masks import MASK_CHANNELS, mask_channels
    rng = np.random.default_rng(0)
    boxes = {}
    for gid in range(1, 41):  # a crowd: many overlapping boxes, more than one pass
        u, v = rng.integers(0, 600), rng.integers(0, 440)
        boxes[gid] = (int(u), int(v), int(u + rng.integers(5, 120)), int(v + rng.integers(5, 200)))
    boxes.update({gid: (300, 200, 340, 300) for gid in range(41, 51)})  # ten on top of each other
    passes = mask_channels(boxes)
    assert sorted(g for p in passes for g in p) == sorted(boxes)
    for p in passes:
        assert set(p.values()) <= set(range(MASK_CHANNELS))
        for a in p:
            for b in p:
                if a < b and p[a] == p[b]:
                    (a0, a1, a2, a3), (b0, b1, b2, b3) = boxes[a], boxes[b]
                    assert a2 <= b0 or b2 <= a0 or a3 <= b1 or b3 <= a1, (a, b)
    assert len(passes) > 1


def test_shadow_tiles_cover_the_ground_shadow_of_a_point():
    """A pole top at 2 m, sun from behind-left: the tile of its ground shadow (and of the pole) is marked,
    tiles far from both are not."""
    from tracker.sim_gl.shadowfoot import shadow_tiles, tile_rects
    W, H, f = 640, 480, 500.0
    # camera at (0, 0, 2) looking along +x (optical: x right = -y world, y down = -z world, z = +x world)
    R = np.array([[0, -1, 0], [0, 0, -1], [1, 0, 0]], float)
    V = np.eye(4)
    V[:3, :3], V[:3, 3] = R, -R @ np.array([0, 0, 2.0])
    P = np.array([[2 * f / W, 0, 0, 0], [0, 2 * f / H, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]])  # w = camera z
    vp = P @ V
    top = np.array([[10.0, 0.0, 2.0]])
    sun = np.array([-1.0, 1.0, 1.0]) / np.sqrt(3)  # towards the sun: behind the camera, to its left
    ground = top[0] - sun * top[0, 2] / sun[2]  # (12, -2, 0)
    tiles = shadow_tiles(top, sun, vp, (W, H), 16, 0, 0.1)

    def tile_of(p):
        c = R @ (p - np.array([0, 0, 2.0]))
        return int((f * c[1] / c[2] + H / 2) // 16), int((f * c[0] / c[2] + W / 2) // 16)
    assert tiles[tile_of(ground)] and tiles[tile_of(top[0])]
    assert not tiles[0, 0] and not tiles[-1, 0]
    rects = tile_rects(tiles, 16, (W, H))
    covered = np.zeros((H, W), bool)
    for x, y, w, h in rects:
        covered[y:y + h, x:x + w] = True
    assert np.array_equal(covered[::16, ::16], tiles)
