"""MOTChallenge ground truth: reading gt.txt/seqinfo.ini and exporting a bag's (or simulator's) GT."""
from __future__ import annotations

import configparser
from pathlib import Path
from typing import Iterable

from .contract import CLASS_NAMES, Topics

#: MOTChallenge class ids written on export (MOT17: 1 pedestrian, 3 car)
MOT_CLASS_IDS = {"person": 1, "vehicle": 3}


def read_seqinfo(path: Path) -> dict:
    cp = configparser.ConfigParser()
    cp.read(path)
    s = cp["Sequence"] if "Sequence" in cp else {}
    return {k: s[k] for k in s}


def write_seqinfo(path: Path, name: str, frame_rate: float, length: int, width: int, height: int,
                  im_dir: str = "img1", im_ext: str = ".jpg") -> None:
    path.write_text(f"[Sequence]\nname={name}\nimDir={im_dir}\nframeRate={frame_rate:g}\nseqLength={length}\n"
                    f"imWidth={width}\nimHeight={height}\nimExt={im_ext}\n")


def read_gt(path: Path) -> dict[int, list[tuple]]:
    """{frame: [(id, x, y, w, h, flag, class, visibility)]} from a gt.txt (comma separated)."""
    out: dict[int, list[tuple]] = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        v = [float(x) for x in line.replace(" ", "").split(",")]
        v += [1.0] * (9 - len(v)) if len(v) < 9 else []
        out.setdefault(int(v[0]), []).append((int(v[1]), v[2], v[3], v[4], v[5], int(v[6]), int(v[7]), v[8]))
    return out


def gt_lines(frames: Iterable[tuple[int, Iterable]]) -> list[str]:
    """gt.txt lines ``frame,id,x,y,w,h,1,class,visibility`` from (frame number, [(id, cls, box, vis)]).
    String ids are mapped to integers in order of first appearance."""
    ids: dict[str, int] = {}
    lines = []
    for frame, objs in frames:
        for oid, cls, box, vis in objs:
            n = ids.setdefault(str(oid), len(ids) + 1)
            x1, y1, x2, y2 = box
            lines.append(f"{frame},{n},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,"
                         f"{MOT_CLASS_IDS.get(cls, 0)},{vis:.3f}")
    return lines


def export_bag_gt(bag_path: str | Path, out_dir: str | Path, name: str | None = None,
                  topics: Topics = Topics()) -> Path:
    """Write ``out_dir/<name>/gt/gt.txt`` and ``seqinfo.ini`` from a contract bag's /ground_truth/tracks_2d
    (frame numbers = order of the RGB frames, from 1)."""
    from .reader import BagReader
    r = BagReader(bag_path, topics)
    name = name or r.path.name
    seq = Path(out_dir) / name
    (seq / "gt").mkdir(parents=True, exist_ok=True)
    frames = []
    stamps = []
    for k, s in enumerate(r.samples(), start=1):
        frames.append((k, [(g.id, g.cls, g.box, g.visibility) for g in s.gt2d]))
        stamps.append(s.stamp)
    (seq / "gt" / "gt.txt").write_text("\n".join(gt_lines(frames)) + "\n")
    cam = r.cameras.get("color")
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 30.0
    write_seqinfo(seq / "seqinfo.ini", name, round(rate, 3), len(stamps), cam.width if cam else 0,
                  cam.height if cam else 0)
    return seq


def export_gt_sequence(frames, out_dir: str | Path, name: str, width: int, height: int, rate_hz: float) -> Path:
    """MOTChallenge GT from :func:`tracker.sim.ground_truth_sequence` frames."""
    seq = Path(out_dir) / name
    (seq / "gt").mkdir(parents=True, exist_ok=True)
    lines = gt_lines((k, [(o.id, o.cls, o.box2d, o.visibility) for o in f.objects])
                     for k, f in enumerate(frames, start=1))
    (seq / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
    write_seqinfo(seq / "seqinfo.ini", name, rate_hz, len(frames), width, height)
    return seq


assert set(MOT_CLASS_IDS) == set(CLASS_NAMES)
