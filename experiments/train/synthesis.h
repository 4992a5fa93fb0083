// The synthetic database (PAPER.md, step 3): healthy label maps, each with a lesion from
// the mask GAN pasted in as the lesion class (in brain tissue, data/lesion_insertion.h),
// translated into DWI images by a trained translator. Written as image/mask/label-map
// pairs in the folder layout, with manifest.csv recording which brain, which lesion and
// which model made each volume.
#pragma once
#include <cstdint>
#include <string>

#include "autograd/dtype.h"
#include "experiments/config/config.h"

namespace pn::experiments {

struct SynthesisResult {
  int64_t volumes = 0;
  int64_t lesion_voxels = 0;  // inserted, over all volumes
  int64_t dropped_voxels = 0;  // lesion voxels that fell outside brain tissue
};

// `count` volumes (synthesize.count when count <= 0) from the healthy maps of
// data.healthy_dir, GAN lesions of maskgan_run and the translator of translate_run;
// montage.png shows the first three (translated image, label map, inserted lesion). The
// generator and the translator run on `device`.
SynthesisResult synthesize(const Config& cfg, const std::string& maskgan_run, const std::string& translate_run,
                           const std::string& out_dir, int64_t count, Device device = Device::cpu());

}  // namespace pn::experiments
