// The emulated cuBLAS (see cublas_emu.h for the semantics and the documentation they follow):
// handles, streams, math modes, status names, and the column-major gemm as a device op.
#include "kernels/cuda/emu/cublas_emu.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/emu/cublas_emu_gemm_ex.h"
#include "kernels/cuda/emu/library_op.h"
#include "kernels/math/tf32.h"

struct cublasContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

namespace detail = pn::cuda::emu::detail;

std::mutex g_mutex;
std::set<cublasContext*>& live_handles() {
  static std::set<cublasContext*> s;
  return s;
}

bool live(cublasHandle_t h) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return h && live_handles().count(h) != 0;
}

cublasStatus_t fail(cublasStatus_t s, std::string why) {
  detail::explain(std::move(why));
  return s;
}

cublasStatus_t not_initialized(const char* call, cublasHandle_t h) {
  return fail(CUBLAS_STATUS_NOT_INITIALIZED, std::string(call) + ": " +
                                                 (h ? "handle was never created or is destroyed" : "handle is NULL") +
                                                 " (create one with cublasCreate)");
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// One operand as stored: rows x cols, leading dimension ld (column-major).
struct Operand {
  int64_t rows, cols, ld;
  size_t elements() const { return rows > 0 && cols > 0 ? static_cast<size_t>((cols - 1) * ld + rows) : 0; }
};

// The documented CUBLAS_STATUS_INVALID_VALUE rules of cublas<t>gemm; "" when all hold.
std::string gemm_argument_error(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                                int64_t lda, int64_t ldb, int64_t ldc, const void* alpha, const void* beta) {
  auto max1 = [](int64_t v) { return v > 1 ? v : int64_t{1}; };
  if (m < 0 || n < 0 || k < 0)
    return "m, n, k must be >= 0 (got " + std::to_string(m) + ", " + std::to_string(n) + ", " + std::to_string(k) + ")";
  if (!valid_op(ta) || !valid_op(tb)) return "transa and transb must be CUBLAS_OP_N, CUBLAS_OP_T or CUBLAS_OP_C";
  const int64_t need_a = max1(ta == CUBLAS_OP_N ? m : k), need_b = max1(tb == CUBLAS_OP_N ? k : n), need_c = max1(m);
  if (lda < need_a) return "lda = " + std::to_string(lda) + " < " + std::to_string(need_a) + " (rows of A as stored)";
  if (ldb < need_b) return "ldb = " + std::to_string(ldb) + " < " + std::to_string(need_b) + " (rows of B as stored)";
  if (ldc < need_c) return "ldc = " + std::to_string(ldc) + " < " + std::to_string(need_c) + " (rows of C)";
  if (!alpha || !beta) return "alpha and beta must not be NULL";
  return "";
}

template <class T>
T load(const T* p, bool tf32) {
  if constexpr (sizeof(T) == 4) {
    if (tf32) return pn::math::round_to_tf32(*p);
  }
  return *p;
}

// C = alpha op(A) op(B) + beta C, column-major, accumulating in T in the order l = 0..k-1.
// Cache-friendly: op(A) is first copied packed (m x k, column-major, TF32-rounded where the
// math mode says so); each column j of C is then accumulated as op(A)'s columns scaled by
// op(B)[l, j], l in order, so the innermost loop runs down contiguous columns. Every element
// still adds its products a[i, l] * b[l, j] in the order l = 0..k-1.
template <class T>
void gemm_math(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
               int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, bool tf32) {
  const bool products = k > 0 && alpha != T(0);
  std::vector<T> a(products ? static_cast<size_t>(m * k) : 0), acc(static_cast<size_t>(m));
  if (products)
    for (int64_t l = 0; l < k; ++l)
      for (int64_t i = 0; i < m; ++i) a[i + l * m] = load(ta == CUBLAS_OP_N ? &A[i + l * lda] : &A[l + i * lda], tf32);
  for (int64_t j = 0; j < n; ++j) {
    std::fill(acc.begin(), acc.end(), T(0));
    if (products)
      for (int64_t l = 0; l < k; ++l) {
        const T b = load(tb == CUBLAS_OP_N ? &B[l + j * ldb] : &B[j + l * ldb], tf32);
        const T* al = a.data() + l * m;
        for (int64_t i = 0; i < m; ++i) acc[i] += al[i] * b;
      }
    T* c = C + j * ldc;
    for (int64_t i = 0; i < m; ++i) c[i] = beta == T(0) ? alpha * acc[i] : alpha * acc[i] + beta * c[i];
  }
}

// One operand's device span for the access declaration: `elements` of `bytes` each.
struct Span {
  const void* ptr;
  size_t elements, bytes;
  bool write;
  const char* role;
};

// The handle's stream and math mode, as a call sees them.
std::pair<cudaStream_t, cublasMath_t> handle_state(cublasHandle_t h) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return {h->stream, h->math};
}

