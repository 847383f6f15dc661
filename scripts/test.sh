#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up (idempotent), then pytest. "No tests collected" fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
# shellcheck disable=SC1091
source "$root/env.sh"
cd "$root"
export ROS_LOG_DIR="$root/build/ros_log/test"
set +e
python -m pytest tests -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "no tests were collected: failing" >&2; exit 1; fi
exit "$rc"
