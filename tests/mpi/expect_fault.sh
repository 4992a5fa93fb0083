#!/usr/bin/env bash
# expect_fault.sh <mpirun and args...> -- <probe> <mode> <expected text>
# Passes when the job fails (non-zero), within 60 s (no hang), and prints the expected text.
set -u
launcher=()
while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
shift
probe=$1 mode=$2 expected=$3
start=$(date +%s)
out=$(timeout 120 "${launcher[@]}" "$probe" "$mode" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
echo "$out"
echo "expect_fault: mode $mode: exit code $rc after ${elapsed} s"
[ $rc -ne 0 ] || { echo "FAIL: the job succeeded"; exit 1; }
[ $rc -ne 124 ] || { echo "FAIL: the job hung (killed by timeout)"; exit 1; }
[ "$elapsed" -le 60 ] || { echo "FAIL: took ${elapsed} s to stop"; exit 1; }
grep -qF -- "$expected" <<<"$out" || { echo "FAIL: output lacks: $expected"; exit 1; }
echo "PASS"
