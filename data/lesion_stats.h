// Per-mask statistics of a binary lesion mask on its own grid, and summaries of a list of
// numbers for reports. Everything is measured in world millimetres through the grid's
// affine, so a LAS file (x axis pointing left) and a RAS file agree on the hemisphere.
//  - volume: lesion voxels x voxel volume, in ml.
//  - components: connected components under 26-connectivity (voxels touching by a face,
//    an edge or a corner belong together), the usual choice for lesion counts.
//  - surface / volume: exposed voxel faces (a lesion voxel whose neighbour along an axis is
//    not lesion, or outside the grid) x the face's area, over the volume; mm^-1. A cube of
//    side a voxels of 1 mm gives 6 / a.
//  - extent: bounding box along the grid's index axes, in mm ((hi - lo + 1) x spacing).
//  - centre of mass: mean of the lesion voxel centres in world mm.
//  - hemisphere: left when the centre of mass has world x < 0 (MNI/RAS: +x is the
//    subject's right), right otherwise; none for an empty mask.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/volume.h"

namespace pn::data {

enum class Hemisphere { None, Left, Right };
const char* hemisphere_name(Hemisphere h);  // "none", "left", "right"

struct LesionStats {
  int64_t voxels = 0;
  double volume_ml = 0;
  int components = 0;
  double surface_mm2 = 0;
  double surface_to_volume = 0;  // mm^-1 (0 for an empty mask)
  Vec3 extent_mm{0, 0, 0};
  Vec3 centre_mm{0, 0, 0};       // world
  Hemisphere hemisphere = Hemisphere::None;
};

LesionStats lesion_stats(const LabelVolume& mask);
// The largest of the three bounding-box extents, in mm (0 for an empty mask).
inline double largest_extent_mm(const LesionStats& s) {
  return s.extent_mm[0] > s.extent_mm[1] ? (s.extent_mm[0] > s.extent_mm[2] ? s.extent_mm[0] : s.extent_mm[2])
                                          : (s.extent_mm[1] > s.extent_mm[2] ? s.extent_mm[1] : s.extent_mm[2]);
}

// Connected components of the nonzero voxels under 26-connectivity.
int count_components(const LabelVolume& mask);

// Centre of mass of the nonzero voxels in world mm ({0, 0, 0} for an empty mask).
Vec3 centre_of_mass(const LabelVolume& mask);

// min / median / max / mean of a list (the median of an even count is the mean of the two
// middle values); all zero for an empty list.
struct Summary {
  size_t n = 0;
  double min = 0, median = 0, max = 0, mean = 0;
};
Summary summarize(std::vector<double> values);
std::string summary_string(const Summary& s, int decimals = 2);  // "min 0.01, median 12.7, mean 20.1, max 860"


}  // namespace pn::data
