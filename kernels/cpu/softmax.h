// CPU reference of softmax and log-softmax along one axis of a contiguous array viewed as
// [outer, axis, inner]. Fused and numerically stable: the maximum along the axis is
// subtracted before exponentiating, and the sum of exponentials accumulates in float for
// float32 and the 16-bit storage types (bfloat16 / float16: each output rounded once) and in
// double for float64 (kernels/math/softmax_math.h, shared with the CUDA kernel,
// which the emulator therefore matches bit for bit).
#pragma once
#include <cstdint>

namespace pn::cpu {

// y = exp(x - max) / sum(exp(x - max)), or with log: (x - max) - log(sum(exp(x - max))).
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t axis, int64_t inner, bool log);

}  // namespace pn::cpu
