// The emulated cuDNN's algorithms: which ones exist per direction, what each supports and
// needs (workspace, determinism), the v7 heuristics that rank them, the workspace queries,
// and the three convolution entry points that check their arguments and enqueue the work.
//
// The algorithm set (a small, realistic one; every other algorithm is reported
// CUDNN_STATUS_NOT_SUPPORTED):
//   forward          IMPLICIT_GEMM          no workspace, deterministic, 2-D and 3-D
//                    IMPLICIT_PRECOMP_GEMM  workspace: a precomputed table of the filter
//                                           taps' input offsets (32 bytes per tap), 2-D/3-D
//                    GEMM                   workspace: one sample's im2col matrix, 2-D only
//   backward data    ALGO_0                 no workspace, NON-deterministic (sums in an
//                                           order that varies per call, like atomics)
//                    ALGO_1                 workspace: one sample's column matrix, deterministic
//   backward filter  ALGO_0                 no workspace, NON-deterministic
//                    ALGO_1                 workspace: one sample's im2col matrix, deterministic
// Heuristic order: forward 2-D GEMM, IMPLICIT_PRECOMP_GEMM, IMPLICIT_GEMM; forward 3-D
// IMPLICIT_PRECOMP_GEMM, IMPLICIT_GEMM; backward ALGO_0 then ALGO_1; then the unsupported.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/emu/cudnn_emu_internal.h"
#include "kernels/cuda/emu/library_op.h"

