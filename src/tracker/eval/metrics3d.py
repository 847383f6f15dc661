"""3D position error of matched tracks, fraction of tracks with a valid 3D position, latency statistics."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .config import LatencyConfig, Metrics3DConfig
from .scoring import Obj, match_frame

MS_PER_S = 1000.0


def _valid(p) -> bool:
    return p is not None and len(p) == 3 and bool(np.all(np.isfinite(np.asarray(p, dtype=float))))


def position_errors(gt2d: Mapping[int, Sequence[Obj]], gt3d: Mapping[int, Mapping[str, np.ndarray]],
                    pred: Mapping[int, Sequence[Obj]], cfg: Metrics3DConfig = Metrics3DConfig()) -> dict:
    """Per frame, GT and predicted 2D boxes are matched (Hungarian on IoU >= ``cfg.iou_threshold``,
    class-agnostic); for each match whose GT object has a 3D centre and whose track has a finite 3D position,
    the Euclidean distance (m) is an error sample.

    Returns ``mean_position_error_m`` / ``median_position_error_m`` / ``p90_position_error_m`` (None without
    samples), ``n_position_samples``, ``valid3d_fraction`` (track outputs, i.e. track x frame, with a finite 3D
    position / all track outputs; None without outputs) and ``valid3d_track_fraction`` (track ids with a valid
    3D position in at least one frame / all track ids)."""
    errs = []
    n_out = n_valid = 0
    ids, ids_valid = set(), set()
    for k, objs in pred.items():
        for o in objs:
            n_out += 1
            ids.add(o.id)
            if _valid(o.position):
                n_valid += 1
                ids_valid.add(o.id)
        g = list(gt2d.get(k, ()))
        c3 = gt3d.get(k, {})
        if not g or not c3:
            continue
        for i, j in match_frame(g, list(objs), cfg.iou_threshold):
            c, p = c3.get(g[i].id), objs[j].position
            if c is not None and _valid(p):
                errs.append(float(np.linalg.norm(np.asarray(p, dtype=float) - np.asarray(c, dtype=float))))
    e = np.asarray(errs)
    return {"mean_position_error_m": float(e.mean()) if e.size else None,
            "median_position_error_m": float(np.median(e)) if e.size else None,
            "p90_position_error_m": float(np.percentile(e, 90)) if e.size else None,
            "n_position_samples": int(e.size),
            "valid3d_fraction": n_valid / n_out if n_out else None,
            "valid3d_track_fraction": len(ids_valid) / len(ids) if ids else None}


def latency_stats(latencies_s: Sequence[float], output_stamps_s: Sequence[float] = (),
                  cfg: LatencyConfig = LatencyConfig()) -> dict:
    """Latency percentiles (ms, keys ``p50_ms``, ``p99_ms``, ... from ``cfg.percentiles``), mean and max (ms),
    sample count, and output rate (Hz) = (n - 1) / (last - first) of the output header stamps (sensor time)."""
    lat = np.asarray([x for x in latencies_s if x is not None and np.isfinite(x)], dtype=float)
    out = {}
    for q in cfg.percentiles:
        out[f"p{q:g}_ms"] = float(np.percentile(lat, q) * MS_PER_S) if lat.size else None
    out["mean_ms"] = float(lat.mean() * MS_PER_S) if lat.size else None
    out["max_ms"] = float(lat.max() * MS_PER_S) if lat.size else None
    out["n"] = int(lat.size)
    st = np.sort(np.asarray(list(output_stamps_s), dtype=float))
    span = float(st[-1] - st[0]) if st.size > 1 else 0.0
    out["output_rate_hz"] = (st.size - 1) / span if span > 0 else None
    return out


def id_timeline(gt2d: Mapping[int, Sequence[Obj]], pred: Mapping[int, Sequence[Obj]],
                iou_threshold: float) -> dict[str, list[tuple[int, str | None]]]:
    """{GT id: [(frame, matched track id or None)]} for the id timeline plot (same matching as the 3D error)."""
    out: dict[str, list] = {}
    for k in sorted(gt2d):
        g = list(gt2d[k])
        p = list(pred.get(k, ()))
        m = dict(match_frame(g, p, iou_threshold))
        for i, o in enumerate(g):
            out.setdefault(o.id, []).append((k, p[m[i]].id if i in m else None))
    return out
