"""The annotated debug image (ROS-free): tracks with ids, raw detections, per-camera health line."""
from __future__ import annotations

from typing import Mapping

import cv2
import numpy as np

from tracker.pipeline.health import Availability, ModalityStatus

STATE_COLOURS = {Availability.OK: (0, 200, 0), Availability.DEGRADED: (255, 160, 0), Availability.SILENT: (230, 60, 40)}
TRACK_HUE_STEP = 0.61803398875  # golden-ratio conjugate: hue step between consecutive track ids (well spread)


def track_hue(track_id: int) -> float:
    """Hue in [0, 1) of a track's colour."""
    return (int(track_id) * TRACK_HUE_STEP) % 1.0


def track_color(track_id: int) -> tuple[int, int, int]:
    h = track_hue(track_id)
    hsv = np.uint8([[[int(h * 179), 220, 255]]])
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw(rgb: np.ndarray, tracks, detections=None, modality_status: Mapping[str, ModalityStatus] | None = None,
         stamp: float | None = None, latency_ms: float | None = None) -> np.ndarray:
    """RGB uint8 image with boxes, ``class id`` labels and the 3D range of each track; thin grey boxes for the
    raw detections; a status bar with each camera's state (green ok, orange degraded, red silent)."""
    img = np.ascontiguousarray(rgb.copy())
    if detections is not None:
        for b in np.asarray(detections.boxes).reshape(-1, 4):
            x1, y1, x2, y2 = (int(round(v)) for v in b)
            cv2.rectangle(img, (x1, y1), (x2, y2), (160, 160, 160), 1)
    for t in tracks:
        x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(t.box, dtype=float))
        col = track_color(t.track_id)
        cv2.rectangle(img, (x1, y1), (x2, y2), col, 2)
        label = f"{t.class_name} {t.track_id}"
        if t.position is not None and np.all(np.isfinite(t.position)):
            label += f" {float(np.linalg.norm(t.position)):.1f}m"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        y0 = max(y1 - th - 4, 0)
        cv2.rectangle(img, (x1, y0), (x1 + tw + 4, y0 + th + 4), col, -1)
        cv2.putText(img, label, (x1 + 2, y0 + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    bar_h = 20
    cv2.rectangle(img, (0, 0), (img.shape[1], bar_h), (0, 0, 0), -1)
    x = 4
    for name, status in (modality_status or {}).items():
        col = STATE_COLOURS[status.state]
        text = f"{name}: {status.state.value}"
        cv2.putText(img, text, (x, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, col, 1, cv2.LINE_AA)
        x += cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 14
    extra = []
    if stamp is not None:
        extra.append(f"t={stamp:.3f}")
    if latency_ms is not None:
        extra.append(f"{latency_ms:.0f} ms")
    extra.append(f"{len(tracks)} tracks")
    cv2.putText(img, "  ".join(extra), (x, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return img
