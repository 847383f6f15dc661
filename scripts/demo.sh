#!/usr/bin/env bash
# The main job on a fresh machine: set up (idempotent), then play the bundled demo bag through the node
# suite over real DDS, record the outputs, print a summary and write an annotated image strip to out/demo/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
# shellcheck disable=SC1091
source "$root/env.sh"
cd "$root"
exec python -m tracker.tools.demo --out "$root/out/demo" "$@"
