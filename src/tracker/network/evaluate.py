"""Per-condition AP of exported models on the held-out simulated bags (``data.val`` of config/network.yaml),
through a backend (the deployment path: same preprocessing functions, ONNX graph, decoding).

    python -m tracker.network.evaluate models/embedded.onnx build/train/rgb.onnx --modalities all,rgb

Ground truth less visible than 0.3 or lower than 16 RGB px is an ignore region (neither TP nor FP).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tracker.common.config import load_yaml

from .dataset import FrameCache, bag_specs
from .decode import decode
from .metrics import APAccumulator
from .model import CLASS_NAMES
from .train import EVAL_MIN_HEIGHT_PX, EVAL_MIN_VISIBILITY, _rounded

SUBSETS = {"all": (True, True, True), "rgb": (True, False, False), "thermal": (False, True, False),
           "rgb+thermal": (True, True, False), "rgb+depth": (True, False, True), "thermal+depth": (False, True, True)}


def evaluate_backend(backend, cache: FrameCache, modalities=(True, True, True), score_threshold: float = 0.05
                     ) -> dict:
    accs: dict[str, dict[int, APAccumulator]] = {}
    for i in range(len(cache)):
        x = cache.network_inputs(i, modalities)
        out = backend.infer({k: v[None] for k, v in x.items()})
        d = decode(out, 100, score_threshold)
        gt = cache.objects(i)
        cond = cache.conditions[int(cache.a["clip"][i])]
        for key in (cond, "all"):
            a = accs.setdefault(key, {c: APAccumulator(0.5) for c in range(len(CLASS_NAMES))})
            for c in range(len(CLASS_NAMES)):
                g = gt[gt[:, 4] == c]
                ign = (g[:, 6] < EVAL_MIN_VISIBILITY) | ((g[:, 3] - g[:, 1]) < EVAL_MIN_HEIGHT_PX)
                k = d.classes == c
                a[c].add(d.boxes[k], d.scores[k], g[:, :4], ign)
    return {cond: {CLASS_NAMES[c]: _rounded(acc.ap()) for c, acc in a.items()} for cond, a in accs.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--config", default="config/network.yaml")
    ap.add_argument("--modalities", default="all", help=f"comma-separated subsets of {list(SUBSETS)}")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args(argv)
    from tracker.backends import BackendConfig, create_backend
    data = load_yaml(a.config)["data"]
    results = {}
    for m in a.models:
        b = create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1), m)
        cache = FrameCache.build(bag_specs(data["val"]), Path(data["root"]), int(b.meta["input_width"]),
                                 int(b.meta["input_height"]), int(data.get("val_stride", 1)), "val", False)
        for s in a.modalities.split(","):
            r = evaluate_backend(b, cache, SUBSETS[s])
            results[f"{m} [{s}]"] = r
            print(f"{m} [{s}] person AP@0.5: " + ", ".join(
                f"{c} {'-' if v['person'] is None else format(v['person'], '.3f')}" for c, v in r.items()), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
