#!/usr/bin/env bash
# tools/gpu_check.sh end to end in a dry run, with a Python that cannot import PyTorch: every
# step of ours must run on the emulated device and pass, every PyTorch comparison must fail
# clearly, and the verdict must be a failure (exit 1) with a complete report.
#   test_gpu_check_script.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -u
src=$1 build=$2 work=$3
fail() { echo "FAIL: $*"; [ -f "$work/report.md" ] && head -40 "$work/report.md"; exit 1; }
rm -rf "$work" && mkdir -p "$work" || exit 1
printf '#!/bin/sh\nexec python3 -S "$@"\n' >"$work/python-without-torch"  # -S: no site-packages
chmod +x "$work/python-without-torch"
bash "$src/tools/gpu_check.sh" --dry-run --build-dir "$build" --python "$work/python-without-torch" \
  --work "$work/w" --report "$work/report.md" --budget 300
rc=$?
[ "$rc" = 1 ] || fail "exit status $rc, expected 1 (the PyTorch comparisons cannot run)"
r=$(cat "$work/report.md")
expect() { [[ $r == *"$1"* ]] || fail "the report lacks: $1"; }
expect "**Result: FAIL**"
expect "is not importable by $work/python-without-torch: every comparison with it fails"
expect "| sum_all | 4103 | 1 | 0 | 5888 | 5888 |"
expect "| sum_cols | 4103 | 11 | 0 | 628 | 628 |"
expect "| 0 | down0.0 | 2x1→2 4x8x8 | fwd |"
expect "| 5 | bottleneck.3 |"
expect "training steps: unet: no PyTorch comparison"
expect "mixed precision: spade bf16: no PyTorch comparison"
expect "convolutions: case 0 fwd TF32 off: no PyTorch comparison"
expect "| 1 | down0.3, upconv0.3 | 2x2→2 4x8x8 | bwd_filter |"
for step in build libs ctest bigsum conv igemm steps_unet steps_pix2pix steps_spade steps_wgan steps_unet_cl steps_unet_bf16 steps_wgan_fp16; do
  expect "| $step | ok |"
done
expect "| conv_torch | failed |"
[[ $r == *"big arrays:"* ]] && fail "a big-array check failed"
[[ $r == *"implicit GEMM:"* ]] && fail "the implicit-GEMM comparison failed"
echo "gpu_check.sh dry run without PyTorch: our steps passed, the comparisons failed clearly, exit 1"
