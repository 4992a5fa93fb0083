#!/usr/bin/env bash
# run_with_gpus.sh <device_count binary> <needed> <command...>
# Runs the command when at least <needed> CUDA devices exist; otherwise reports the test as
# skipped (exit 77, shown by CTest as "Skipped") and says why.
count=$("$1" 2>/dev/null || echo 0)
needed=$2
shift 2
if [ "${count:-0}" -lt "$needed" ]; then
  echo "SKIPPED: needs $needed CUDA device(s), found ${count:-0}"
  exit 77
fi
exec "$@"
