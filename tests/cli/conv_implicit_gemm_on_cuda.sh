#!/usr/bin/env bash
# run.conv on a CUDA device (kernels/cuda/conv_igemm.h): a one-step `penumbra-emu segment train`
# with run.conv = "implicit_gemm" says so in its log and ends with weights within 1e-3 (relative,
# per tensor) of the run with cuDNN, but not bit-identical to them, where a second cuDNN run
# (run.conv = "implicit_gemm" overridden by PENUMBRA_CUDA_CONV=cudnn) is: so the key changed who
# computed the convolutions. Bad values of the key or the variable are refused naming it and the
# accepted values.
# Usage: conv_implicit_gemm_on_cuda.sh <penumbra-emu> <work dir>
set -euo pipefail
emu=$1 work=$2
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work"
"$emu" data phantom --out "$work/ph" --healthy 1 --stroke 2 --size 16,16,8 --montage 0 --seed 4 >/dev/null 2>&1
mkdir -p "$work/one"
cp "$work"/ph/stroke/stroke0000_* "$work/one/"
train() {  # <out name> <extra --set ...>
  local name=$1
  shift
  "$emu" segment train --preset small --set "data.train_dir=$work/ph/stroke" --set "data.test_dir=$work/one" \
    --set "data.holdout_dir=$work/one" --set "data.healthy_dir=$work/ph/healthy" --set data.grid=8,16,16 \
    --set data.spacing=14.4,16,16 --set data.slices=0,7 --set run.threads=1 --set segment.base_filters=2 \
    --set segment.depth=2 --set segment.epochs=1 --set segment.steps_per_epoch=1 --set segment.batch=1 \
    --set run.device=cuda "$@" --out "$work/$name" >"$work/$name.out" 2>&1
}
ckpt() { ls "$work/$1"/checkpoints/*.safetensors | tail -n 1; }
train cudnn --set run.conv=cudnn || { tail -n 20 "$work/cudnn.out"; fail "cudnn run"; }
PENUMBRA_CUDA_CONV=cudnn train cudnn2 --set run.conv=implicit_gemm ||
  { tail -n 20 "$work/cudnn2.out"; fail "second cudnn run (PENUMBRA_CUDA_CONV=cudnn)"; }
train igemm --set run.conv=implicit_gemm || { tail -n 20 "$work/igemm.out"; fail "implicit_gemm run"; }
grep -q "float32 convolutions: implicit GEMM" "$work/igemm/log.txt" || fail "the implicit_gemm run's log does not say so"
! grep -q "implicit GEMM" "$work/cudnn/log.txt" || fail "the cudnn run's log names the implicit GEMM"
! grep -q "implicit GEMM" "$work/cudnn2/log.txt" || fail "PENUMBRA_CUDA_CONV=cudnn did not override run.conv"
"$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt cudnn2)" --tol 0 >"$work/same.diff" || { cat "$work/same.diff"; fail "two cuDNN runs differ"; }
"$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt igemm)" --tol 1e-3 >"$work/close.diff" ||
  { cat "$work/close.diff"; fail "implicit_gemm weights differ from cuDNN's by more than 1e-3"; }
! "$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt igemm)" --tol 0 >"$work/differ.diff" ||
  fail "implicit_gemm weights are bit-identical to cuDNN's: run.conv changed nothing"
echo "implicit_gemm vs cudnn: $(tail -n 1 "$work/close.diff")"
# Bad values: the key (config validation) and the environment variable (select_device).
! train bad --set run.conv=winograd || fail "run.conv = winograd was accepted"
grep -q 'run.conv.*cudnn, implicit_gemm' "$work/bad.out" || { cat "$work/bad.out"; fail "no clear error for run.conv"; }
! PENUMBRA_CUDA_CONV=fft train badenv || fail "PENUMBRA_CUDA_CONV=fft was accepted"
grep -q 'PENUMBRA_CUDA_CONV = "fft": expected "cudnn"' "$work/badenv.out" ||
  { cat "$work/badenv.out"; fail "no clear error for PENUMBRA_CUDA_CONV"; }
rm -rf "$work"
