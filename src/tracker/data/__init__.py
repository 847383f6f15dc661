"""The bag data contract: topic names, image encodings, and reading/writing contract bags (ROS-free).

See docs/data-contract.md. Modules: :mod:`contract` (names and conventions), :mod:`encodings`
(sensor_msgs/Image <-> numpy), :mod:`typestore` (rosbags types incl. vision_msgs/tf2_msgs/tracker_msgs),
:mod:`writer`, :mod:`reader`, :mod:`converters` (VT-MOT, MOTChallenge -> bags), :mod:`motchallenge` (export).
"""
