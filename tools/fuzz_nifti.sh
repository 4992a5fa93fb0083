#!/usr/bin/env bash
# Fuzzes the NIfTI reader with libFuzzer (clang, ASan + UBSan) for a while.
#   tools/fuzz_nifti.sh [seconds=300] [jobs=1]
# New interesting inputs are added to data/fuzz/corpus; crashes are written to
# build-fuzz/crash-* (fix them, then add the input to the corpus as a regression case).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
jobs=${2:-1}
out=build-fuzz
mkdir -p "$out"
src="data/fuzz/fuzz_nifti.cpp data/nifti_io.cpp data/byte_source.cpp data/volume.cpp data/affine.cpp"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -I/usr/include/nifti \
  $src -o "$out/fuzz_nifti" -lnifti2 -lznz -lz -lfmt -lm
par=()
[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
"$out/fuzz_nifti" -max_total_time="$secs" "${par[@]}" -max_len=65536 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" data/fuzz/corpus
