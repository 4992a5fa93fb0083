// CUDA optimiser updates over whole arrays, in place; mirror pn::cpu::adam_update and
// sgd_update (kernels/cpu/optim.h) argument for argument, and run the same per-element
// step (kernels/math/optim_math.h) in the parameter's precision.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"
#include "kernels/op_geometry.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, double bias_correction1, double bias_correction2, bool decoupled,
                 cudaStream_t stream);

// One launch over all chunks (T* behind their pointers): their pointers and sizes go to the
// device in a table (stream-ordered scratch, uploaded per call), each block takes a tile of
// one chunk. The same per-element step as adam_update: bit-identical to a call per chunk.
// Under the emulator the launch declares the table, not the tensors behind it, so the
// cross-stream hazard checker does not see p, g, m, v (all on this stream in nn::Adam). The
// upload is from pageable memory, which CUDA documents as possibly synchronous with the
// stream (the host may wait for the queued backward pass once per step); a pinned staging
// buffer would avoid that (the emulator has no pinned memory yet).
template <class T>
void adam_update_multi(const kernels::AdamChunk* chunks, int64_t count, double lr, double beta1, double beta2,
                       double eps, double weight_decay, double bias_correction1, double bias_correction2,
                       bool decoupled, cudaStream_t stream);

// buf is unused (may be nullptr) when momentum is 0.
template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool first, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
