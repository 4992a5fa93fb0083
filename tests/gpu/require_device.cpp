// Linked into every gpu suite: before doctest's main runs, looks for a CUDA device and, if
// there is none (or no driver), says so and exits with 77, which CTest reports as skipped,
// never as passed.
#include <cstdio>
#include <cstdlib>

#include <cuda_runtime.h>

namespace {

struct RequireDevice {
  RequireDevice() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess && n > 0) return;
    std::fprintf(stderr, "SKIPPED: no CUDA device found (%s); gpu tests need one.\n",
                 e == cudaSuccess ? "device count 0" : cudaGetErrorString(e));
    std::exit(77);
  }
};
const RequireDevice g_require_device;

}  // namespace
