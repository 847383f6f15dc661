"""The tracker LifecycleNode: inputs, calibration and diagnostics around tracker.pipeline.processor.Processor.

Lifecycle (yolo_ros discipline): parameters are declared in __init__ (the YAML is read there, see below);
``configure`` builds the config from the parameters, loads the model and builds the synchroniser, processor and
publishers; ``activate`` subscribes and starts the timers; ``deactivate`` unsubscribes; ``cleanup`` drops
everything built by configure.

Parameters: ``config_file`` (config/tracker_node.yaml), ``model_path`` (overrides backend.model), the standard
``use_sim_time``, and every YAML setting under its dotted key (tracker.nodes.parameters: overrides win over the
YAML; read-only except the score thresholds and the debug image / markers switches, which change at runtime
without a reset). Topic names come from the YAML ``topics:`` section and can be remapped.

Path of a frame: image callbacks -> ApproximateTimeSync -> CalibrationGate (holds sets until the cameras in
them are calibrated) -> FrameRunner (tracker.nodes.frames), called inline or from the LatestWorker thread
(tracker.nodes.worker) -> OutputPublisher (tracker.nodes.publishing). /tf and /tf_static go into the processor's
transform buffer (tracker.nodes.tf_listener): ego-motion and the output frame are looked up there.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Callable

import rclpy
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image

from tracker.common.config import ConfigError
from tracker.common.tf import extrinsics_from_edges, normalize_frame
from tracker.pipeline.calibration import CalibrationGate
from tracker.pipeline.health import HealthMonitor
from tracker.network.factory import make_detector
from tracker.pipeline.processor import Processor
from tracker.pipeline.registration import registration_mismatch
from tracker.pipeline.sync import ApproximateTimeSync, SyncEvent, SyncEventKind

from . import conversions as conv
from . import qos as qosmod
from .config import NodeConfig, default_config_path, resolve_model_path
from .frames import FrameRunner, RateLimitedLog, Work
from .parameters import NodeParameters, apply_runtime, is_runtime, is_setting
from .publishing import OutputPublisher
from .tf_listener import TfListener
from .worker import LatestWorker

DetectorFactory = Callable[[NodeConfig, str], object]


def default_detector_factory(cfg: NodeConfig, model_path: str, log: Callable[[int, str], None] | None = None):
    """The product detector (tracker.network.factory); ``log(level, text)`` gets the backends' loading reports."""
    return make_detector(cfg.backend.options, cfg.backend.detector or None, model_path, log=log)


