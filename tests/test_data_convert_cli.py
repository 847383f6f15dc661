"""tracker-convert (tracker.data.convert_cli): VT-MOT and MOTChallenge folders -> bags through the command line,
and wrong layouts -> exit code 2 with a message naming what was expected where."""
import cv2
import numpy as np

from tracker.data.convert_cli import main
from tracker.data.reader import BagReader

VTMOT_GT = "1,1,10,5,8,20,1,1,1\n2,1,11,5,8,20,1,1,1\n3,1,12,5,8,20,1,1,1\n"
MOT_GT = "1,7,1,2,10,20,1,1,0.5\n2,7,2,2,10,20,1,1,0.6\n"


def _jpgs(folder, n, shape, value):
    folder.mkdir(parents=True)
    for k in range(1, n + 1):
        cv2.imwrite(str(folder / f"{k:07d}.jpg"), np.full(shape, value + k, np.uint8))


def _vtmot_seq(seq, n=3):
    _jpgs(seq / "visible", n, (48, 64, 3), 50)
    _jpgs(seq / "infrared", n, (48, 64), 100)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text(VTMOT_GT)


def _mot_seq(seq):
    _jpgs(seq / "img1", 2, (40, 60, 3), 10)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text(MOT_GT)
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={seq.name}\nimDir=img1\nframeRate=25\nseqLength=2\n"
                                     "imWidth=60\nimHeight=40\nimExt=.jpg\n")


def test_vtmot_root_to_bags(tmp_path, capsys):
    root = tmp_path / "VTMOT"
    for name in ("seqA", "seqB"):
        _vtmot_seq(root / "images" / "test" / name)
    assert main(["vtmot", str(root), str(tmp_path / "bags"), "--split", "test", "--rate", "10"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == [str(tmp_path / "bags" / "seqA"), str(tmp_path / "bags" / "seqB")]
    assert "6/6" in out.err  # the progress bar counted every frame
    with BagReader(tmp_path / "bags" / "seqB") as r:
        assert set(r.cameras) == {"color", "thermal"}
        s = list(r.samples())
    assert len(s) == 3 and abs(s[1].stamp - s[0].stamp - 0.1) < 1e-6
    assert [(g.id, g.cls) for g in s[2].gt2d] == [("1", "person")]
    # existing bags are kept unless --overwrite
    assert main(["vtmot", str(root), str(tmp_path / "bags"), "--split", "test", "--no-progress"]) == 2
    assert "output exists" in capsys.readouterr().err
    assert main(["vtmot", str(root / "images" / "test" / "seqA"), str(tmp_path / "bags"), "--overwrite",
                 "--no-progress"]) == 0


def test_mot_split_folder_to_bags(tmp_path, capsys):
    split = tmp_path / "MOT17" / "train"
    for name in ("MOT17-02", "MOT17-04"):
        _mot_seq(split / name)
    (split / "notes").mkdir()  # not a sequence: ignored
    assert main(["mot", str(split), str(tmp_path / "bags"), "--storage", "sqlite3", "--no-progress"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "bags" / n) for n in ("MOT17-02", "MOT17-04")]
    with BagReader(tmp_path / "bags" / "MOT17-04") as r:
        s = list(r.samples())
    assert len(s) == 2 and s[1].gt2d[0].visibility == 0.6 and s[0].thermal is None


def test_wrong_layouts_exit_2_naming_what_was_expected(tmp_path, capsys):
    root = tmp_path / "VTMOT"
    _vtmot_seq(root / "images" / "train" / "seqA")
    assert main(["vtmot", str(root), str(tmp_path / "o"), "--split", "val", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(root / "images" / "val") in err and "train/" in err  # expected folder, and what is there
    plain = tmp_path / "plain"
    (plain / "frames").mkdir(parents=True)
    assert main(["vtmot", str(plain), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a VT-MOT layout" in err and f"{plain}/visible/" in err and "frames/" in err
    assert main(["mot", str(plain), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a MOTChallenge layout" in err and f"{plain}/img1/000001.jpg" in err
    empty = tmp_path / "MOT-09"
    (empty / "img1").mkdir(parents=True)
    assert main(["mot", str(empty), str(tmp_path / "o")]) == 2
    assert f"no numbered images (000001.jpg ...) in {empty / 'img1'}" in capsys.readouterr().err
    assert main(["mot", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    assert "SRC not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
