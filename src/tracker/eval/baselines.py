"""Baselines on the suite's own detections: BoxMOT's ByteTrack and OC-SORT associate the network's raw
detections (/tracker/detections_2d of the suite's output bag), so that the comparison isolates the tracker.

BoxMOT is an optional extra (``pip install boxmot``); without it these baselines are skipped with a message.
The RGB-only network baseline is not here: it is the node suite replayed with ``rgb_only=True`` (cli)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .config import BaselineConfig
from .scoring import Obj

#: baseline name -> class names tried in the boxmot package (its API renamed them across releases)
BOXMOT_CLASSES = {"bytetrack": ("ByteTrack", "BYTETracker", "ByteTracker"),
                  "ocsort": ("OcSort", "OCSORT", "OCSort")}
BOXMOT_BASELINES = tuple(BOXMOT_CLASSES)
#: BoxMOT output columns: x1, y1, x2, y2, id, conf, cls, det_index
COL_ID, COL_CONF, COL_CLS = 4, 5, 6
DET_COLUMNS = 6  # x1, y1, x2, y2, conf, cls


class BaselineUnavailable(RuntimeError):
    """The baseline cannot run here (e.g. boxmot not installed); the message says why."""


def boxmot_available() -> tuple[bool, str]:
    try:
        import boxmot  # noqa: F401
    except Exception as e:  # ImportError, or a broken install
        return False, f"boxmot is not importable ({type(e).__name__}: {e}); install the optional extra " \
                      f"'pip install boxmot' to run the ByteTrack / OC-SORT baselines"
    return True, ""


def make_tracker(name: str):
    ok, why = boxmot_available()
    if not ok:
        raise BaselineUnavailable(why)
    import boxmot
    for cls_name in BOXMOT_CLASSES.get(name, ()):
        cls = getattr(boxmot, cls_name, None)
        if cls is not None:
            try:
                return cls(per_class=True)
            except TypeError:
                return cls()
    raise BaselineUnavailable(f"boxmot {getattr(boxmot, '__version__', '?')} has none of "
                              f"{', '.join(BOXMOT_CLASSES.get(name, ()))} (unknown baseline {name!r}?)")


def run_boxmot(name: str, detections: Mapping[int, Sequence[Obj]], frames: Sequence[int],
               image_size: tuple[int, int], classes: Sequence[str],
               cfg: BaselineConfig = BaselineConfig()) -> dict[int, list[Obj]]:
    """Track ``detections`` ({frame: [Obj]}) with BoxMOT's ``name`` tracker over ``frames`` (every GT frame, in
    order, so that frames without detections age the tracks). ``image_size`` = (width, height) px: BoxMOT
    wants an image; a black one of that size is given (neither tracker uses appearance)."""
    tracker = make_tracker(name)
    w, h = image_size
    img = np.zeros((int(h), int(w), 3), dtype=np.uint8)
    cls_index = {c: i for i, c in enumerate(classes)}
    out: dict[int, list[Obj]] = {}
    for k in frames:
        dets = [d for d in detections.get(k, ()) if d.score >= cfg.min_score and d.cls in cls_index]
        arr = np.array([[*d.box, d.score, cls_index[d.cls]] for d in dets], dtype=np.float32).reshape(-1, DET_COLUMNS)
        res = np.asarray(tracker.update(arr, img))
        objs = []
        for row in res.reshape(-1, res.shape[-1] if res.ndim == 2 else 1):
            if row.size <= COL_CLS:
                continue
            c = int(row[COL_CLS])
            objs.append(Obj(str(int(row[COL_ID])), classes[c] if 0 <= c < len(classes) else "",
                            tuple(float(v) for v in row[:4]), float(row[COL_CONF])))
        out[k] = objs
    return out
