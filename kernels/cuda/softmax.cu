// Softmax on the GPU: one thread per (outer, inner) column. Neighbouring threads take
// neighbouring inner positions, so every access is contiguous across a warp when inner > 1
// (channel softmax of NC... volumes, the case the study's networks use). An axis of at most
// kHeld values (class counts) is read once into registers, then max, sum of exponentials and
// outputs are taken from them: one read and one write per element; a longer axis is walked
// three times (max, sum, outputs). The math is kernels/math/softmax_math.h's, shared with the
// CPU reference: float for float32 tensors (expf, float sums: no double arithmetic), double for
// float64, the axis summed in order, so the emulated GPU and the CPU agree to the last bit.
// Chosen on the kernel workbench (kernels/cuda/workbench/softmax.cu, WORKBENCH.md: version 4
// there is the double-math kernel this replaced). 16-bit tensors (__nv_bfloat16 / __half) widen
// exactly to float, compute in float like float32 ones, and round each output once.
#include <math.h>

#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/math/softmax_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;
constexpr int kHeld = 16;  // the longest axis held in registers

template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t outer, int64_t axis, int64_t inner, bool log) {
  using A = math::SoftmaxAcc<T>;  // the reference's accumulation type, StorageType<T>'s compute type
  using S = StorageType<T>;
  for (int64_t c = global_index(); c < outer * inner; c += grid_stride()) {
    const int64_t o = c / inner, i = c % inner;
    const T* xc = x + o * axis * inner + i;
    T* yc = y + o * axis * inner + i;
    A mx = -INFINITY, s = 0;
    if (axis <= kHeld) {
      A v[kHeld] = {};  // constant trip counts: nvcc unrolls the loops and keeps v in registers
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) {
          v[a] = S::to_compute(xc[a * inner]);
          mx = math::softmax_max(mx, v[a]);
        }
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) s = math::softmax_sum(s, v[a], mx);
      if (log) s = math::log_softmax_norm(s);
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) yc[a * inner] = S::from_compute(math::softmax_value(v[a], mx, s, log));
    } else {
      for (int64_t a = 0; a < axis; ++a) mx = math::softmax_max(mx, S::to_compute(xc[a * inner]));
      for (int64_t a = 0; a < axis; ++a) s = math::softmax_sum(s, S::to_compute(xc[a * inner]), mx);
      if (log) s = math::log_softmax_norm(s);
      for (int64_t a = 0; a < axis; ++a)
        yc[a * inner] = S::from_compute(math::softmax_value(S::to_compute(xc[a * inner]), mx, s, log));
    }
  }
}

}  // namespace

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t axis, int64_t inner, bool log, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("softmax_forward", softmax_forward<T>, x, y, outer, axis, inner, log, stream);
  const int64_t cols = outer * inner;
  if (cols <= 0 || axis <= 0) return;
  const int64_t shape[3] = {outer, axis, inner};
  ErrorScope scope(log ? "log_softmax" : "softmax", shape, 3);
  launch(softmax_kernel<T>, grid_for(cols, kBlock), kBlock, 0, stream, x, y, outer, axis, inner, log);
}

// With the profile twins of the entry points (launch.h).
#define PN_INSTANTIATE(T)                                                                      \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool, cudaStream_t); \
  PN_PROFILE_TWIN("softmax_forward", softmax_forward<T>)
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
PN_INSTANTIATE(__nv_bfloat16)
PN_INSTANTIATE(__half)
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(softmax)
