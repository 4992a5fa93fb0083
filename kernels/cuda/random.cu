// Random fills on the GPU: one Philox draw per element (kernels/math/philox.h). Built with
// -fmad=false under nvcc (see CMakeLists.txt) so that no multiply-add is fused: uniform
// and Bernoulli values then match the CPU bit for bit; normal values go through log and
// cos, whose CUDA and glibc versions may differ in the last bit.
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/random.h"
#include "kernels/math/philox.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

enum class Dist { Normal, Uniform, Bernoulli };

template <class T, Dist D>
__global__ void random_kernel(T* x, int64_t n, uint64_t seed, uint64_t offset, double a, double b) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const uint64_t k = offset + static_cast<uint64_t>(i);
    double v;
    if constexpr (D == Dist::Normal) v = math::normal_at(seed, k, a, b);
    else if constexpr (D == Dist::Uniform) v = math::uniform_at(seed, k, a, b);
    else v = math::bernoulli_at(seed, k, a, b);
    x[i] = static_cast<T>(v);
  }
}

template <class T, Dist D>
void fill_random(const char* name, T* x, int64_t n, uint64_t seed, uint64_t offset, double a, double b,
                 cudaStream_t stream) {
  if (n <= 0) return;
  ErrorScope scope(name, n);
  launch(random_kernel<T, D>, grid_for(n, kBlock), kBlock, 0, stream, x, n, seed, offset, a, b);
}

}  // namespace

template <class T>
void fill_normal(T* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("fill_normal", fill_normal<T>, x, n, seed, offset, mean, std, stream);
  fill_random<T, Dist::Normal>("fill_normal", x, n, seed, offset, mean, std, stream);
}

template <class T>
void fill_uniform(T* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("fill_uniform", fill_uniform<T>, x, n, seed, offset, lo, hi, stream);
  fill_random<T, Dist::Uniform>("fill_uniform", x, n, seed, offset, lo, hi, stream);
}

template <class T>
void fill_bernoulli(T* x, int64_t n, uint64_t seed, uint64_t offset, double keep, double scale,
                    cudaStream_t stream) {
  PN_PROFILE_DISPATCH("fill_bernoulli", fill_bernoulli<T>, x, n, seed, offset, keep, scale, stream);
  fill_random<T, Dist::Bernoulli>("fill_bernoulli", x, n, seed, offset, keep, scale, stream);
}

#define PN_INSTANTIATE(T)                                                                              \
  template void fill_normal<T>(T*, int64_t, uint64_t, uint64_t, double, double, cudaStream_t);         \
  template void fill_uniform<T>(T*, int64_t, uint64_t, uint64_t, double, double, cudaStream_t);        \
  template void fill_bernoulli<T>(T*, int64_t, uint64_t, uint64_t, double, double, cudaStream_t);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("fill_normal", fill_normal<float>)
PN_PROFILE_TWIN("fill_normal", fill_normal<double>)
PN_PROFILE_TWIN("fill_uniform", fill_uniform<float>)
PN_PROFILE_TWIN("fill_uniform", fill_uniform<double>)
PN_PROFILE_TWIN("fill_bernoulli", fill_bernoulli<float>)
PN_PROFILE_TWIN("fill_bernoulli", fill_bernoulli<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(random)
