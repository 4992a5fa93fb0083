#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_HOST_ABI {

namespace {
thread_local ErrorScope* t_innermost = nullptr;
}

ErrorScope::ErrorScope(const char* op, const int64_t* shape, int ndim)
    : op_(op), shape_{}, ndim_(ndim < kMaxDims ? ndim : kMaxDims), outer_(t_innermost) {
  for (int i = 0; i < ndim_; ++i) shape_[i] = shape[i];
  t_innermost = this;
}

ErrorScope::~ErrorScope() { t_innermost = outer_; }

std::string describe_scopes() {
  std::string s;
  for (const ErrorScope* e = t_innermost; e; e = e->outer_) {
    s += e == t_innermost ? " in " : " (within ";
    s += e->op_;
    s += "[";
    for (int i = 0; i < e->ndim_; ++i) s += (i ? ", " : "") + std::to_string(e->shape_[i]);
    s += "]";
    if (e != t_innermost) s += ")";
  }
  return s;
}

void throw_error(const char* lib, int code, const char* name, const char* text, const char* call, const char* file,
                 int line) {
  std::string msg = std::string(lib) + " error " + name + " (" + text + ") from " + call + " at " + file + ":" +
                    std::to_string(line) + describe_scopes();
#if defined(PN_CUDA_EMU)
  const char* detail = emu::last_error_detail();
  if (detail && *detail) msg += ": " + std::string(detail);
#endif
  throw CudaError(msg, code);
}

}  // namespace PN_CUDA_HOST_ABI
}  // namespace pn::cuda
