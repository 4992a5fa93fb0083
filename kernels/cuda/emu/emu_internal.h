// What the emulator's two halves tell each other: the scheduler (scheduler.cpp) records
// launch errors and asks the memory half (memory.cpp) whether any device allocation's guard
// bytes were overwritten by the kernel it just ran. Not for kernels or host code.
#pragma once
#include <string>

#include "kernels/cuda/emu/cuda_emu.h"

namespace pn::cuda::emu::detail {

// The emulated device: as many SMs as a small GPU slice, so that launchers that size their
// grids by SM count run a few blocks and exercise their grid-stride loops in tests.
constexpr int kEmulatedSMs = 4;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytes = 48 * 1024;

// Sets the calling thread's last error and its explanation; returns e.
cudaError_t record_error(cudaError_t e, std::string detail);
// Sets only the explanation (last_error_detail()), for failures of the emulated libraries
// (NCCL, cuBLAS, cuDNN) that have their own status codes and must not touch CUDA's last error.
void record_detail(std::string detail);
// "" while every device allocation's guard bytes are intact; otherwise a description of
// the first damaged one (whose guards are then re-armed, so it is reported once).
std::string check_guard_bytes();
bool valid_stream(cudaStream_t s);
// "" when [p, p + n) lies inside one live allocation; otherwise what it is instead.
std::string describe_range(const void* p, size_t n);

}  // namespace pn::cuda::emu::detail
