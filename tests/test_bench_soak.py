"""bench/bench_soak.py's looping source: time never goes backwards across loops, the RGB stream stays regular,
the bag's last RGB frame (its thermal/depth partners cut off by the end of the recording) is not played, and
/tf_static comes once."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from tracker.common.geometry import Transform
from tracker.data.reader import header_stamp_ns
from tracker.data.writer import BagWriter

ROOT = Path(__file__).resolve().parents[1]
COLOR, THERMAL, DEPTH = "/camera/color/image_raw", "/camera/thermal/image_raw", "/camera/depth/image_raw"
PERIOD_S = 1 / 30
FRAMES = 6
T0 = 1_700_000_000.0


def _bench():
    spec = importlib.util.spec_from_file_location("bench_soak", ROOT / "bench" / "bench_soak.py")
    mod = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = mod  # its dataclasses look their module up there
        spec.loader.exec_module(mod)
    return mod


def _bag(path: Path) -> Path:
    """FRAMES RGB frames at 30 Hz; thermal 4 ms and depth 6 ms after each RGB frame except the last."""
    img = np.zeros((4, 4), np.uint16)
    with BagWriter(path, latency_s=0.01) as w:
        w.write_tf_static(T0, {"camera_thermal_optical_frame": ("camera_color_optical_frame", Transform.identity())})
        for i in range(FRAMES):
            t = T0 + i * PERIOD_S
            w.write_image(COLOR, t, "camera_color_optical_frame", np.zeros((4, 4, 3), np.uint8), "rgb8")
            if i < FRAMES - 1:
                w.write_image(THERMAL, t + 0.004, "camera_thermal_optical_frame", img, "mono16")
                w.write_image(DEPTH, t + 0.006, "camera_depth_optical_frame", img, "16UC1")
    return path


def test_loops_are_shifted_so_that_time_never_goes_backwards(tmp_path):
    bench = _bench()
    bag = bench.LoopedBag(_bag(tmp_path / "bag"), COLOR).scan()
    played = [(k, m) for k in range(3) for m in bag.messages(k)]
    per_topic: dict[str, list[int]] = {}
    bag_times = []
    for _, (topic, t_bag, stamp, raw) in played:
        bag_times.append(t_bag)
        if stamp is not None:
            assert header_stamp_ns(raw) == stamp  # the CDR bytes carry the shifted stamp
            per_topic.setdefault(topic, []).append(stamp)
    assert all(np.diff(bag_times) >= 0)
    for topic, stamps in per_topic.items():
        assert all(np.diff(stamps) > 0), topic
    rgb = np.asarray(per_topic[COLOR])
    assert len(rgb) == 3 * (FRAMES - 1)  # the last RGB frame of the bag is never played
    assert np.allclose(np.diff(rgb), PERIOD_S * 1e9, atol=1e3)  # regular, also across the loop boundary
    assert len(per_topic[THERMAL]) == len(per_topic[DEPTH]) == len(rgb)  # every played RGB frame has partners
    assert [k for k, m in played if m[0] == "/tf_static"] == [0]


def test_with_header_stamp_round_trips():
    from builtin_interfaces.msg import Time
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
    m = Image(width=2, height=1, encoding="mono8", step=2, data=bytes(2))
    m.header.stamp = Time(sec=5, nanosec=7)
    m.header.frame_id = "cam"
    stamp = 1_700_000_123_456_789_012
    out = deserialize_message(_bench().with_header_stamp(serialize_message(m), stamp), Image)
    assert (out.header.stamp.sec, out.header.stamp.nanosec) == divmod(stamp, 1_000_000_000)
    assert out.header.frame_id == "cam" and bytes(out.data) == bytes(2) and out.width == 2
