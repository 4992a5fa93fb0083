#!/usr/bin/env bash
# Issue 18, item 5: does mixed precision keep the training quality? The small study's
# clinical segmentation (the `small` preset: 320 steps of a base-8, depth-2 U-Net at
# 16x32x32, same seed) trained in fp32 and in bf16 (and fp16 with --fp16) on the CPU, on
# one phantom database (32 training, 8 test, 8 held-out stroke subjects), printing each
# run's final test Dice (the last epoch's soft and hard Dice, and the mean of the last
# segment.report_last_epochs epochs as the study's report takes it) and the time.
# A benchmark, not a test: it takes minutes.
#   bash tools/mixed_precision_study.sh [--fp16] [--build build] [--out runs/mixed-precision]
set -euo pipefail
build=build out=runs/mixed-precision precisions=(fp32 bf16)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fp16) precisions+=(fp16); shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--fp16] [--build DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
penumbra="$build/penumbra"
[[ -x "$penumbra" ]] || { echo "$penumbra not found: build it first (cmake --build $build --target penumbra)" >&2; exit 1; }
data="$out/phantom"
if [[ ! -d "$data/clinical/holdout" ]]; then
  "$penumbra" data phantom --out "$data/all" --stroke 48 --healthy 0 --size 32,32,16 --anatomy auto --montage 0
  mkdir -p "$data/clinical/train" "$data/clinical/test" "$data/clinical/holdout"
  for f in "$data"/all/stroke/stroke*_*.nii.gz; do
    n=$((10#$(basename "$f" | sed -E 's/stroke([0-9]+)_.*/\1/')))
    if ((n < 32)); then d=train; elif ((n < 40)); then d=test; else d=holdout; fi
    mv "$f" "$data/clinical/$d/"
  done
fi
printf '%-6s %10s %10s %14s %8s\n' precision soft_dice hard_dice "soft(last-k)" minutes
for p in "${precisions[@]}"; do
  run="$out/seg-$p"
  start=$(date +%s)
  "$penumbra" segment train --preset small --set run.precision="$p" --set data.train_dir="$data/clinical/train" \
    --set data.test_dir="$data/clinical/test" --set data.holdout_dir="$data/clinical/holdout" --out "$run" \
    > "$out/seg-$p.log" 2>&1
  mins=$(awk -v s="$start" -v e="$(date +%s)" 'BEGIN { printf "%.1f", (e - s) / 60 }')
  # metrics.csv: epoch, train_loss, test_soft_dice, test_hard_dice
  awk -F, -v p="$p" -v m="$mins" 'NR > 1 { soft[NR] = $3; hard[NR] = $4; last = NR }
    END { k = 4; s = 0; for (i = last - k + 1; i <= last; ++i) s += soft[i];
          printf "%-9s %10.4f %10.4f %14.4f %8s\n", p, soft[last], hard[last], s / k, m }' "$run/metrics.csv"
done
