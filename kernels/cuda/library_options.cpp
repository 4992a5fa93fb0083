// The process-wide vendor-library options (library_options.h): two atomics, so that any
// thread may read them at every call.
#include "kernels/cuda/library_options.h"

#include <atomic>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<bool> g_allow_tf32{false};
}  // namespace

void set_library_options(const LibraryOptions& options) {
  g_deterministic.store(options.deterministic);
  g_allow_tf32.store(options.allow_tf32);
}

LibraryOptions library_options() { return {g_deterministic.load(), g_allow_tf32.load()}; }

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
