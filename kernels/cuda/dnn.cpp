// cuDNN convolutions (dnn.h): descriptors for one ConvGeom, per-thread handles, the size
// limits cuDNN's int arguments impose, and the algorithm choice of each direction
// (heuristic candidates tried in order, the first that runs cached).
#include "kernels/cuda/dnn.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/library_options.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

struct HandleDeleter {
  void operator()(cudnnContext* h) const { (void)cudnnDestroy(h); }
};

template <class T>
cudnnDataType_t dtype() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return CUDNN_DATA_BFLOAT16;
  if constexpr (std::is_same_v<T, __half>) return CUDNN_DATA_HALF;
  return std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// The convolution descriptor's compute type: DOUBLE for double data, FLOAT otherwise (16-bit
// data is PSEUDO_HALF_CONFIG / PSEUDO_BFLOAT16_CONFIG: fp32 accumulation).
cudnnDataType_t compute_type(cudnnDataType_t t) { return t == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

const char* dtype_name(cudnnDataType_t t) {
  switch (t) {
    case CUDNN_DATA_DOUBLE:
      return "double";
    case CUDNN_DATA_BFLOAT16:
      return "bfloat16";
    case CUDNN_DATA_HALF:
      return "float16";
    default:
      return "float";
  }
}

enum class Direction { Forward = 0, BackwardData = 1, BackwardFilter = 2 };

const char* op_name(Direction d) {
  return d == Direction::Forward        ? "conv_forward"
         : d == Direction::BackwardData ? "conv_backward_input"
                                        : "conv_backward_weight";
}

std::string triple(const int64_t* v) {
  std::string s = "[";  // appended piecewise: GCC 12 warns (-Wrestrict, falsely) on "[" + to_string(..)
  for (int i = 0; i < 3; ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  s += ']';
  return s;
}

std::string geometry_str(const kernels::ConvGeom& g) {
  return "N=" + std::to_string(g.N) + " C_in=" + std::to_string(g.C_in) + " C_out=" + std::to_string(g.C_out) +
         " in=" + triple(g.in) + " k=" + triple(g.k) + " stride=" + triple(g.stride) + " pad=" + triple(g.pad) +
         " out=" + triple(g.out);
}

// a * b, saturating at INT64_MAX (sizes are >= 0).
int64_t mul_sat(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

// cuDNN takes dims, strides, pads and conv strides as int, and its tensors may hold at most
// 2^31 - 1 elements (cudnnSetTensorNdDescriptor: "the total size of the tensor descriptor
// exceeds the maximum limit of 2 Giga-elements"). Every stride of a packed tensor is at most
// its element count, so checking the counts and the conv parameters covers them all.
void check_int_sizes(Direction d, const kernels::ConvGeom& g) {
  struct Size {
    const char* what;
    int64_t value;
  };
  const int64_t in_vol = mul_sat(mul_sat(g.in[0], g.in[1]), g.in[2]);
  const int64_t out_vol = mul_sat(mul_sat(g.out[0], g.out[1]), g.out[2]);
  const int64_t k_vol = mul_sat(mul_sat(g.k[0], g.k[1]), g.k[2]);
  std::vector<Size> sizes = {
      {"elements of the input (N * C_in * in volume)", mul_sat(mul_sat(g.N, g.C_in), in_vol)},
      {"elements of the output (N * C_out * out volume)", mul_sat(mul_sat(g.N, g.C_out), out_vol)},
      {"elements of the weight (C_out * C_in * k volume)", mul_sat(mul_sat(g.C_out, g.C_in), k_vol)}};
  for (int i = 0; i < 3; ++i) {
    sizes.push_back({"a padding", g.pad[i]});
    sizes.push_back({"a stride", g.stride[i]});
  }
  for (const Size& s : sizes)
    if (s.value > INT_MAX)
      throw CudaError(std::string(op_name(d)) + ": " + s.what + " = " + std::to_string(s.value) +
                          " exceeds cuDNN's limit of " + std::to_string(INT_MAX) +
                          " (its sizes are int; tensors hold at most 2^31 - 1 elements) for the geometry " +
                          geometry_str(g) + describe_scopes() + "; split the batch or use smaller volumes",
                      static_cast<int>(CUDNN_STATUS_NOT_SUPPORTED));
}

// The descriptors of one convolution, destroyed with it. A geometry with D = 1 (2-D) gets
// 4-D descriptors (NCHW, 2 spatial dims), any other 5-D ones (NCDHW, 3 spatial dims).
// Channels-last: the same dims with NHWC / NDHWC strides, and the filter in format
// CUDNN_TENSOR_NHWC (KRSC; its dims are given in KCRS order all the same).
struct ConvDescs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvDescs(const kernels::ConvGeom& g, cudnnDataType_t t, cudnnMathType_t math, ConvLayout layout) {
    PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    PN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    PN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    const bool planar = g.in[0] == 1 && g.k[0] == 1 && g.stride[0] == 1 && g.pad[0] == 0;
    const int first = planar ? 1 : 0, nb = 5 - first, spatial = nb - 2;
    auto dims = [&](int64_t n, int64_t c, const int64_t* s) {
      std::array<int, 5> d{static_cast<int>(n), static_cast<int>(c)};
      for (int i = 0; i < spatial; ++i) d[2 + i] = static_cast<int>(s[first + i]);
      return d;
    };
    const bool last = layout == ConvLayout::channels_last;
    auto packed = [&](const std::array<int, 5>& d) {
      std::array<int, 5> s{};
      if (last) {  // C innermost, then the spatial dims last to first, then N
        s[1] = 1;
        int run = d[1];
        for (int i = nb - 1; i >= 2; --i) {
          s[i] = run;
          run *= d[i];
        }
        s[0] = run;
        return s;
      }
      s[nb - 1] = 1;
      for (int i = nb - 2; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
      return s;
    };
    const auto xd = dims(g.N, g.C_in, g.in), yd = dims(g.N, g.C_out, g.out), wd = dims(g.C_out, g.C_in, g.k);
    const auto xs = packed(xd), ys = packed(yd);
    PN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(x, t, nb, xd.data(), xs.data()));
    PN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(y, t, nb, yd.data(), ys.data()));
    PN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w, t, last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, nb, wd.data()));
    int pad[3], stride[3], dilation[3] = {1, 1, 1};
    for (int i = 0; i < spatial; ++i) {
      pad[i] = static_cast<int>(g.pad[first + i]);
      stride[i] = static_cast<int>(g.stride[first + i]);
    }
    PN_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv, spatial, pad, stride, dilation, CUDNN_CROSS_CORRELATION,
                                                   compute_type(t)));
    PN_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
  }
  ~ConvDescs() {
    (void)cudnnDestroyConvolutionDescriptor(conv);
    (void)cudnnDestroyFilterDescriptor(w);
    (void)cudnnDestroyTensorDescriptor(y);
    (void)cudnnDestroyTensorDescriptor(x);
  }
  ConvDescs(const ConvDescs&) = delete;
  ConvDescs& operator=(const ConvDescs&) = delete;
};

