"""The fixed evaluation set (config/eval_set.yaml): condition presets x seeds x worlds, each rendered once into a
bag (kept between runs: same arguments -> same bags).

Worlds are the two independent renderers: ``sim`` (world A, tracker.sim) and ``sim_gl`` (world B, tracker.sim_gl).
A condition whose preset a world lacks is an error naming the world, unless that preset is listed in
``allow_missing`` (then the condition is not rendered in that world, and the log says so)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section
from tracker.data.writer import needs_render

SIM_WORLD, GL_WORLD = "sim", "sim_gl"
#: world -> its label in reports ("A:day") and the module that renders it
WORLD_LABELS = {SIM_WORLD: "A", GL_WORLD: "B"}
WORLD_MODULES = {SIM_WORLD: "tracker.sim", GL_WORLD: "tracker.sim_gl"}


@dataclass(frozen=True)
class EvalEntry:
    """A condition given as a mapping, to restrict it to some worlds or seeds."""
    preset: str = param(doc="condition preset string ('night,dropout' composes presets)")
    worlds: tuple[str, ...] = param((), doc="worlds it is rendered in (empty: the set's worlds)")
    seeds: tuple[int, ...] = param((), doc="its seeds (empty: the set's seeds)")


@dataclass(frozen=True)
class EvalSetConfig:
    presets: tuple[EvalEntry | str, ...] = param(doc="conditions: preset strings ('night,dropout' composes "
                                                 "presets) or {preset, worlds, seeds} mappings")
    seeds: tuple[int, ...] = param(doc="simulator seeds; every condition is rendered with every seed")
    worlds: tuple[str, ...] = param((SIM_WORLD,), doc="renderers: sim (world A, tracker.sim), sim_gl (world B, "
                                    "tracker.sim_gl); every condition x seed is rendered in each")
    duration_s: float = param(20.0, unit="s", gt=0.0, doc="length of each bag")
    storage: str = param("mcap", choices=("mcap", "sqlite3"), doc="rosbag2 storage of the bags")
    allow_missing: tuple[str, ...] = param((), doc="presets a world may lack: a condition using one is skipped "
                                           "in the worlds without it (said in the log) instead of an error")

    def entries(self) -> list[EvalEntry]:
        return [e if isinstance(e, EvalEntry) else EvalEntry(e) for e in self.presets]

    def validate(self) -> None:
        if not self.presets or not self.seeds:
            raise ConfigError("eval_set: presets and seeds must not be empty")
        for where, worlds in [("worlds", self.worlds)] + [(f"presets entry {e.preset!r} worlds", e.worlds)
                                                          for e in self.entries()]:
            unknown = [w for w in worlds if w not in WORLD_LABELS]
            if unknown or len(set(worlds)) != len(worlds):
                raise ConfigError(f"eval_set.{where}: {list(worlds)}: each world once, from {list(WORLD_LABELS)}")
        if not self.worlds:
            raise ConfigError(f"eval_set.worlds must not be empty (valid: {list(WORLD_LABELS)})")


@dataclass(frozen=True)
class RenderJob:
    """One bag of the set."""
    world: str
    preset: str
    seed: int

    @property
    def condition(self) -> str:
        return condition_name(self.preset)


def load_eval_set(path: str | Path) -> EvalSetConfig:
    return from_mapping(EvalSetConfig, section(load_yaml(path), "eval_set", str(path)), where="eval_set")


def condition_name(preset: str) -> str:
    return "+".join(p.strip() for p in preset.split(",") if p.strip()) or "default"


def world_label(world: str) -> str:
    """'A' / 'B' for the simulator worlds; anything else (e.g. 'external') as it is."""
    return WORLD_LABELS.get(world, world)


def world_presets(world: str) -> tuple[str, ...]:
    """The condition presets of a world (``python -m tracker.sim[_gl] --list-presets``)."""
    if world == SIM_WORLD:
        from tracker.sim.presets import PRESETS
    else:
        from tracker.sim_gl.config import PRESETS
    return tuple(PRESETS)


def _parts(preset: str) -> list[str]:
    return [p.strip() for p in preset.split(",") if p.strip()]


def plan(cfg: EvalSetConfig, log: Callable[[str], None] = print) -> list[RenderJob]:
    """Every (world, preset, seed) of the set, in order; ConfigError for a preset a world lacks (unless
    allowed: then that condition is skipped in that world, with a line in the log) or that no world has."""
    known = {w: world_presets(w) for w in WORLD_LABELS}
    jobs = []
    for e in cfg.entries():
        for part in _parts(e.preset):
            if not any(part in p for p in known.values()):
                raise ConfigError(f"eval_set: preset {part!r} of condition {e.preset!r} exists in no world; "
                                  + "; ".join(f"{w}: {', '.join(p)}" for w, p in known.items()))
        for world in e.worlds or cfg.worlds:
            missing = [p for p in _parts(e.preset) if p not in known[world]]
            if missing and all(m in cfg.allow_missing for m in missing):
                log(f"eval set: {e.preset!r} skipped in world {world} ({world_label(world)}): no preset "
                    f"{', '.join(missing)} there (allow_missing)")
                continue
            if missing:
                raise ConfigError(
                    f"eval_set: world {world} ({world_label(world)}, {WORLD_MODULES[world]}) has no preset "
                    f"{', '.join(map(repr, missing))} (condition {e.preset!r}); its presets: "
                    f"{', '.join(known[world])}. Restrict the condition to other worlds ({{preset: ..., worlds: "
                    f"[...]}}) or list the preset in eval_set.allow_missing")
            jobs += [RenderJob(world, e.preset, s) for s in e.seeds or cfg.seeds]
    return jobs


def bag_name(job: RenderJob) -> str:
    if job.world == SIM_WORLD:
        from tracker.sim.simulate import bag_name as name
        return name(job.preset, job.seed, False)
    from tracker.sim_gl.simulate import bag_name as name
    return name(job.preset, job.seed)


def render(job: RenderJob, cfg: EvalSetConfig, bag_dir: Path) -> Path:
    """Render one bag of the set into ``bag_dir`` (its renderer's default name)."""
    if job.world == SIM_WORLD:
        from tracker.sim.simulate import simulate as sim_a
        return sim_a(job.preset, duration_s=cfg.duration_s, seed=job.seed, out_dir=bag_dir, storage=cfg.storage)
    from tracker.sim_gl.simulate import simulate as sim_b
    return sim_b(job.preset, cfg.duration_s, job.seed, bag_dir, cfg.storage)


def generate(cfg: EvalSetConfig, bag_dir: str | Path,
             log: Callable[[str], None] = print) -> list[tuple[Path, str]]:
    """[(bag, condition)] of the set, rendering the bags that do not exist yet in ``bag_dir``; the whole set is
    checked (:func:`plan`) before anything is rendered. World and seed of each bag are in its sidecar."""
    bag_dir = Path(bag_dir)
    out = []
    for job in plan(cfg, log):
        path = bag_dir / bag_name(job)
        if needs_render(path):
            log(f"rendering {path.name} (world {world_label(job.world)}, {cfg.duration_s:g} s)")
            path = render(job, cfg, bag_dir)
        out.append((path, job.condition))
    return out
