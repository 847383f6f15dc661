"""Run as a script: the tracker node (same runner code path as tracker-run) with the ground-truth test double
instead of the network. `python tests/oracle_node.py BAG [runner args...]` (Python puts tests/ on the path
of a script run this way, so nodes_support imports)."""
import sys


def main(argv):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from nodes_support import oracle_factory
    from tracker.nodes.runner import bring_up, create_node, node_descriptions, parse_args

    bag, rest = argv[0], argv[1:]
    factory = oracle_factory(bag)
    rclpy.init()
    node = create_node(node_descriptions(parse_args(rest))[0], detector_factory=factory)
    if not bring_up(node):
        return 1
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    try:
        while rclpy.ok():
            ex.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        ex.remove_node(node)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
