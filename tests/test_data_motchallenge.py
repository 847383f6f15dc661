"""The one MOTChallenge module: its class table is TrackEval's, and a MOT sequence converted into a contract
bag scores exactly like its gt.txt (same class mapping, flags, ignore regions and visibility)."""
import ast
import inspect

import cv2
import numpy as np
import pytest

from tracker.data import motchallenge as mc
from tracker.data.converters import convert_motchallenge_sequence
from tracker.eval.config import EvalConfig, ScoringConfig
from tracker.eval.evaluate import evaluate_bag, evaluate_mot

MOT17_DISTRACTORS = ("person_on_vehicle", "static_person", "distractor", "reflection")
N_FRAMES = 6
W, H = 200, 120


def _gt_rows(k):
    """gt.txt rows of frame k: (id, box x, y, w, h, flag, class, visibility)."""
    return [(1, 10 + k, 10, 20, 50, 1, 1, 0.9),  # pedestrian
            (2, 60, 10, 20, 50, 0, 1, 1.0),  # pedestrian, flag 0: not scored
            (3, 100, 10, 20, 50, 1, 7, -1),  # static person (ignore region), visibility not given
            (4, 140, 60, 40, 30, 1, 3, 1.0),  # car
            (5, 140, 10, 20, 30, 0, 2, 0.5),  # person on vehicle, flag 0 as in MOT17 (still a distractor)
            (6, 170, 10, 20, 40, 0, 8, 1.0),  # distractor
            (7, 10, 80, 30, 30, 1, 4, 1.0),  # bicycle: neither scored nor ignored
            (8, 60, 80, 30, 30, 0, 12, 0.2)]  # reflection


def _pred_rows(k):
    """Tracker rows: a hit on each pedestrian/car/ignore region/bicycle, plus one false positive."""
    boxes = [(10 + k, 10, 20, 50), (60, 10, 20, 50), (100, 10, 20, 50), (140, 60, 40, 30), (140, 10, 20, 30),
             (170, 10, 20, 40), (10, 80, 30, 30), (60, 80, 30, 30), (100, 80, 20, 20)]
    return [(11 + i, b, -1 if i != 3 else 3) for i, b in enumerate(boxes)]


def _sequence(root):
    seq = root / "MOT17-XX"
    (seq / "img1").mkdir(parents=True)
    (seq / "gt").mkdir()
    for k in range(1, N_FRAMES + 1):
        cv2.imwrite(str(seq / "img1" / f"{k:06d}.jpg"), np.full((H, W, 3), 80, np.uint8))
    (seq / "gt" / "gt.txt").write_text("".join(f"{k},{i},{x},{y},{w},{h},{f},{c},{v}\n"
                                               for k in range(1, N_FRAMES + 1)
                                               for i, (x, y, w, h), f, c, v in
                                               ((r[0], r[1:5], r[5], r[6], r[7]) for r in _gt_rows(k))))
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname=MOT17-XX\nimDir=img1\nframeRate=30\nseqLength={N_FRAMES}\n"
                                     f"imWidth={W}\nimHeight={H}\nimExt=.jpg\n")
    pred = root / "pred.txt"
    pred.write_text("".join(f"{k},{i},{x},{y},{w},{h},0.9,{c},-1\n" for k in range(1, N_FRAMES + 1)
                            for i, (x, y, w, h), c in _pred_rows(k)))
    return seq, pred


@pytest.mark.parametrize("scoring", [ScoringConfig(), ScoringConfig(distractor_classes=MOT17_DISTRACTORS),
                                     ScoringConfig(distractor_classes=MOT17_DISTRACTORS, min_visibility=0.3)])
def test_converted_bag_scores_like_its_gt_txt(tmp_path, scoring):
    seq, pred = _sequence(tmp_path)
    bag = convert_motchallenge_sequence(seq, tmp_path / "bag")
    cfg = EvalConfig(scoring=scoring)
    from_txt = evaluate_mot(seq / "gt" / "gt.txt", pred, cfg).methods["suite"].scores.summaries()
    from_bag = evaluate_bag(bag, tmp_path / "out", cfg, methods=("suite",), pred=pred,
                            log=lambda _: None).methods["suite"].scores.summaries()
    assert from_bag.keys() == from_txt.keys() == {"all", "person", "vehicle"}
    for cls in from_txt:
        assert from_bag[cls] == pytest.approx(from_txt[cls], abs=1e-9), cls
    assert from_txt["person"]["GT_IDs"] == 1  # the flag-0 pedestrian and the static person are not scored


def _trackeval_literals():
    """TrackEval MotChallenge2DBox's class ids and distractor lists, read from its source."""
    from trackeval.datasets.mot_challenge_2d_box import MotChallenge2DBox
    ids = distractors = None
    mot20_extra = []
    for node in ast.walk(ast.parse(inspect.getsource(MotChallenge2DBox))):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.List)):
            target = ast.unparse(node.targets[0])
            if target.endswith("class_name_to_class_id"):
                ids = ast.literal_eval(node.value)
            elif target == "distractor_class_names":
                distractors = ast.literal_eval(node.value)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "distractor_class_names.append":
            mot20_extra.append(ast.literal_eval(node.args[0]))
    return ids, distractors, mot20_extra


def test_class_table_is_trackevals():
    pytest.importorskip("trackeval")
    ids, distractors, mot20_extra = _trackeval_literals()
    assert {c.name: c.id for c in mc.MOT_CLASSES} == ids
    assert mc.distractor_classes("MOT17") == tuple(distractors) == MOT17_DISTRACTORS
    assert set(mc.distractor_classes("MOT20")) == set(distractors) | set(mot20_extra)
    assert (mc.class_name(1, "x"), mc.class_name(3, "x"), mc.class_name(7, "x"), mc.class_name(-1, "x")) == \
        ("person", "vehicle", "static_person", "x")
    assert (mc.class_id("person"), mc.class_id("vehicle"), mc.class_id("static_person"), mc.class_id("dog")) == \
        (1, 3, 7, -1)


def test_rows_flags_visibility_and_bag_classes(tmp_path):
    seq, _ = _sequence(tmp_path)
    rows = [r for r in mc.read_rows(seq / "gt" / "gt.txt") if r.frame == 1]
    assert [mc.bag_class(r) for r in rows] == ["person", None, "static_person", "vehicle", "person_on_vehicle",
                                               "distractor", None, "reflection"]
    assert rows[2].visibility == 1.0 and rows[1].zero_marked and rows[0].box == (11.0, 10.0, 31.0, 60.0)
    lines = mc.gt_lines([(1, [("p", "person", (0, 0, 2, 4), 0.5), ("s", "static_person", (5, 5, 6, 6), 1.0)])])
    assert lines == ["1,1,0.000,0.000,2.000,4.000,1,1,0.500", "1,2,5.000,5.000,1.000,1.000,0,7,1.000"]
