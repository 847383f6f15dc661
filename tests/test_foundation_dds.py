"""Smoke test of the pip-only ROS 2 environment: two real rclpy nodes in separate processes exchange a
sensor_msgs/Image and a vision_msgs/Detection3DArray over DDS."""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

PEER = Path(__file__).with_name("dds_peer.py")


def test_image_and_detection3darray_cross_processes_over_dds(tmp_path):
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)), ROS_LOG_DIR=str(tmp_path))
    talker = subprocess.Popen([sys.executable, str(PEER), "talk", "20"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = subprocess.run([sys.executable, str(PEER), "listen", "20"], env=env, capture_output=True,
                             text=True, timeout=60)
    finally:
        talker.terminate()
        talker.wait(timeout=20)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["image"] == {"w": 640, "h": 480, "enc": "rgb8", "n": 640 * 480 * 3, "head": [0, 1, 2, 3]}
    assert got["tracks"] == {"frame": "camera_color_optical_frame", "id": "7", "cls": "person",
                             "score": 0.9, "z": 4.5}
