// A kernel family on the workbench (kernels/cuda/WORKBENCH.md): its numbered versions, a check
// of a version against the CPU reference on awkward sizes, and a benchmark case of a version.
// Version 1 of every family is the production kernel. Each family lives in one file,
// kernels/cuda/workbench/<family>.cu, and is listed in workbench.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

struct Version {
  int number;
  std::string summary;  // what this version does differently, one line
};

// One version on one problem, with its device memory; launch() may be called repeatedly.
class BenchCase {
 public:
  virtual ~BenchCase() = default;
  virtual void launch(cudaStream_t stream) = 0;
  virtual double compulsory_bytes() const = 0;  // each input read once, each output written once
  virtual std::string problem() const = 0;      // "relu over 16777216 float32"
  virtual double flops() const { return 0; }     // floating-point operations, for compute-bound families
};

struct Family {
  std::string name;
  std::string what;  // the problem the versions solve
  std::vector<Version> versions;
  // "" when `version` matches the CPU reference on every size checked, else what differed.
  std::string (*check)(int version);
  std::unique_ptr<BenchCase> (*bench)(int version, int64_t elements);
  int64_t gpu_elements;  // problem size timed on a GPU
  int64_t emu_elements;  // problem size profiled under the emulator
};

// The families (workbench.cpp lists them).
const Family& elementwise_family();
const Family& binary_family();
const Family& reduce_family();
const Family& channel_sum_family();
const Family& softmax_family();
const Family& norm_stats_family();
const Family& norm_stats_cl_family();
const Family& adam_family();
const Family& copy_box_family();
const Family& max_pool_family();
const Family& norm_apply_family();
const Family& norm_backward_family();
const Family& conv3d_family();
const Family& conv3d_bwd_data_family();
const Family& conv3d_bwd_weight_family();

// The elementwise family's check on any launcher of y = relu(x) over n floats (for planted bugs).
using UnaryLauncher = void (*)(const float* x, float* y, int64_t n, cudaStream_t stream);
std::string check_relu_launcher(UnaryLauncher launch);

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
