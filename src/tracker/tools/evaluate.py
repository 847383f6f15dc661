"""`tracker-eval` (or `python -m tracker.tools.evaluate`): tracker.eval's command line with the node suite as its
replayer (tracker.tools.replay.replay_bag), so that the suite and rgb_only methods replay bags over DDS.

tracker.eval sits below the nodes and imports neither them nor the tools; this is where the two meet.
"""
from __future__ import annotations

import sys

from tracker.eval.cli import main as eval_main

from .replay import replay_bag


def main(argv=None) -> int:
    return eval_main(argv, replayer=replay_bag)


if __name__ == "__main__":
    sys.exit(main())
