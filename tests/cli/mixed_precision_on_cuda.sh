#!/usr/bin/env bash
# `penumbra-emu segment train` with run.device = cuda in bf16 and fp16 (autograd/autocast.h):
# a tiny run on the emulated device goes to completion (DONE written), its log says it ran
# on cuda:0 in that precision, and its checkpoint keeps float32 master weights.
# Usage: mixed_precision_on_cuda.sh <penumbra-emu> <work dir>
set -euo pipefail
emu=$1 work=$2
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work"
"$emu" data phantom --out "$work/ph" --healthy 1 --stroke 2 --size 16,16,8 --montage 0 --seed 4 >/dev/null
for p in bf16 fp16; do
  "$emu" segment train --preset small --set "data.train_dir=$work/ph/stroke" --set "data.test_dir=$work/ph/stroke" \
    --set "data.holdout_dir=$work/ph/stroke" --set "data.healthy_dir=$work/ph/healthy" --set data.grid=8,16,16 \
    --set data.spacing=14.4,16,16 --set data.slices=0,7 --set run.threads=1 --set segment.base_filters=4 \
    --set segment.depth=2 --set segment.epochs=1 --set segment.steps_per_epoch=2 --set segment.batch=2 --set run.device=cuda \
    --set "run.precision=$p" --out "$work/$p" >"$work/$p.out" 2>&1 || { tail -n 20 "$work/$p.out"; fail "$p run"; }
  [ -f "$work/$p/DONE" ] || fail "$p: no DONE"
  grep -q "cuda:0.*mixed precision $p (float32 master weights)" "$work/$p/log.txt" || fail "$p: log does not say cuda:0 in $p"
  ck=$(ls "$work/$p"/checkpoints/*.safetensors | tail -n 1)
  "$emu" checkpoint show "$ck" >"$work/$p.ck"
  grep -q float32 "$work/$p.ck" || fail "$p: no float32 tensor in $ck"
  ! grep -qE "bfloat16|float16" "$work/$p.ck" || fail "$p: 16-bit tensors in the checkpoint $ck"
  echo "$p: ok ($(grep -c . "$work/$p/log.txt") log lines)"
done
rm -rf "$work"