// Checks each span (not NULL, aligned to its elements), then enqueues `math` on `stream` as a
// device op declaring the spans (emu/device_work.h). A refused op is the library's
// CUBLAS_STATUS_EXECUTION_FAILED.
cublasStatus_t enqueue_gemm(const char* call, cudaStream_t stream, const std::vector<Span>& spans,
                            std::function<void()> math) {
  std::vector<detail::Access> acc;
  for (const Span& x : spans) {
    if (!x.ptr)
      return fail(CUBLAS_STATUS_EXECUTION_FAILED, std::string(call) + ": " + x.role + " is NULL but must hold " +
                                                      std::to_string(x.elements * x.bytes) + " bytes");
    if (reinterpret_cast<uintptr_t>(x.ptr) % x.bytes != 0)
      return fail(CUBLAS_STATUS_EXECUTION_FAILED, std::string(call) + ": " + x.role + " is not aligned to its " +
                                                      std::to_string(x.bytes) + "-byte elements");
    acc.push_back({x.ptr, x.elements * x.bytes, x.write, x.role});
  }
  const std::string refused = detail::enqueue_library_op(stream, call, std::move(acc), [math](std::string&) {
    math();
    return cudaSuccess;
  });
  if (!refused.empty()) return fail(CUBLAS_STATUS_EXECUTION_FAILED, refused);
  return CUBLAS_STATUS_SUCCESS;
}

// The spans of A, B (when read) and C for a gemm of these arguments.
std::vector<Span> gemm_spans(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                             int64_t lda, int64_t ldb, int64_t ldc, bool reads_ab, const void* A, size_t a_bytes,
                             const void* B, size_t b_bytes, const void* C, size_t c_bytes) {
  const Operand opa{ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda};
  const Operand opb{tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb};
  const Operand opc{m, n, ldc};
  std::vector<Span> spans;
  if (reads_ab) {
    spans.push_back({A, opa.elements(), a_bytes, false, "A"});
    spans.push_back({B, opb.elements(), b_bytes, false, "B"});
  }
  spans.push_back({C, opc.elements(), c_bytes, true, "C"});
  return spans;
}

template <class T>
cublasStatus_t gemm(const char* call, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m,
                    int64_t n, int64_t k, const T* alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
                    const T* beta, T* C, int64_t ldc) {
  if (!live(h)) return not_initialized(call, h);
  const std::string bad = gemm_argument_error(ta, tb, m, n, k, lda, ldb, ldc, alpha, beta);
  if (!bad.empty()) return fail(CUBLAS_STATUS_INVALID_VALUE, std::string(call) + ": " + bad);
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  const T a = *alpha, b = *beta;  // host pointer mode: read at the call
  const auto [stream, math] = handle_state(h);
  const bool tf32 =
      sizeof(T) == 4 && (math & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION) == CUBLAS_TF32_TENSOR_OP_MATH;
  const auto spans = gemm_spans(ta, tb, m, n, k, lda, ldb, ldc, k > 0 && a != T(0), A, sizeof(T), B, sizeof(T), C,
                                sizeof(T));
  return enqueue_gemm(call, stream, spans, [=] { gemm_math<T>(ta, tb, m, n, k, a, A, lda, B, ldb, b, C, ldc, tf32); });
}

