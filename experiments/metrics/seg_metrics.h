// Segmentation metrics per volume, as `segment eval` reports them. Masks are uint8 (0 or
// not), probabilities float in [0, 1], all with W contiguous on a Grid3 (distance_transform.h).
//
// Empty masks (defined, and tested):
//   dice, precision, recall: 1 when prediction and truth are both empty; otherwise a zero
//     denominator (nothing predicted, or nothing to find) gives 0.
//   hausdorff: 0 when both are empty, +inf when exactly one is.
//   volumes are always defined.
#pragma once
#include <cstdint>
#include <vector>

#include "experiments/metrics/distance_transform.h"

namespace pn::experiments {

struct Confusion {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
};
Confusion confusion(const uint8_t* pred, const uint8_t* truth, int64_t n);

// 2 sum(p t) / (sum p + sum t): the paper's soft Dice, on probabilities.
double soft_dice(const float* prob, const uint8_t* truth, int64_t n);
double hard_dice(const Confusion& c);
double precision(const Confusion& c);  // tp / (tp + fp)
double recall(const Confusion& c);     // tp / (tp + fn), the sensitivity
// |predicted volume - true volume| in ml.
double absolute_volume_difference_ml(const Confusion& c, const Grid3& g);
// Volume predicted outside the truth, in ml (for lesion-free cases: all that is predicted).
double false_positive_volume_ml(const Confusion& c, const Grid3& g);

// prob > threshold (a 2-class softmax's argmax is prob > 0.5).
std::vector<uint8_t> threshold_mask(const float* prob, int64_t n, double threshold);
// Foreground voxels with a face neighbour in the background; outside the grid counts as background.
std::vector<uint8_t> surface_voxels(const uint8_t* mask, const Grid3& g);
// Symmetric Hausdorff distance in mm at a percentile (95: "HD95"; 100: the classic one):
// the distances from each surface voxel of one mask to the nearest surface voxel of the
// other, both directions pooled (as medpy's hd95), then the percentile with linear
// interpolation between order statistics (as numpy.percentile).
double hausdorff_distance(const uint8_t* a, const uint8_t* b, const Grid3& g, double percentile = 95.0);
// numpy.percentile(values, q) with the default linear interpolation; values non-empty.
double percentile_linear(std::vector<double> values, double q);

// Everything `segment eval` reports for one volume. On lesion-free truth, dice, precision,
// recall and HD95 are NaN (not applicable; a summary skips them) and fp_volume_ml is the
// number that matters.
struct CaseMetrics {
  bool lesion_positive = false;
  double soft_dice = 0, hard_dice = 0, precision = 0, recall = 0;
  double avd_ml = 0, hd95_mm = 0, fp_volume_ml = 0, truth_ml = 0, pred_ml = 0;
};
CaseMetrics evaluate_case(const float* prob, const uint8_t* truth, const Grid3& g, double threshold = 0.5);

}  // namespace pn::experiments
