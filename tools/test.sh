#!/usr/bin/env bash
# The test command: builds (tools/build.sh) and runs every CTest suite.
#   tools/test.sh               -> all tests of the Release build (cpu, emu, mpi; gpu skip without a GPU)
#   tools/test.sh --sanitize    -> the cpu and emu tests again under ASan + UBSan (but those
#                                  labelled no-sanitize: end-to-end scripts whose C++ other
#                                  suites already run under the sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ "${1:-}" = "--sanitize" ]; then
  bash tools/build.sh --sanitize
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "${PENUMBRA_BUILD_DIR:-build-asan}" -L 'cpu|emu' -LE no-sanitize --output-on-failure -j 2
else
  bash tools/build.sh
  ctest --test-dir "${PENUMBRA_BUILD_DIR:-build}" --output-on-failure -j 2
fi
