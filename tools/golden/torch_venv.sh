#!/usr/bin/env bash
# torch_venv.sh: makes sure the virtual env of the PyTorch comparisons exists (default
# .venv-golden/, or $PENUMBRA_GOLDEN_VENV; git-ignored) with torch, numpy and safetensors
# from PyPI (a few minutes the first time; torch runs on the CPU there), and prints the path
# of its python. Used by tools/golden/make_fixtures.sh and tools/gpu_check.sh --dry-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PENUMBRA_GOLDEN_VENV:-.venv-golden}
if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; } >&2
  python3 -m venv "$venv" >&2 || { apt-get install -y -qq python3-venv && python3 -m venv "$venv"; } >&2
fi
if ! "$venv/bin/python" -c "import torch, safetensors, numpy" 2>/dev/null; then
  echo "torch_venv: installing torch, numpy, safetensors into $venv (a few minutes)" >&2
  "$venv/bin/pip" install -q torch numpy safetensors >&2
fi
echo "$(pwd)/$venv/bin/python"
