// Geometric and intensity augmentation applied identically to an image, its mask and its
// label map: one random affine per call (left-right flip, in-plane rotation, zoom, shift,
// shear, each drawn with its own probability; optionally an elastic displacement), sampled trilinearly for the image and by
// nearest neighbour for masks and label maps, so labels stay labels. The grid (affine) is
// unchanged: the anatomy moves within it. Defaults follow the study: flip, rotation
// +-5 deg, zoom +-5 %, shift +-2 %, shear. Seeded: the same seed gives the same transform.
#pragma once
#include <cstdint>

#include "data/volume.h"

namespace pn::data {

struct AugmentOptions {
  double flip_probability = 0.5;    // mirror along the first (left-right) axis
  double rotate_probability = 0.5;  // in-plane rotation about the slice axis
  double rotate_degrees = 5;
  double zoom_probability = 0.5;    // isotropic in-plane scale 1 +- zoom
  double zoom = 0.05;
  double shift_probability = 0.5;   // in-plane shift, fraction of the field of view
  double shift = 0.02;
  double shear_probability = 0.5;   // in-plane shear factor +- shear
  double shear = 0.05;
  double intensity_probability = 0;  // image gain 1 +- intensity_gain (images only)
  double intensity_gain = 0.1;
  double elastic_probability = 0;    // smooth random displacement (value noise), in mm:
  double elastic_mm = 2;             //   amplitude
  double elastic_scale_mm = 30;      //   feature size
};

struct AugmentDraw {
  Mat4 new_to_old = mat4_identity();  // voxel index map of the affine part
  float gain = 1;
  bool elastic = false;               // displacement u(v) applied before the affine
  uint64_t elastic_seed = 0;
  double elastic_mm = 0, elastic_scale_mm = 1;
  Vec3 spacing{1, 1, 1};
};

// The transform for a grid and a seed.
AugmentDraw draw_augmentation(const AugmentOptions& opt, const Grid& grid, uint64_t seed);

// Applies one draw (the same geometry to every argument; the pointers may be null).
void apply_augmentation(const AugmentDraw& draw, Volume* image, LabelVolume* mask, LabelVolume* labels);

}  // namespace pn::data
