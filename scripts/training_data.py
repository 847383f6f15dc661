"""Render the bags of config/train_worlds.yaml that are missing (world A: tracker.sim with a randomised scene per
seed, as tracker-train renders config/network.yaml's data; world B: tracker.sim_gl) and print the train/val
bag lists for tracker-train:

    python scripts/training_data.py --out build/worlds
    tracker-train $(cat build/worlds/train.txt) --val $(cat build/worlds/val.txt) --steps 6000 --seed 1 ...

--jobs N renders N bags at once (one process each); the lists keep the config's order. A world-B entry may name
a `config:` YAML with a `sim_gl` section (e.g. config/sim_gl_wide_rig.yaml) applied to its bags.
"""
import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

from tracker.data.writer import needs_render

def bags(entries):
    """(world, presets, seed, duration_s, config YAML or None) of every bag of a list of entries."""
    for e in entries:
        if e.get("config") and e["world"] != "sim_gl":
            raise SystemExit(f"config: {e['config']} is for world B (sim_gl) entries only, not {e['world']}")
        for k, p in enumerate(e["presets"]):
            yield e["world"], str(p), int(e["seed"]) + k, float(e["duration_s"]), e.get("config")


def render(world: str, presets: str, seed: int, duration_s: float, config: str | None, out: Path) -> Path:
    """Render one bag unless it is complete (an incomplete one a killed run left is rendered again)."""
    if world == "sim":
        from tracker.sim.simulate import bag_name, simulate
        path = out / "A" / bag_name(presets, seed, True)
        if needs_render(path):
            simulate(presets, duration_s, seed, randomize=True, out_dir=path.parent, progress=False)
        return path
    from tracker.sim_gl.config import load_config
    from tracker.sim_gl.simulate import bag_name, simulate
    path = out / "B" / bag_name(presets, seed)
    if needs_render(path):
        simulate(presets, duration_s, seed, out_dir=path.parent, config=load_config(config))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="config/train_worlds.yaml")
    ap.add_argument("--out", default="build/worlds")
    ap.add_argument("--jobs", type=int, default=1, help="bags rendered at once (processes)")
    a = ap.parse_args()
    cfg, out = yaml.safe_load(Path(a.config).read_text()), Path(a.out)
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        queued = {split: [pool.submit(render, *bag, out) for bag in bags(cfg[split])] for split in ("train", "val")}
        for split, jobs in queued.items():
            paths = []
            for job in jobs:
                paths.append(job.result())
                print(f"{split}: {paths[-1]}", flush=True)
            (out / f"{split}.txt").write_text("\n".join(str(p) for p in paths) + "\n")


if __name__ == "__main__":
    main()
