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
# ccache, where installed, makes rebuilds after small changes cheap (CCACHE_BASEDIR lets
# several checkouts share hits). Optional: nothing depends on it.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
if [ $mode = asan ]; then
  dir=${PENUMBRA_BUILD_DIR:-build-asan}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPENUMBRA_SANITIZE=ON -DPENUMBRA_CUDA=OFF \
        -DPENUMBRA_WERROR=$werror "${launcher[@]}" >/dev/null
else
  dir=${PENUMBRA_BUILD_DIR:-build}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPENUMBRA_WERROR=$werror "${launcher[@]}" >/dev/null
fi
echo "build.sh: building $dir ($mode)"
cmake --build "$dir" -j "$(nproc)"
