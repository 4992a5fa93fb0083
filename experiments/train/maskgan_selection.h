// Model selection for the lesion-mask GAN (maskgan.select_samples > 0; not in the paper).
// At the small preset the WGAN-GP's share of empty masks swings between 0 and 1 from one
// epoch to the next, so the weights of the last epoch are a draw from that cycle. After every
// epoch the trainer therefore measures the generator that sampling uses (the moving average
// when the run keeps one) on a fixed set of latents: its masks, thresholded and cleaned as
// sampling does (maskgan.threshold, .peak_cut, .temperature, .min_component_voxels), against the
// training masks:
//
//     score = empty share + KS(volume) + KS(components) + KS(largest extent)
//
// KS: the two-sample Kolmogorov-Smirnov distance (experiments/train/lesion_eval.h) between
// the non-empty generated masks and the training masks (1 when every generated mask is
// empty). The best-scoring epoch's weights are kept as generator_selected in the checkpoint,
// and sampling uses them (maskgan.sample_selected). Only training masks are read: the
// held-out masks stay unseen until `maskgan eval`, which is what makes its figures honest.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/dtype.h"
#include "data/volume.h"
#include "experiments/train/maskgan_training.h"
#include "models/lesion_wgan.h"

namespace pn::experiments {

struct SelectionScore {
  double empty = 0;  // share of the masks with no voxel left
  double ks_volume = 0, ks_components = 0, ks_extent = 0;
  double total() const { return empty + ks_volume + ks_components + ks_extent; }
};

struct SelectionSampling {
  int64_t samples = 64;  // masks measured per epoch
  uint64_t seed = 0;     // of the latents, the same every epoch
  MaskCut cut;  // threshold, peak cut, speck size
  double temperature = 1;
};

class MaskSelector {
 public:
  // reference: the training masks as lesion voxel indices on `grid` (the generator's output
  // grid and layout), built into volumes one at a time.
  // requires: reference non-empty, sampling.samples > 0.
  // ensures:  the reference's volumes, 26-connected component counts and largest extents
  //           are measured once, here.
  MaskSelector(const std::vector<std::vector<int64_t>>& reference, const data::Grid& grid, SelectionSampling sampling);
  // The score of g's masks (no gradient, g in evaluation mode for the call; its mode is
  // restored). The same weights give the same score: the latents are drawn from the seed
  // each time, so a resumed run can measure its kept generator again.
  SelectionScore measure(models::LesionGenerator& g, Device device) const;
  // The score of masks already made (for tests and the above).
  SelectionScore score(const std::vector<data::LabelVolume>& generated) const;

 private:
  data::Grid grid_;
  SelectionSampling sampling_;
  std::vector<double> volume_, components_, extent_;  // the reference's
};

}  // namespace pn::experiments
