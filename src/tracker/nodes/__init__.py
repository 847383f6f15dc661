"""ROS 2 nodes (rclpy): the tracker LifecycleNode, bag player and recorder, the pip-only runner and the demo."""
