"""`tracker-eval` (or `python -m tracker.tools.evaluate`): tracker.eval's command line with the node suite as its
replayer (tracker.tools.replay.replay_bag), so that the suite and rgb_only methods replay bags over DDS.

tracker.eval sits below the nodes and imports neither them nor the tools; this is where the two meet. The
evaluation records every output but the debug image (~270 MB per 10 s bag, and nothing scores it).
"""
from __future__ import annotations

import dataclasses
import sys

from tracker.data.contract import OutputTopics
from tracker.eval.cli import main as eval_main
from tracker.nodes.recorder import RecorderConfig, load_recorder_config

from .replay import replay_bag


def scoring_recorder_config() -> RecorderConfig:
    """The recorder config (config/recorder.yaml) without the debug image topic."""
    cfg = load_recorder_config()
    return dataclasses.replace(cfg, topics={t: m for t, m in cfg.topics.items()
                                            if t != OutputTopics().debug_image})


def eval_replay(bag, out_bag, **kwargs) -> dict:
    """``replay_bag`` recording what the scoring reads (module level: worker processes pickle it)."""
    return replay_bag(bag, out_bag, recorder_config=scoring_recorder_config(), **kwargs)


def main(argv=None) -> int:
    return eval_main(argv, replayer=eval_replay)


if __name__ == "__main__":
    sys.exit(main())
