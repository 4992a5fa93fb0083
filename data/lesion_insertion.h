// Lesion insertion: pastes a lesion mask into a healthy label map as the lesion class,
// restricted to brain tissue (is_brain_tissue: never background, ventricles or CSF).
// Placement: keep the lesion where it is, or move it by a random integer shift that
// keeps its bounding box inside the grid and puts at least `min_tissue_fraction` of it
// in tissue (the best of `tries` shifts otherwise). The paper does not say how it placed
// lesions; this is the project's documented choice (both modes are settings).
#pragma once
#include <cstdint>

#include "data/volume.h"

namespace pn::data {

enum class LesionPlacement { Keep, RandomShift };

struct LesionInsertOptions {
  LesionPlacement placement = LesionPlacement::RandomShift;
  double min_tissue_fraction = 0.9;
  int tries = 64;
};

struct LesionInsertResult {
  LabelVolume labels;      // the healthy map with lesion voxels set to cls::kLesion
  LabelVolume mask;        // 0/1, the lesion as inserted
  int64_t inserted = 0;    // lesion voxels that landed in tissue
  int64_t dropped = 0;     // lesion voxels that fell outside tissue (not inserted)
  Dims3 shift{0, 0, 0};    // voxels the lesion moved
};

// `lesion` is any map whose non-zero voxels are the lesion, on the healthy map's grid
// dimensions. Same seed, same result.
LesionInsertResult insert_lesion(const LabelVolume& healthy, const LabelVolume& lesion, const LesionInsertOptions& opt,
                                 uint64_t seed);

}  // namespace pn::data
