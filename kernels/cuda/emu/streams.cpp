// Streams, events and device work (device_work.h). Interim: every op runs as it is
// enqueued (the `eager` policy); the deferred and shuffled policies and the hazard checker
// replace this.
#include <string>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu::detail {

std::string check_accesses(int /*device*/, const std::vector<Access>& accesses) {
  for (const Access& a : accesses) {
    if (!a.ptr) continue;
    std::string why = describe_range(a.ptr, a.bytes == 0 ? 1 : a.bytes);
    if (!why.empty()) return a.role + ": " + why;
  }
  return "";
}

int stream_device(cudaStream_t s) { return valid_stream(s) ? 0 : -1; }

int current_device() { return 0; }

cudaError_t enqueue(cudaStream_t s, std::string what, std::vector<Access> accesses, OpBody body, When) {
  if (!valid_stream(s)) return record_error(cudaErrorInvalidResourceHandle, what + ": unknown or destroyed stream");
  std::string bad = check_accesses(0, accesses);
  if (!bad.empty()) return record_error(cudaErrorInvalidValue, what + ": " + bad);
  std::string detail;
  cudaError_t e = body(detail);
  if (e != cudaSuccess) return record_error(e, what + ": " + detail);
  return cudaSuccess;
}

cudaError_t synchronize_stream(cudaStream_t s) {
  return valid_stream(s) ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: bad stream");
}

}  // namespace pn::cuda::emu::detail
