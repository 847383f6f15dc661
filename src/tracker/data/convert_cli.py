"""tracker-convert: VT-MOT / MOTChallenge folders -> contract bags (tracker.data.converters), one bag per sequence.

    tracker-convert vtmot SRC OUT [--split train] [--rate 30]   SRC: the VT-MOT root (images/<split>/<seq>/) or one
                                                                 sequence folder (visible/, infrared/, gt/gt.txt)
    tracker-convert mot SRC OUT                                  SRC: one sequence (img1/, gt/gt.txt, seqinfo.ini) or
                                                                 a folder of sequences (e.g. MOT17/train)

Writes OUT/<sequence> (rosbag2) per sequence and prints their paths. A wrong layout is an error (exit code 2)
that says which file or folder was expected where.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .converters import DEFAULT_RATE_HZ, convert_motchallenge_sequence, convert_vtmot_sequence, frame_files
from .motchallenge import MOTFormatError, read_seqinfo

VTMOT_CAMERAS = ("visible", "infrared")
MOT_DEFAULT_IMDIR = "img1"
LISTED_ENTRIES = 10  # entries of a folder named in a layout error


class LayoutError(ValueError):
    """SRC is not laid out as the dataset expects; the message names what was expected where."""


@dataclass(frozen=True)
class Sequence:
    name: str
    path: Path
    frames: int
    has_gt: bool


def _listing(folder: Path) -> str:
    if not folder.is_dir():
        return "it does not exist" if not folder.exists() else "it is not a folder"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    more = f", ... ({len(names)} entries)" if len(names) > LISTED_ENTRIES else ""
    return "it holds " + (", ".join(names[:LISTED_ENTRIES]) + more if names else "nothing")


def _vtmot_sequence(seq: Path) -> Sequence:
    n = len(set(frame_files(seq / "visible")) | set(frame_files(seq / "infrared")))
    if not n:
        raise LayoutError(f"VT-MOT sequence {seq}: no numbered images (0000001.jpg ...) in {seq / 'visible'} or "
                          f"{seq / 'infrared'} ({_listing(seq)})")
    return Sequence(seq.name, seq, n, (seq / "gt" / "gt.txt").is_file())


def vtmot_sequences(src: Path, split: str) -> list[Sequence]:
    """The sequences of a VT-MOT root (``src/images/<split>/<seq>``) or of one sequence folder."""
    src = Path(src)
    if any((src / c).is_dir() for c in VTMOT_CAMERAS):
        return [_vtmot_sequence(src)]
    if not (src / "images").is_dir():
        raise LayoutError(f"{src} is not a VT-MOT layout: expected {src / 'images' / split}/<sequence>/visible/"
                          f"0000001.jpg (the dataset root; --split {split}) or {src}/visible/ and {src}/infrared/ "
                          f"(one sequence); {_listing(src)}")
    base = src / "images" / split
    seqs = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if not seqs:
        raise LayoutError(f"VT-MOT root {src}: expected sequence folders in {base} (--split {split}); "
                          f"{_listing(base)}; splits in {src / 'images'}: {_listing(src / 'images')}")
    return [_vtmot_sequence(s) for s in seqs]


def _is_mot_sequence(p: Path) -> bool:
    return (p / "seqinfo.ini").is_file() or (p / MOT_DEFAULT_IMDIR).is_dir()


def _mot_sequence(seq: Path) -> Sequence:
    info = read_seqinfo(seq / "seqinfo.ini") if (seq / "seqinfo.ini").is_file() else {}
    imdir = seq / info.get("imdir", MOT_DEFAULT_IMDIR)
    n = len(frame_files(imdir))
    if not n:
        raise LayoutError(f"MOTChallenge sequence {seq}: no numbered images (000001.jpg ...) in {imdir} "
                          f"({_listing(imdir)})")
    return Sequence(seq.name, seq, n, (seq / "gt" / "gt.txt").is_file())


def mot_sequences(src: Path) -> list[Sequence]:
    """One MOTChallenge sequence (``img1/``, ``seqinfo.ini``) or every sequence in a split folder."""
    src = Path(src)
    if _is_mot_sequence(src):
        return [_mot_sequence(src)]
    seqs = sorted(p for p in src.iterdir() if p.is_dir() and _is_mot_sequence(p)) if src.is_dir() else []
    if not seqs:
        raise LayoutError(f"{src} is not a MOTChallenge layout: expected {src}/{MOT_DEFAULT_IMDIR}/000001.jpg "
                          f"(+ gt/gt.txt, seqinfo.ini) for one sequence, or {src}/<sequence>/{MOT_DEFAULT_IMDIR}/ "
                          f"for a folder of sequences (e.g. MOT17/train); {_listing(src)}")
    return [_mot_sequence(s) for s in seqs]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracker-convert", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=("vtmot", "mot"), help="vtmot: VT-MOT (visible + infrared); mot: "
                    "MOTChallenge (MOT15/16/17/20, RGB)")
    ap.add_argument("src", type=Path, help="dataset root, split folder or one sequence folder")
    ap.add_argument("out", type=Path, help="output folder: one bag per sequence, OUT/<sequence>")
    ap.add_argument("--split", default="train", help="VT-MOT split under SRC/images/ (default train)")
    ap.add_argument("--rate", type=float, default=DEFAULT_RATE_HZ,
                    help=f"VT-MOT frame rate in Hz (default {DEFAULT_RATE_HZ:g}; MOT reads seqinfo.ini)")
    ap.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    ap.add_argument("--overwrite", action="store_true", help="replace existing bags of the same name")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def _targets(seqs: list[Sequence], out: Path, overwrite: bool) -> list[Path]:
    targets = [out / s.name for s in seqs]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise LayoutError(f"output exists: {', '.join(map(str, existing))} (use --overwrite)")
    for t in existing:
        shutil.rmtree(t)
    return targets


def run(args) -> list[Path]:
    if args.rate <= 0:
        raise LayoutError(f"--rate must be > 0 Hz, got {args.rate:g}")
    if not args.src.exists():
        raise LayoutError(f"SRC not found: {args.src}")
    seqs = vtmot_sequences(args.src, args.split) if args.dataset == "vtmot" else mot_sequences(args.src)
    targets = _targets(seqs, args.out, args.overwrite)
    from tqdm import tqdm
    bar = tqdm(total=sum(s.frames for s in seqs), desc="converting", unit="frame", disable=args.no_progress)
    done = []
    with bar:
        for s, target in zip(seqs, targets):
            bar.set_postfix_str(s.name)
            if not s.has_gt:
                bar.write(f"tracker-convert: {s.path}: no gt/gt.txt, the bag has no ground truth", file=sys.stderr)
            if args.dataset == "vtmot":
                done.append(convert_vtmot_sequence(s.path, target, args.rate, args.storage, progress=bar.update))
            else:
                done.append(convert_motchallenge_sequence(s.path, target, args.storage, progress=bar.update))
    return done


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        bags = run(args)
    except (LayoutError, MOTFormatError, ValueError, OSError) as e:
        print(f"tracker-convert: error: {e}", file=sys.stderr)
        return 2
    for b in bags:
        print(b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