// ---- The three directions behind one interface ----------------------------------------
// One call's pointers: (a, b) -> out is (x, w) -> y, (w, dy) -> dx or (x, dy) -> dw.
struct Operands {
  const void* a;
  const void* b;
  void* out;
  const void* one;
  const void* zero;
};

constexpr int kMaxAlgos = 16;

// An algorithm the heuristics offer: its number, determinism and math type.
struct Candidate {
  int algo;
  cudnnStatus_t status;
  cudnnDeterminism_t determinism;
  cudnnMathType_t math;
};

template <class Perf>
std::vector<Candidate> to_candidates(const Perf* perf, int n) {
  std::vector<Candidate> c;
  for (int i = 0; i < n; ++i)
    c.push_back({static_cast<int>(perf[i].algo), perf[i].status, perf[i].determinism, perf[i].mathType});
  return c;
}

std::vector<Candidate> heuristics(Direction dir, cudnnHandle_t h, const ConvDescs& d) {
  int n = 0;
  switch (dir) {
    case Direction::Forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
      PN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, kMaxAlgos, &n, perf));
      return to_candidates(perf, n);
    }
    case Direction::BackwardData: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
      PN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, kMaxAlgos, &n, perf));
      return to_candidates(perf, n);
    }
    case Direction::BackwardFilter: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
      PN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, kMaxAlgos, &n, perf));
      return to_candidates(perf, n);
    }
  }
  return {};
}

