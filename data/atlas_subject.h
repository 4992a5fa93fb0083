// Atlas-based subjects: the ICBM152-derived label map (data/atlas_anatomy.h) seen through
// a per-subject random small affine and smooth displacement field (data/subject_warp.h:
// rotation yaw +-7 deg, pitch +-4 deg about the MNI origin, per-axis scale 0.92..1.08,
// shifts +-4 / +-6 / +-4 mm; displacement amplitude opt.deformation_mm, features ~45 mm
// apart), sampled nearest onto the MNI study grid (data/mni_grid.h); the DWI-like image
// is then rendered from that label map with the phantom's contrast model
// (data/phantom_contrast.h). Stroke subjects take a given lesion mask on the study grid
// (kept where it is: real masks are in MNI space already; moved only when under half of
// it lands in tissue) or, without one, the phantom's procedural lesion blobs.
#pragma once
#include <cstdint>

#include "data/atlas_anatomy.h"
#include "data/phantom.h"
#include "data/subject_warp.h"

namespace pn::data {

// The grid atlas subjects of `opt` lie on: opt.size voxels over opt.fov_mm, centred at
// kStudyCentreMni, world = MNI mm.
Grid atlas_subject_grid(const PhantomOptions& opt);

// One subject; the same (atlas, options, seed, stroke, lesion, pose) gives the same voxels.
// opt supplies the grid, the deformation amplitude, the contrast and the procedural lesion
// settings; `lesion` (optional, stroke only): non-zero voxels on atlas_subject_grid(opt).
PhantomSubject make_atlas_subject(const AtlasAnatomy& atlas, const PhantomOptions& opt, uint64_t seed, bool stroke,
                                  const LabelVolume* lesion = nullptr, const PoseRanges& pose = {});

}  // namespace pn::data
