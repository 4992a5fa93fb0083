// Where real lesion masks come from: the mask GAN's training data (maskgan.masks) and the
// phantom's stroke lesions (data.phantom_lesions). A value names a set of the provided
// real data ("soop", "lesymap", "soop+lesymap": shared/data, data/shared_data.h), any
// folder of masks, "auto" (SOOP when the shared data is at hand, else the fallback), or
// the fallback itself ("train_dir" for the GAN, "procedural" for the phantom). Sets are
// brought onto the study grid placed in MNI space (mni_study_grid) and split train /
// held-out by file name (maskgan.held_out_fraction, run.seed), the same split for every
// caller, and cached under <run.root>/cache (the first SOOP load takes about a minute).
#pragma once
#include <string>
#include <vector>

#include "data/lesion_set.h"
#include "experiments/config/config.h"

namespace pn::experiments {

struct LesionSourceSpec {
  std::vector<std::string> dirs;  // folders of masks; empty = the caller's fallback
  std::string description;        // for logs: "SOOP (1,449 acute lesions, shared/data/soop/lesions)"
  bool real() const { return !dirs.empty(); }
};

// `value` of config key `key`; `fallback` is the word meaning "no real set" there. A named
// set whose data is missing, or a folder that does not exist, is an error naming the key.
LesionSourceSpec resolve_lesion_source(const std::string& key, const std::string& value, const std::string& fallback);

// The study grid in MNI space (LAS, data/mni_grid.h) for data.grid and data.spacing (D, H, W).
data::Grid study_mni_grid(const Config& cfg);

// The options every caller shares: transfer by area, maskgan.mirror, `min_voxels`, the
// split, the cache folder.
data::LesionSetOptions lesion_set_options(const Config& cfg, int64_t min_voxels);

// Loads and concatenates the spec's folders on `grid` (progress on stdout for cold loads).
data::LesionSet load_lesion_source(const LesionSourceSpec& spec, const data::Grid& grid,
                                   const data::LesionSetOptions& opt);

}  // namespace pn::experiments
