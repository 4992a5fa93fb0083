#!/usr/bin/env bash
# Installs missing Debian packages, configures and builds Penumbra.
#   tools/build.sh            -> build/       (Release, CUDA backend when nvcc is found)
#   tools/build.sh --sanitize -> build-asan/  (Debug, ASan + UBSan, CPU and emulated-CUDA only)
# Set PENUMBRA_BUILD_DIR to choose another folder. Warnings are errors when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
mode=release
[ "${1:-}" = "--sanitize" ] && mode=asan
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
if [ $mode = asan ]; then
  dir=${PENUMBRA_BUILD_DIR:-build-asan}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPENUMBRA_SANITIZE=ON -DPENUMBRA_CUDA=OFF \
        -DPENUMBRA_WERROR=$werror >/dev/null
else
  dir=${PENUMBRA_BUILD_DIR:-build}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPENUMBRA_WERROR=$werror >/dev/null
fi
echo "build.sh: building $dir ($mode)"
cmake --build "$dir" -j "$(nproc)"
