// The device a benchmark runs on: `--device auto|cpu|cuda` resolved like every command's
// run.device (experiments/run/compute_device.h), and a timer that waits for the device's queued
// work before reading the clock, so GPU times are the work's and not the launch's.
// Each such benchmark is built twice (bench/CMakeLists.txt): `bench_x` with the
// real CUDA runtime where the build has it, and `bench_x-emu` on the CPU emulator, whose times
// are the emulator's (useful to check the GPU path runs, not to measure a GPU).
#pragma once
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "autograd/dtype.h"
#include "bench/bench_util.h"
#include "experiments/run/compute_device.h"
#include "experiments/run/gpu_support.h"
#include "nn/communicator.h"

namespace pn::bench {

// Resolves the setting ("auto", "cpu", "cuda") for this single-process benchmark and prints
// the line naming the device; "cuda" without a device is the same error as in the commands.
inline Device bench_device(const std::string& setting) {
  const experiments::ComputeDevice where = experiments::select_device(setting, *nn::world_communicator());
  const experiments::GpuSupport* gpu = experiments::gpu_support();
  std::printf("device: %s%s\n", where.summary.c_str(),
              where.gpu() && gpu && gpu->kind != "CUDA" ? " (emulated: times are the emulator's, not a GPU's)" : "");
  return where.device;
}

// Waits until `device` has finished its queued work (a no-op on the CPU).
inline void sync_device(Device device) {
  if (device.is_cuda()) experiments::gpu_support()->synchronize(device.index);
}

// Median seconds of fn over reps runs after one warm-up, the device synchronised after each.
inline double median_device_seconds(Device device, const std::function<void()>& fn, int reps) {
  return median_seconds([&] { fn(); sync_device(device); }, reps);
}

// Peak bytes the device's tensor allocator held since the last call (0 on the CPU).
inline double peak_device_mib(Device device) {
  if (!device.is_cuda()) return 0;
  return static_cast<double>(experiments::gpu_support()->peak_memory(device.index, true)) / 1048576.0;
}

// Runs a benchmark's body; an error (no device, out of memory) is printed with the program's
// name and gives exit status 1 instead of an uncaught exception.
inline int guarded_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace pn::bench
