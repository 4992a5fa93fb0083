// The study grid placed in MNI space, for atlas subjects and for real lesion masks moved
// onto it through their affines: a plain Grid whose affine maps voxel indices to MNI mm.
// Orientation LAS (index i runs towards the subject's left, j anterior, k superior), like
// the SOOP masks and like the phantom's index layout, so montages show both the same way.
// Centre: MNI (0, -16, 20) mm.
//  - x = 0: the template is symmetric about the midsagittal plane;
//  - y = -16: the middle of the brain's extent in y (about -104 to +72 mm on the template);
//  - z = 20: the study's 115.2 mm (32 x 3.6 mm) cannot hold the whole brain (about -72 to
//    +80 mm, brain stem to vertex), so the slab covers z -37.6 .. +77.6 mm: the whole
//    supratentorial brain down to the temporal lobes' lower surface (where nearly all
//    ischaemic lesions are) and the upper cerebellum, as clinical DWI stacks do.
// Any dims and spacing keep that centre (e.g. 32x32x16 at 8 x 8 x 7.2 mm, same field of view).
#pragma once
#include "data/volume.h"

namespace pn::data {

inline constexpr Vec3 kStudyCentreMni{0, -16, 20};

// dims voxels of `spacing` mm, LAS, the centre of the voxel block at world point `centre`.
Grid las_grid(const Dims3& dims, const Vec3& spacing, const Vec3& centre);

// las_grid at kStudyCentreMni.
Grid mni_study_grid(const Dims3& dims, const Vec3& spacing);

}  // namespace pn::data
