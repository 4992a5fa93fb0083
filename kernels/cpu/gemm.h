// CPU matrix products through OpenBLAS (row-major): C = alpha * op(A) op(B) + beta * C.
// float and double: sgemm / dgemm. bfloat16 and float16: the operands widened to float32
// (exact), sgemm (float32 accumulation), C rounded once to the 16-bit type.
// GemmOrder::sequential replaces the BLAS by plain loops that add each C element's k terms in
// order, in T (float for the 16-bit types): the same bits on every processor. OpenBLAS picks its
// kernels, so its summation order and roundings, by processor (SkylakeX, Haswell, Zen ...); runs
// compared with the emulated GPU, whose cuDNN and cuBLAS add in the same plain order, choose it.
#pragma once
#include <cstdint>

#include "kernels/math/low_precision.h"

namespace pn::cpu {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

enum class GemmOrder { blas, sequential };
// The order gemm sums in: blas, unless the environment variable PENUMBRA_CPU_GEMM=sequential
// (read at first use) or set_gemm_order chose otherwise.
GemmOrder gemm_order();
// The order a PENUMBRA_CPU_GEMM value names: null, "" or "blas", or "sequential"; anything else
// throws std::invalid_argument naming the variable and the accepted values.
GemmOrder parse_gemm_order(const char* value);
void set_gemm_order(GemmOrder order);

// The kernel family OpenBLAS chose for this CPU (e.g. "SkylakeX"; see thread_env.h).
const char* blas_core_name();

}  // namespace pn::cpu
