"""tracker-play looping (--loop N, 0 = forever): every loop shifts header stamps, bag time and /clock by the bag's
duration plus one RGB frame period, so time never goes backwards; /tf_static comes once. Played over DDS into
the recorder."""
import itertools
import os
import threading

import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform
from tracker.data.bag import Bag
from tracker.data.contract import Topics
from tracker.data.messages import header_stamp_ns
from tracker.data.writer import BagWriter, Det2D
from tracker.nodes.player import LOOP_FOREVER, PlayerConfig, build_parser, config_from_args, looped

N_FRAMES = 4
PERIOD_NS = 100_000_000
T0_NS = 5_000_000_000
LATENCY_S = 0.003


def _bag(path, topics=Topics()):
    cam = CameraModel.from_fov(8, 6, 60, "cc")
    with BagWriter(path, latency_s=LATENCY_S) as w:
        w.write_tf_static(T0_NS / 1e9, {"tt": ("cc", Transform.identity())}, topic=topics.tf_static)
        for k in range(N_FRAMES):
            t = (T0_NS + k * PERIOD_NS) / 1e9
            w.write_camera_info(topics.color_info, t, cam)
            w.write_image(topics.color_image, t, "cc", np.full((6, 8, 3), k, np.uint8), "rgb8")
            w.write_detections_2d(topics.gt_tracks_2d, t, "cc", [Det2D("p", "person", (0, 0, 2, 2))])
    return path


def test_loops_shift_stamps_so_time_never_goes_backwards(tmp_path):
    t = Topics()
    with Bag(_bag(tmp_path / "b")) as bag:
        span = bag.duration_ns
        msgs = list(looped(bag, 3, t.color_image))
    assert [m.loop for m in msgs].count(2) == 3 * N_FRAMES  # info, image, GT per frame; no tf_static
    assert sum(m.topic == t.tf_static for m in msgs) == 1 and msgs[0].topic == t.tf_static
    bag_times = [m.t_bag_ns for m in msgs]
    assert bag_times == sorted(bag_times)
    rgb = [header_stamp_ns(m.raw) for m in msgs if m.topic == t.color_image]
    assert len(rgb) == 3 * N_FRAMES and all(b > a for a, b in zip(rgb, rgb[1:]))  # strictly: no stamp repeats
    shift = span + PERIOD_NS
    assert rgb[N_FRAMES:2 * N_FRAMES] == [s + shift for s in rgb[:N_FRAMES]]
    assert rgb[2 * N_FRAMES] - rgb[2 * N_FRAMES - 1] == rgb[N_FRAMES] - rgb[N_FRAMES - 1]
    first = [m for m in msgs if m.loop == 0 and m.topic == t.color_image][0]
    again = [m for m in msgs if m.loop == 2 and m.topic == t.color_image][0]
    assert again.t_bag_ns - first.t_bag_ns == 2 * shift
    assert again.raw[12:] == first.raw[12:]  # only the stamp changed


def test_loop_zero_plays_forever_and_one_is_the_bag(tmp_path):
    t = Topics()
    with Bag(_bag(tmp_path / "b")) as bag:
        once = list(looped(bag, 1, t.color_image))
        assert len(once) == bag.message_count and {m.loop for m in once} == {0}
        many = list(itertools.islice(looped(bag, LOOP_FOREVER, t.color_image, topics=[t.color_image]), 50))
    stamps = [header_stamp_ns(m.raw) for m in many]
    assert len(many) == 50 and many[-1].loop == 49 // N_FRAMES and stamps == sorted(set(stamps))


def test_command_line_loop_option():
    a = build_parser().parse_args(["bag", "--loop", "0", "--lockstep", "--rate", "2"])
    cfg = config_from_args(a)
    assert cfg.loops == LOOP_FOREVER and cfg.lockstep and cfg.rate == 2.0
    assert config_from_args(build_parser().parse_args(["bag"])).loops == PlayerConfig().loops == 1
    with pytest.raises(SystemExit):
        config_from_args(build_parser().parse_args(["bag", "--loop", "-1"]))


def test_play_loops_over_dds_into_the_recorder(tmp_path):
    """play() with loops=2 -> the recorder (this process): 2 x N_FRAMES RGB frames with increasing stamps are
    recorded, serialized bytes unchanged but for the stamp; /tf_static is published once."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.executors import SingleThreadedExecutor

    from tracker.data.contract import IMAGE
    from tracker.nodes.player import play
    from tracker.nodes.recorder import Recorder, RecorderConfig
    ns = f"/player_test_{os.getpid()}"  # own topics: other DDS tests on this machine do not interfere
    topics = Topics(**{k: ns + v for k, v in Topics().__dict__.items()})
    bag = _bag(tmp_path / "b", topics)
    rclpy.init()
    try:
        sink = rclpy.create_node("player_test_sink")
        rec = Recorder(sink, tmp_path / "rec", RecorderConfig(topics={topics.color_image: IMAGE}))
        executor = SingleThreadedExecutor()  # its own executor: play() spins the global one
        executor.add_node(sink)
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                executor.spin_once(timeout_sec=0.05)
        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        cfg = PlayerConfig(rate=4.0, color_image=topics.color_image, loops=2, wait_for_subscribers_s=10.0,
                           start_delay_s=0.3, drain_s=0.5, publish_clock=False)
        stats = play(bag, cfg, node_name="player_test")
        stop.set()
        spinner.join(timeout=5)
        rec.close()
        executor.remove_node(sink)
        sink.destroy_node()
    finally:
        rclpy.shutdown()
    assert stats["rgb_frames"] == 2 * N_FRAMES and stats["loops"] == 2
    assert stats["published"][topics.tf_static] == 1
    got = [s for s, _ in rec.receive[topics.color_image]]
    assert len(got) == 2 * N_FRAMES and got == sorted(set(got))
    with Bag(tmp_path / "rec") as out, Bag(bag) as inp:
        assert out.header_stamps(topics.color_image) == got
        first_in = next(iter(inp.raw([topics.color_image])))[2]
        recorded = [bytes(raw) for _, _, raw in out.raw([topics.color_image])]
    assert recorded[0] == bytes(first_in) and recorded[N_FRAMES][12:] == bytes(first_in)[12:]
