// The digital phantom: seeded procedural subjects that look like skull-stripped axial DWI
// stacks, with the study's 29-class label map and, for stroke subjects, lesion masks.
//  - anatomy: an analytic template in millimetres (cerebral hemispheres with a folded
//    cortex, sulci and the interhemispheric fissure; white matter; lateral, 3rd and 4th
//    ventricles; thalamus, caudate, putamen, pallidum, hippocampus, amygdala, ventral DC;
//    cerebellum with folia; brain stem), seen through a per-subject random affine and a
//    smooth random displacement field, with per-subject ventricle size;
//  - contrast: a DWI-like value per class with per-subject jitter, within-class texture,
//    a smooth multiplicative bias field, partial-volume blur and Rician noise; zero outside
//    the brain (skull-stripped);
//  - lesions: 1..max_lesions irregular blobs per stroke subject in brain tissue of one
//    hemisphere (or the posterior fossa), volumes log-uniform from a few voxels, one
//    territorial lesion in about a quarter of subjects; bright on DWI. Healthy: none.
// The field of view is fixed in mm (default 256 x 256 x 115.2 = 128x128x32 voxels of
// 2 x 2 x 3.6 mm, the study's grid); --size changes the voxel count, not the anatomy.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "data/volume.h"

namespace pn::data {

struct PhantomOptions {
  Dims3 size{128, 128, 32};
  Vec3 fov_mm{256, 256, 115.2};
  double deformation_mm = 4.0;     // amplitude of the smooth displacement field
  double bias_strength = 0.15;     // log-amplitude of the bias field
  double texture = 0.06;           // relative within-class texture
  double noise_sigma = 0.03;       // Rician noise, relative to white matter ~ 0.62
  double blur_voxels = 0.6;        // partial-volume blur (Gaussian sigma, in-plane voxels)
  int max_lesions = 4;
  double min_lesion_ml = 0.05, max_lesion_ml = 25;     // log-uniform small/medium lesions
  double territorial_probability = 0.25;              // one large lesion of 30..150 ml
  double intensity_scale = 1000;                      // stored intensity units
};

struct PhantomSubject {
  Volume image;          // DWI-like, float
  LabelVolume mask;      // lesion 1, else 0
  LabelVolume labels;    // 29-class map (lesion = 28)
  int lesion_count = 0;  // lesions drawn (each non-empty)
};

// One subject; the same (options, seed, stroke, lesion) always gives the same voxels.
// `lesion` (optional, stroke subjects only): a mask on phantom_grid(opt) (non-zero =
// lesion) inserted instead of the procedural blobs, moved to a random place where it lies
// in tissue (data/phantom_lesions.h); empty (all zero) = the procedural blobs.
PhantomSubject make_phantom_subject(const PhantomOptions& opt, uint64_t seed, bool stroke,
                                    const LabelVolume* lesion = nullptr);

// The phantom's grid: opt.size voxels over opt.fov_mm, centred on the origin, LAS (the
// canonical anatomy's x points to the subject's left, along i). Throws on a bad size or FOV.
Grid phantom_grid(const PhantomOptions& opt);
Vec3 phantom_spacing(const PhantomOptions& opt);

// Seed of subject `index` of a database: independent streams per subject and kind.
uint64_t phantom_subject_seed(uint64_t seed, int64_t index, bool stroke);

}  // namespace pn::data
