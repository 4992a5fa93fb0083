#!/usr/bin/env bash
# Issue 18, item 5: does mixed precision keep the training quality? The small study's
# clinical segmentation (the `small` preset: 320 steps of a base-8, depth-2 U-Net at
# 16x32x32, same seed) trained in fp32 and in bf16 (and fp16 with --fp16) on the CPU, on
# one phantom database (32 training, 8 test, 8 held-out stroke subjects), printing each
# run's final test Dice: the last epoch's soft and hard Dice, the mean of the last 4 epochs'
# soft Dice (segment.report_last_epochs, as the study's report takes it) and the median of
# the last 8 (at this scale one epoch's test Dice can swing by 0.3), the held-out hard Dice,
# and the time. A benchmark, not a test: each run takes ~3 minutes on 2 cores.
#   bash tools/mixed_precision_study.sh [--fp16] [--seed N] [--build build] [--out runs/mixed-precision]
set -euo pipefail
build=build out=runs/mixed-precision precisions=(fp32 bf16) seed=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fp16) precisions+=(fp16); shift ;;
    --build) build="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--fp16] [--seed N] [--build DIR] [--out DIR]" >&2; exit 2 ;;
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
printf '%-9s %5s %10s %10s %12s %12s %12s %8s\n' precision seed soft_dice hard_dice "soft mean4" "soft median8" \
  heldout_hard minutes
for p in "${precisions[@]}"; do
  run="$out/seg-$p-seed$seed"
  start=$(date +%s)
  "$penumbra" segment train --preset small --set run.precision="$p" --set run.seed="$seed" --set data.train_dir="$data/clinical/train" \
    --set data.test_dir="$data/clinical/test" --set data.holdout_dir="$data/clinical/holdout" --out "$run" \
    > "$run.log" 2>&1
  mins=$(awk -v s="$start" -v e="$(date +%s)" 'BEGIN { printf "%.1f", (e - s) / 60 }')
  heldout=$(sed -E 's/.*held-out hard Dice ([0-9.]+).*/\1/' "$run/DONE")
  # metrics.csv: epoch, train_loss, test_soft_dice, test_hard_dice
  awk -F, -v p="$p" -v sd="$seed" -v m="$mins" -v h="$heldout" 'NR > 1 { soft[NR] = $3; hard[NR] = $4; last = NR }
    END { s = 0; for (i = last - 3; i <= last; ++i) s += soft[i];
          n = 0; for (i = last - 7; i <= last; ++i) v[n++] = soft[i];
          for (i = 0; i < n; ++i) for (j = i + 1; j < n; ++j) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
          printf "%-9s %5s %10.4f %10.4f %12.4f %12.4f %12.4f %8s\n", p, sd, soft[last], hard[last], s / 4,
                 (v[3] + v[4]) / 2, h, m }' "$run/metrics.csv"
done
