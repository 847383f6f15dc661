"""Shared, ROS-free building blocks: configuration validation and camera geometry."""
