"""Per-condition AP of exported models on the held-out simulated bags (``data.val`` of config/network.yaml),
through a backend (the deployment path: same preprocessing functions, ONNX graph, decoding).

    python -m tracker.network.evaluate models/embedded.onnx build/train/rgb.onnx --modalities all,rgb
    python -m tracker.network.evaluate models/embedded.onnx --bags 'held_out/*' --out ap.json   # any contract bags

With ``--bags`` (folders or globs) the conditions are the bags' (sidecar presets) prefixed by their world
('A:day', 'B:night'; 'external:...' for a bag without a simulator sidecar), so one run scores both worlds.

Ground truth less visible than 0.3 or lower than 16 RGB px is an ignore region (neither TP nor FP). Person AP
is also given by box-height bucket in original image pixels (section ``evaluation`` of the config,
tracker.network.metrics.HeightAPConfig: < 24, 24-48, 48-96, > 96 px by default; no minimum height there).
The JSON (``--out``) holds per model and subset ``{"conditions": {condition: {class: AP}}, "by_height": {"class",
"edges_px", "ap": {condition: {bucket: AP}}, "gt": {condition: {bucket: GT count}}}}``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tracker.common.config import from_mapping, load_yaml

from .dataset import FrameCache, bag_specs
from .decode import decode
from .metrics import ConditionAP, HeightAP, HeightAPConfig
from .preprocess import Letterbox, NormalisationConfig

SUBSETS = {"all": (True, True, True), "rgb": (True, False, False), "thermal": (False, True, False),
           "rgb+thermal": (True, True, False), "rgb+depth": (True, False, True), "thermal+depth": (False, True, True)}


def clip_scales(cache: FrameCache) -> list[float]:
    """Letterbox scale (network-input px per image px) of each clip, from its bag's colour camera."""
    from tracker.data.reader import BagReader
    height, width = cache.shape
    out = []
    for b in cache.bags:
        with BagReader(b.meta["bag"]) as r:
            cam = r.cameras["color"]
        out.append(Letterbox.fit(cam.width, cam.height, width, height).scale)
    return out


def decoded_frames(backend, cache: FrameCache, modalities=(True, True, True), score_threshold: float = 0.05,
                   top_k: int = 100):
    """(clip index, decoded detections, GT rows) of each frame of ``cache`` through ``backend`` (raw scores)."""
    meta = backend.meta.data  # normalisation, stride and classes of the model, as the Detector reads them
    norm, stride = NormalisationConfig.from_meta(meta["normalisation"]), int(meta["stride"])
    for i in range(len(cache)):
        out = backend.infer({k: v[None] for k, v in cache.network_inputs(i, modalities, norm).items()})
        yield int(cache.a["clip"][i]), decode(out, top_k, score_threshold, stride=stride), cache.objects(i)


def evaluate_backend(backend, cache: FrameCache, modalities=(True, True, True), score_threshold: float = 0.05,
                     height: HeightAPConfig = HeightAPConfig(), scales=None) -> dict:
    """{"conditions": AP per condition and class, "by_height": AP of ``height.cls`` per box-height bucket}
    (module docstring). ``scales``: letterbox scale per clip (default: :func:`clip_scales`)."""
    names = tuple(backend.meta.data["class_names"])
    ap, hap = ConditionAP(names), HeightAP(names, height)
    scales = clip_scales(cache) if scales is None else list(scales)
    for clip, d, objs in decoded_frames(backend, cache, modalities, score_threshold):
        ap.add(cache.conditions[clip], d, objs)
        hap.add(cache.conditions[clip], d, objs, scales[clip])
    return {"conditions": ap.result(),
            "by_height": {"class": height.cls, "edges_px": list(height.height_edges_px), "ap": hap.result(),
                          "gt": hap.gt_counts()}}


def _ap(v) -> str:
    return "-" if v is None else format(v, ".3f")


def summary_lines(name: str, r: dict) -> list[str]:
    """The printed lines of one result: AP per condition, then AP by box height (all conditions)."""
    h = r["by_height"]
    aps, counts = h["ap"].get("all", {}), h["gt"].get("all", {})
    return [f"{name} person AP@0.5: " + ", ".join(f"{c} {_ap(v['person'])}" for c, v in r["conditions"].items()),
            f"{name} {h['class']} AP@0.5 by box height (image px): "
            + ", ".join(f"{b} {_ap(v)} (n={counts.get(b, 0)})" for b, v in aps.items())]


def bag_sources(patterns) -> list:
    """Bag sources of ``--bags``, each labelled '<world>:<condition>' (world A/B from the bag's sidecar)."""
    from tracker.eval.evaluate import origin_of
    from tracker.eval.evalset import world_label

    from .sources import BagSource, resolve_bags
    out = []
    for s in resolve_bags(patterns):
        o = origin_of(s.path)
        out.append(BagSource(s.path, f"{world_label(o.world)}:{o.condition}"))
    return out


def _cache(a, data: dict, meta: dict) -> FrameCache:
    w, h = int(meta["input_width"]), int(meta["input_height"])
    stride = int(a.stride or data.get("val_stride", 1))
    if not a.bags:
        return FrameCache.build(bag_specs(data["val"]), Path(data["root"]), w, h, stride, "val", False)
    from .sources import node_registration
    cache_dir = Path(a.cache_dir or Path(data["root"]) / "cache")
    return FrameCache.from_sources(bag_sources(a.bags), cache_dir, w, h, stride, node_registration())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--config", default="config/network.yaml")
    ap.add_argument("--modalities", default="all", help=f"comma-separated subsets of {list(SUBSETS)}")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--bags", nargs="+", default=None, help="contract bags (folders/globs) instead of data.val")
    ap.add_argument("--stride", type=int, default=0, help="every n-th RGB frame (default: data.val_stride)")
    ap.add_argument("--cache-dir", default="", help="frame cache folder (default: data.root/cache)")
    a = ap.parse_args(argv)
    from tracker.backends import BackendConfig, create_backend
    doc = load_yaml(a.config)
    data = doc["data"]
    height = from_mapping(HeightAPConfig, doc.get("evaluation") or {}, where="evaluation")
    results = {}
    for m in a.models:
        b = create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1), m)
        cache = _cache(a, data, b.meta.data)
        for s in a.modalities.split(","):
            r = evaluate_backend(b, cache, SUBSETS[s], height=height)
            results[f"{m} [{s}]"] = r
            print("\n".join(summary_lines(f"{m} [{s}]", r)), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
