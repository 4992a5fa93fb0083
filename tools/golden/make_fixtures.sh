#!/usr/bin/env bash
# Regenerates the PyTorch golden fixtures in tests/golden/fixtures/ (committed; the tests
# themselves need no Python). Installs PyTorch (CPU is enough), numpy and safetensors from
# PyPI into .venv-golden/ (git-ignored) on first use (tools/golden/torch_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=$(bash tools/golden/torch_venv.sh)
"$python" tools/golden/make_fixtures.py
