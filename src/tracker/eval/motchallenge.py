"""MOTChallenge text files <-> frame-indexed :class:`~tracker.eval.scoring.Obj` lists.

Row formats (comma separated):

- ``mot15``: ``frame, id, x, y, w, h, conf/flag, wx, wy, wz`` (MOT15 GT and every MOTChallenge tracker output;
  columns 8-10 are world coordinates, no class: every row gets ``ScoringConfig.mot_default_class``);
- ``mot17``: ``frame, id, x, y, w, h, conf/flag, class, visibility`` (MOT16/17/20 GT, 9 columns; also what
  :func:`write_mot` writes, so that classes survive a round trip).
- ``auto`` (default): ``mot17`` when the first row has exactly 9 columns, else ``mot15``.

For GT, column 7 is the flag (0 = not scored, TrackEval's ``zero_marked``); for tracker output it is the
confidence. Boxes are converted to (x, y, x + w, y + h), exactly as TrackEval does before computing IoUs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .config import ScoringConfig
from .scoring import Obj

#: MOT class ids -> suite classes (MOT17: 1 pedestrian, 3 car; -1/0 = no class: ScoringConfig.mot_default_class)
MOT_CLASS_TO_NAME = {1: "person", 2: "person_on_vehicle", 3: "vehicle", 4: "bicycle", 5: "motorbike",
                     6: "non_mot_vehicle", 7: "static_person", 8: "distractor", 9: "occluder",
                     10: "occluder_on_ground", 11: "occluder_full", 12: "reflection", 13: "crowd"}
NAME_TO_MOT_CLASS = {"person": 1, "vehicle": 3}
MIN_COLUMNS = 6
MOT17_COLUMNS = 9
FORMATS = ("auto", "mot15", "mot17")


class MOTFormatError(ValueError):
    """A MOT text file cannot be parsed."""


def read_mot(path: str | Path, is_gt: bool, cfg: ScoringConfig = ScoringConfig(),
             fmt: str = "auto") -> dict[int, list[Obj]]:
    """{frame: [Obj]} from a MOT gt.txt (``is_gt``) or tracker result file. Frames as in the file (from 1)."""
    p = Path(path)
    if not p.is_file():
        raise MOTFormatError(f"MOT file not found: {p}")
    if fmt not in FORMATS:
        raise MOTFormatError(f"unknown MOT format {fmt!r}; valid: {', '.join(FORMATS)}")
    out: dict[int, list[Obj]] = {}
    for n, line in enumerate(p.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.replace(" ", "").split(",") if "," in line else line.split()
        if len(parts) < MIN_COLUMNS:
            raise MOTFormatError(f"{p}:{n}: expected at least {MIN_COLUMNS} columns, got {len(parts)}")
        try:
            v = [float(x) for x in parts]
        except ValueError as e:
            raise MOTFormatError(f"{p}:{n}: {e}") from e
        if fmt == "auto":
            fmt = "mot17" if len(v) == MOT17_COLUMNS else "mot15"
        frame, oid, x, y, w, h = int(v[0]), int(v[1]), v[2], v[3], v[4], v[5]
        conf = v[6] if len(v) > 6 else 1.0
        has_class = fmt == "mot17" and len(v) > 7
        cls_id = int(v[7]) if has_class else -1
        vis = v[8] if has_class and len(v) > 8 else 1.0
        cls = MOT_CLASS_TO_NAME.get(cls_id, cfg.mot_default_class)
        if is_gt:
            obj = Obj(str(oid), cls, (x, y, x + w, y + h), 1.0, vis if vis >= 0 else 1.0, int(conf) == 0)
        else:
            obj = Obj(str(oid), cls, (x, y, x + w, y + h), conf)
        out.setdefault(frame, []).append(obj)
    return out


def num_frames(*frame_sets: Mapping[int, Sequence[Obj]]) -> int:
    """The largest frame number of the given frame sets (MOT frames count from 1)."""
    return max((max(f) for f in frame_sets if f), default=0)


def write_mot(path: str | Path, frames: Mapping[int, Sequence[Obj]], is_gt: bool = False) -> Path:
    """Write {frame: [Obj]} as 9-column (``mot17``) MOT rows; string ids are mapped to integers in order of first appearance
    (integer-like ids are kept). GT rows get flag 0/1 and visibility; tracker rows get the confidence."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    ids: dict[str, int] = {}
    numeric = all(o.id.lstrip("-").isdigit() for objs in frames.values() for o in objs)
    lines = []
    for f in sorted(frames):
        for o in frames[f]:
            i = int(o.id) if numeric else ids.setdefault(o.id, len(ids) + 1)
            x1, y1, x2, y2 = o.box
            cls = NAME_TO_MOT_CLASS.get(o.cls, -1)
            if is_gt:
                lines.append(f"{f},{i},{x1:.3f},{y1:.3f},{x2 - x1:.3f},{y2 - y1:.3f},{0 if o.zero_marked else 1},"
                             f"{cls},{o.visibility:.3f}")
            else:
                lines.append(f"{f},{i},{x1:.3f},{y1:.3f},{x2 - x1:.3f},{y2 - y1:.3f},{o.score:.4f},{cls},-1")
    p.write_text("\n".join(lines) + ("\n" if lines else ""))
    return p
