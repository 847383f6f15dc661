"""Materials of world B: colour, procedural texture, temperature, emissivity, depth behaviour.

Every part carries a material index; the table is uploaded to the GPU as a float texture (one column per
material, :data:`ROWS` rows). Temperatures are decided per scene from :class:`ThermalScene` (sampled from the
config by the seed); the shader adds sun heating (``solar_k`` x cos(incidence) x sunlit) on top.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KELVIN_0C = 273.15

#: procedural texture kinds (the same numbers are in shaders.py)
TEX = {"plain": 0, "stripes": 1, "checks": 2, "paving": 3, "asphalt": 4, "grass": 5, "brick": 6, "noise": 7}
ROWS = 4  # albedo+tex kind | temperature, emissivity, solar_k, tex scale | emissive, reflective | colour 2
EMISSIVITY = {"skin": 0.98, "cloth": 0.93, "ground": 0.95, "paint": 0.9, "glass": 0.85, "metal": 0.3,
              "foliage": 0.97, "fur": 0.96, "stone": 0.92}


@dataclass(frozen=True)
class ThermalScene:
    """Per-scene temperatures (sampled from GLThermal by the seed)."""
    air_c: float
    ground_offset_k: float
    sky_c: float
    core_c: float
    skin_coupling: float
    cloth_coupling: float
    solar_k: float
    engine_k: float
    lamp_k: float
    animal_k: float

    def base_c(self, thermal: str, offset_k: float = 0.0) -> float:
        """Surface temperature (degC) of a thermal class before sun heating."""
        body = self.core_c - self.air_c
        table = {"air": self.air_c, "ground": self.air_c + self.ground_offset_k,
                 "skin": self.air_c + self.skin_coupling * body, "cloth": self.air_c + self.cloth_coupling * body,
                 "engine": self.air_c + self.engine_k, "lamp": self.air_c + self.lamp_k,
                 "animal": self.air_c + self.skin_coupling * body - self.animal_k, "sky": self.sky_c}
        return table[thermal] + offset_k


class Palette:
    """The scene's material table (append-only); :meth:`add` returns the material index."""

    def __init__(self, thermal: ThermalScene):
        self.thermal = thermal
        self.rows: list[np.ndarray] = []
        self.names: list[str] = []

    def add(self, name: str, albedo, thermal: str = "air", emissivity: str = "paint", tex: str = "plain",
            tex_scale: float = 1.0, colour2=None, offset_k: float = 0.0, solar: float = 1.0,
            emissive: float = 0.0, reflective: bool = False) -> int:
        """``solar``: fraction of the scene's sun heating this surface takes (absorptance x exposure)."""
        a = np.clip(np.asarray(albedo, np.float32), 0, 1)
        c2 = a * 0.55 if colour2 is None else np.clip(np.asarray(colour2, np.float32), 0, 1)
        kelvin = self.thermal.base_c(thermal, offset_k) + KELVIN_0C
        solar_k = self.thermal.solar_k * solar * (1.0 - 0.6 * float(a.mean()))
        col = np.array([[*a, TEX[tex]], [kelvin, EMISSIVITY[emissivity], solar_k, tex_scale],
                        [emissive, 1.0 if reflective else 0.0, 0.0, 0.0], [*c2, 1.0]], np.float32)
        self.rows.append(col)
        self.names.append(name)
        return len(self.rows) - 1

    def table(self) -> np.ndarray:
        """(ROWS, n, 4) float32, the GPU texture."""
        return np.ascontiguousarray(np.stack(self.rows, 1))

    def albedo(self, idx: int) -> np.ndarray:
        return self.rows[idx][0, :3]

    def kelvin(self, idx: int) -> float:
        return float(self.rows[idx][1, 0])


def random_colour(rng: np.random.Generator, saturation: float = 0.6, value=(0.1, 0.85)) -> np.ndarray:
    """A random clothing/paint colour (uniform hue)."""
    h = rng.random()
    v = rng.uniform(*value)
    s = rng.uniform(0, saturation)
    k = (np.array([5.0, 3.0, 1.0]) + h * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


SKIN_TONES = np.array([[0.93, 0.78, 0.66], [0.85, 0.64, 0.5], [0.7, 0.5, 0.36], [0.5, 0.34, 0.24],
                       [0.33, 0.22, 0.16]])


def skin_colour(rng: np.random.Generator) -> np.ndarray:
    base = SKIN_TONES[rng.integers(len(SKIN_TONES))]
    return np.clip(base * rng.uniform(0.9, 1.1), 0, 1)
