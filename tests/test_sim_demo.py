"""The demo bag scene: deterministic, people crossing, a vehicle; existing bags are reused."""
from tracker.data.motchallenge import export_gt_sequence, read_gt
from tracker.sim import ground_truth_sequence
from tracker.sim.demo import DEMO_DURATION_S, DEMO_SEED, demo_config, ensure_demo_bag


def _overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_demo_scene_has_people_crossing_and_a_vehicle(tmp_path):
    seq = ground_truth_sequence("day", DEMO_DURATION_S, DEMO_SEED, config=demo_config())
    ids = {o.id for f in seq for o in f.objects}
    assert any(i.startswith("vehicle_") for i in ids) and sum(i.startswith("person_") for i in ids) >= 3
    crossing = any(_overlap(a.box2d, b.box2d) for f in seq for a in f.objects for b in f.objects
                   if a.id < b.id and a.cls == b.cls == "person")
    assert crossing
    out = export_gt_sequence(seq, tmp_path, "demo", 640, 480, 15.0)
    assert len(read_gt(out / "gt" / "gt.txt")) == len([f for f in seq if f.objects])


def test_ensure_demo_bag_reuses_an_existing_bag(tmp_path):
    bag = tmp_path / "demo"
    bag.mkdir()
    (bag / "metadata.yaml").write_text("x")
    assert ensure_demo_bag(bag) == bag
