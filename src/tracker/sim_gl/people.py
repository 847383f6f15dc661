"""Procedural articulated people: body shapes (adults, children), clothing, carried objects, and poses
(walk, run, stand, wave, sit, crouch, cycle) as joint angles driving tapered-cylinder limbs.

Person frame: x forward, y left, z up, origin on the ground below the pelvis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .materials import Palette, random_colour, skin_colour
from .mesh import Part, affine, rot_x, rot_y, segment

POSES = ("walk", "run", "stand", "wave", "sit", "crouch", "cycle")
CARRY = ("none", "backpack", "bag", "suitcase")
DOWN = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class BodyShape:
    height: float
    girth: float  # lateral/limb thickness multiplier
    child: bool
    skin: int
    upper: int  # shirt/jacket material
    lower: int  # trousers/skirt material
    shoes: int
    hair: int
    long_sleeves: bool
    lower_kind: str  # trousers / shorts / skirt
    carry: str
    carry_mat: int

    # proportions (fractions of the height; children: shorter legs, bigger head)
    @property
    def leg(self) -> float:
        return (0.235 if self.child else 0.25) * self.height

    @property
    def head_r(self) -> float:
        return (0.085 if self.child else 0.063) * self.height

    @property
    def torso(self) -> float:
        return 0.3 * self.height

    @property
    def arm(self) -> float:
        return (0.15 if self.child else 0.165) * self.height

    @property
    def limb_r(self) -> float:
        return 0.034 * self.height * self.girth


def random_body(rng: np.random.Generator, palette: Palette, child: bool) -> BodyShape:
    h = rng.uniform(0.95, 1.45) if child else rng.uniform(1.52, 1.98)
    cloth = dict(thermal="cloth", emissivity="cloth", solar=0.5)
    skin = palette.add("skin", skin_colour(rng), thermal="skin", emissivity="skin", solar=0.1)
    tex = ("plain", "plain", "stripes", "checks", "noise")
    upper = palette.add("shirt", random_colour(rng), tex=tex[rng.integers(len(tex))],
                        tex_scale=rng.uniform(4, 14), colour2=random_colour(rng), **cloth)
    lower = palette.add("trousers", random_colour(rng, 0.4, (0.05, 0.6)), tex="noise", tex_scale=20, **cloth)
    shoes = palette.add("shoes", random_colour(rng, 0.2, (0.03, 0.4)), thermal="cloth", emissivity="cloth",
                        offset_k=-3.0, solar=0.3)
    hair = palette.add("hair", random_colour(rng, 0.3, (0.03, 0.5)), thermal="cloth", emissivity="cloth",
                       solar=0.3)
    carry = CARRY[rng.choice(len(CARRY), p=[0.55, 0.2, 0.15, 0.1])]
    carry_mat = palette.add("bag", random_colour(rng, 0.5, (0.05, 0.7)), thermal="air", emissivity="cloth",
                            solar=0.8)
    lower_kind = ("trousers", "shorts", "skirt")[rng.choice(3, p=[0.7, 0.15, 0.15])]
    return BodyShape(h, rng.uniform(0.85, 1.3), child, skin, upper, lower, shoes, hair, bool(rng.random() < 0.6),
                     lower_kind, carry, carry_mat)


def joint_angles(pose: str, phase: float, amp: float = 1.0) -> dict:
    """Joint angles (rad) of a pose at gait phase ``phase``: hip (forward +), knee (flexion), shoulder
    (forward swing), abduction, elbow (flexion) for the left (index 0) and right (1) side, and torso lean."""
    s, c = np.sin(phase), np.cos(phase)
    z2 = np.zeros(2)
    a = dict(hip=z2.copy(), knee=z2.copy(), shoulder=z2.copy(), abduct=np.full(2, 0.08), elbow=np.full(2, 0.15),
             lean=0.02, seat=None)
    if pose in ("walk", "run"):
        k = 0.45 * amp if pose == "walk" else 0.8 * amp
        a["hip"] = np.array([k * s, -k * s])
        a["knee"] = np.maximum(0, np.array([np.sin(phase - 1.2), -np.sin(phase - 1.2)])) * (0.7 if pose == "walk"
                                                                                            else 1.5) * amp
        a["shoulder"] = np.array([-0.7 * k * s, 0.7 * k * s])
        a["elbow"] = np.full(2, 0.3 if pose == "walk" else 1.4)
        a["lean"] = 0.04 if pose == "walk" else 0.22
    elif pose in ("stand", "wave"):
        a["hip"] = np.array([0.03 * s, -0.03 * s])
        a["shoulder"] = np.array([0.05 * c, -0.05 * c])
        if pose == "wave":
            a["abduct"][1] = 2.5
            a["elbow"][1] = 0.6 + 0.5 * np.sin(3 * phase)
    elif pose == "sit":
        a.update(hip=np.full(2, 1.5), knee=np.full(2, 1.5), shoulder=np.full(2, 0.3), elbow=np.full(2, 0.8),
                 seat=0.0)
    elif pose == "crouch":
        a.update(hip=np.full(2, 1.9), knee=np.full(2, 2.4), shoulder=np.full(2, 0.6), elbow=np.full(2, 0.6),
                 lean=0.45)
    elif pose == "cycle":
        a.update(hip=np.array([1.1 + 0.35 * s, 1.1 - 0.35 * s]), knee=np.array([1.3 - 0.4 * c, 1.3 + 0.4 * c]),
                 shoulder=np.full(2, 1.1), elbow=np.full(2, 0.3), lean=0.45, seat=0.0)
    else:
        raise ValueError(f"unknown pose {pose!r}; valid: {', '.join(POSES)}")
    return a


def _leg(b: BodyShape, hip: np.ndarray, th: float, tk: float):
    knee = hip + b.leg * np.array([np.sin(th), 0, -np.cos(th)])
    ankle = knee + b.leg * np.array([np.sin(th - tk), 0, -np.cos(th - tk)])
    return knee, ankle


def pose_parts(b: BodyShape, pose: str, phase: float, amp: float = 1.0, seat_z: float = 0.45) -> list[Part]:
    """Parts of the posed body (person frame)."""
    a = joint_angles(pose, phase, amp)
    hw, foot_h = 0.09 * b.height * b.girth, 0.035 * b.height
    legs = [_leg(b, np.array([0.0, side * hw, 0.0]), a["hip"][i], a["knee"][i]) for i, side in enumerate((1, -1))]
    standing_z = foot_h - min(ank[2] for _, ank in legs)  # lowest foot on the ground
    pelvis_z = max(seat_z + b.limb_r, standing_z) if a["seat"] is not None else standing_z
    lift = np.array([0, 0, pelvis_z])
    parts: list[Part] = []
    for i, side in enumerate((1, -1)):
        hip = np.array([0.0, side * hw, 0.0]) + lift
        knee, ankle = legs[i][0] + lift, legs[i][1] + lift
        thigh_mat = b.lower
        shin_mat = b.skin if b.lower_kind == "shorts" else b.lower
        if b.lower_kind != "skirt":
            parts.append(Part(*segment(hip, knee, 1.5 * b.limb_r, 1.1 * b.limb_r), thigh_mat))
        parts.append(Part(*segment(knee, ankle, 1.1 * b.limb_r, 0.75 * b.limb_r),
                          b.skin if b.lower_kind == "skirt" else shin_mat))
        parts.append(Part("box", affine(ankle + [0.05 * b.height, 0, -foot_h / 2],
                                        [0.07 * b.height, 0.8 * b.limb_r, foot_h / 2]), b.shoes))
    pelvis = lift.astype(float)
    t = np.array([np.sin(a["lean"]), 0, np.cos(a["lean"])])
    neck = pelvis + b.torso * t
    if b.lower_kind == "skirt":
        hem = pelvis - np.array([0, 0, 0.8 * b.leg]) if a["seat"] is None else pelvis + [0.6 * b.leg, 0, 0]
        parts.append(Part(*segment(hem, pelvis, 2.3 * hw, 1.5 * hw), b.lower))
    parts.append(Part(*segment(pelvis - 0.04 * b.height * t, neck, 1.45 * hw, 1.1 * hw), b.upper))
    parts += _arms(b, a, neck, t)
    head_c = neck + (0.035 * b.height + b.head_r) * t
    r = b.head_r
    parts.append(Part(*segment(neck - 0.02 * b.height * t, head_c, 0.35 * r), b.skin))
    parts.append(Part("sphere", affine(head_c, [0.95 * r, 0.85 * r, 1.1 * r]), b.skin))
    parts.append(Part("sphere", affine(head_c + [-0.2 * r, 0, 0.3 * r], [0.95 * r, 0.9 * r, 0.9 * r]), b.hair))
    parts += _carried(b, pelvis, neck, t, hw)
    return parts


def _arms(b: BodyShape, a: dict, neck: np.ndarray, t: np.ndarray) -> list[Part]:
    out = []
    sw = 0.12 * b.height * b.girth
    for i, side in enumerate((1, -1)):
        shoulder = neck - 0.04 * b.height * t + np.array([0, side * sw, 0])
        ab = rot_x(side * a["abduct"][i])
        d1 = rot_y(-a["shoulder"][i]) @ ab @ DOWN
        d2 = rot_y(-(a["shoulder"][i] + a["elbow"][i])) @ ab @ DOWN
        elbow = shoulder + b.arm * d1
        wrist = elbow + 0.95 * b.arm * d2
        out.append(Part(*segment(shoulder, elbow, 0.95 * b.limb_r, 0.75 * b.limb_r), b.upper))
        out.append(Part(*segment(elbow, wrist, 0.75 * b.limb_r, 0.55 * b.limb_r),
                        b.upper if b.long_sleeves else b.skin))
        out.append(Part("sphere", affine(wrist + 0.04 * b.height * d2, [0.7 * b.limb_r] * 3), b.skin))
    return out


def _carried(b: BodyShape, pelvis: np.ndarray, neck: np.ndarray, t: np.ndarray, hw: float) -> list[Part]:
    h = b.height
    if b.carry == "backpack":
        c = 0.45 * pelvis + 0.55 * neck - np.array([1.45 * hw + 0.06 * h, 0, 0])
        return [Part("box", affine(c, [0.06 * h, 0.12 * h, 0.14 * h]), b.carry_mat)]
    if b.carry == "bag":
        c = pelvis + np.array([0.0, -1.9 * hw - 0.03 * h, -0.05 * h])
        return [Part("box", affine(c, [0.08 * h, 0.03 * h, 0.07 * h]), b.carry_mat)]
    if b.carry == "suitcase":
        c = np.array([-0.12 * h, -2.2 * hw - 0.06 * h, 0.17 * h])
        return [Part("box", affine(c, [0.12 * h, 0.06 * h, 0.17 * h]), b.carry_mat)]
    return []


def stride_length(b: BodyShape, pose: str) -> float:
    """Metres travelled per gait cycle (2 steps), so that the phase follows the speed."""
    return (1.4 if pose == "walk" else 2.4) * b.leg / 0.44
