#!/usr/bin/env bash
# The GPU library options of a run on a CUDA device (kernels/cuda/library_options.h).
# run.conv (kernels/cuda/conv_igemm.h): a one-step `penumbra-emu segment train`
# with run.conv = "implicit_gemm" says so in its log and ends with weights within 1e-3 (relative,
# per tensor) of the run with cuDNN, but not bit-identical to them, where a second cuDNN run
# (run.conv = "implicit_gemm" overridden by PENUMBRA_CUDA_CONV=cudnn) is: so the key changed who
# computed the convolutions. Bad values of the key or the variable are refused naming it and the
# accepted values. The same in bf16 (tensor cores): weights within 1e-2 of cuDNN's bf16 run.
# run.cudnn_graphs (kernels/cuda/dnn_graph.h): the run's log, read back from the libraries'
# options, says the fused norm + activation runs as cuDNN graphs; the weights equal the run
# without them (under the emulator both compute the same float formula; that the graph ran is
# test_cuda_emu_cudnn_graph's check); a value that is not a boolean is refused.
# Usage: library_options_on_cuda.sh <penumbra-emu> <work dir>
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
grep -q "convolutions: implicit GEMM (ours; bf16 / fp16 on tensor cores)" "$work/igemm/log.txt" || fail "the implicit_gemm run's log does not say so"
! grep -q "implicit GEMM" "$work/cudnn/log.txt" || fail "the cudnn run's log names the implicit GEMM"
! grep -q "implicit GEMM" "$work/cudnn2/log.txt" || fail "PENUMBRA_CUDA_CONV=cudnn did not override run.conv"
"$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt cudnn2)" --tol 0 >"$work/same.diff" || { cat "$work/same.diff"; fail "two cuDNN runs differ"; }
"$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt igemm)" --tol 1e-3 >"$work/close.diff" ||
  { cat "$work/close.diff"; fail "implicit_gemm weights differ from cuDNN's by more than 1e-3"; }
! "$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt igemm)" --tol 0 >"$work/differ.diff" ||
  fail "implicit_gemm weights are bit-identical to cuDNN's: run.conv changed nothing"
echo "implicit_gemm vs cudnn: $(tail -n 1 "$work/close.diff")"
# bf16 (run.precision): our convolutions on tensor cores, weights within 1e-2 of cuDNN's bf16 run.
train bf16 --set run.precision=bf16 || { tail -n 20 "$work/bf16.out"; fail "bf16 cudnn run"; }
train bf16igemm --set run.precision=bf16 --set run.conv=implicit_gemm || { tail -n 20 "$work/bf16igemm.out"; fail "bf16 implicit_gemm run"; }
"$emu" checkpoint diff "$(ckpt bf16)" "$(ckpt bf16igemm)" --tol 1e-2 >"$work/bf16.diff" ||
  { cat "$work/bf16.diff"; fail "bf16 implicit_gemm weights differ from cuDNN's by more than 1e-2"; }
train graphs --set run.cudnn_graphs=true || { tail -n 20 "$work/graphs.out"; fail "run.cudnn_graphs = true run"; }
grep -q "norm + activation: cuDNN fused graphs" "$work/graphs/log.txt" || fail "the cudnn_graphs run's log does not say so"
! grep -q "cuDNN fused graphs" "$work/cudnn/log.txt" || fail "the default run's log names cuDNN graphs"
"$emu" checkpoint diff "$(ckpt cudnn)" "$(ckpt graphs)" --tol 1e-6 >"$work/graphs.diff" ||
  { cat "$work/graphs.diff"; fail "run.cudnn_graphs changed the weights by more than 1e-6"; }
! train badgraphs --set run.cudnn_graphs=sometimes || fail "run.cudnn_graphs = sometimes was accepted"
grep -q 'run.cudnn_graphs' "$work/badgraphs.out" || { cat "$work/badgraphs.out"; fail "no clear error for run.cudnn_graphs"; }
# Bad values: the key (config validation) and the environment variable (select_device).
! train bad --set run.conv=winograd || fail "run.conv = winograd was accepted"
grep -q 'run.conv.*cudnn, implicit_gemm' "$work/bad.out" || { cat "$work/bad.out"; fail "no clear error for run.conv"; }
! PENUMBRA_CUDA_CONV=fft train badenv || fail "PENUMBRA_CUDA_CONV=fft was accepted"
grep -q 'PENUMBRA_CUDA_CONV = "fft": expected "cudnn"' "$work/badenv.out" ||
  { cat "$work/badenv.out"; fail "no clear error for PENUMBRA_CUDA_CONV"; }
rm -rf "$work"
