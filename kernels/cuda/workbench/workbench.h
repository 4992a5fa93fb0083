// The kernel workbench (kernels/cuda/WORKBENCH.md): runs the numbered versions of the kernel
// families side by side. Each version is first checked against the CPU reference on awkward
// sizes; then, on a GPU, timed with CUDA events after an L2 flush (ms, GB/s next to the
// device's peak), or, under the emulator, measured by the memory-traffic profile
// (kernels/cuda/emu/profile.h), since times need a GPU. Behind `penumbra bench kernels`.
#pragma once
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

struct VersionReport {
  std::string family;
  int version = 0;
  std::string summary;
  std::string problem;
  std::string check_failure;  // "" when the version matches the CPU reference
  double compulsory_bytes = 0;
  double flops = 0;       // floating-point operations of one launch (compute-bound families), else 0
  double ms = -1;         // median per launch (GPU builds)
  double gbps = -1;       // compulsory bytes / time
  double peak_gbps = -1;  // the device's DRAM peak
#if defined(PN_CUDA_EMU)
  std::vector<emu::LaunchProfile> profile;  // the launches of one run of the version
#endif
};

std::vector<const Family*> families();
// Checks and measures `version` of `family`; "" = every family, 0 = every version. Throws
// std::invalid_argument naming the families or versions there are for an unknown one.
std::vector<VersionReport> run(const std::string& family, int version);
// The reports as text: one block per version, and what the numbers are.
std::string format(const std::vector<VersionReport>& reports);

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
