// Shared plumbing of the emulated vendor libraries (see library_op.h).
#include "kernels/cuda/emu/library_op.h"

#include <cstdio>
#include <utility>

#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu::detail {

void explain(std::string why) { record_detail(std::move(why)); }

std::string enqueue_library_op(cudaStream_t s, const std::string& what, std::vector<Access> accesses, OpBody body) {
  const cudaError_t before = thread_error();  // not cudaPeekAtLastError: that also takes async errors
  const cudaError_t e = enqueue(s, what, std::move(accesses), std::move(body));
  if (e == cudaSuccess) return "";
  std::string why = last_error_detail();
  if (why.empty()) why = what + ": refused by the emulated device (" + cudaGetErrorName(e) + ")";
  (void)record_error(before, why);
  return why;
}

std::string describe_span(const void* p, size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "[%p, +%zu bytes)", p, bytes);
  return buf;
}

}  // namespace pn::cuda::emu::detail
