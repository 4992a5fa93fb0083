// The thin boundary between data/ and the engine: volumes become pn::Tensor here and only
// here. A volume (nx, ny, nz) is a tensor [.., D = nz, H = ny, W = nx] (the voxel order
// is the same, so no copy reorders anything).
#pragma once
#include <vector>

#include "autograd/tensor.h"
#include "data/volume.h"

namespace pn::data {

// [1, D, H, W] float32.
Tensor to_tensor(const Volume& v);
// [C, D, H, W] float32 one-hot; every label must lie in [0, num_classes).
Tensor one_hot(const LabelVolume& v, int num_classes);
// Stacks [C, D, H, W] tensors of one shape into [N, C, D, H, W].
Tensor stack(const std::vector<Tensor>& items);

}  // namespace pn::data
