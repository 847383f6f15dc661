"""MOTChallenge text files: the one reader/writer of gt.txt / tracker results / seqinfo.ini and the one class
table (used by the dataset converters, the GT export and tracker-eval).

Row layouts (comma or white-space separated):

- ``mot15``: ``frame, id, x, y, w, h, conf/flag, wx, wy, wz`` (MOT15 GT and MOTChallenge tracker output;
  columns 8-10 are world coordinates, no class: such rows get the caller's default class);
- ``mot17``: ``frame, id, x, y, w, h, conf/flag, class, visibility`` (MOT16/17/20 GT, 9 columns; also what
  :func:`write_mot` writes, so that classes survive a round trip);
- ``auto`` (default): ``mot17`` when the first row has exactly 9 columns, else ``mot15``.

For GT, column 7 is the flag (0 = not scored, TrackEval's ``zero_marked``); for tracker output it is the
confidence. Boxes become (x, y, x + w, y + h), as TrackEval does before computing IoUs. Visibility: a missing or
negative value is 1 (fully visible), others are clipped to [0, 1].

Classes (MOT16/17/20, TrackEval MotChallenge2DBox names) -> the contract's classes (docs/data-contract.md):
1 pedestrian -> ``person``; 3 car -> ``vehicle``; 2 person_on_vehicle, 7 static_person, 8 distractor and 12
reflection are TrackEval's distractors (MOT17 and MOT20; 6 non_mot_vehicle in MOT20 only): ignore regions whose
matched predictions are not false positives when scored with ``scoring.distractor_classes``; every other class
(4 bicycle, 5 motorbike, 9-11 occluders, 13 crowd) is neither scored nor an ignore region. Converted bags carry
``person``/``vehicle`` rows with flag 1 and the distractor rows under their TrackEval name, so that scoring a
converted bag equals scoring its gt.txt.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from .contract import CLASS_NAMES, Topics

MIN_COLUMNS = 6
MOT17_COLUMNS = 9
FORMATS = ("auto", "mot15", "mot17")
NO_CLASS = -1  # class column of rows without a class (mot15 layout, written for unknown classes)
NO_VISIBILITY = -1  # visibility column of tracker rows
FULLY_VISIBLE = 1.0
DEFAULT_FRAME_RATE_HZ = 30.0  # seqinfo.ini frame rate of a sequence with fewer than two frames


class MOTFormatError(ValueError):
    """A MOT text file cannot be parsed."""


@dataclass(frozen=True)
class MotClass:
    id: int
    name: str  # TrackEval MotChallenge2DBox name
    contract: str | None = None  # contract class the rows are scored as; None: not a tracked class
    distractor_in: tuple[str, ...] = ()  # benchmarks where TrackEval treats the class as a distractor


_BOTH = ("MOT17", "MOT20")
#: THE MOTChallenge class table (MOT16/17/20 GT, class column)
MOT_CLASSES = (
    MotClass(1, "pedestrian", "person"),
    MotClass(2, "person_on_vehicle", distractor_in=_BOTH),
    MotClass(3, "car", "vehicle"),
    MotClass(4, "bicycle"),
    MotClass(5, "motorbike"),
    MotClass(6, "non_mot_vehicle", distractor_in=("MOT20",)),
    MotClass(7, "static_person", distractor_in=_BOTH),
    MotClass(8, "distractor", distractor_in=_BOTH),
    MotClass(9, "occluder"),
    MotClass(10, "occluder_on_ground"),
    MotClass(11, "occluder_full"),
    MotClass(12, "reflection", distractor_in=_BOTH),
    MotClass(13, "crowd"),
)
_BY_ID = {c.id: c for c in MOT_CLASSES}


def class_name(cls_id: int, default: str) -> str:
    """Suite class name of a MOT class id: the contract class (person, vehicle) when it has one, else the
    TrackEval name; ``default`` for rows without a class (-1/0, mot15) or an id outside the table."""
    c = _BY_ID.get(int(cls_id))
    if c is None:
        return default
    return c.contract or c.name


def class_id(name: str) -> int:
    """MOT class id of a suite class name (contract class or TrackEval name); -1 if unknown."""
    for c in MOT_CLASSES:
        if name in (c.contract, c.name):
            return c.id
    return NO_CLASS


def distractor_classes(benchmark: str = "MOT17") -> tuple[str, ...]:
    """Class names TrackEval treats as distractors for ``benchmark`` (MOT17 or MOT20): the value of
    ``scoring.distractor_classes`` that reproduces TrackEval's MotChallenge2DBox preprocessing."""
    return tuple(c.name for c in MOT_CLASSES if benchmark in c.distractor_in)