namespace pn::cuda::emu::cudnn {

namespace {

constexpr int kAlgoCount[3] = {CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT};

std::atomic<int64_t> g_queries[3];
std::atomic<int64_t> g_launches[3][8];
std::atomic<uint64_t> g_calls{0};
std::mutex g_inject_mutex;
std::map<std::pair<int, int>, std::pair<cudnnStatus_t, int>> g_injected;  // (dir, algo) -> (status, count)

int idx(Direction d) { return static_cast<int>(d); }

// The order in which the heuristics list the algorithms of a direction.
std::vector<int> ranking(Direction d, const Geometry& g) {
  switch (d) {
    case Direction::Forward:
      return g.nb == 4 ? std::vector<int>{2, 1, 0, 3, 4, 5, 6, 7} : std::vector<int>{1, 0, 2, 3, 4, 5, 6, 7};
    case Direction::BackwardData:
      return {0, 1, 2, 3, 4, 5};
    case Direction::BackwardFilter:
      return {0, 1, 2, 3, 4, 5, 6};
  }
  return {};
}

// The next injected failure of (d, algo), consumed; SUCCESS when none.
cudnnStatus_t take_injected(Direction d, int algo) {
  std::lock_guard<std::mutex> lock(g_inject_mutex);
  auto it = g_injected.find({idx(d), algo});
  if (it == g_injected.end()) return CUDNN_STATUS_SUCCESS;
  const cudnnStatus_t s = it->second.first;
  if (--it->second.second <= 0) g_injected.erase(it);
  return s;
}

template <class Perf, class Algo>
cudnnStatus_t heuristics(const std::string& call, Direction dir, cudnnHandle_t handle, const Descs& d, int requested,
                         int* returned, Perf* perf) {
  if (cudnnStatus_t s = check_handle(call, handle); s != CUDNN_STATUS_SUCCESS) return s;
  if (!returned || !perf) return fail(CUDNN_STATUS_BAD_PARAM, call, "returnedAlgoCount or perfResults is NULL");
  if (requested <= 0) return fail(CUDNN_STATUS_BAD_PARAM, call, "requestedAlgoCount <= 0");
  Geometry g;
  if (cudnnStatus_t s = read_geometry(call, dir, d, g); s != CUDNN_STATUS_SUCCESS) return s;
  ++g_queries[idx(dir)];
  const std::vector<int> order = ranking(dir, g);
  int n = 0;
  for (int algo : order) {
    if (n == requested) break;
    const AlgoSupport a = algo_support(dir, algo, g);
    Perf p{};
    p.algo = static_cast<Algo>(algo);
    p.status = a.status;
    p.time = -1.0f;  // heuristics do not time
    p.memory = a.status == CUDNN_STATUS_SUCCESS ? a.workspace : 0;
    p.determinism = a.determinism;
    p.mathType = g.math;
    perf[n++] = p;
  }
  *returned = n;
  return CUDNN_STATUS_SUCCESS;
}

// cudnnGetConvolution*WorkspaceSize: BAD_PARAM "One of the parameters handle, xDesc, wDesc,
// convDesc, yDesc is NULL", "The tensor yDesc or wDesc are not of the same dimension as
// xDesc", "The tensor xDesc, yDesc or wDesc are not of the same data type", "The numbers of
// feature maps of the tensor xDesc and wDesc differ", "The tensor xDesc has a dimension
// smaller than 3"; NOT_SUPPORTED "The combination of the tensor descriptors, filter
// descriptor and convolution descriptor is not supported for the specified algorithm".
cudnnStatus_t workspace_size(const std::string& call, Direction dir, cudnnHandle_t handle, const Descs& d, int algo,
                             size_t* size) {
  if (cudnnStatus_t s = check_handle(call, handle); s != CUDNN_STATUS_SUCCESS) return s;
  if (!size) return fail(CUDNN_STATUS_BAD_PARAM, call, "sizeInBytes is NULL");
  Geometry g;
  if (cudnnStatus_t s = read_geometry(call, dir, d, g); s != CUDNN_STATUS_SUCCESS) return s;
  if (algo < 0 || algo >= kAlgoCount[idx(dir)])
    return fail(CUDNN_STATUS_BAD_PARAM, call, "algo " + std::to_string(algo) + " is not a valid algorithm");
  const AlgoSupport a = algo_support(dir, algo, g);
  if (a.status != CUDNN_STATUS_SUCCESS) return fail(a.status, call, std::string(algo_name(dir, algo)) + ": " + a.why);
  *size = a.workspace;
  return CUDNN_STATUS_SUCCESS;
}

// One convolution call's operands, in the direction's own names.
struct Operands {
  const void* alpha;
  const void* beta;
  const void* a;  // x (forward, backward filter) or w (backward data)
  const void* b;  // w (forward) or dy
  void* out;      // y, dx or dw
  void* workspace;
  size_t workspace_bytes;
};

std::string role(const char* name, const cudnnTensorStruct& t) { return std::string(name) + " (" + describe(t) + ")"; }
std::string role(const char* name, const cudnnFilterStruct& f) { return std::string(name) + " (" + describe(f) + ")"; }

size_t filter_bytes(const cudnnFilterStruct& f, size_t elem) {
  size_t n = 1;
  for (int i = 0; i < f.nb; ++i) n *= static_cast<size_t>(f.dim[i]);
  return n * elem;
}

// The device memory a call touches, sized from its descriptors (max offset + 1 elements).
std::vector<detail::Access> accesses(Direction dir, const Descs& d, const Operands& o, size_t elem) {
  const size_t xb = static_cast<size_t>(span_elements(*d.x)) * elem,
               yb = static_cast<size_t>(span_elements(*d.y)) * elem;
  const size_t wb = filter_bytes(*d.w, elem);
  std::vector<detail::Access> acc;
  switch (dir) {
    case Direction::Forward:
      acc = {{o.a, xb, false, role("x", *d.x)}, {o.b, wb, false, role("w", *d.w)}, {o.out, yb, true, role("y", *d.y)}};
      break;
    case Direction::BackwardData:
      acc = {
          {o.a, wb, false, role("w", *d.w)}, {o.b, yb, false, role("dy", *d.y)}, {o.out, xb, true, role("dx", *d.x)}};
      break;
    case Direction::BackwardFilter:
      acc = {
          {o.a, xb, false, role("x", *d.x)}, {o.b, yb, false, role("dy", *d.y)}, {o.out, wb, true, role("dw", *d.w)}};
      break;
  }
  if (o.workspace && o.workspace_bytes > 0) acc.push_back({o.workspace, o.workspace_bytes, true, "workspace"});
  return acc;
}

// Data pointers must be aligned to their element, the workspace to 16 bytes (what
// cudaMalloc gives is 256-aligned); cuDNN 9 names the status BAD_PARAM_MISALIGNED_POINTER.
std::string misaligned(const Operands& o, size_t elem) {
  auto off = [](const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a != 0; };
  if (off(o.a, elem) || off(o.b, elem) || off(o.out, elem))
    return "a data pointer is not aligned to its " + std::to_string(elem) + "-byte elements";
  if (o.workspace && off(o.workspace, 16)) return "workSpace is not 16-byte aligned";
  return "";
}

// The convolutions' shared checks, in the reference's order: BAD_PARAM "At least one of the
// following is NULL: handle, xDesc, wDesc, convDesc, yDesc, xData, w, yData, alpha, beta"
// (and the direction's equivalents); the descriptor rules (read_geometry); "The chosen algo
// does not support the parameters provided" (NOT_SUPPORTED). The workspace: the legacy
// entry points' reference names no status for a NULL or too small workspace; the emulator
// refuses both with CUDNN_STATUS_BAD_PARAM (an invalid argument, found before launching).
cudnnStatus_t convolve(const std::string& call, Direction dir, cudnnHandle_t handle, const Descs& d, int algo,
                       const Operands& o) {
  if (cudnnStatus_t s = check_handle(call, handle); s != CUDNN_STATUS_SUCCESS) return s;
  if (!o.alpha || !o.beta || !o.a || !o.b || !o.out)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "a data pointer, alpha or beta is NULL");
  Geometry g;
  if (cudnnStatus_t s = read_geometry(call, dir, d, g); s != CUDNN_STATUS_SUCCESS) return s;
  if (const std::string why = misaligned(o, g.element_size()); !why.empty())
    return fail(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, call, why);
  if (algo < 0 || algo >= kAlgoCount[idx(dir)])
    return fail(CUDNN_STATUS_BAD_PARAM, call, "algo " + std::to_string(algo) + " is not a valid algorithm");
  const AlgoSupport a = algo_support(dir, algo, g);
  const std::string name = algo_name(dir, algo);
  if (a.status != CUDNN_STATUS_SUCCESS)
    return fail(a.status, call, "the chosen algo " + name + " does not support the parameters: " + a.why);
  if (a.workspace > 0 && !o.workspace)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "workSpace is NULL but " + name + " needs " + std::to_string(a.workspace) + " bytes");
  if (o.workspace_bytes < a.workspace)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "workSpaceSizeInBytes " + std::to_string(o.workspace_bytes) + " is smaller than the " +
                    std::to_string(a.workspace) + " bytes " + name +
                    " needs (ask cudnnGet*WorkspaceSize for the algorithm you run)");
  if (cudnnStatus_t s = take_injected(dir, algo); s != CUDNN_STATUS_SUCCESS)
    return fail(s, call, name + ": failure injected by pn::cuda::emu::inject_cudnn_failure");
  const bool dbl = g.dtype == CUDNN_DATA_DOUBLE;
  Launch l{dir,
           algo,
           g,
           o.a,
           o.b,
           o.out,
           o.workspace,
           dbl ? *static_cast<const double*>(o.alpha) : *static_cast<const float*>(o.alpha),
           dbl ? *static_cast<const double*>(o.beta) : *static_cast<const float*>(o.beta),
           ++g_calls};
  const std::string refused = detail::enqueue_library_op(handle->stream, call + " (" + name + ")",
                                                         accesses(dir, d, o, g.element_size()), [l](std::string&) {
                                                           run(l);
                                                           return cudaSuccess;
                                                         });
  if (!refused.empty()) return fail(CUDNN_STATUS_EXECUTION_FAILED, call, refused);
  ++g_launches[idx(dir)][algo];
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

