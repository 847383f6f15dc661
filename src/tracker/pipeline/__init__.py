"""Stages between the sensors and the tracker: time sync, registration to the RGB frame, 3D from depth,
and the processor that chains them. ROS-free."""