# ------------------------------------------------------------------------------------------------- reading
class MotRow(NamedTuple):
    frame: int
    id: int
    box: tuple  # (x1, y1, x2, y2)
    conf: float  # GT: flag (0 = not scored); tracker rows: confidence
    cls: int  # MOT class id; -1 = no class column
    visibility: float  # in [0, 1] (1 when not given)

    @property
    def zero_marked(self) -> bool:
        """GT flag 0: not scored (TrackEval zero_marked)."""
        return int(self.conf) == 0


def _split(line: str) -> list[str]:
    return line.replace(" ", "").split(",") if "," in line else line.split()


def _row(v: list[float], fmt: str) -> MotRow:
    frame, oid, x, y, w, h = int(v[0]), int(v[1]), v[2], v[3], v[4], v[5]
    has_class = fmt == "mot17" and len(v) > 7
    vis = v[8] if has_class and len(v) > 8 else FULLY_VISIBLE
    return MotRow(frame, oid, (x, y, x + w, y + h), v[6] if len(v) > 6 else 1.0,
                  int(v[7]) if has_class else NO_CLASS, FULLY_VISIBLE if vis < 0 else min(vis, FULLY_VISIBLE))


def read_rows(path: str | Path, fmt: str = "auto") -> list[MotRow]:
    """Rows of a MOT gt.txt or tracker result file, in file order."""
    p = Path(path)
    if not p.is_file():
        raise MOTFormatError(f"MOT file not found: {p}")
    if fmt not in FORMATS:
        raise MOTFormatError(f"unknown MOT format {fmt!r}; valid: {', '.join(FORMATS)}")
    rows = []
    for n, line in enumerate(p.read_text().splitlines(), start=1):
        parts = _split(line.strip())
        if not parts:
            continue
        if len(parts) < MIN_COLUMNS:
            raise MOTFormatError(f"{p}:{n}: expected at least {MIN_COLUMNS} columns, got {len(parts)}")
        try:
            v = [float(x) for x in parts]
        except ValueError as e:
            raise MOTFormatError(f"{p}:{n}: {e}") from e
        if fmt == "auto":
            fmt = "mot17" if len(v) == MOT17_COLUMNS else "mot15"
        rows.append(_row(v, fmt))
    return rows


def read_gt(path: str | Path) -> dict[int, list[tuple]]:
    """{frame: [(id, x, y, w, h, flag, class, visibility)]} of a gt.txt (class -1 when absent)."""
    out: dict[int, list[tuple]] = {}
    for r in read_rows(path):
        x1, y1, x2, y2 = r.box
        out.setdefault(r.frame, []).append((r.id, x1, y1, x2 - x1, y2 - y1, int(r.conf), r.cls, r.visibility))
    return out


def bag_class(row: MotRow) -> str | None:
    """Class a GT row gets in a converted contract bag: its contract class (flag 1 rows only), the TrackEval
    name of a distractor (any flag: an ignore region), or None (not written)."""
    c = _BY_ID.get(row.cls) if row.cls != NO_CLASS else _BY_ID[1]  # mot15 layout: every row a pedestrian
    if c is None:
        return None
    if c.contract is not None:
        return None if row.zero_marked else c.contract
    return c.name if c.distractor_in else None


def num_frames(*frame_sets: Mapping[int, Sequence]) -> int:
    """The largest frame number of the given frame sets (MOT frames count from 1)."""
    return max((max(f) for f in frame_sets if f), default=0)


# ------------------------------------------------------------------------------------------------- writing
def _id_map(ids: Iterable[str]) -> Callable[[str], int]:
    """Integer MOT ids: integer-like ids are kept when all are; else in order of first appearance from 1."""
    ids = list(ids)
    if all(i.lstrip("-").isdigit() for i in ids):
        return int
    table: dict[str, int] = {}
    return lambda i: table.setdefault(i, len(table) + 1)


