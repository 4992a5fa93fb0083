// CPU reference of the optimiser updates over whole arrays, in place. The per-element
// math (PyTorch semantics) lives in kernels/math/optim_math.h, shared with CUDA.
#pragma once
#include <cstdint>

#include "kernels/op_geometry.h"

namespace pn::cpu {

// One Adam step over n elements; see math::adam_step.
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2,
                 double eps, double weight_decay, double bias_correction1, double bias_correction2,
                 bool decoupled);

// One Adam step over every chunk's n elements (T* behind the chunks' pointers) in one parallel
// loop; each element gets exactly adam_update's math, so the result is bit-identical to one
// adam_update call per chunk.
template <class T>
void adam_update_multi(const kernels::AdamChunk* chunks, int64_t count, double lr, double beta1, double beta2,
                       double eps, double weight_decay, double bias_correction1, double bias_correction2,
                       bool decoupled);

// One SGD (momentum) step over n elements; buf is unused when momentum is 0.
template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool first);

}  // namespace pn::cpu
