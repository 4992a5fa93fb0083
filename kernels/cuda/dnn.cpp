// cuDNN convolutions: descriptors for one ConvGeom (5-D NCDHW tensors, 3 spatial dims),
// per-thread handles, and the cached algorithm choice of each direction.
#include "kernels/cuda/dnn.h"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

struct HandleDeleter {
  void operator()(cudnnContext* h) const { (void)cudnnDestroy(h); }
};

template <class T>
cudnnDataType_t dtype() {
  return std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// The descriptors of one convolution, destroyed with it.
struct ConvDescs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvDescs(const kernels::ConvGeom& g, cudnnDataType_t t) {
    PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    PN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    PN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    auto dims = [](int64_t n, int64_t c, const int64_t* s) {
      return std::array<int, 5>{static_cast<int>(n), static_cast<int>(c), static_cast<int>(s[0]),
                                static_cast<int>(s[1]), static_cast<int>(s[2])};
    };
    auto strides = [](const std::array<int, 5>& d) {
      std::array<int, 5> s{};
      s[4] = 1;
      for (int i = 3; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
      return s;
    };
    const auto xd = dims(g.N, g.C_in, g.in), yd = dims(g.N, g.C_out, g.out), wd = dims(g.C_out, g.C_in, g.k);
    const auto xs = strides(xd), ys = strides(yd);
    PN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(x, t, 5, xd.data(), xs.data()));
    PN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(y, t, 5, yd.data(), ys.data()));
    PN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w, t, CUDNN_TENSOR_NCHW, 5, wd.data()));
    const int pad[3] = {static_cast<int>(g.pad[0]), static_cast<int>(g.pad[1]), static_cast<int>(g.pad[2])};
    const int stride[3] = {static_cast<int>(g.stride[0]), static_cast<int>(g.stride[1]), static_cast<int>(g.stride[2])};
    const int dilation[3] = {1, 1, 1};
    PN_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv, 3, pad, stride, dilation, CUDNN_CROSS_CORRELATION, t));
    // FMA: FP32/FP64 math, no TF32; the default math type lets float use TF32 tensor cores.
    const bool tf32 = t == CUDNN_DATA_FLOAT && conv_allow_tf32();
    PN_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
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

// Cache key: direction, dtype, device, TF32 setting and every size of the geometry.
using AlgoKey = std::array<int64_t, 19>;
struct AlgoChoice {
  int algo;
  size_t workspace;
};

AlgoKey algo_key(int direction, cudnnDataType_t t, const kernels::ConvGeom& g) {
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  return {direction, t, dev, conv_allow_tf32() ? 1 : 0, g.N, g.C_in, g.C_out, g.in[0], g.in[1], g.in[2], g.k[0],
          g.k[1], g.k[2], g.stride[0], g.stride[1], g.stride[2], g.pad[0], g.pad[1], g.pad[2]};
}

std::atomic<bool> g_allow_tf32{false};

std::mutex g_algo_mutex;
std::map<AlgoKey, AlgoChoice>& algo_cache() {
  static std::map<AlgoKey, AlgoChoice> cache;
  return cache;
}

// Looks the choice up, or asks `choose` once and remembers it.
template <class Choose>
AlgoChoice cached_algo(const AlgoKey& key, Choose choose) {
  {
    std::lock_guard<std::mutex> lock(g_algo_mutex);
    auto it = algo_cache().find(key);
    if (it != algo_cache().end()) return it->second;
  }
  const AlgoChoice c = choose();
  std::lock_guard<std::mutex> lock(g_algo_mutex);
  algo_cache().emplace(key, c);
  return c;
}

// The first heuristic result that cuDNN reports usable.
template <class Perf>
AlgoChoice first_usable(const Perf* perf, int n, const char* what) {
  for (int i = 0; i < n; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) return {static_cast<int>(perf[i].algo), perf[i].memory};
  throw_error("cuDNN", static_cast<int>(CUDNN_STATUS_NOT_SUPPORTED), "status", "no usable algorithm", what, __FILE__,
              __LINE__);
}

// A stream-ordered workspace, freed at scope end (on the same stream).
class Workspace {
 public:
  Workspace(size_t bytes, cudaStream_t s) : s_(s) {
    if (bytes) PN_CUDA_CHECK(cudaMallocAsync(&p_, bytes, s));
  }
  ~Workspace() {
    if (p_) (void)cudaFreeAsync(p_, s_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  cudaStream_t s_;
};

cudnnHandle_t handle_on(cudaStream_t stream) {
  cudnnHandle_t h = cudnn_handle();
  PN_CUDNN_CHECK(cudnnSetStream(h, stream));
  return h;
}

constexpr int kMaxAlgos = 16;

}  // namespace

void set_conv_allow_tf32(bool on) { g_allow_tf32 = on; }
bool conv_allow_tf32() { return g_allow_tf32; }

template <class T>
std::optional<ConvAlgorithm> conv_algorithm(ConvDirection direction, const kernels::ConvGeom& g) {
  const AlgoKey key = algo_key(static_cast<int>(direction), dtype<T>(), g);
  std::lock_guard<std::mutex> lock(g_algo_mutex);
  auto it = algo_cache().find(key);
  if (it == algo_cache().end()) return std::nullopt;
  return ConvAlgorithm{it->second.algo, it->second.workspace};
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

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y, cudaStream_t stream) {
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_forward", shape, 5);
  ConvDescs d(g, dtype<T>());
  cudnnHandle_t h = handle_on(stream);
  const AlgoChoice c = cached_algo(algo_key(0, dtype<T>(), g), [&] {
    cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
    int n = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, kMaxAlgos, &n, perf));
    return first_usable(perf, n, "cudnnGetConvolutionForwardAlgorithm_v7");
  });
  Workspace ws(c.workspace, stream);
  const T one = 1, zero = 0;
  PN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(c.algo),
                                         ws.get(), c.workspace, &zero, d.y, y));
}

template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_backward_input", shape, 5);
  ConvDescs d(g, dtype<T>());
  cudnnHandle_t h = handle_on(stream);
  const AlgoChoice c = cached_algo(algo_key(1, dtype<T>(), g), [&] {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
    int n = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, kMaxAlgos, &n, perf));
    return first_usable(perf, n, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  });
  Workspace ws(c.workspace, stream);
  const T one = 1, zero = 0;
  PN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv,
                                              static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.get(),
                                              c.workspace, &zero, d.x, dx));
}

template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream) {
  const int64_t shape[5] = {g.C_out, g.C_in, g.k[0], g.k[1], g.k[2]};
  ErrorScope scope("conv_backward_weight", shape, 5);
  ConvDescs d(g, dtype<T>());
  cudnnHandle_t h = handle_on(stream);
  const AlgoChoice c = cached_algo(algo_key(2, dtype<T>(), g), [&] {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
    int n = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, kMaxAlgos, &n, perf));
    return first_usable(perf, n, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  });
  Workspace ws(c.workspace, stream);
  const T one = 1, zero = 0;
  PN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv,
                                                static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.get(),
                                                c.workspace, &zero, d.w, dw));
}

#define PN_INSTANTIATE(T)                                                                              \
  template void conv_forward<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t);        \
  template void conv_backward_input<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t); \
  template void conv_backward_weight<T>(const kernels::ConvGeom&, const T*, const T*, T*, cudaStream_t); \
  template std::optional<ConvAlgorithm> conv_algorithm<T>(ConvDirection, const kernels::ConvGeom&);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
