"""tracker: multi-modal (RGB, thermal, depth) people and vehicle tracking.

ROS-free subpackages (import without rclpy):
    common    configuration validation, camera geometry, shared types
    data      the bag contract, bag reading/writing, dataset converters
    sim       scenario simulator that writes contract bags with ground truth
    core      tracker core: motion (Kalman), matching, tracks, the tracker
    network   fused RGB-thermal-depth network: model, training, export
    backends  inference backends (TensorRT, ONNX Runtime, PyTorch) behind one interface
    pipeline  time sync, registration, depth-to-3D: the stages between sensors and the tracker
    eval      scoring with TrackEval, reports
ROS adapters:
    nodes     rclpy lifecycle nodes, bag player, pip-only runner
"""

__version__ = "0.1.0"