def mot_line(frame: int, oid: int, box, conf: str, cls: str, visibility: str) -> str:
    """One 9-column (``mot17``) row; conf/cls/visibility already formatted."""
    x1, y1, x2, y2 = box
    return f"{frame},{oid},{x1:.3f},{y1:.3f},{x2 - x1:.3f},{y2 - y1:.3f},{conf},{cls},{visibility}"


def write_mot(path: str | Path, frames: Mapping[int, Sequence], is_gt: bool = False) -> Path:
    """Write {frame: [object with id, cls, box, score, visibility, zero_marked]} (e.g. tracker.eval.scoring.Obj)
    as 9-column rows. GT rows get flag 0/1 and the visibility; tracker rows the confidence."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    to_int = _id_map(o.id for objs in frames.values() for o in objs)
    lines = []
    for f in sorted(frames):
        for o in frames[f]:
            if is_gt:
                lines.append(mot_line(f, to_int(o.id), o.box, "0" if o.zero_marked else "1", class_id(o.cls),
                                      f"{o.visibility:.3f}"))
            else:
                lines.append(mot_line(f, to_int(o.id), o.box, f"{o.score:.4f}", class_id(o.cls), NO_VISIBILITY))
    p.write_text("\n".join(lines) + ("\n" if lines else ""))
    return p


def gt_lines(frames: Iterable[tuple[int, Iterable]]) -> list[str]:
    """gt.txt lines from (frame number, [(id, cls, box, visibility)]): flag 1 for the contract classes, 0 for
    ignore regions; string ids mapped to integers in order of first appearance."""
    frames = [(k, list(objs)) for k, objs in frames]
    to_int = _id_map(str(o[0]) for _, objs in frames for o in objs)
    return [mot_line(k, to_int(str(oid)), box, "1" if cls in CLASS_NAMES else "0", class_id(cls), f"{vis:.3f}")
            for k, objs in frames for oid, cls, box, vis in objs]


def read_seqinfo(path: Path) -> dict:
    cp = configparser.ConfigParser()
    cp.read(path)
    s = cp["Sequence"] if "Sequence" in cp else {}
    return {k: s[k] for k in s}


def write_seqinfo(path: Path, name: str, frame_rate: float, length: int, width: int, height: int,
                  im_dir: str = "img1", im_ext: str = ".jpg") -> None:
    path.write_text(f"[Sequence]\nname={name}\nimDir={im_dir}\nframeRate={frame_rate:g}\nseqLength={length}\n"
                    f"imWidth={width}\nimHeight={height}\nimExt={im_ext}\n")


def _write_sequence(out_dir: str | Path, name: str, lines: list[str], rate_hz: float, length: int, width: int,
                    height: int) -> Path:
    seq = Path(out_dir) / name
    (seq / "gt").mkdir(parents=True, exist_ok=True)
    (seq / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
    write_seqinfo(seq / "seqinfo.ini", name, rate_hz, length, width, height)
    return seq


def export_bag_gt(bag_path: str | Path, out_dir: str | Path, name: str | None = None,
                  topics: Topics = Topics()) -> Path:
    """Write ``out_dir/<name>/gt/gt.txt`` and ``seqinfo.ini`` from a contract bag's /ground_truth/tracks_2d
    (frame numbers = order of the RGB frames, from 1)."""
    from .reader import BagReader
    with BagReader(bag_path, topics) as r:
        name = name or r.path.name
        frames, stamps = [], []
        for k, s in enumerate(r.samples(), start=1):
            frames.append((k, [(g.id, g.cls, g.box, g.visibility) for g in s.gt2d]))
            stamps.append(s.stamp)
        cam = r.cameras.get("color")
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else DEFAULT_FRAME_RATE_HZ
    return _write_sequence(out_dir, name, gt_lines(frames), round(rate, 3), len(stamps), cam.width if cam else 0,
                           cam.height if cam else 0)


def export_gt_sequence(frames, out_dir: str | Path, name: str, width: int, height: int, rate_hz: float) -> Path:
    """MOTChallenge GT from :func:`tracker.sim.ground_truth_sequence` frames."""
    lines = gt_lines((k, [(o.id, o.cls, o.box2d, o.visibility) for o in f.objects])
                     for k, f in enumerate(frames, start=1))
    return _write_sequence(out_dir, name, lines, rate_hz, len(frames), width, height)


assert all(class_id(c) != NO_CLASS for c in CLASS_NAMES), "every contract class needs a MOT class id"
