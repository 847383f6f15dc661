"""The tracker LifecycleNode: I/O, timing and diagnostics around tracker.pipeline.processor.Processor.

Lifecycle (yolo_ros discipline): parameters are declared in __init__; ``configure`` loads and validates the YAML,
loads the model and builds the synchroniser, processor and publishers; ``activate`` subscribes and starts the
timers; ``deactivate`` unsubscribes; ``cleanup`` drops everything built by configure.

Parameters: ``config_file`` (config/tracker_node.yaml), ``model_path`` (overrides backend.model), and the
standard ``use_sim_time``. Topic names come from the YAML ``topics:`` section and can be remapped.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from tracker.common.config import ConfigError
from tracker.pipeline.health import HealthMonitor
from tracker.pipeline.processor import FrameError, FrameInput, Processor, extrinsics_from_edges, make_detector
from tracker.pipeline.sync import ApproximateTimeSync

from . import conversions as conv
from . import qos as qosmod
from .config import NodeConfig, default_config_path, load_node_config, resolve_model_path
from .debug_image import draw

DetectorFactory = Callable[[NodeConfig, str], object]


def default_detector_factory(cfg: NodeConfig, model_path: str):
    return make_detector(cfg.backend.options, cfg.backend.detector or None, model_path)


class TrackerNode(LifecycleNode):
    """Subscribes RGB/thermal/depth + camera_info + /tf_static; publishes tracks, detections, markers, debug image
    and /diagnostics. ``detector_factory`` (tests only) replaces the real detector."""

    def __init__(self, node_name: str = "tracker", *, detector_factory: DetectorFactory | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        self.declare_parameter("config_file", str(default_config_path()))
        self.declare_parameter("model_path", "")
        self._detector_factory = detector_factory or default_detector_factory
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._reset_state()

    def _reset_state(self):
        self.cfg: NodeConfig | None = None
        self.processor: Processor | None = None
        self.sync: ApproximateTimeSync | None = None
        self.health: HealthMonitor | None = None
        self._pubs: dict = {}
        self._subs: list = []
        self._timers: list = []
        self._tf_edges: dict = {}
        self._frames: dict[str, str] = {}
        self._frame_count = 0
        self._qos_warned: set = set()
        self._last_logged: dict[str, float] = {}
        self._last_latency_ms: float | None = None
        self._worker: threading.Thread | None = None
        self._pending = None
        self._cv = threading.Condition()
        self._stop = False
        self.skipped_overload = 0

    # ----------------------------------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        path = self.get_parameter("config_file").value
        try:
            cfg = load_node_config(path)
            from tracker.core import Tracker, TrackerConfig
            tracker_cfg = TrackerConfig.from_mapping(cfg.tracker)
            model = resolve_model_path(self.get_parameter("model_path").value or cfg.backend.model)
            detector = self._detector_factory(cfg, model)
        except ConfigError as e:
            self.get_logger().error(f"configure failed: {e}")
            return TransitionCallbackReturn.FAILURE
        self.cfg = cfg
        self.inputs = ("color",) if cfg.node.rgb_only else ("color", "thermal", "depth")
        self.processor = Processor(cfg.processor, detector, Tracker(tracker_cfg), tracker_cfg.class_names)
        now = time.monotonic()
        self.sync = ApproximateTimeSync(self.inputs, cfg.sync, now=now, on_event=self._sync_event)
        self.health = HealthMonitor(self.inputs, cfg.diagnostics)
        backend = getattr(detector, "backend", None)
        meta = getattr(backend, "meta", None)
        self.health.info.update({"backend": str(getattr(backend, "name", None) or type(backend).__name__
                                                if backend is not None else type(detector).__name__),
                                 "model": model or "(none)", "config": str(path)})
        if meta is not None:
            self.health.info["model_meta"] = str(meta)[:200]
        out_qos = qosmod.profile(cfg.qos.outputs)
        t = cfg.topics
        from tracker_msgs.msg import TrackArray
        from vision_msgs.msg import Detection2DArray, Detection3DArray
        from visualization_msgs.msg import MarkerArray
        from diagnostic_msgs.msg import DiagnosticArray
        types = {"tracks": Detection3DArray, "tracks_2d": Detection2DArray, "track_array": TrackArray,
                 "detections_2d": Detection2DArray, "markers": MarkerArray, "debug_image": Image}
        for key, typ in types.items():
            if key == "markers" and not cfg.node.markers or key == "debug_image" and not cfg.node.debug_image:
                continue
            self._pubs[key] = self.create_lifecycle_publisher(typ, getattr(t, key), out_qos)
        self._pubs["diagnostics"] = self.create_publisher(DiagnosticArray, t.diagnostics, 10)
        self.get_logger().info(f"configured from {path}: inputs {', '.join(self.inputs)}, model {model}, "
                               f"input QoS {qosmod.describe(qosmod.profile(cfg.qos.inputs))}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        cfg = self.cfg
        in_qos = qosmod.profile(cfg.qos.inputs)
        self._in_qos = in_qos
        for cam in self.inputs:
            self._subs.append(self.create_subscription(Image, cfg.topics.image(cam),
                                                       lambda m, c=cam: self._on_image(c, m), in_qos))
            self._subs.append(self.create_subscription(CameraInfo, cfg.topics.info(cam),
                                                       lambda m, c=cam: self._on_info(c, m), in_qos))
        self._subs.append(self.create_subscription(TFMessage, cfg.topics.tf_static, self._on_tf_static,
                                                   qosmod.latched()))
        self.sync.reset(now=time.monotonic())
        self._timers = [
            self.create_timer(cfg.node.poll_period_s, self._on_poll, clock=self._steady),
            self.create_timer(cfg.diagnostics.period_s, self._publish_diagnostics, clock=self._steady),
            self.create_timer(cfg.qos.check_period_s, self._check_qos, clock=self._steady),
        ]
        if cfg.node.processing == "latest":
            self._stop = False
            self._worker = threading.Thread(target=self._work, name="tracker_worker", daemon=True)
            self._worker.start()
        self.get_logger().info("active: subscribed to " + ", ".join(cfg.topics.image(c) for c in self.inputs)
                               + f" (processing: {cfg.node.processing})")
        return super().on_activate(state)

    def _stop_worker(self) -> None:
        if self._worker is not None:
            with self._cv:
                self._stop = True
                self._cv.notify_all()
            self._worker.join(timeout=10)
            self._worker = None

    def destroy_node(self):
        self._stop_worker()
        return super().destroy_node()

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_worker()
        for s in self._subs:
            self.destroy_subscription(s)
        for tm in self._timers:
            self.destroy_timer(tm)
        self._subs, self._timers = [], []
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        for key, p in self._pubs.items():
            if key == "diagnostics":
                self.destroy_publisher(p)
            else:
                self.destroy_lifecycle_publisher(p)
        self._reset_state()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------------------------------- inputs
    def _warn(self, key: str, text: str, period_s: float = 2.0) -> None:
        now = time.monotonic()
        if now - self._last_logged.get(key, -1e9) >= period_s:
            self._last_logged[key] = now
            self.get_logger().warning(text)

    def _sync_event(self, text: str) -> None:
        self.get_logger().warning(f"sync: {text}")
        cam = text.split(":", 1)[0]
        if self.health is not None and cam in self.inputs and "stamp" in text:
            self.health.problem(cam, text.split(": ", 1)[1], time.monotonic())

    def _on_image(self, cam: str, msg: Image) -> None:
        now = time.monotonic()
        self.health.received(cam, now)
        if cam == "color":
            self.health.sync_received += 1
        stamp = conv.stamp_to_s(msg.header.stamp)
        if msg.header.frame_id:
            self._note_frame(cam, msg.header.frame_id)
        sets = self.sync.add(cam, stamp, (msg, now), now)
        self._handle(sets)

    def _on_poll(self) -> None:
        if self.sync is not None:
            self._handle(self.sync.poll(time.monotonic()))

    def _on_info(self, cam: str, msg: CameraInfo) -> None:
        try:
            model = conv.camera_info_to_model(msg)
        except ValueError as e:
            self.health.problem(cam, f"bad camera_info: {e}", time.monotonic())
            self._warn(f"info-{cam}", f"{cam}: bad camera_info ignored: {e}")
            return
        if self.processor.set_camera(cam, model):
            self.get_logger().info(f"{cam}: camera_info {model.width}x{model.height} frame '{model.frame_id}'")
            if model.frame_id:
                self._note_frame(cam, model.frame_id)

    def _note_frame(self, cam: str, frame: str) -> None:
        frame = frame.lstrip("/")
        if self._frames.get(cam) != frame:
            self._frames[cam] = frame
            self._update_extrinsics()

    def _on_tf_static(self, msg: TFMessage) -> None:
        self._tf_edges.update(conv.tf_edges(msg))
        self._update_extrinsics()

    def _update_extrinsics(self) -> None:
        ext = extrinsics_from_edges(self._tf_edges, self._frames)
        ext.pop("color", None)
        if ext != getattr(self, "_ext_applied", None):
            self._ext_applied = ext
            self.processor.set_extrinsics(ext)

    def _check_qos(self) -> None:
        for cam in self.inputs:
            for topic in (self.cfg.topics.image(cam), self.cfg.topics.info(cam)):
                bad = qosmod.incompatible_publishers(self, topic, self._in_qos)
                key = (topic, tuple(bad))
                if bad and key not in self._qos_warned:
                    self._qos_warned.add(key)
                    other = "best_effort" if self.cfg.qos.inputs.reliability == "reliable" else "reliable"
                    text = (f"{topic}: publisher QoS incompatible with our subscription "
                            f"({qosmod.describe(self._in_qos)}), no message will arrive from: {'; '.join(bad)}. "
                            f"Set qos.inputs.reliability: {other} in {self.get_parameter('config_file').value}")
                    self.get_logger().warning(text)
                    self.health.problem(cam, "publisher QoS incompatible (see log)", time.monotonic())

    # ---------------------------------------------------------------------------------------- processing
    def _handle(self, sets) -> None:
        if not sets:
            return
        if self._worker is not None:
            with self._cv:
                skipped = len(sets) - 1 + (self._pending is not None)
                if skipped:
                    self.skipped_overload += skipped
                    self.health.info["skipped_overload"] = str(self.skipped_overload)
                self._pending = sets[-1]
                self._cv.notify()
            return
        for s in sets:
            self._process_safe(s)

    def _work(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._stop:
                    self._cv.wait(timeout=0.5)
                if self._stop:
                    return
                s, self._pending = self._pending, None
            self._process_safe(s)

    def _process_safe(self, s) -> None:
        try:
            self._process(s)
        except Exception as e:  # a bad frame must never take the node down
            self.health.problem("color", f"frame failed: {e}", time.monotonic())
            self._warn("process", f"frame {s.stamp:.3f} failed: {type(e).__name__}: {e}")

    def _decode(self, cam: str, msg: Image, now: float):
        try:
            return conv.image_to_array(msg, cam)
        except conv.EncodingError as e:
            self.health.problem(cam, str(e), now)
            self._warn(f"enc-{cam}", f"{cam}: image dropped: {e}")
            return None

    def _process(self, s) -> None:
        now = time.monotonic()
        self.health.frames_in += 1
        self.health.silent = self.sync.silent
        self.health.sync_dropped = self.sync.stats.dropped
        rgb_msg, rx = s.msgs["color"]
        rgb = self._decode("color", rgb_msg, now)
        if rgb is None:
            return
        thermal = depth = None
        th_enc = None
        if "thermal" in s.msgs:
            m = s.msgs["thermal"][0]
            thermal = self._decode("thermal", m, now)
            th_enc = str(m.encoding) if thermal is not None else None
        if "depth" in s.msgs:
            depth = self._decode("depth", s.msgs["depth"][0], now)
        t_decoded = time.monotonic()
        try:
            res = self.processor.process(FrameInput(s.stamp, rgb, thermal, th_enc, depth, s.missing))
        except FrameError as e:
            self.health.problem(e.input, str(e), now)
            self._warn(f"frame-{e.input}", f"{e.input}: frame {s.stamp:.3f} skipped: {e}")
            return
        for cam, text in res.notes:
            self.health.problem(cam, text, now)
            self._warn(f"note-{cam}-{text[:20]}", f"{cam}: {text}")
        t_processed = time.monotonic()
        self._publish(res, rgb_msg, rgb, s)
        done = time.monotonic()
        res.timings["decode"] = t_decoded - now
        res.timings["publish"] = done - t_processed
        stamp_lat = None
        if not self.get_parameter("use_sim_time").value:
            stamp_lat = time.time() - s.stamp
            if not 0.0 <= stamp_lat < 60.0:  # recorded stamps played without use_sim_time: not a latency
                stamp_lat = None
        self._last_latency_ms = (done - rx) * 1e3
        self.health.frame_done(done - rx, stamp_lat, res.timings)

    def _publish(self, res, rgb_msg: Image, rgb, sset=None) -> None:
        stamp = rgb_msg.header.stamp
        cam_frame = rgb_msg.header.frame_id or res.frame_id
        out_frame = res.frame_id or cam_frame
        ptracks = res.published_tracks(self.cfg.processor.output.publish_tentative)
        names = self.processor.class_names
        p = self._pubs
        quat = self.cfg.processor.output.T_target_color.transform().quat() if \
            self.cfg.processor.output.target_frame else (0.0, 0.0, 0.0, 1.0)
        p["tracks"].publish(conv.tracks_3d_msg(ptracks, res.sizes, stamp, out_frame, quat))
        p["tracks_2d"].publish(conv.tracks_2d_msg(ptracks, stamp, cam_frame))
        p["track_array"].publish(conv.track_array_msg(res.tracks, res.sizes, stamp, out_frame))
        p["detections_2d"].publish(conv.detections_2d_msg(res.detections, names, stamp, cam_frame))
        if "markers" in p:
            p["markers"].publish(conv.markers_msg(ptracks, res.sizes, stamp, out_frame))
        self._frame_count += 1
        if "debug_image" in p and self._frame_count % self.cfg.node.debug_every_n == 0:
            status = self.health.modality_status(time.monotonic())
            if sset is not None:  # what this frame was made of: present inputs are not 'silent' for it
                for cam in status:
                    if cam in sset.missing:
                        status[cam] = "silent"
                    elif status[cam] == "silent":
                        status[cam] = "ok"
            img = draw(rgb, ptracks, res.detections, status, res.stamp, self._last_latency_ms)
            p["debug_image"].publish(conv.array_to_image(img, "rgb8", stamp, cam_frame))

    def _publish_diagnostics(self) -> None:
        if self.health is None:
            return
        self.health.silent = self.sync.silent
        self.health.sync_dropped = self.sync.stats.dropped
        st = self.health.report(time.monotonic())
        msg = conv.diagnostics_msg(st, self.get_clock().now().to_msg(), "tracker", self.get_fully_qualified_name())
        self._pubs["diagnostics"].publish(msg)


def spin_node(node, stop=None) -> None:
    """Spin until ctrl-c (or ``stop()`` returns True)."""
    from rclpy.executors import SingleThreadedExecutor
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    try:
        while rclpy.ok() and (stop is None or not stop()):
            ex.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        ex.remove_node(node)


def main(args=None) -> int:
    """`tracker_node`: the node alone, waiting for a lifecycle manager (launch_ros, `ros2 lifecycle set`).
    Pass --autostart to configure and activate it directly (what tracker-run does)."""
    argv = list(sys.argv if args is None else args)
    autostart = "--autostart" in argv
    argv = [a for a in argv if a != "--autostart"]
    rclpy.init(args=argv)
    node = TrackerNode()
    rc = 0
    try:
        if autostart:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error("configure failed; exiting")
                return 1
            if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error("activate failed; exiting")
                return 1
        spin_node(node)
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
