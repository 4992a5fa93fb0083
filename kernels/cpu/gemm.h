// CPU matrix products through OpenBLAS (row-major): C = alpha * op(A) op(B) + beta * C.
// float and double: sgemm / dgemm. bfloat16 and float16: the operands widened to float32
// (exact), sgemm (float32 accumulation), C rounded once to the 16-bit type.
#pragma once
#include <cstdint>

#include "kernels/math/low_precision.h"

namespace pn::cpu {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// The kernel family OpenBLAS chose for this CPU (e.g. "SkylakeX"; see thread_env.h).
const char* blas_core_name();

}  // namespace pn::cpu
