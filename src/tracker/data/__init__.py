"""The bag data contract: topic names, image encodings, and reading/writing contract bags (ROS-free).

See docs/data-contract.md. Modules: :mod:`contract` (names and conventions), :mod:`encodings`
(sensor_msgs/Image <-> numpy), :mod:`messages` (message fields -> arrays/models, duck-typed for rosbags and rclpy
messages), :mod:`typestore` (rosbags types incl. vision_msgs/tf2_msgs/tracker_msgs), :mod:`bag` (opening and
iterating bags), :mod:`writer`, :mod:`reader` (contract bags: cameras, extrinsics, samples), :mod:`converters`
(VT-MOT, MOTChallenge -> bags), :mod:`motchallenge` (MOT text files and class table).
"""
