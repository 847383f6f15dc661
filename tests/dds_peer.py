"""A real rclpy node in its own process for the DDS smoke test: `talk` publishes an Image and a
Detection3DArray until told to stop; `listen` prints what it received as JSON and exits."""
import json
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose

QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def talk(seconds: float) -> None:
    rclpy.init()
    node = rclpy.create_node("smoke_talker")
    pub_img = node.create_publisher(Image, "smoke/image", QOS)
    pub_det = node.create_publisher(Detection3DArray, "smoke/tracks", QOS)
    img = Image(height=480, width=640, encoding="rgb8", step=640 * 3)
    img.data = bytes(range(256)) * (640 * 480 * 3 // 256)
    det = Detection3D(id="7")
    hyp = ObjectHypothesisWithPose()
    hyp.hypothesis.class_id = "person"
    hyp.hypothesis.score = 0.9
    det.results.append(hyp)
    det.bbox.center.position.z = 4.5
    det.bbox.size.x = 0.6
    arr = Detection3DArray(detections=[det])
    arr.header.frame_id = "camera_color_optical_frame"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pub_img.publish(img)
        pub_det.publish(arr)
        time.sleep(0.05)
    node.destroy_node()
    rclpy.shutdown()


def listen(seconds: float) -> None:
    rclpy.init()
    node = rclpy.create_node("smoke_listener")
    got = {}

    def on_image(m):
        got["image"] = {"w": m.width, "h": m.height, "enc": m.encoding, "n": len(m.data),
                        "head": list(bytes(m.data[:4]))}

    def on_tracks(m):
        d = m.detections[0]
        got["tracks"] = {"frame": m.header.frame_id, "id": d.id, "cls": d.results[0].hypothesis.class_id,
                         "score": d.results[0].hypothesis.score, "z": d.bbox.center.position.z}

    node.create_subscription(Image, "smoke/image", on_image, QOS)
    node.create_subscription(Detection3DArray, "smoke/tracks", on_tracks, QOS)
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(got) < 2:
        rclpy.spin_once(node, timeout_sec=0.1)
    print(json.dumps(got), flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    {"talk": talk, "listen": listen}[sys.argv[1]](float(sys.argv[2]))
