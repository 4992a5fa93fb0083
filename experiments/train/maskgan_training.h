// The lesion-mask GAN experiment (PAPER.md, "lesion-mask GAN"): a 3-D WGAN-GP trained on
// real lesion masks brought to the study's grid (maskgan.masks: by default the SOOP set of
// shared/data when at hand, else the masks of data.train_dir's image/mask pairs), and
// sampling of new binary masks (thresholded, small specks removed) as NIfTI plus a PNG
// montage. Data parallel over the ranks of an MPI launch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "data/volume.h"
#include "experiments/config/config.h"
#include "experiments/train/lesion_sources.h"
#include "experiments/run/run_dir.h"

namespace pn::experiments {

struct MaskGanResult {
  std::string run_dir;
  int64_t training_masks = 0;
  double last_wasserstein = 0;  // mean of D(real) - D(fake) over the last epoch
};

// Where the training masks come from (maskgan.masks resolved; empty dirs = data.train_dir).
LesionSourceSpec maskgan_mask_source(const Config& cfg);
// The grid generated masks lie on: the study grid in MNI space for a real set, else the
// study grid centred on the origin (the pipeline's grid for data.train_dir's masks).
data::Grid maskgan_mask_grid(const Config& cfg);

// Trains (or resumes) on the training split of maskgan.masks, masks with >=
// maskgan.min_lesion_voxels lesion voxels (as binary masks, or as truncated signed distances
// with maskgan.distance_margin > 1); maskgan.steps_per_epoch steps per epoch (0 = one pass over
// the masks). metrics.csv: critic loss, generator loss, Wasserstein estimate, gradient penalty
// and empty_fraction per epoch; with maskgan.select_samples > 0 also the selection score and
// its four terms (select_*; experiments/train/maskgan_selection.h), the best epoch's generator
// kept as generator_selected.
MaskGanResult maskgan_train(const Config& cfg, const RunDirOptions& run_opt);

// The keys that say how a trained generator is sampled; no weight depends on them, so they
// may differ from the run's: maskgan.threshold, maskgan.peak_cut, maskgan.temperature,
// maskgan.min_component_voxels, maskgan.sample_ema, maskgan.sample_selected.
const std::vector<std::string>& maskgan_sampling_keys();

// Which weights sampling uses, from a run's config (with sampling overrides): the selected
// epoch's (generator_selected) when the run kept them (maskgan.select_samples > 0) and
// maskgan.sample_selected; else the moving average (generator_ema) when kept
// (maskgan.ema_decay > 0) and maskgan.sample_ema; else the last weights (generator).
enum class SampledWeights { Last, Average, Selected };
SampledWeights sampled_weights(const Config& cfg);
// "the last weights", "the moving average", "the selected epoch's weights" (for reports).
const char* sampled_weights_name(SampledWeights w);

// Refuses any override ("key=value") that is not of a sampling key, naming the keys that are.
void check_sampling_overrides(const std::vector<std::string>& overrides);
// run_dir's config with `overrides` ("key=value", sampling keys only: anything else is an
// error naming the keys that may be set) applied and validated.
Config maskgan_sampling_config(const std::string& run_dir, const std::vector<std::string>& overrides);

// `count` binary masks from run_dir's newest generator checkpoint (its moving average when the
// run kept one, maskgan.ema_decay > 0, and maskgan.sample_ema is true), on the study's grid:
// latents z ~ N(0, maskgan.temperature^2 I), outputs thresholded at maskgan.threshold (or
// below their own peak, maskgan.peak_cut), components under maskgan.min_component_voxels
// removed (those keys from the run's config, with `sampling` overrides as in
// maskgan_sampling_config); `soft`, when given, receives the generator's raw outputs of the
// first few; `cut_below_peak`, when given, the number of masks whose peak was under
// maskgan.threshold + maskgan.peak_cut, so that they were cut below their peak instead. The
// generator runs on `device`.
std::vector<data::LabelVolume> maskgan_generate(const std::string& run_dir, int64_t count, uint64_t seed,
                                                std::vector<data::Volume>* soft = nullptr, size_t soft_max = 6,
                                                Device device = Device::cpu(),
                                                const std::vector<std::string>& sampling = {},
                                                int64_t* cut_below_peak = nullptr);

// Writes `count` sampled masks (`mask_NNNN.nii.gz`) and `montage.png` to out_dir with the
// generator of run_dir's newest checkpoint; returns the lesion volume (voxels) of each.
std::vector<int64_t> maskgan_sample(const std::string& run_dir, const std::string& out_dir, int64_t count,
                                    uint64_t seed, Device device = Device::cpu(),
                                    const std::vector<std::string>& sampling = {});

// How a generator output becomes a binary mask (the sampling keys maskgan.threshold,
// .peak_cut, .min_component_voxels).
struct MaskCut {
  double threshold = 0;  // tanh output above it is lesion
  // > 0: each output is cut at min(threshold, its own maximum - peak_cut), so every mask keeps
  // at least the voxels within peak_cut of its peak: one that never crosses the threshold is
  // not empty, and one whose peak is under threshold + peak_cut grows a little. Continuous in
  // the output, unlike rescuing only the empty ones. 0: the fixed threshold alone.
  double peak_cut = 0;
  int64_t min_component_voxels = 0;  // 6-connected specks smaller than this are removed
};
MaskCut mask_cut(const Config& cfg);
// The threshold binary_mask applies to one output of `count` values: cut.threshold, or
// min(cut.threshold, max - cut.peak_cut) when cut.peak_cut > 0.
double mask_threshold(const double* values, size_t count, const MaskCut& cut);

// A generator output (tanh values in its [D, H, W] layout, x fastest: grid.numel() of them)
// as a binary mask on `grid`: voxels above mask_threshold (the fixed one, or lower by the
// peak cut), 6-connected components under cut.min_component_voxels removed. What sampling
// and model selection make of a generated mask.
data::LabelVolume binary_mask(const double* values, const data::Grid& grid, const MaskCut& cut);

// Removes 6-connected components smaller than min_voxels from a binary mask (in place);
// returns the number of components kept.
int remove_small_components(data::LabelVolume& mask, int64_t min_voxels);

}  // namespace pn::experiments
