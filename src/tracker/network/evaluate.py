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
from .metrics import ConditionAP
from .preprocess import NormalisationConfig

SUBSETS = {"all": (True, True, True), "rgb": (True, False, False), "thermal": (False, True, False),
           "rgb+thermal": (True, True, False), "rgb+depth": (True, False, True), "thermal+depth": (False, True, True)}


def evaluate_backend(backend, cache: FrameCache, modalities=(True, True, True), score_threshold: float = 0.05
                     ) -> dict:
    meta = backend.meta.data  # normalisation, stride and classes of the model, as the Detector reads them
    ap = ConditionAP(tuple(meta["class_names"]))
    norm, stride = NormalisationConfig.from_meta(meta["normalisation"]), int(meta["stride"])
    for i in range(len(cache)):
        out = backend.infer({k: v[None] for k, v in cache.network_inputs(i, modalities, norm).items()})
        d = decode(out, 100, score_threshold, stride=stride)
        ap.add(cache.conditions[int(cache.a["clip"][i])], d, cache.objects(i))
    return ap.result()


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
        cache = FrameCache.build(bag_specs(data["val"]), Path(data["root"]), int(b.meta.data["input_width"]),
                                 int(b.meta.data["input_height"]), int(data.get("val_stride", 1)), "val", False)
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
