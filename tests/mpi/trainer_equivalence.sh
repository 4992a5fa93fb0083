#!/usr/bin/env bash
# The trainers under mpirun, through the command line a user types:
#  1. `segment train` on 2 ranks with per-rank batch 1 ends with the same checkpoint (within
#     float32 tolerance) as 1 process with batch 2 over the same samples;
#  2. a 2-rank run interrupted after its first epoch and resumed on 2 ranks ends bit for bit
#     like the uninterrupted one;
#  3. `maskgan train`, `translate train` and the whole `study` (tiny) run on 2 ranks.
# usage: trainer_equivalence.sh MPIRUN ARGS... -- PENUMBRA
set -euo pipefail
launcher=()
while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
shift
pn=$1
work=$(mktemp -d)
fail() { echo "FAIL: $*"; exit 1; }
trap 'rm -rf "$work"' EXIT

"$pn" data phantom --out "$work/ph" --healthy 2 --stroke 6 --size 32,32,8 --montage 0 --seed 4 >/dev/null
common=(--preset small --set "data.train_dir=$work/ph/stroke" --set "data.test_dir=$work/ph/stroke"
        --set "data.holdout_dir=$work/none" --set "data.healthy_dir=$work/ph/healthy"
        --set data.grid=8,16,16 --set data.spacing=14.4,16,16 --set data.slices=0,7 --set run.threads=1
        --set maskgan.masks=train_dir)  # the fallback data whatever this machine holds: seconds, not a SOOP load
seg=("${common[@]}" --set segment.base_filters=4 --set segment.depth=2 --set segment.epochs=2 --set segment.augment=true
     --set segment.sync_batch_norm=true)  # batch norm over both ranks: the same statistics as batch 2

echo "== 1 process, batch 2"
PENUMBRA_NO_MPI=1 "$pn" segment train "${seg[@]}" --set segment.batch=2 --out "$work/one" >"$work/one.log"
echo "== 2 ranks, batch 1 each"
"${launcher[@]}" "$pn" segment train "${seg[@]}" --set segment.batch=1 --out "$work/two" >"$work/two.log"
grep -q "2 rank(s)" "$work/two.log" || fail "the 2-rank run did not report 2 ranks"
last() { ls "$1"/checkpoints/*.safetensors | sort | tail -n 1; }
"$pn" checkpoint diff "$(last "$work/one")" "$(last "$work/two")" --tol 2e-4

echo "== 2 ranks, interrupted after epoch 1 and resumed"
"${launcher[@]}" "$pn" segment train "${seg[@]}" --set segment.batch=1 --set segment.epochs=1 --out "$work/part" >/dev/null
# The same run folder continued to 2 epochs: the config differs only in segment.epochs, so
# the interruption is simulated on a copy of the full run instead (its last epoch removed).
cp -r "$work/two" "$work/resumed"
rm -f "$work/resumed/DONE" "$(last "$work/resumed")"
head -n 2 "$work/two/metrics.csv" >"$work/resumed/metrics.csv"
"${launcher[@]}" "$pn" segment train "${seg[@]}" --set segment.batch=1 --out "$work/resumed" >"$work/resumed.log"
grep -q "resumed" "$work/resumed.log" || fail "the run did not resume"
"$pn" checkpoint diff "$(last "$work/two")" "$(last "$work/resumed")" --tol 0
"$pn" checkpoint diff "$(last "$work/part")" "$(ls "$work/two"/checkpoints/*.safetensors | sort | head -n 1)" --tol 0
cmp "$work/two/metrics.csv" "$work/resumed/metrics.csv"

echo "== mask GAN and translation on 2 ranks"
gan=("${common[@]}" --set maskgan.epochs=1 --set maskgan.latent_dim=8 --set maskgan.base_shape=2,2,2
     --set maskgan.gen_filters=8,4,4 --set maskgan.critic_filters=4,4,4,4 --set maskgan.critic_dense=8
     --set maskgan.min_lesion_voxels=1)
"${launcher[@]}" "$pn" maskgan train "${gan[@]}" --out "$work/gan" >"$work/gan.log"
test -f "$work/gan/DONE" || fail "maskgan: no DONE"
grep -q "2 rank(s)" "$work/gan.log" || fail "maskgan did not run on 2 ranks"
tr=("${common[@]}" --set data.grid=8,32,32 --set data.spacing=14.4,8,8 --set translate.epochs=1 --set translate.pix2pix.base_filters=4 --set translate.pix2pix.depth_2d=3)
"${launcher[@]}" "$pn" translate train --model pix2pix10 "${tr[@]}" --out "$work/tr" >"$work/tr.log"
test -f "$work/tr/DONE" || fail "translate: no DONE"
grep -q "2 rank(s)" "$work/tr.log" || fail "translate did not run on 2 ranks"

echo "== the whole study (tiny) on 2 ranks"
"${launcher[@]}" "$pn" study --preset small --phantom-stroke 12 --phantom-healthy 6 --set "run.root=$work/study" \
  --set "data.train_dir=$work/none" --set data.grid=8,16,16 --set data.spacing=14.4,16,16 --set data.slices=0,7 \
  --set maskgan.masks=train_dir --set data.phantom_anatomy=procedural --set data.phantom_lesions=procedural \
  --set maskgan.eval_samples=4 --set run.threads=1 --set maskgan.latent_dim=8 --set maskgan.base_shape=2,4,4 --set maskgan.gen_filters=4,4 \
  --set maskgan.critic_filters=4,8 --set maskgan.critic_dense=8 --set maskgan.epochs=1 --set maskgan.min_lesion_voxels=1 \
  --set maskgan.threshold=-0.5 --set "translate.l1_weights=[10.0]" --set translate.with_spade=true \
  --set translate.epochs=1 --set translate.pix2pix.base_filters=4 --set translate.pix2pix.depth_2d=3 \
  --set translate.spade.filters=4,4 --set translate.spade.latent_dim=4 --set translate.discriminator.filters=4,4,4 \
  --set synthesize.count=4 --set segment.base_filters=4 --set segment.epochs=1 --set segment.epochs_synthetic=1 \
  --set segment.epochs_small=1 "--set=segment.finetune_cases=[2]" --set segment.report_last_epochs=1 >"$work/study.log"
grep -q "study finished" "$work/study.log" || fail "the study did not finish"
test -f "$work/study/report/report.md" || fail "the study wrote no report"
test "$(grep -c "2 rank(s)" "$work/study.log")" -ge 5 || fail "the study's trainers did not run on 2 ranks"
echo "PASS"
