// Checked CUDA calls. PN_CUDA_CHECK(call) throws pn::cuda::CudaError when call fails; the
// message names the call, its file:line, the error, the emulator's explanation (in
// emulated builds) and the op and shape of every ErrorScope alive on this thread, so that
// launchers can say which op with which shapes failed without formatting anything unless
// it does. Library wrappers (cuBLAS, cuDNN, NCCL) report through throw_error as well.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_HOST_ABI {

class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& msg, int code) : std::runtime_error(msg), code_(code) {}
  int code() const { return code_; }  // the library's own error number

 private:
  int code_;
};

// Names an op and its shape for errors raised while it is alive (the shape is copied, and
// only formatted if an error occurs).
class ErrorScope {
 public:
  static constexpr int kMaxDims = 8;
  ErrorScope(const char* op, const int64_t* shape, int ndim);
  ErrorScope(const char* op, int64_t numel) : ErrorScope(op, &numel, 1) {}
  ~ErrorScope();
  ErrorScope(const ErrorScope&) = delete;
  ErrorScope& operator=(const ErrorScope&) = delete;

 private:
  friend std::string describe_scopes();
  const char* op_;
  int64_t shape_[kMaxDims];
  int ndim_;
  ErrorScope* outer_;
};

// "in op[2, 3] (within outer_op[5])", or "" outside any scope.
std::string describe_scopes();

// lib: "CUDA", "cuBLAS", ...; name and text: the library's name and description of code.
[[noreturn]] void throw_error(const char* lib, int code, const char* name, const char* text, const char* call,
                              const char* file, int line);

// Throws for a failed call. The error is also cleared from the thread's last error
// (cudaGetLastError), since the exception reports it: otherwise the next launch check
// would report it a second time.
inline void check(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();
  throw_error("CUDA", static_cast<int>(e), cudaGetErrorName(e), cudaGetErrorString(e), call, file, line);
}

}  // namespace PN_CUDA_HOST_ABI
}  // namespace pn::cuda

#define PN_CUDA_CHECK(call) ::pn::cuda::check((call), #call, __FILE__, __LINE__)
