// The segmentation experiment (PAPER.md, "segmentation U-Net"): training the 3-D U-Net
// with segment.loss (the paper's soft Dice, or dice_ce / batch_dice: models/seg_losses.h)
// on a folder of image/mask pairs, measuring the test set every epoch (the paper's protocol), evaluating the final model once on a held-out set (the
// conventional protocol), predicting masks for new images on their own grid, and scoring
// prediction folders. Data parallel over the ranks of an MPI launch (nn/data_parallel.h).
#pragma once
#include <string>

#include "autograd/dtype.h"
#include "data/folder_dataset.h"
#include "data/pipeline.h"
#include "experiments/config/config.h"
#include "experiments/run/run_dir.h"

namespace pn::experiments {

// The study's grid and preprocessing from the config's data.* keys.
data::PipelineOptions seg_pipeline(const Config& cfg, bool augment);
// data.*_suffix ("_dwi.nii.gz") as the folder layout's suffixes ("dwi").
data::PairSuffixes seg_suffixes(const Config& cfg);

// Whether the U-Net trains channels-last on `device`: segment.memory_format, whose "auto" is
// channels-last on the CPU and channels-first on CUDA devices and with segment.sync_batch_norm.
bool unet_channels_last(const Config& cfg, Device device);

struct SegTrainResult {
  std::string run_dir;
  double final_test_soft_dice = 0;  // mean over the test volumes, last epoch
  double heldout_hard_dice = -1;    // mean over lesion-positive held-out volumes; -1: no held-out set
};

// What one experiment of the study's segmentation grid trains on (see study_plan.h).
struct SegExperiment {
  bool clinical = true;          // data.train_dir's volumes
  int64_t clinical_cases = 0;    // the first N of them by id; 0 = all
  std::string synthetic_dir;     // a synthetic database pooled with them ("" = none)
  std::string init_from;         // a run folder whose final U-Net weights start this one
  std::string epochs_key = "segment.epochs";
};

// Trains (or resumes) the run described by cfg: data.train_dir, data.test_dir and, when it
// exists, data.holdout_dir; segment.* settings. Writes metrics.csv (train loss, test soft
// and hard Dice per epoch), checkpoints, heldout_metrics.csv and DONE.
SegTrainResult segment_train(const Config& cfg, const RunDirOptions& run_opt, const SegExperiment& exp = {});

// Writes `<case>_pred.nii.gz` (hard mask, on the input image's grid) for every case of
// `input_dir` (any layout, data.layout of the run; images alone are cases, masks are not
// read) with the model of `run_dir` (its config and newest checkpoint), in eval mode, and
// `predictions.csv` (case, status, predicted lesion volume in ml, components, files,
// problem). A case that cannot be read is reported and the others still run; returns the
// number of cases not predicted (0: all written).
// The model runs on `device` (the command resolves it from --device or the run's run.device).
int segment_predict(const std::string& run_dir, const std::string& input_dir, const std::string& out_dir,
                    Device device = Device::cpu());

// Scores `<case>_pred.nii.gz` masks against the truth dataset's masks (any layout): one
// row per case in `csv_path` (experiments/metrics/case_metrics_csv.h, written anew and atomically)
// and a printed summary. A prediction must lie on its truth's world grid (dims equal,
// affines within 0.01 mm); `resample` resamples one on another overlapping grid onto the
// truth's (nearest). Every problem (missing or unreadable prediction, grid mismatch) is
// listed at once and nothing is written.
void segment_eval(const std::string& pred_dir, const data::DatasetSpec& truth, const std::string& csv_path,
                  bool resample = false);

}  // namespace pn::experiments