cudnnStatus_t workspace_size(Direction dir, cudnnHandle_t h, const ConvDescs& d, int algo, size_t* bytes) {
  switch (dir) {
    case Direction::Forward:
      return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                                     static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
    case Direction::BackwardData:
      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x,
                                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
    case Direction::BackwardFilter:
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w,
                                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

cudnnStatus_t launch(Direction dir, cudnnHandle_t h, const ConvDescs& d, int algo, void* ws, size_t bytes,
                     const Operands& o) {
  switch (dir) {
    case Direction::Forward:
      return cudnnConvolutionForward(h, o.one, d.x, o.a, d.w, o.b, d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(algo),
                                     ws, bytes, o.zero, d.y, o.out);
    case Direction::BackwardData:
      return cudnnConvolutionBackwardData(h, o.one, d.w, o.a, d.y, o.b, d.conv,
                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), ws, bytes, o.zero, d.x,
                                          o.out);
    case Direction::BackwardFilter:
      return cudnnConvolutionBackwardFilter(h, o.one, d.x, o.a, d.y, o.b, d.conv,
                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), ws, bytes, o.zero, d.w,
                                            o.out);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

// ---- Workspace, pool, handle -------------------------------------------------------------
// A stream-ordered workspace, freed at scope end on the same stream.
class Workspace {
 public:
  explicit Workspace(cudaStream_t s) : s_(s) {}
  ~Workspace() {
    if (p_) (void)cudaFreeAsync(p_, s_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  // false when the pool cannot provide `bytes`; the CUDA error is cleared, so that an
  // algorithm needing less can be tried.
  bool allocate(size_t bytes) {
    if (bytes == 0) return true;
    if (cudaMallocAsync(&p_, bytes, s_) == cudaSuccess) return true;
    p_ = nullptr;
    (void)cudaGetLastError();
    return false;
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  cudaStream_t s_;
};

// The default pool of each device keeps what it has allocated (by default it returns
// memory to the OS at every synchronisation, which would cost a cudaMalloc per workspace).
void keep_pool_memory(int device) {
  static std::mutex m;
  static std::set<int> done;
  std::lock_guard<std::mutex> lock(m);
  if (!done.insert(device).second) return;
  cudaMemPool_t pool = nullptr;
  PN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;
  PN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
}

std::string last_cudnn_error() {
  char buf[1024];
  cudnnGetLastErrorString(buf, sizeof buf);
  return buf;
}

// ---- Algorithm choice ----------------------------------------------------------------------
// Cache key: direction, dtype, device, every size of the geometry, the options and the layout.
using AlgoKey = std::array<int64_t, 21>;

std::mutex g_algo_mutex;
std::map<AlgoKey, int>& algo_cache() {
  static std::map<AlgoKey, int> cache;
  return cache;
}

AlgoKey algo_key(Direction dir, cudnnDataType_t t, int dev, const kernels::ConvGeom& g, const LibraryOptions& o,
                 ConvLayout layout) {
  return {static_cast<int>(dir),
          t,
          dev,
          g.N,
          g.C_in,
          g.C_out,
          g.in[0],
          g.in[1],
          g.in[2],
          g.k[0],
          g.k[1],
          g.k[2],
          g.stride[0],
          g.stride[1],
          g.stride[2],
          g.pad[0],
          g.pad[1],
          g.pad[2],
          o.deterministic,
          o.allow_tf32,
          static_cast<int>(layout)};
}

// Float: FMA (plain FP32) unless TF32 is allowed; double: FMA; 16-bit data: tensor cores
// (CUDNN_TENSOR_OP_MATH: the data is already 16-bit, nothing is converted).
cudnnMathType_t math_type(const LibraryOptions& opts, cudnnDataType_t t) {
  if (t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16) return CUDNN_TENSOR_OP_MATH;
  return opts.allow_tf32 && t == CUDNN_DATA_FLOAT ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

bool worth_another_algorithm(cudnnStatus_t s) {
  const int category = CUDNN_STATUS_CATEGORY(static_cast<int>(s));
  return category == CUDNN_STATUS_BAD_PARAM || category == CUDNN_STATUS_NOT_SUPPORTED ||
         category == CUDNN_STATUS_EXECUTION_FAILED;
}

// One call: the operands, descriptors and handle, and what went wrong with each algorithm.
struct Attempts {
  Direction dir;
  cudnnHandle_t h;
  const ConvDescs& d;
  const Operands& o;
  cudaStream_t stream;
  std::vector<std::string> failures;

  // Runs `algo` with the workspace it needs; false (with the reason kept) when it cannot.
  bool run(int algo) {
    const std::string name = "algorithm " + std::to_string(algo);
    size_t bytes = 0;
    cudnnStatus_t s = workspace_size(dir, h, d, algo, &bytes);
    if (s != CUDNN_STATUS_SUCCESS) return failed(s, name + ": workspace query: ");
    Workspace ws(stream);
    if (!ws.allocate(bytes)) {
      failures.push_back(name + ": its workspace of " + std::to_string(bytes) + " bytes could not be allocated");
      return false;
    }
    s = launch(dir, h, d, algo, ws.get(), bytes, o);
    return s == CUDNN_STATUS_SUCCESS || failed(s, name + ": ");
  }
  bool failed(cudnnStatus_t s, const std::string& what) {
    if (!worth_another_algorithm(s)) check_cudnn(s, what.c_str(), __FILE__, __LINE__);
    failures.push_back(what + cudnnGetErrorString(s) + " (" + last_cudnn_error() + ")");
    return false;
  }
};

// The heuristics' candidates that may run under the options, in their order.
std::vector<int> usable(const std::vector<Candidate>& offered, const LibraryOptions& opts, cudnnDataType_t t,
                        std::vector<std::string>& skipped) {
  std::vector<int> algos;
  for (const Candidate& c : offered) {
    const std::string name = "algorithm " + std::to_string(c.algo);
    const bool tensor_op = c.math == CUDNN_TENSOR_OP_MATH || c.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (c.status != CUDNN_STATUS_SUCCESS)
      skipped.push_back(name + ": " + cudnnGetErrorString(c.status) + " for this geometry");
    else if (opts.deterministic && c.determinism != CUDNN_DETERMINISTIC)
      skipped.push_back(name + ": non-deterministic");
    else if (!opts.allow_tf32 && t == CUDNN_DATA_FLOAT && tensor_op)
      skipped.push_back(name + ": tensor-op math (TF32 not allowed)");
    else if (std::find(algos.begin(), algos.end(), c.algo) == algos.end())
      algos.push_back(c.algo);  // listed once per math type by real cuDNN
  }
  return algos;
}

}  // namespace

void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s == CUDNN_STATUS_SUCCESS) return;
#if defined(PN_CUDA_EMU)
  const std::string text = "explained below";  // throw_error appends the emulator's detail
#else
  std::string text = last_cudnn_error();
  if (text.empty()) text = "no detail from cudnnGetLastErrorString";
#endif
  throw_error("cuDNN", static_cast<int>(s), cudnnGetErrorString(s), text.c_str(), call, file, line);
}

cudnnHandle_t cudnn_handle() {
  thread_local std::map<int, std::unique_ptr<cudnnContext, HandleDeleter>> handles;
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  auto& h = handles[dev];
  if (!h) {
    cudnnHandle_t raw = nullptr;
    PN_CUDNN_CHECK(cudnnCreate(&raw));
    h.reset(raw);
  }
  return h.get();
}

namespace {

// Runs one convolution: the cached algorithm if there is one, else (or if it fails) the
// usable heuristic candidates in order; caches the first that runs.
void convolve(Direction dir, const kernels::ConvGeom& g, cudnnDataType_t t, ConvLayout layout, Operands o,
              cudaStream_t stream) {
  check_int_sizes(dir, g);
  const LibraryOptions opts = library_options();
  ConvDescs d(g, t, math_type(opts, t), layout);
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  keep_pool_memory(dev);
  cudnnHandle_t h = cudnn_handle();
  PN_CUDNN_CHECK(cudnnSetStream(h, stream));
  const AlgoKey key = algo_key(dir, t, dev, g, opts, layout);
  Attempts tries{dir, h, d, o, stream, {}};
  {
    std::unique_lock<std::mutex> lock(g_algo_mutex);
    auto it = algo_cache().find(key);
    if (it != algo_cache().end()) {
      const int algo = it->second;
      lock.unlock();
      if (tries.run(algo)) return;
      std::lock_guard<std::mutex> relock(g_algo_mutex);
      algo_cache().erase(key);  // it ran before; choose afresh
    }
  }
  std::vector<std::string> skipped;
  for (int algo : usable(heuristics(dir, h, d), opts, t, skipped)) {
    if (!tries.run(algo)) continue;
    std::lock_guard<std::mutex> lock(g_algo_mutex);
    algo_cache()[key] = algo;
    return;
  }
  std::string msg = std::string("cuDNN: no algorithm could run ") + op_name(dir) + " for " + geometry_str(g) +
                    " (" + dtype_name(t) + (layout == ConvLayout::channels_last ? ", channels-last" : "") +
                    (opts.deterministic ? ", deterministic" : "") +
                    (opts.allow_tf32 ? ", TF32 allowed)" : ")") + describe_scopes() + ".";
  for (const std::string& f : tries.failures) msg += " Failed: " + f + ".";
  for (const std::string& s : skipped) msg += " Skipped: " + s + ".";
  if (tries.failures.empty()) msg += " cuDNN offered no usable algorithm; check the options and the geometry.";
  throw CudaError(msg, static_cast<int>(CUDNN_STATUS_NOT_SUPPORTED));
}

// Whether a convolution in `layout` runs our implicit GEMM (run.conv, library_options.h): float32,
// and bf16 / fp16 on tensor cores.
// When it does, the device's pool keeps its memory as for cuDNN's workspaces: backward weight's
// split workspace comes from it at every call.
bool our_conv(ConvLayout layout) {
  if (library_options().conv != ConvImpl::implicit_gemm || layout != ConvLayout::channels_first) return false;
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  keep_pool_memory(dev);
  return true;
}

// The layout a call runs in: ConvGeom::channels_last, or the caller's explicit `layout` (whose
// channels_last takes the weight already in cuDNN's [C_out, k..., C_in]).
ConvLayout layout_of(const kernels::ConvGeom& g, ConvLayout layout, const char* op) {
  if (!g.channels_last) return layout;
  if (layout != ConvLayout::channels_first)
    throw CudaError(std::string(op) + ": the geometry is channels-last (weight [C_out, C_in, k...]); pass no layout "
                    "argument with it (ConvLayout::channels_last is for weights already [C_out, k..., C_in])",
                    static_cast<int>(CUDNN_STATUS_BAD_PARAM));
  return ConvLayout::channels_last;
}

// ConvGeom::channels_last keeps the weight [C_out, C_in, k...]; cuDNN's NHWC filter is
// [C_out, k..., C_in]. This is a stream-ordered array in that layout: forward and
// backward-input read the weight through one, backward-weight writes its result into one.
// The weight is small next to the activations (the paper's first level: 864 elements against 16 M).
template <class T>
class NhwcFilter {
 public:
  NhwcFilter(const kernels::ConvGeom& g, cudaStream_t s) : g_(g), s_(s), buf_(s) {
    const size_t bytes = sizeof(T) * static_cast<size_t>(g.C_out * g.C_in * g.k_volume());
    if (!buf_.allocate(bytes))
      throw CudaError("conv (channels-last): cannot allocate " + std::to_string(bytes) +
                          " bytes for the weight in cuDNN's [C_out, k..., C_in] layout",
                      static_cast<int>(cudaErrorMemoryAllocation));
  }
  T* get() const { return static_cast<T*>(buf_.get()); }
  // [C_out, C_in, k...] -> this layout, and back.
  void from(const T* w) const { transpose_last_two(w, get(), g_.C_out, g_.C_in, g_.k_volume(), s_); }
  void to(T* w) const { transpose_last_two(get(), w, g_.C_out, g_.k_volume(), g_.C_in, s_); }

 private:
  kernels::ConvGeom g_;
  cudaStream_t s_;
  Workspace buf_;
};

}  // namespace

// alpha = 1 and beta = 0 in the scale type cuDNN reads: double for double data, else float.
template <class T>
struct Scales {
  using Scale = std::conditional_t<std::is_same_v<T, double>, double, float>;
  Scale one = 1, zero = 0;
};

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y, cudaStream_t stream, ConvLayout layout) {
  layout = layout_of(g, layout, "conv_forward");
  if constexpr (std::is_same_v<T, float>) {
    if (our_conv(layout)) return conv_igemm_forward(g, x, w, y, stream);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>) {
    if (our_conv(layout)) return conv_igemm_forward_mma<T, T>(g, x, w, y, stream);  // tensor cores
  }
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_forward", shape, 5);
  const Scales<T> s;
  if (g.channels_last) {
    const NhwcFilter<T> f(g, stream);
    f.from(w);
    return convolve(Direction::Forward, g, dtype<T>(), layout, {x, f.get(), y, &s.one, &s.zero}, stream);
  }
  convolve(Direction::Forward, g, dtype<T>(), layout, {x, w, y, &s.one, &s.zero}, stream);
}

template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream,
                         ConvLayout layout) {
  layout = layout_of(g, layout, "conv_backward_input");
  if constexpr (std::is_same_v<T, float>) {
    if (our_conv(layout)) return conv_igemm_backward_input(g, dy, w, dx, stream);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>) {
    if (our_conv(layout)) return conv_igemm_backward_input_mma<T>(g, dy, w, dx, stream);  // tensor cores
  }
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_backward_input", shape, 5);
  const Scales<T> s;
  if (g.channels_last) {
    const NhwcFilter<T> f(g, stream);
    f.from(w);
    return convolve(Direction::BackwardData, g, dtype<T>(), layout, {f.get(), dy, dx, &s.one, &s.zero}, stream);
  }
  convolve(Direction::BackwardData, g, dtype<T>(), layout, {w, dy, dx, &s.one, &s.zero}, stream);
}

template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream,
                          ConvLayout layout) {
  layout = layout_of(g, layout, "conv_backward_weight");
  if constexpr (std::is_same_v<T, float>) {
    if (our_conv(layout)) return conv_igemm_backward_weight(g, x, dy, dw, stream);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>) {
    if (our_conv(layout)) return conv_igemm_backward_weight_mma<T>(g, x, dy, dw, stream);  // tensor cores
  }
  const int64_t shape[5] = {g.C_out, g.C_in, g.k[0], g.k[1], g.k[2]};
  ErrorScope scope("conv_backward_weight", shape, 5);
  const Scales<T> s;
  if (g.channels_last) {
    const NhwcFilter<T> f(g, stream);
    convolve(Direction::BackwardFilter, g, dtype<T>(), layout, {x, dy, f.get(), &s.one, &s.zero}, stream);
    return f.to(dw);
  }
  convolve(Direction::BackwardFilter, g, dtype<T>(), layout, {x, dy, dw, &s.one, &s.zero}, stream);
}

