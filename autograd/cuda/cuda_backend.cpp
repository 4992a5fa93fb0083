#include "autograd/cuda/cuda_backend.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string_view>
#include <type_traits>
#include <vector>

#include "autograd/cuda/device_allocator.h"
#include "autograd/error.h"
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
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

// The device storage type of an autograd scalar type: math::bfloat16 / math::float16 (the
// CPU's 16-bit types) are __nv_bfloat16 / __half on the device (kernels/cuda/storage_types.h:
// the same bits), every other type is itself.
template <class T> struct DeviceStorage { using type = T; };
template <> struct DeviceStorage<math::bfloat16> { using type = __nv_bfloat16; };
template <> struct DeviceStorage<math::float16> { using type = __half; };
template <class T> using DeviceStorageOf = typename DeviceStorage<std::remove_cv_t<T>>::type;
template <class T> constexpr bool kStorage16 = !std::is_same_v<DeviceStorageOf<T>, std::remove_cv_t<T>>;

// One kernel argument as kernels/cuda takes it: pointers to 16-bit elements become pointers
// to the device storage type (same bits, same size), 16-bit values convert exactly through
// float; anything else is passed as it is.
template <class A>
auto on_device(A a) {
  if constexpr (std::is_pointer_v<A> && kStorage16<std::remove_pointer_t<A>>) {
    using E = std::remove_pointer_t<A>;
    if constexpr (std::is_const_v<E>) return reinterpret_cast<const DeviceStorageOf<E>*>(a);
    else return reinterpret_cast<DeviceStorageOf<E>*>(a);
  } else if constexpr (kStorage16<A>) {
    return StorageType<DeviceStorageOf<A>>::from_compute(static_cast<float>(a));
  } else {
    return a;
  }
}

// Whether kernels/cuda has a cast from S to D: between float32 and float64, and between
// float32 and a 16-bit type (kernels/cuda/elementwise.h).
template <class S, class D>
constexpr bool kHasCudaCast = (!kStorage16<S> && !kStorage16<D>) || (std::is_same_v<S, float> && kStorage16<D>) ||
                              (kStorage16<S> && std::is_same_v<D, float>);

// kernels/cuda behind the BackendImpl interface for one device: the CPU reference's
// arguments plus the device's stream, each call under a guard that makes the device current.
// 16-bit tensors reach the ops in low_precision(); their gemm is cuBLAS's gemm_mixed (fp32
// accumulation, the result rounded once to the 16-bit type), as the CPU's gemm does.
struct CudaKernels {
  int device = 0;
  cudaStream_t stream = nullptr;

#define PN_CUDA_FORWARD(name, params, args)                                  \
  template <class T, class... A>                                             \
  void name(A... a) const {                                                  \
    DeviceGuard guard(device);                                               \
    if constexpr (kStorage16<T> && std::string_view(#name) == "gemm")        \
      gemm_storage16<T>(a...);                                               \
    else                                                                     \
      cuda::name<DeviceStorageOf<T>>(on_device(a)..., stream);               \
  }
  PN_BACKEND_OPS(PN_CUDA_FORWARD)
#undef PN_CUDA_FORWARD
  template <class S, class D, class... A>
  void cast(A... a) const {
    if constexpr (kHasCudaCast<S, D>) {
      DeviceGuard guard(device);
      cuda::cast<DeviceStorageOf<S>, DeviceStorageOf<D>>(on_device(a)..., stream);
    } else {
      PN_FAIL("cast: autograd's CUDA backend casts 16-bit tensors (bfloat16, float16) to and from float32 only, "
              "not {} to {}: cast through float32 (Tensor::to(DType::Float32) first)",
              dtype_name(dtype_of<S>::value), dtype_name(dtype_of<D>::value));
    }
  }
  // The ops with bfloat16 / float16 kernels (backend_impl.h): the list both backends share.
  static constexpr bool low_precision(std::string_view op) { return in_low_precision_ops(op); }

 private:
  template <class T>
  void gemm_storage16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                      int64_t ldb, T beta, T* c, int64_t ldc) const {
    cuda::gemm_mixed<DeviceStorageOf<T>, DeviceStorageOf<T>>(ta, tb, m, n, k, static_cast<float>(alpha), on_device(a),
                                                             lda, on_device(b), ldb, static_cast<float>(beta),
                                                             on_device(c), ldc, stream);
  }
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
