"""Worked example: the tracker next to an Intel RealSense D435/D455 and a radiometric thermal camera (FLIR Boson /
A-series, mono16), with the thermal camera's extrinsic on /tf_static (docs/ros-install.md, "Worked example:
RealSense + FLIR").

    ros2 launch realsense2_camera rs_launch.py align_depth.enable:=true      # the drivers: started by you
    ros2 launch tracker realsense_flir.launch.py thermal_frame:=<frame_id of the thermal camera_info> \
        thermal_x:=0.045 thermal_y:=0.0 thermal_z:=0.0 thermal_qx:=0.0 thermal_qy:=0.0 thermal_qz:=0.0 thermal_qw:=1.0

Starts launch/multimodal.launch.py (the tracker node, configured and activated by its lifecycle events) with
config/examples/realsense_flir.yaml, which names the drivers' topics, and a tf2_ros static_transform_publisher for
T_<parent_frame>_<thermal_frame>: the thermal camera's pose in the colour optical frame by default, so the seven
numbers are those of a stereo calibration colour -> thermal, and the same as the YAML's fallback_extrinsics in the
pip-only set-up (where tf2_ros is not available). The extrinsic has no default: the launch refuses to start
without it rather than run with a made-up one. realsense2_camera publishes its own frames (camera_link,
camera_color_optical_frame, camera_depth_optical_frame) on /tf_static; the node chains them.
tests/test_launch_runner.py checks that the tracker started here is `tracker-run --config
config/examples/realsense_flir.yaml`.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

#: static_transform_publisher's named arguments of the extrinsic (translation m, quaternion x y z w)
EXTRINSIC = ("x", "y", "z", "qx", "qy", "qz", "qw")
#: launch arguments handed on to multimodal.launch.py (its input remappings stay at their defaults: the YAML
#: names the topics)
PASSED_ON = ("config", "model", "namespace", "use_sim_time")


def generate_launch_description():
    share = FindPackageShare("tracker")
    args = [
        DeclareLaunchArgument("config", default_value=PathJoinSubstitution(
            [share, "config", "examples", "realsense_flir.yaml"]), description="node YAML (topics of the drivers)"),
        DeclareLaunchArgument("model", default_value="", description="model file (overrides backend.model)"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the tracker node"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock"),
        DeclareLaunchArgument("parent_frame", default_value="camera_color_optical_frame",
                              description="frame the thermal extrinsic is given in (a RealSense frame)"),
        DeclareLaunchArgument("thermal_frame", default_value="thermal_optical_frame",
                              description="frame_id of the thermal camera's camera_info and images"),
    ] + [DeclareLaunchArgument(f"thermal_{k}", description=f"thermal extrinsic: {k} (required)") for k in EXTRINSIC]

    extrinsic = Node(
        package="tf2_ros", executable="static_transform_publisher", name="thermal_extrinsic",
        arguments=[a for k in EXTRINSIC for a in (f"--{k}", LaunchConfiguration(f"thermal_{k}"))]
        + ["--frame-id", LaunchConfiguration("parent_frame"),
           "--child-frame-id", LaunchConfiguration("thermal_frame")],
        output="screen")
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, "launch", "multimodal.launch.py"])),
        launch_arguments=[(k, LaunchConfiguration(k)) for k in PASSED_ON])
    return LaunchDescription(args + [extrinsic, tracker])
