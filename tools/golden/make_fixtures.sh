#!/usr/bin/env bash
# Regenerates the PyTorch golden fixtures in tests/golden/fixtures/ (committed; the tests
# themselves need no Python). Installs PyTorch (CPU is enough), numpy and safetensors from
# PyPI into .venv-golden/ (git-ignored) on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PENUMBRA_GOLDEN_VENV:-.venv-golden}
if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
  python3 -m venv "$venv" || { apt-get install -y -qq python3-venv && python3 -m venv "$venv"; }
fi
if ! "$venv/bin/python" -c "import torch, safetensors, numpy" 2>/dev/null; then
  echo "make_fixtures: installing torch, numpy, safetensors into $venv (a few minutes)"
  "$venv/bin/pip" install -q torch numpy safetensors
fi
"$venv/bin/python" tools/golden/make_fixtures.py
