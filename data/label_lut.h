// Lookup tables from other anatomy label schemes onto the study's 29 classes.
// Built in: FreeSurfer `aseg` (and SynthSeg, which writes the same label values):
//   2/41 cerebral WM, 3/42 cortex, 4/43 lateral ventricle, 5/44 inferior lateral ventricle
//   -> lateral ventricle, 7/46 cerebellar WM, 8/47 cerebellar cortex, 9/48 and 10/49
//   thalamus, 11/50 caudate, 26/58 accumbens -> caudate (ventral striatum), 12/51 putamen,
//   13/52 pallidum, 17/53 hippocampus, 18/54 amygdala, 28/60 ventral DC, 31/63 choroid
//   plexus -> lateral ventricle, 14 3rd ventricle, 15 4th ventricle, 16 brain stem;
//   0 unknown, 24 CSF, 30/62 vessel, 72 5th ventricle, 77/78/79 WM hypointensities
//   (no hemisphere), 80/81/82 non-WM hypointensities, 85 optic chiasm -> background.
// Any other value is an error (nothing is mapped silently). Other schemes: a text table,
// one "source target" pair per line, '#' starts a comment.
#pragma once
#include <map>
#include <string>

#include "data/volume.h"

namespace pn::data {

using LabelLut = std::map<int32_t, int32_t>;

const LabelLut& freesurfer_aseg_lut();
// Reads a user table; targets must lie in [0, 29).
LabelLut read_lut_file(const std::string& path);
// Maps every voxel; throws naming `name`, the unmapped values and their voxel counts.
LabelVolume apply_lut(const LabelVolume& v, const LabelLut& lut, const std::string& name);

}  // namespace pn::data