AlgoSupport algo_support(Direction d, int algo, const Geometry& g) {
  const size_t column = static_cast<size_t>(g.C * g.k_volume() * g.out_volume()) * g.compute_size();
  const AlgoSupport unsupported{CUDNN_STATUS_NOT_SUPPORTED, "not among the emulated algorithms", 0,
                                CUDNN_DETERMINISTIC};
  switch (d) {
    case Direction::Forward:
      if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM) return {CUDNN_STATUS_SUCCESS, "", 0, CUDNN_DETERMINISTIC};
      if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return {CUDNN_STATUS_SUCCESS, "", static_cast<size_t>(g.C * g.k_volume()) * kPrecompTapBytes,
                CUDNN_DETERMINISTIC};
      if (algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM)
        return g.nb == 4 ? AlgoSupport{CUDNN_STATUS_SUCCESS, "", column, CUDNN_DETERMINISTIC}
                         : AlgoSupport{CUDNN_STATUS_NOT_SUPPORTED, "GEMM supports 2-D (4-D tensor) convolutions only",
                                       0, CUDNN_DETERMINISTIC};
      if (algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT)
        return {CUDNN_STATUS_NOT_SUPPORTED, "DIRECT is not implemented (in cuDNN either)", 0, CUDNN_DETERMINISTIC};
      return unsupported;
    case Direction::BackwardData:
      if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0) return {CUDNN_STATUS_SUCCESS, "", 0, CUDNN_NON_DETERMINISTIC};
      if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) return {CUDNN_STATUS_SUCCESS, "", column, CUDNN_DETERMINISTIC};
      return unsupported;
    case Direction::BackwardFilter:
      if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0) return {CUDNN_STATUS_SUCCESS, "", 0, CUDNN_NON_DETERMINISTIC};
      if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) return {CUDNN_STATUS_SUCCESS, "", column, CUDNN_DETERMINISTIC};
      return unsupported;
  }
  return unsupported;
}

