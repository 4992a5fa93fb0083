#include "autograd/cuda/cuda_backend.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "autograd/cuda/device_allocator.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

// kernels/cuda behind the BackendImpl interface for one device: the CPU reference's
// arguments plus the device's stream, each call under a guard that makes the device current.
struct CudaKernels {
  int device = 0;
  cudaStream_t stream = nullptr;

#define PN_CUDA_FORWARD(name, params, args) \
  template <class T, class... A>            \
  void name(A... a) const {                 \
    DeviceGuard guard(device);              \
    cuda::name<T>(a..., stream);            \
  }
  PN_BACKEND_OPS(PN_CUDA_FORWARD)
  template <class S, class D, class... A>
  void cast(A... a) const {
    DeviceGuard guard(device);
    cuda::cast<S, D>(a..., stream);
  }
#undef PN_CUDA_FORWARD
};

// One backend per device, made once (never destroyed: tensors may outlive main).
std::vector<std::unique_ptr<BackendImpl<CudaKernels>>>& device_backends() {
  static auto* v = new std::vector<std::unique_ptr<BackendImpl<CudaKernels>>>;
  return *v;
}

}  // namespace

bool install_cuda_backend() {
  if (!install_device_allocator()) return false;
  static std::once_flag once;
  std::call_once(once, [] {
    int n = 0;
    PN_CUDA_CHECK(cudaGetDeviceCount(&n));
    for (int d = 0; d < std::min(n, kMaxBackendDevices); ++d)
      device_backends().push_back(std::make_unique<BackendImpl<CudaKernels>>("cuda", CudaKernels{d, device_stream(d)}));
  });
  for (size_t d = 0; d < device_backends().size(); ++d)
    register_backend(Device::cuda(static_cast<int>(d)), device_backends()[d].get());
  return true;
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
