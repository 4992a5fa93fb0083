// What the running program can do with GPUs, registered once by its main program: the
// `penumbra` binary of a CUDA build registers the CUDA runtime, `penumbra-emu` registers
// the CPU emulator of the same CUDA code (kernels/cuda/emu), a CPU-only build registers
// nothing. Everything in experiments/ reaches the GPU through this, so the same command code
// runs in all three programs (experiments/run/gpu_link.cpp is the registering side).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "nn/communicator.h"

namespace pn::experiments {

// Settings of the vendor libraries, from the run's config.
struct GpuMathOptions {
  bool deterministic = false;  // run.deterministic: cuDNN algorithms flagged deterministic only
  bool allow_tf32 = false;     // run.tf32: tensor-core TF32 for float32 convolutions and matmuls
  std::string conv = "cudnn";  // run.conv: "cudnn" or "implicit_gemm" (ours) for float32 convolutions
};

struct GpuSupport {
  std::string kind;  // "CUDA" or "CUDA emulator"
  std::function<int()> device_count;
  // Why device_count() is 0 ("cudaErrorNoDevice: no CUDA-capable device is detected").
  std::function<std::string()> no_device_reason;
  // Makes `device` current for this host thread and installs the CUDA backend.
  std::function<void(int device)> activate;
  // One line about a device: its name and memory.
  std::function<std::string(int device)> describe;
  std::function<void(const GpuMathOptions&)> configure;
  // `penumbra info`'s lines: versions, libraries, devices.
  std::function<std::string()> report;
  // Waits for every queued op of the device; raises its errors.
  std::function<void(int device)> synchronize;
  // Peak bytes held by the device's tensor allocator since the last reset (reset: true).
  std::function<size_t(int device, bool reset)> peak_memory;
  // `penumbra bench kernels`: the kernel workbench (kernels/cuda/WORKBENCH.md) on the current
  // device: each version of `family` ("" = all) numbered `version` (0 = all) checked against
  // the CPU, then timed (GPU) or profiled (emulator); the report as text. Throws
  // std::invalid_argument for an unknown family or version.
  std::function<std::string(const std::string& family, int version)> bench_kernels;
};

// Called once by the program, before any command runs.
void set_gpu_support(GpuSupport s);
// The program's GPU support, or null when it has none.
const GpuSupport* gpu_support();

}  // namespace pn::experiments
