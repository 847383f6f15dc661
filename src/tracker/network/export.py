"""``tracker-export``: checkpoint -> ONNX (opset 19, named inputs/outputs, DCNv2 as ``DeformConv``) + metadata.

    tracker-export --checkpoint build/train/fused/last.pt --out models/embedded.onnx [--int8-qdq 32]
    tracker-export --from-onnx models/embedded.onnx --int8-qdq 32      # only (re)write the int8 Q/DQ model

Writes ``<out>.onnx`` and ``<out>.json`` (input sizes, normalisation, class names, embedding size, training
data, version hash = first 16 hex of the ONNX file's SHA-256; the same metadata is stored in the ONNX
``metadata_props`` under ``tracker_meta``), then checks ONNX Runtime (CPU) against PyTorch on the same inputs
and fails if the difference exceeds the stated bound (:data:`PARITY_ATOL`). ``--int8-qdq N``: the int8 Q/DQ
model for TensorRT (recipe, TensorRT's Q/DQ rules and the per-class int8 bound: :mod:`tracker.network.quantize`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .dcn import ONNX_OPSET
from .model import CLASS_NAMES, INPUT_NAMES, MODALITIES, OUTPUT_NAMES, STRIDE, ExportWrapper, TrackerNet
# the int8 Q/DQ model lives in quantize.py; these names stay importable from here
from .quantize import (INT8_PARITY_BOUND, QDQ_EXTRA_OPTIONS, QDQ_FLOAT_CONVS, Int8Config,  # noqa: F401
                       calibration_frames, int8_parity, int8_within_bound, qdq_violations, quantize_qdq, write_int8)
from .sources import DataError

log = logging.getLogger("tracker.export")
META_FORMAT = 1
#: ORT (CPU, fp32) vs PyTorch: maximum absolute difference allowed on every output (heatmap in [0, 1],
#: embeddings unit-norm, sizes in cells, distances in metres - the loosest, scaled by 1 + |value|)
PARITY_ATOL = 2e-3


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def example_inputs(width: int, height: int, batch: int = 1, seed: int = 0, thermal_channels: int = 1) -> dict:
    g = np.random.default_rng(seed)
    return {"rgb": g.random((batch, 3, height, width), np.float32),
            "thermal": g.random((batch, thermal_channels, height, width), np.float32),
            "depth": np.stack([g.random((batch, height, width), np.float32),
                               (g.random((batch, height, width)) > 0.2).astype(np.float32)], 1),
            "modality": np.ones((batch, 3), np.float32)}


def build_metadata(net: TrackerNet, training: dict | None = None) -> dict:
    c = net.cfg
    H, W = c.input_height, c.input_width
    return {
        "format": META_FORMAT,
        "name": "tracker-centernet-dla",
        "inputs": {m: [1, c.input_channels(m), H, W] for m in MODALITIES} | {"modality": [1, len(MODALITIES)]},
        "outputs": {"heatmap": [1, len(CLASS_NAMES), H // STRIDE, W // STRIDE],
                    "size": [1, 2, H // STRIDE, W // STRIDE], "offset": [1, 2, H // STRIDE, W // STRIDE],
                    "embedding": [1, c.embedding_dim, H // STRIDE, W // STRIDE],
                    "distance": [1, 1, H // STRIDE, W // STRIDE]},
        "input_width": W, "input_height": H, "stride": STRIDE,
        "class_names": list(CLASS_NAMES), "embedding_dim": c.embedding_dim, "modalities": list(MODALITIES),
        "normalisation": c.input_normalisation.to_meta(),
        "model_config": asdict(c),
        "training": training or {},
    }


def export_onnx(net: TrackerNet, out: str | Path, training: dict | None = None) -> tuple[Path, Path]:
    """Write ``out`` (.onnx) and the metadata ``.json`` beside it; returns both paths."""
    out = Path(out).with_suffix(".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    wrapper = ExportWrapper(net).eval()
    ex = example_inputs(net.cfg.input_width, net.cfg.input_height, thermal_channels=net.cfg.thermal_channels)
    args = tuple(torch.from_numpy(ex[k]) for k in INPUT_NAMES)
    with torch.no_grad():
        torch.onnx.export(wrapper, args, str(out), input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          opset_version=ONNX_OPSET, do_constant_folding=True, dynamo=False)
    import onnx
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    meta = build_metadata(net, training)
    del model.metadata_props[:]
    p = model.metadata_props.add()
    p.key, p.value = "tracker_meta", json.dumps({k: v for k, v in meta.items() if k != "training"})
    onnx.save(model, str(out))
    meta["version_hash"] = file_hash(out)
    meta["onnx_file"] = out.name
    meta_path = out.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=1))
    return out, meta_path


def torch_outputs(net: TrackerNet, inputs: dict) -> dict:
    w = ExportWrapper(net).eval()
    with torch.no_grad():
        outs = w(*(torch.from_numpy(inputs[k]) for k in INPUT_NAMES))
    return {k: v.numpy() for k, v in zip(OUTPUT_NAMES, outs)}


def parity(net: TrackerNet, onnx_path: str | Path, inputs: dict | None = None) -> dict:
    """Max |ORT - torch| per output (relative to 1 + |torch|) on ``inputs`` (default: random inputs)."""
    import onnxruntime as ort
    inputs = inputs or example_inputs(net.cfg.input_width, net.cfg.input_height, seed=1,
                                      thermal_channels=net.cfg.thermal_channels)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    got = dict(zip(OUTPUT_NAMES, sess.run(list(OUTPUT_NAMES), inputs)))
    ref = torch_outputs(net, inputs)
    return compare_outputs(got, ref)


def compare_outputs(got: dict, ref: dict, score_threshold: float = 0.05) -> dict:
    """Max |got - ref| / (1 + |ref|) per output. The heatmap is compared on the cells both mark as peaks, and
    ``peak_mismatch`` counts cells above ``score_threshold`` that are a peak in one and not the other (a
    near-tie in the 3x3 peak test can flip between runtimes; on a trained model there are none)."""
    d = {}
    for k in OUTPUT_NAMES:
        g, r = got[k], ref[k]
        if k == "heatmap":
            both = (g > 0) & (r > 0)
            g, r = g[both], r[both]
            if g.size == 0:
                d[k] = 0.0
                continue
        d[k] = float(np.max(np.abs(g - r) / (1.0 + np.abs(r))))
    d["peak_mismatch"] = int(np.sum((got["heatmap"] > score_threshold) != (ref["heatmap"] > score_threshold)))
    return d


def _export_checkpoint(a) -> tuple[int, Path | None]:
    from .train import load_checkpoint
    try:
        net, result = load_checkpoint(a.checkpoint)
    except (FileNotFoundError, RuntimeError, KeyError) as e:
        print(f"tracker-export: cannot load checkpoint {a.checkpoint}: {e}", file=sys.stderr)
        return 2, None
    training = {k: result.get(k) for k in ("command", "seed", "modalities", "train_time_s", "train_frames",
                                           "train_bags", "val_bags", "val_ap", "registration") if k in result}
    training["checkpoint"] = str(a.checkpoint)
    onnx_path, meta_path = export_onnx(net, a.out, training)
    log.info("wrote %s (%.2f MB) and %s", onnx_path, onnx_path.stat().st_size / 1e6, meta_path)
    if not a.skip_parity:
        diffs = parity(net, onnx_path)
        worst = max(v for k, v in diffs.items() if k != "peak_mismatch")
        log.info("ORT vs PyTorch max relative difference per output: %s (bound %.0e)",
                 {k: f"{v:.1e}" for k, v in diffs.items()}, PARITY_ATOL)
        if worst > PARITY_ATOL or diffs["peak_mismatch"]:
            print(f"tracker-export: ORT/PyTorch parity {worst:.2e} exceeds {PARITY_ATOL:.0e}", file=sys.stderr)
            return 1, None
    return 0, onnx_path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tracker-export", description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="training checkpoint to export (writes --out)")
    src.add_argument("--from-onnx", metavar="ONNX", help="an exported model (metadata beside it) to quantize "
                                                          "with --int8-qdq, without its checkpoint")
    ap.add_argument("--out", help="output .onnx path (metadata .json beside it); with --checkpoint")
    ap.add_argument("--skip-parity", action="store_true")
    ap.add_argument("--int8-qdq", type=int, default=0, metavar="N",
                    help="also write <out>_int8_qdq.onnx (Q/DQ for TensorRT int8), calibrated on N validation "
                         "frames and checked against the fp32 model on N others")
    ap.add_argument("--config", default="config/network.yaml", help="for the validation bags (--int8-qdq)")
    ap.add_argument("--calib-bags", nargs="+", metavar="BAG",
                    help="contract bags (folders / globs) to calibrate and check --int8-qdq on, instead of the "
                         "config's validation bags (e.g. both worlds' val bags for a two-world model)")
    ap.add_argument("--cache-dir", help="frame cache folder for --calib-bags (default: the config's data.root/cache)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    if a.checkpoint and not a.out:
        ap.error("--checkpoint needs --out")
    if a.from_onnx and not a.int8_qdq:
        ap.error("--from-onnx needs --int8-qdq N")
    if (a.calib_bags or a.cache_dir) and not a.int8_qdq:
        ap.error("--calib-bags / --cache-dir are for --int8-qdq N")
    if a.cache_dir and not a.calib_bags:
        ap.error("--cache-dir is the frame cache of --calib-bags (without them the config's data.root is used)")
    if a.from_onnx:
        onnx_path = Path(a.from_onnx)
    else:
        rc, onnx_path = _export_checkpoint(a)
        if rc:
            return rc
    if not a.int8_qdq:
        return 0
    try:
        return write_int8(onnx_path, a.int8_qdq, a.config, bags=a.calib_bags, cache_dir=a.cache_dir)
    except DataError as e:
        print(f"tracker-export: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
