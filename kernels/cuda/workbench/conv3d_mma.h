// The conv3d family's tensor-core version (workbench/conv3d_mma.cu; conv3d.cu lists it as
// version 3): its check against the CPU reference on bf16-rounded inputs ("" when it matches)
// and its benchmark case on a problem of n input elements (bf16 x and w, float y).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

std::string conv3d_mma_check();
std::unique_ptr<BenchCase> conv3d_mma_bench(int64_t n);

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
