// A real-anatomy basis for subjects: the MNI ICBM152 2009a symmetric template (shared/data
// icbm152/: skull-stripped T1, grey- and white-matter probability maps, 1 mm) turned into
// a label map in the study's 29-class scheme on the template's own grid (world = MNI mm).
// Rules (atlas_anatomy.cpp says why, with the MNI boxes):
//  - brain = skull-stripped T1 > 0; CSF probability = 1 - GM - WM; the tissue of a voxel is
//    the largest of the three; left hemisphere = MNI x < 0 (the x = 0 column alternates);
//  - brain stem: tissue in an elliptic column along the stem's axis below z = -8;
//    cerebellar cortex / white matter: GM / WM below a fitted tentorium surface;
//  - lateral ventricles: CSF connected to the ventricle bodies within a central box;
//    3rd and 4th ventricles: CSF in narrow midline boxes;
//  - thalamus, caudate, putamen: GM islands inside the deep white matter, in ellipsoids
//    around published centroids;
//  - every other GM voxel is cortex, every other WM voxel white matter, other CSF inside
//    the brain (sulci, cisterns) is background (dark, but inside the brain mask).
// Pallidum, hippocampus, amygdala and ventral DC cannot be told apart from cortex / white
// matter in these maps with boxes alone: they are left out (labelled cortex or white matter).
#pragma once
#include <array>
#include <memory>
#include <string>

#include "data/label_scheme.h"
#include "data/volume.h"

namespace pn::data {

struct AtlasAnatomy {
  LabelVolume labels;  // 29-class map on the template grid (never the lesion)
  LabelVolume brain;   // 1 inside the skull-stripped brain (CSF included), else 0
  std::string source;  // where it came from (folder, or "synthetic")
};

// Derives the anatomy from the three maps on one grid (t1: > 0 inside the brain; gm, wm:
// probability x 255 as stored in the template files). Throws if the grids differ.
AtlasAnatomy derive_atlas_anatomy(const Volume& t1, const Volume& gm, const Volume& wm);

// Reads the three ICBM152 2009a symmetric files from `dir` and derives the anatomy;
// a missing or unreadable file is a pn::Error naming it.
std::shared_ptr<const AtlasAnatomy> load_icbm152_anatomy(const std::string& dir);

// The template from the project's shared data (data/shared_data.h), loaded once per
// process and cached in memory; nullptr when there is no shared data.
std::shared_ptr<const AtlasAnatomy> shared_icbm152_anatomy();

// Volume of each class in ml (index = label).
std::array<double, cls::kNumClasses> class_volumes_ml(const LabelVolume& labels);

}  // namespace pn::data
