// The phantom's DWI-like contrast model, rendering an image from a 29-class label map
// (lesions included as cls::kLesion): per class a trace value (white matter ~0.62, CSF dark,
// grey brighter, lesions 1.6-2.3 x 0.72) with per-subject gains, a within-class texture,
// a smooth multiplicative bias field, partial-volume blur and Rician noise; zero outside
// the brain (skull-stripped). The procedural phantom and the atlas subjects both render
// through render_from_labels, so they share one contrast.
#pragma once
#include <cstdint>
#include <vector>

#include "data/label_scheme.h"
#include "data/noise.h"
#include "data/phantom.h"
#include "data/volume.h"

namespace pn::data {

// The subject's contrast draws made before its anatomy (texture and bias fields, gains).
struct Contrast {
  ValueNoise texture, bias;
  double class_gain[cls::kNumClasses];
  double global_gain;
};

// Draws texture, bias, per-class gains (1 + 0.04 N(0,1)) and a global gain U(0.85, 1.15).
Contrast draw_contrast(SeedStream& st);

// The image of `labels`: `inside` (one byte per voxel) marks the brain, including CSF
// that the label map calls background (sulci, fissures), which is dark but not zero.
// Draws the lesion gain and the noise seed from st. Intensities in opt.intensity_scale.
Volume render_from_labels(const PhantomOptions& opt, const Contrast& c, SeedStream& st, const LabelVolume& labels,
                          const std::vector<uint8_t>& inside);

// Mask 0/1 of the lesion class in `labels`.
LabelVolume lesion_mask_of(const LabelVolume& labels);

}  // namespace pn::data
