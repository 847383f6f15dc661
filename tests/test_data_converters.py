"""VT-MOT and MOTChallenge folders -> contract bags; MOTChallenge export of simulated GT."""
import cv2
import numpy as np

from tracker.data.contract import Topics
from tracker.data.converters import convert_motchallenge_sequence, convert_vtmot
from tracker.data.motchallenge import export_bag_gt, read_gt, read_seqinfo
from tracker.data.reader import BagReader


def _jpgs(folder, n, shape, value):
    folder.mkdir(parents=True)
    for k in range(1, n + 1):
        cv2.imwrite(str(folder / f"{k:07d}.jpg"), np.full(shape, value + k, np.uint8))


def test_vtmot_to_bag(tmp_path):
    seq = tmp_path / "vt" / "images" / "train" / "seqA"
    _jpgs(seq / "visible", 3, (48, 64, 3), 50)
    _jpgs(seq / "infrared", 3, (48, 64), 100)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text("1,1,10,5,8,20,1,1,1\n1,2,30,5,20,10,1,2,1\n1,3,0,0,5,5,0,1,1\n"
                                       "2,1,11,5,8,20,1,1,1\n3,4,1,1,2,2,1,9,1\n")
    bags = convert_vtmot(tmp_path / "vt", tmp_path / "bags")
    r = BagReader(bags[0])
    assert set(r.cameras) == {"color", "thermal"} and "depth" not in r.cameras
    assert set(r.extrinsics) == {"color", "thermal"}
    s = list(r.samples())
    assert len(s) == 3 and s[0].thermal_encoding == "mono8" and s[0].depth is None
    assert s[0].rgb.shape == (48, 64, 3)
    assert [(g.id, g.cls) for g in s[0].gt2d] == [("1", "person"), ("2", "vehicle")]  # flag 0 ignored
    assert s[0].gt2d[0].box == (10, 5, 18, 25) and s[2].gt2d == []  # class 9 dropped


def test_motchallenge_round_trip(tmp_path):
    seq = tmp_path / "MOT-01"
    _jpgs(seq / "img1", 2, (40, 60, 3), 10)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text("1,7,1,2,10,20,1,1,0.5\n2,7,2,2,10,20,1,1,0.6\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=MOT-01\nimDir=img1\nframeRate=25\nseqLength=2\n"
                                     "imWidth=60\nimHeight=40\nimExt=.jpg\n")
    bag = convert_motchallenge_sequence(seq, tmp_path / "bag", storage="sqlite3")
    r = BagReader(bag)
    assert Topics().thermal_image not in r.topics_present
    s = list(r.samples())
    assert s[1].stamp - s[0].stamp == 0.04 or abs(s[1].stamp - s[0].stamp - 0.04) < 1e-6
    assert s[1].gt2d[0].visibility == 0.6
    out = export_bag_gt(bag, tmp_path / "export", "X")
    gt = read_gt(out / "gt" / "gt.txt")
    assert gt[2][0][1:5] == (2.0, 2.0, 10.0, 20.0) and gt[2][0][6] == 1
    assert read_seqinfo(out / "seqinfo.ini")["framerate"] == "25"
