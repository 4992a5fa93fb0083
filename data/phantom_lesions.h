// Lesions of a stroke subject, for the procedural phantom and the atlas subjects alike:
// either a given lesion mask (a real one, on the subject's grid) inserted through
// data/lesion_insertion.h, or the phantom's procedural blobs: 1..max_lesions irregular
// blobs in brain tissue of one hemisphere (or the posterior fossa), volumes log-uniform
// in [min_lesion_ml, max_lesion_ml], one territorial lesion of 30..150 ml in a fraction
// territorial_probability of subjects.
#pragma once
#include <cstdint>
#include <vector>

#include "data/lesion_insertion.h"
#include "data/noise.h"
#include "data/phantom_contrast.h"
#include "data/phantom.h"
#include "data/volume.h"

namespace pn::data {

// Draws the procedural blobs into `labels` (as cls::kLesion); returns how many were drawn.
int draw_procedural_lesions(const PhantomOptions& opt, SeedStream& st, LabelVolume& labels);

// A given mask (non-zero = lesion) inserted as the lesion class, restricted to brain tissue.
// Keep: placed where it is, unless less than `keep_min_fraction` of it lands in tissue,
// then moved by insert_lesion's random shift (seeded from st). RandomShift: moved.
// Returns 1 when any voxel was inserted, else 0. An all-zero mask draws nothing.
int insert_given_lesion(const LabelVolume& mask, LesionPlacement placement, SeedStream& st, LabelVolume& labels,
                        double keep_min_fraction = 0.5);

// The end both subject kinds share, once out.labels holds the anatomy: a stroke subject's
// lesions (the given mask by `placement`, or the procedural blobs when it is absent or
// lands nowhere), then the image rendered from the labels, the lesion mask, and
// `descrip` in the three headers.
void finish_subject(const PhantomOptions& opt, const Contrast& contrast, SeedStream& st, bool stroke,
                    const LabelVolume* lesion, LesionPlacement placement, const std::vector<uint8_t>& inside,
                    const char* descrip, PhantomSubject& out);

}  // namespace pn::data
