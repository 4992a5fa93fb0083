// Intensity normalisation of images. The paper's: clip to [0, p99.5] (percentile over all
// voxels), z-score, then rescale linearly so that the minimum is -1 and the maximum +1.
// Plain alternatives: z-score only, min-max to [-1, 1].
#pragma once
#include <string>

#include "data/volume.h"

namespace pn::data {

enum class Normalisation { Paper, ZScore, MinMax, None };
Normalisation parse_normalisation(const std::string& name);  // "paper", "zscore", "minmax", "none"

// The q-th percentile (0..100) of the voxels, linear between order statistics.
double percentile(const std::vector<float>& values, double q);

void normalise(Volume& v, Normalisation how, double upper_percentile = 99.5);

}  // namespace pn::data