template <class T>
std::optional<ConvAlgorithm> conv_algorithm(ConvDirection direction, const kernels::ConvGeom& g, ConvLayout layout) {
  layout = layout_of(g, layout, "conv_algorithm");
  const Direction dir = static_cast<Direction>(static_cast<int>(direction));
  const LibraryOptions opts = library_options();
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  int algo = -1;
  {
    std::lock_guard<std::mutex> lock(g_algo_mutex);
    auto it = algo_cache().find(algo_key(dir, dtype<T>(), dev, g, opts, layout));
    if (it == algo_cache().end()) return std::nullopt;
    algo = it->second;
  }
  ConvDescs d(g, dtype<T>(), math_type(opts, dtype<T>()), layout);
  size_t bytes = 0;
  PN_CUDNN_CHECK(workspace_size(dir, cudnn_handle(), d, algo, &bytes));
  return ConvAlgorithm{algo, bytes};
}

#define PN_INSTANTIATE(T)                                                                                           \
  template void conv_forward<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t, ConvLayout);        \
  template void conv_backward_input<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t, ConvLayout); \
  template void conv_backward_weight<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t, ConvLayout); \
  template std::optional<ConvAlgorithm> conv_algorithm<T>(ConvDirection, const kernels::ConvGeom&, ConvLayout);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
PN_INSTANTIATE(__nv_bfloat16)
PN_INSTANTIATE(__half)
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
