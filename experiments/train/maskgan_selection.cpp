#include "experiments/train/maskgan_selection.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "data/lesion_masks.h"
#include "data/lesion_stats.h"
#include "experiments/train/lesion_eval.h"
#include "experiments/train/maskgan_training.h"

namespace pn::experiments {

namespace {

constexpr int64_t kBatch = 8;  // masks per generator call (the paper's grid: 8 x 2 MiB)

}  // namespace

MaskSelector::MaskSelector(const std::vector<std::vector<int64_t>>& reference, const data::Grid& grid,
                           SelectionSampling sampling)
    : grid_(grid), sampling_(sampling) {
  PN_CHECK(!reference.empty(), "maskgan.select_samples: no training masks to measure the generator against");
  PN_CHECK(sampling.samples > 0, "maskgan.select_samples: {} masks per epoch; give a positive count, or 0 for no "
           "selection", sampling.samples);
  for (const auto& voxels : reference) {
    const data::LesionStats s = data::lesion_stats(data::mask_from_voxels(grid, voxels));
    volume_.push_back(s.volume_ml);
    components_.push_back(s.components);
    extent_.push_back(data::largest_extent_mm(s));
  }
}

SelectionScore MaskSelector::score(const std::vector<data::LabelVolume>& generated) const {
  std::vector<double> volume, components, extent;
  for (const auto& m : generated) {
    const data::LesionStats s = data::lesion_stats(m);
    if (s.voxels == 0) continue;
    volume.push_back(s.volume_ml);
    components.push_back(s.components);
    extent.push_back(data::largest_extent_mm(s));
  }
  SelectionScore r;
  const size_t n = generated.size();
  r.empty = n ? static_cast<double>(n - volume.size()) / static_cast<double>(n) : 1.0;
  if (volume.empty()) {  // nothing to compare: as far from the data as KS can say
    r.ks_volume = r.ks_components = r.ks_extent = 1;
    return r;
  }
  r.ks_volume = ks_distance(volume, volume_);
  r.ks_components = ks_distance(components, components_);
  r.ks_extent = ks_distance(extent, extent_);
  return r;
}

SelectionScore MaskSelector::measure(models::LesionGenerator& g, Device device) const {
  const bool was_training = g.is_training();
  g.eval();
  Generator gen(sampling_.seed);
  const int64_t z_dim = g.config().z_dim;
  std::vector<data::LabelVolume> masks;
  for (int64_t done = 0; done < sampling_.samples; done += kBatch) {
    const int64_t n = std::min(kBatch, sampling_.samples - done);
    std::vector<double> v;
    {
      NoGrad ng;
      v = g.forward((Tensor::randn({n, z_dim}, gen) * sampling_.temperature).to(device)).to_vector();
    }
    const size_t per = v.size() / static_cast<size_t>(n);
    PN_CHECK(static_cast<int64_t>(per) == grid_.numel(), "maskgan.select_samples: the generator makes {} voxels a "
             "mask, the mask grid has {}", per, grid_.numel());
    for (int64_t b = 0; b < n; ++b)
      masks.push_back(binary_mask(v.data() + static_cast<size_t>(b) * per, grid_, sampling_.cut));
  }
  g.train(was_training);
  return score(masks);
}

}  // namespace pn::experiments
