#!/usr/bin/env bash
# The main job: builds Penumbra and runs the small end-to-end example on the CPU.
# Extra arguments go to `penumbra demo` (see `build/penumbra demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec ./build/penumbra demo "$@"