const char* algo_name(Direction d, int algo) {
  static const char* const fwd[] = {
      "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM", "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM",
      "CUDNN_CONVOLUTION_FWD_ALGO_GEMM",          "CUDNN_CONVOLUTION_FWD_ALGO_DIRECT",
      "CUDNN_CONVOLUTION_FWD_ALGO_FFT",           "CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING",
      "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD",      "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED"};
  static const char* const data[] = {
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_0",        "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1",
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT",      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING",
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD", "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED"};
  static const char* const filter[] = {
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0",         "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT",       "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD",  "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING"};
  if (algo < 0 || algo >= kAlgoCount[idx(d)]) return "an invalid algorithm";
  return d == Direction::Forward ? fwd[algo] : d == Direction::BackwardData ? data[algo] : filter[algo];
}

}  // namespace pn::cuda::emu::cudnn

namespace cudnn = pn::cuda::emu::cudnn;
using cudnn::Descs;
using cudnn::Direction;

void pn::cuda::emu::inject_cudnn_failure(ConvDirection direction, int algo, cudnnStatus_t status, int count) {
  std::lock_guard<std::mutex> lock(cudnn::g_inject_mutex);
  cudnn::g_injected[{static_cast<int>(direction), algo}] = {status, count};
}

void pn::cuda::emu::clear_cudnn_failures() {
  std::lock_guard<std::mutex> lock(cudnn::g_inject_mutex);
  cudnn::g_injected.clear();
}

int64_t pn::cuda::emu::cudnn_heuristic_queries(ConvDirection direction) {
  return cudnn::g_queries[static_cast<int>(direction)].load();
}

int64_t pn::cuda::emu::cudnn_launches(ConvDirection direction, int algo) {
  return algo >= 0 && algo < 8 ? cudnn::g_launches[static_cast<int>(direction)][algo].load() : 0;
}

// The v7 heuristics: BAD_PARAM "One of the parameters handle, srcDesc, filterDesc, convDesc,
// destDesc, perfResults, returnedAlgoCount is NULL", "The numbers of feature maps of the
// input tensor and output tensor differ", "The dataType of the tensor descriptors or the
// filter are different", "requestedAlgoCount is less than or equal to 0"; the emulator also
// applies the convolution's own descriptor rules, so a geometry the launch would refuse is
// refused at the query. perfResults lists min(requestedAlgoCount, all) algorithms, best
// first, each with its status for this geometry, its workspace in `memory`, its
// determinism and the descriptor's math type.
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
  return cudnn::heuristics<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(
      "cudnnGetConvolutionForwardAlgorithm_v7", Direction::Forward, handle,
      Descs{srcDesc, filterDesc, convDesc, destDesc}, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
  return cudnn::heuristics<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(
      "cudnnGetConvolutionBackwardDataAlgorithm_v7", Direction::BackwardData, handle,
      Descs{gradDesc, filterDesc, convDesc, diffDesc}, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
  return cudnn::heuristics<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(
      "cudnnGetConvolutionBackwardFilterAlgorithm_v7", Direction::BackwardFilter, handle,
      Descs{srcDesc, gradDesc, convDesc, diffDesc}, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  return cudnn::workspace_size("cudnnGetConvolutionForwardWorkspaceSize", Direction::Forward, handle,
                               Descs{xDesc, wDesc, convDesc, yDesc}, algo, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
  return cudnn::workspace_size("cudnnGetConvolutionBackwardDataWorkspaceSize", Direction::BackwardData, handle,
                               Descs{dxDesc, wDesc, convDesc, dyDesc}, algo, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             size_t* sizeInBytes) {
  return cudnn::workspace_size("cudnnGetConvolutionBackwardFilterWorkspaceSize", Direction::BackwardFilter, handle,
                               Descs{xDesc, gradDesc, convDesc, dyDesc}, algo, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  return cudnn::convolve("cudnnConvolutionForward", Direction::Forward, handle, Descs{xDesc, wDesc, convDesc, yDesc},
                         algo, {alpha, beta, x, w, y, workSpace, workSpaceSizeInBytes});
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, const cudnnFilterDescriptor_t wDesc,
                                           const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
  return cudnn::convolve("cudnnConvolutionBackwardData", Direction::BackwardData, handle,
                         Descs{dxDesc, wDesc, convDesc, dyDesc}, algo,
                         {alpha, beta, w, dy, dx, workSpace, workSpaceSizeInBytes});
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
  return cudnn::convolve("cudnnConvolutionBackwardFilter", Direction::BackwardFilter, handle,
                         Descs{xDesc, dwDesc, convDesc, dyDesc}, algo,
                         {alpha, beta, x, dy, dw, workSpace, workSpaceSizeInBytes});
}