class TrackerNode(LifecycleNode):
    """Subscribes RGB/thermal/depth + camera_info + /tf + /tf_static; publishes tracks, detections, markers, debug
    image and /diagnostics. ``detector_factory`` (tests only) replaces the real detector; the detector must provide
    ``detect()``, ``describe()`` (tracker.network.info.DetectorInfo) and ``close()``."""

    def __init__(self, node_name: str = "tracker", *, detector_factory: DetectorFactory | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        fixed = ParameterDescriptor(read_only=True, additional_constraints="given when the node starts")
        self.declare_parameter("config_file", str(default_config_path()), fixed)
        self.declare_parameter("model_path", "", fixed)
        self.params = NodeParameters(self, self.get_parameter("config_file").value)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._frame_lock = threading.Lock()  # one frame, or one runtime parameter change, at a time
        self._detector_factory = detector_factory or (
            lambda cfg, model: default_detector_factory(cfg, model, log=self._backend_log))
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._log = RateLimitedLog(self.get_logger())
        self._reset_state()

    def _reset_state(self) -> None:
        """Everything a run builds or learns (configure to cleanup): one place, so no state leaks across runs."""
        self.cfg: NodeConfig | None = None
        self.inputs: tuple[str, ...] = ()
        self.processor: Processor | None = None
        self.sync: ApproximateTimeSync | None = None
        self.gate: CalibrationGate | None = None
        self.health: HealthMonitor | None = None
        self.outputs: OutputPublisher | None = None
        self.runner: FrameRunner | None = None
        self.worker: LatestWorker | None = None
        self._in_qos = None
        self.qos_check: qosmod.InputQosCheck | None = None
        self._subs: list = []
        self._timers: list = []
        self.tf_listener: TfListener | None = None
        self._frames: dict[str, str] = {}
        self._backend_status = ""

    # ----------------------------------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        path = self.get_parameter("config_file").value
        try:
            cfg = self.params.node_config(self)  # the YAML + overrides, as the parameters hold them now
            from tracker.core import Tracker, TrackerConfig
            tracker_cfg = TrackerConfig.from_mapping(cfg.tracker)
            model = resolve_model_path(self.get_parameter("model_path").value or cfg.backend.model)
            detector = self._detector_factory(cfg, model)
            info = detector.describe()
            try:
                info.check_class_names(tracker_cfg.class_names)
            except ConfigError:
                detector.close()
                raise
        except ConfigError as e:
            self.get_logger().error(f"configure failed: {e}")
            return TransitionCallbackReturn.FAILURE
        self.cfg = cfg
        self.inputs = ("color",) if cfg.node.rgb_only else ("color", "thermal", "depth")
        self.processor = Processor(cfg.processor, detector, Tracker(tracker_cfg), tracker_cfg.class_names)
        self.sync = ApproximateTimeSync(self.inputs, cfg.sync, now=time.monotonic(), on_event=self._sync_event)
        self.gate = CalibrationGate(cfg.sync.calibration_wait_s, on_give_up=self._calibration_missing)
        self.health = HealthMonitor(self.inputs, cfg.diagnostics)
        ego = cfg.processor.ego_motion
        self.health.transforms.ego_config = f"{ego.source} (fixed_frame {ego.fixed_frame})"
        self.health.transforms.target_config = cfg.processor.output.target_frame
        self.tf_listener = TfListener(self.processor.tf, self._update_extrinsics)
        if self._backend_status:
            self.health.info["backend_status"] = self._backend_status
        self.health.info.update({"backend": info.backend, "device": info.device, "model": model or "(none)",
                                 "model_meta": info.summary(), "config": str(path)})
        mismatch = registration_mismatch(info.trained_registration, cfg.processor.registration)
        if mismatch:
            self.get_logger().warning(mismatch)
            self.health.info["registration_mismatch"] = mismatch
        self.outputs = OutputPublisher(self, cfg, self.processor.class_names)
        self.runner = FrameRunner(self.processor, self.health, self.outputs, self._log,
                                  live_clock=lambda: not self.get_parameter("use_sim_time").value)
        self.get_logger().info(f"configured from {path}: inputs {', '.join(self.inputs)}, model {model}, "
                               f"input QoS {qosmod.describe_config(cfg.qos.inputs)}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        cfg = self.cfg
        self._in_qos = qosmod.profile(cfg.qos.inputs)
        from .inputs import image_subscriptions  # Image or CompressedImage per input (the `inputs:` section)
        images = image_subscriptions(cfg, self.inputs, self.resolve_topic_name)
        self.qos_check = qosmod.InputQosCheck({s.camera: (s.topic, cfg.topics.info(s.camera)) for s in images},
                                               self._in_qos, cfg.qos.inputs, self.get_parameter("config_file").value)
        # camera_info before images: when both are ready in one executor turn, the calibration is taken first
        for cam in self.inputs:
            self._subs.append(self.create_subscription(CameraInfo, cfg.topics.info(cam),
                                                       lambda m, c=cam: self._on_info(c, m), self._in_qos))
        for s in images:
            self._subs.append(self.create_subscription(s.msg_type, s.topic,
                                                       lambda m, c=s.camera: self._on_image(c, m), self._in_qos))
        self._subs += self.tf_listener.subscribe(self, cfg.topics, self._on_tf, self._on_tf_static)
        self._follow_publishers()  # auto inputs: the reliability of the publishers already discovered
        self.sync.reset(now=time.monotonic())
        self.gate.reset()
        self._timers = [
            self.create_timer(cfg.node.poll_period_s, self._on_poll, clock=self._steady),
            self.create_timer(cfg.diagnostics.period_s, self._publish_diagnostics, clock=self._steady),
            self.create_timer(cfg.qos.check_period_s, self._check_qos, clock=self._steady),
        ]
        if cfg.node.processing == "latest":
            self.worker = LatestWorker(self._run_frame)
            self.worker.start()
        self.get_logger().info("active: subscribed to " + ", ".join(cfg.topics.image(c) for c in self.inputs)
                               + f" (processing: {cfg.node.processing})")
        return super().on_activate(state)

    def _stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

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
        if self.outputs is not None:
            self.outputs.destroy()
        if self.processor is not None:  # a reconfigure must not hold two engines
            self.processor.detector.close()
        self._reset_state()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------------------------------- events
    def _backend_log(self, level: int, text: str) -> None:
        """What the backends report while loading (fallbacks, TensorRT build progress) goes to this node's log,
        so a configure that builds an engine for minutes says so instead of looking hung."""
        log = self.get_logger()
        (log.warning if level >= logging.WARNING else log.info)(f"backend: {text}")
        self._backend_status = text

    def _sync_event(self, ev: SyncEvent) -> None:
        if ev.kind is SyncEventKind.RETURNED or (ev.kind is SyncEventKind.PIVOT_IDLE and ev.idle_s is None):
            self.get_logger().info(f"sync: {ev.text()}")
        else:
            self.get_logger().warning(f"sync: {ev.text()}")
        if ev.is_input_problem and ev.input in self.inputs:
            self.health.problem(ev.input, ev.text(), time.monotonic())

    def _calibration_missing(self, cam: str, waited_s: float) -> None:
        text = (f"no calibration (camera_info{'' if cam == 'color' else ' or extrinsics'}) after {waited_s:.1f} s: "
                "processing without it")
        self.health.problem(cam, text, time.monotonic())
        self.get_logger().warning(f"{cam}: {text}")

    # ------------------------------------------------------------------------------------------- inputs
    def _on_image(self, cam: str, msg: Image) -> None:
        now = time.monotonic()
        self.health.received(cam, now)
        if cam == "color":
            self.health.sync_received += 1
        if msg.header.frame_id:
            self._note_frame(cam, msg.header.frame_id)
        self._release(self.sync.add(cam, conv.stamp_to_s(msg.header.stamp), (msg, now), now), now)

    def _on_poll(self) -> None:
        now = time.monotonic()
        self._release(self.sync.poll(now), now)

    def _on_info(self, cam: str, msg: CameraInfo) -> None:
        try:
            model = conv.camera_info_to_model(msg)
        except ValueError as e:
            self.health.problem(cam, f"bad camera_info: {e}", time.monotonic())
            self._log.warn(f"info-{cam}", f"{cam}: bad camera_info ignored: {e}")
            return
        if self.processor.set_camera(cam, model):
            self.get_logger().info(f"{cam}: camera_info {model.width}x{model.height} frame '{model.frame_id}'")
            if model.frame_id:
                self._note_frame(cam, model.frame_id)
            self._release([], time.monotonic())  # sets held for this calibration can go now

    def _note_frame(self, cam: str, frame: str) -> None:
        frame = normalize_frame(frame)
        if self._frames.get(cam) != frame:
            self._frames[cam] = frame
            self._update_extrinsics()

    def _on_tf(self, msg) -> None:
        self.tf_listener.on_tf(msg)

    def _on_tf_static(self, msg) -> None:
        self.tf_listener.on_tf_static(msg)  # and re-chains the extrinsics (_update_extrinsics)

    def _update_extrinsics(self) -> None:
        ext = extrinsics_from_edges(self.processor.tf.static_edges(), self._frames)
        ext.pop("color", None)
        if self.processor.set_extrinsics(ext):
            self._release([], time.monotonic())

    def _follow_publishers(self) -> None:
        for text in self.qos_check.follow(self, self._subs):
            self.get_logger().info(text)

    def _check_qos(self) -> None:
        self._follow_publishers()
        for cam, text in self.qos_check.check(self):
            self.get_logger().warning(text)
            self.health.problem(cam, "publisher QoS incompatible (see log)", time.monotonic())

    # ---------------------------------------------------------------------------------------- processing
    def _release(self, sets, now: float) -> None:
        """Pass new sets through the calibration gate; process what it releases (inline or on the worker), each
        with the calibration snapshot it was released with."""
        self.health.silent = self.sync.silent
        self.health.sync_dropped = self.sync.stats.dropped
        self.health.sync_unpaired = {n: k for n, k in self.sync.stats.unpaired.items() if n != "color"}
        calib = self.processor.calibration.current
        released = self.gate.push(sets, self.processor.calibrated(calib), now)
        work = [Work(s, calib) for s in released]
        if self.worker is not None:
            if self.worker.submit(work):
                self.health.info["skipped_overload"] = str(self.worker.skipped)
            return
        for w in work:
            self._run_frame(w)

    def _run_frame(self, work: Work) -> None:
        with self._frame_lock:
            self.runner.run(work)

    # ---------------------------------------------------------------------------------------- parameters
    def _on_set_parameters(self, params) -> SetParametersResult:
        """Validate a change of the settings (the loader's checks) and, once configured, hand the runtime ones to
        the live tracker, detector and outputs between two frames; read-only ones never get here (rclpy refuses
        them by their descriptor)."""
        mine = [p for p in params if is_setting(p.name)]
        if not mine:
            return SetParametersResult(successful=True)
        try:
            cfg, sections = self.params.check(self, mine)
            if self.processor is not None:
                with self._frame_lock:
                    apply_runtime(self.processor, self.outputs, sections,
                                  [p.name for p in mine if is_runtime(p.name)])
                    self.cfg = cfg
        except (ConfigError, ValueError) as e:
            return SetParametersResult(successful=False, reason=str(e))
        self.get_logger().info("parameters set: " + ", ".join(f"{p.name} = {p.value!r}" for p in mine))
        return SetParametersResult(successful=True)

    def _publish_diagnostics(self) -> None:
        if self.health is None:
            return
        self.health.silent = self.sync.silent
        self.health.sync_dropped = self.sync.stats.dropped
        self.health.sync_unpaired = {n: k for n, k in self.sync.stats.unpaired.items() if n != "color"}
        self.outputs.publish_diagnostics(self.health.report(time.monotonic()))


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
    qosmod.use_large_image_profile()  # before rclpy.init: Fast DDS reads it once per process
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
