"""Multi-modal tracker: one lifecycle node, configured then activated by launch events.

    ros2 launch tracker multimodal.launch.py [config:=...] [model:=...] [namespace:=...] [use_sim_time:=true]
        [color_image:=/my/rgb] [thermal_image:=...] [depth_image:=...] [color_info:=...] ...

Topics are relative to the namespace: namespace:=robot1 reads /robot1/camera/color/image_raw (and the other
cameras) and publishes /robot1/tracker/tracks, ...; /tf_static and /diagnostics stay absolute. An input argument
without a leading / is relative to the namespace as well (docs/ros-install.md).

The pip-only equivalent is `tracker-run` (tracker.nodes.runner), which starts the same node with the same
parameters; tests/test_launch_runner.py checks that both agree. This file only composes the node and loads the
YAML (no eval, no subprocesses).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

# input topic arguments (argument name -> the node's topic name): one list for this file and tracker-run
from tracker.nodes.runner import REMAP_ARGUMENTS  # noqa: E402


def generate_launch_description():
    args = [
        DeclareLaunchArgument("config", default_value=PathJoinSubstitution(
            [FindPackageShare("tracker"), "config", "tracker_node.yaml"]), description="node YAML"),
        DeclareLaunchArgument("model", default_value="", description="model file (overrides backend.model)"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock"),
    ] + [DeclareLaunchArgument(k, default_value=v, description=f"input topic {v} (relative to the namespace)")
         for k, v in REMAP_ARGUMENTS.items()]

    node = LifecycleNode(
        package="tracker", executable="tracker_node", name="tracker",
        namespace=LaunchConfiguration("namespace"),
        parameters=[{
            "config_file": ParameterValue(LaunchConfiguration("config"), value_type=str),
            "model_path": ParameterValue(LaunchConfiguration("model"), value_type=str),
            "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool),
        }],
        remappings=[(topic, LaunchConfiguration(arg)) for arg, topic in REMAP_ARGUMENTS.items()],
        output="screen")

    configure = EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                            transition_id=Transition.TRANSITION_CONFIGURE))
    activate_when_inactive = RegisterEventHandler(OnStateTransition(
        target_lifecycle_node=node, start_state="configuring", goal_state="inactive",
        entities=[EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                              transition_id=Transition.TRANSITION_ACTIVATE))]))
    return LaunchDescription(args + [node, activate_when_inactive, configure])
