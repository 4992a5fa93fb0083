// The mask GAN against real lesions it never saw: `count` generated masks and the held-out
// real masks (the held-out split of maskgan.masks; with data.train_dir as the training
// data, the masks of data.test_dir and data.holdout_dir), measured alike
// (data/lesion_stats.h: volume, 26-connected components, surface-to-volume ratio,
// hemisphere; vascular territory from the arterial atlas when the masks lie in MNI space
// and the atlas is at hand). Written to a folder: lesion_comparison.md (the table, with a
// two-sample Kolmogorov-Smirnov distance per measure), lesion_stats.csv (one row per
// mask), PNG histograms of real vs generated, and montage.png (real masks above generated).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "data/lesion_stats.h"
#include "experiments/config/config.h"

namespace pn::experiments {

struct MaskMeasures {
  data::LesionStats stats;
  std::string territory;  // arterial group ("MCA L"), "none", or empty without the atlas
};

struct LesionComparison {
  std::string real_source, generated_source;
  std::vector<MaskMeasures> real, generated;
  int64_t generated_empty = 0;  // generated masks with no voxel left (not in `generated`)
  int64_t generated_cut = 0;    // of all generated masks, those cut below the threshold (maskgan.peak_cut)
  std::vector<data::LabelVolume> real_shown, generated_shown;  // the first few, for the montage
  bool territories = false;
};

// Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs
// (0 = same distribution of values, 1 = disjoint); 0 when either set is empty.
double ks_distance(std::vector<double> a, std::vector<double> b);

// Generates `count` masks with maskgan_run's newest generator (seed `seed`, on `device`,
// sampling keys overridden by `sampling` as in maskgan_sampling_config) and measures them
// and the real held-out masks.
LesionComparison compare_generated_lesions(const std::string& maskgan_run, int64_t count, uint64_t seed,
                                           Device device = Device::cpu(),
                                           const std::vector<std::string>& sampling = {});

// Writes the folder described above and returns lesion_comparison.md's text.
std::string write_lesion_comparison(const LesionComparison& c, const std::filesystem::path& out_dir);

}  // namespace pn::experiments
