// The phantom's analytic brain template: the class at a point in canonical millimetres
// (x towards the subject's left, y anterior, z superior; origin near the thalami).
// Per-subject parameters (ventricle size, brain size) and a seeded folding field make
// each subject's cortex and ventricles differ; the phantom adds the deformation.
#pragma once
#include <cstdint>

#include "data/noise.h"

namespace pn::data {

struct AnatomyParams {
  double brain_scale[3] = {1, 1, 1};  // cerebral envelope semi-axes factors
  double ventricle_scale = 1.0;       // 0.7 (young) .. 1.6 (atrophy)
  double cortex_mm = 3.0;             // cortical ribbon thickness
  double sulcus_width = 0.07;         // fraction of the folding field that is sulcal CSF
};

class BrainTemplate {
 public:
  BrainTemplate(const AnatomyParams& p, uint64_t seed) : p_(p), fold_(seed), cblm_(seed ^ 0x5bd1e995ull) {}
  // Label in the 29-class scheme (never the lesion); *inside is set when the point lies
  // within the brain envelope (sulcal and fissure CSF included), i.e. not skull-stripped.
  int label(double x, double y, double z, bool* inside) const;

 private:
  int cerebrum(double x, double y, double z, double envelope) const;
  int posterior_fossa(double x, double y, double z, bool* inside) const;
  AnatomyParams p_;
  ValueNoise fold_, cblm_;
};

}  // namespace pn::data
