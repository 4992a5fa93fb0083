// The process-wide vendor-library options (library_options.h): atomics, so that any thread
// may read them at every call.
#include "kernels/cuda/library_options.h"

#include <atomic>
#include <stdexcept>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<bool> g_allow_tf32{false};
std::atomic<int> g_conv{static_cast<int>(ConvImpl::cudnn)};
}  // namespace

const char* conv_impl_name(ConvImpl impl) { return impl == ConvImpl::implicit_gemm ? "implicit_gemm" : "cudnn"; }

ConvImpl parse_conv_impl(const std::string& value, const std::string& what) {
  if (value == "cudnn") return ConvImpl::cudnn;
  if (value == "implicit_gemm") return ConvImpl::implicit_gemm;
  throw std::invalid_argument(what + " = \"" + value +
                              "\": expected \"cudnn\" (the default) or \"implicit_gemm\" (our float32 convolution, "
                              "kernels/cuda/conv_igemm.h)");
}

void set_library_options(const LibraryOptions& options) {
  g_deterministic.store(options.deterministic);
  g_allow_tf32.store(options.allow_tf32);
  g_conv.store(static_cast<int>(options.conv));
}

LibraryOptions library_options() {
  LibraryOptions o;
  o.deterministic = g_deterministic.load();
  o.allow_tf32 = g_allow_tf32.load();
  o.conv = static_cast<ConvImpl>(g_conv.load());
  return o;
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