// cublasGemmEx_64's checks in the documented order: handle, arguments (INVALID_VALUE), types
// and algo (NOT_SUPPORTED), then what the emulator computes.
cublasStatus_t gemm_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                       const void* alpha, const void* A, cudaDataType at, int64_t lda, const void* B, cudaDataType bt,
                       int64_t ldb, const void* beta, void* C, cudaDataType ct, int64_t ldc,
                       cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  namespace ex = pn::cuda::emu::cublas_ex;
  const char* call = "cublasGemmEx_64";
  if (!live(h)) return not_initialized(call, h);
  const std::string bad = gemm_argument_error(ta, tb, m, n, k, lda, ldb, ldc, alpha, beta);
  if (!bad.empty()) return fail(CUBLAS_STATUS_INVALID_VALUE, std::string(call) + ": " + bad);
  for (const std::string& why : {ex::combination_error(at, bt, ct, compute), ex::algo_error(algo),
                                 ex::not_emulated(at, ct, compute)})
    if (!why.empty()) return fail(CUBLAS_STATUS_NOT_SUPPORTED, std::string(call) + ": " + why);
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  const auto [stream, math] = handle_state(h);
  if (at == CUDA_R_64F) {  // scale type CUDA_R_64F
    const double a = *static_cast<const double*>(alpha), b = *static_cast<const double*>(beta);
    const auto spans = gemm_spans(ta, tb, m, n, k, lda, ldb, ldc, k > 0 && a != 0.0, A, 8, B, 8, C, 8);
    const auto* dA = static_cast<const double*>(A);
    const auto* dB = static_cast<const double*>(B);
    auto* dC = static_cast<double*>(C);
    return enqueue_gemm(call, stream, spans,
                        [=] { gemm_math<double>(ta, tb, m, n, k, a, dA, lda, dB, ldb, b, dC, ldc, false); });
  }
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);  // scale type CUDA_R_32F
  const size_t ab_bytes = ex::element_bytes(at), c_bytes = ex::element_bytes(ct);
  const auto spans = gemm_spans(ta, tb, m, n, k, lda, ldb, ldc, k > 0 && a != 0.0f, A, ab_bytes, B, ab_bytes, C,
                                c_bytes);
  const ex::InputRounding rounding = ex::input_rounding(at, compute, math);
  return enqueue_gemm(call, stream, spans,
                      [=] { ex::gemm_mixed(ta, tb, m, n, k, a, A, lda, B, ldb, at, b, C, ldc, ct, rounding); });
}

}  // namespace

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasCreate: handle is NULL");
  auto* h = new cublasContext;
  h->device = detail::current_device();
  std::lock_guard<std::mutex> lock(g_mutex);
  live_handles().insert(h);
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (handle && live_handles().erase(handle) == 1) {
      delete handle;
      return CUBLAS_STATUS_SUCCESS;
    }
  }
  return not_initialized("cublasDestroy", handle);
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  if (!live(handle)) return not_initialized("cublasGetVersion", handle);
  if (!version) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasGetVersion: version is NULL");
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (!live(handle)) return not_initialized("cublasSetStream", handle);
  if (detail::stream_device(stream) < 0)
    return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetStream: the stream is unknown or destroyed");
  std::lock_guard<std::mutex> lock(g_mutex);
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  if (!live(handle)) return not_initialized("cublasGetStream", handle);
  if (!stream) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasGetStream: stream is NULL");
  std::lock_guard<std::mutex> lock(g_mutex);
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!live(handle)) return not_initialized("cublasSetMathMode", handle);
  const int base = mode & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  const bool known = base == CUBLAS_DEFAULT_MATH || base == CUBLAS_TENSOR_OP_MATH || base == CUBLAS_PEDANTIC_MATH ||
                     base == CUBLAS_TF32_TENSOR_OP_MATH || base == CUBLAS_FP32_EMULATED_BF16X9_MATH ||
                     base == CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH;
  if (!known)
    return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetMathMode: " + std::to_string(mode) + " is no cublasMath_t");
  std::lock_guard<std::mutex> lock(g_mutex);
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!live(handle)) return not_initialized("cublasGetMathMode", handle);
  if (!mode) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasGetMathMode: mode is NULL");
  std::lock_guard<std::mutex> lock(g_mutex);
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "error detected trying to check the license";
  }
  return "unknown error";
}

cublasStatus_t cublasSgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                                 int64_t n, int64_t k, const float* alpha, const float* A, int64_t lda, const float* B,
                                 int64_t ldb, const float* beta, float* C, int64_t ldc) {
  return gemm("cublasSgemm_64", handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasDgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                                 int64_t n, int64_t k, const double* alpha, const double* A, int64_t lda,
                                 const double* B, int64_t ldb, const double* beta, double* C, int64_t ldc) {
  return gemm("cublasDgemm_64", handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                               int64_t n, int64_t k, const void* alpha, const void* A, cudaDataType Atype, int64_t lda,
                               const void* B, cudaDataType Btype, int64_t ldb, const void* beta, void* C,
                               cudaDataType Ctype, int64_t ldc, cublasComputeType_t computeType,
                               cublasGemmAlgo_t algo) {
  return gemm_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
                 computeType, algo);
}
