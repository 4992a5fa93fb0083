#!/usr/bin/env bash
# The main job: builds Penumbra and runs the whole study with the `small` preset on the
# built-in phantom (about 15 minutes on 2 CPU cores), then prints where the report is.
# Extra arguments go to `penumbra study` (e.g. --set run.root=elsewhere; see --help).
# The one-minute end-to-end example is `build/penumbra demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec ./build/penumbra study --preset small "$@"
