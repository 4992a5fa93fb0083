#!/usr/bin/env bash
# tools/install-cudnn-frontend.sh without a network: bad arguments exit 2, --check on an empty
# prefix exits 1, headers already under the prefix (or $CUDNN_FRONTEND_INCLUDE_DIR) are found and
# their directory printed, with nothing downloaded.
#   test_install_cudnn_frontend.sh SOURCE_DIR WORK_DIR
set -uo pipefail
src=$1 work=$2
script="$src/tools/install-cudnn-frontend.sh"
rm -rf "$work" && mkdir -p "$work/empty" "$work/have/include" "$work/env"
fail() { echo "FAIL: $*"; exit 1; }
unset CUDNN_FRONTEND_INCLUDE_DIR
bash "$script" --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "an unknown argument must exit 2"
bash "$script" --prefix >/dev/null 2>&1; [ $? -eq 2 ] || fail "--prefix without a value must exit 2"
if [ ! -f /usr/local/cuda/include/cudnn_frontend.h ] && [ ! -f /usr/include/cudnn_frontend.h ]; then
  out=$(bash "$script" --check --prefix "$work/empty" 2>/dev/null); rc=$?
  [ $rc -eq 1 ] && [ -z "$out" ] || fail "--check without headers must exit 1 quietly (rc $rc, '$out')"
fi
touch "$work/have/include/cudnn_frontend.h"
out=$(bash "$script" --check --prefix "$work/have") || fail "--check must find headers under the prefix"
[ "$(echo "$out" | tail -1)" = "$work/have/include" ] || fail "printed '$out', want $work/have/include"
touch "$work/env/cudnn_frontend.h"
out=$(CUDNN_FRONTEND_INCLUDE_DIR="$work/env" bash "$script" --check --prefix "$work/empty") || fail "env dir not found"
[ "$(echo "$out" | tail -1)" = "$work/env" ] || fail "printed '$out', want $work/env"
echo "ok"
