#!/usr/bin/env bash
# Penumbra vs PyTorch on the CPU (README "Benchmarks"): installs CPU-capable PyTorch from
# PyPI into .venv-golden/ (tools/golden/torch_venv.sh, first time only), builds
# build/bench_vs_torch, and runs tools/bench/compare_torch.py with the arguments given,
# e.g.  bash tools/bench/compare_torch.sh --workloads small --rounds 3 --markdown
set -euo pipefail
cd "$(dirname "$0")/../.."
python=$(bash tools/golden/torch_venv.sh)
[ -f build/build.ninja ] || bash tools/build.sh
cmake --build build --target bench_vs_torch >&2
exec "$python" tools/bench/compare_torch.py --python "$python" "$@"
