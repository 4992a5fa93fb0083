// Helpers for the tests of the emulated cuDNN and of the dnn.h wrapper: RAII cuDNN objects,
// a convolution case with strided tensor views, and an oracle written directly from the
// definitions (double accumulation, every index spelled out), independent of both the
// emulator's algorithms and the CPU reference's vol2col.
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/cudnn_api.h"
#include "kernels/math/tf32.h"

namespace pn::test {

#define PN_REQUIRE_CUDNN(call) REQUIRE_EQ(static_cast<int>(call), static_cast<int>(CUDNN_STATUS_SUCCESS))

struct Handle {
  cudnnHandle_t h = nullptr;
  Handle() { PN_REQUIRE_CUDNN(cudnnCreate(&h)); }
  ~Handle() { (void)cudnnDestroy(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// The element layout of a tensor argument: dims and strides as given to cuDNN, and where
// its first element sits in the allocation.
struct Layout {
  std::vector<int> dims, strides;
  int64_t offset = 0;
  int64_t at(const std::array<int64_t, 5>& idx) const {  // idx: (n, c, spatial...)
    int64_t o = offset;
    for (size_t i = 0; i < dims.size(); ++i) o += idx[i] * strides[i];
    return o;
  }
  int64_t extent() const {  // elements of an allocation that holds it
    int64_t last = offset;
    for (size_t i = 0; i < dims.size(); ++i) last += static_cast<int64_t>(dims[i] - 1) * strides[i];
    return last + 1;
  }
};

// Packed NC(D)HW strides of dims.
inline std::vector<int> packed_strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

// A convolution with spatial rank 2 or 3, in cuDNN's terms.
struct ConvCase {
  int spatial = 3;
  int N = 1, C = 1, K = 1;
  std::vector<int> in, k, pad, stride, dilation;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  std::vector<int> out() const {
    std::vector<int> o;
    for (int i = 0; i < spatial; ++i)
      o.push_back(1 + (in[i] + 2 * pad[i] - ((k[i] - 1) * dilation[i] + 1)) / stride[i]);
    return o;
  }
  std::vector<int> x_dims() const { return cat({N, C}, in); }
  std::vector<int> y_dims() const { return cat({N, K}, out()); }
  std::vector<int> w_dims() const { return cat({K, C}, k); }
  static std::vector<int> cat(std::vector<int> a, const std::vector<int>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
};

struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descriptors(const ConvCase& c, const Layout& xl, const Layout& yl, cudnnDataType_t t, cudnnMathType_t math) {
    PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&x));
    PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&y));
    PN_REQUIRE_CUDNN(cudnnCreateFilterDescriptor(&w));
    PN_REQUIRE_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    const int nb = c.spatial + 2;
    PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(x, t, nb, xl.dims.data(), xl.strides.data()));
    PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(y, t, nb, yl.dims.data(), yl.strides.data()));
    const std::vector<int> wd = c.w_dims();
    PN_REQUIRE_CUDNN(cudnnSetFilterNdDescriptor(w, t, CUDNN_TENSOR_NCHW, nb, wd.data()));
    PN_REQUIRE_CUDNN(
        cudnnSetConvolutionNdDescriptor(conv, c.spatial, c.pad.data(), c.stride.data(), c.dilation.data(), c.mode, t));
    PN_REQUIRE_CUDNN(cudnnSetConvolutionMathType(conv, math));
  }
  ~Descriptors() {
    (void)cudnnDestroyConvolutionDescriptor(conv);
    (void)cudnnDestroyFilterDescriptor(w);
    (void)cudnnDestroyTensorDescriptor(y);
    (void)cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// Visits every index of dims (up to 5) in row-major order.
template <class F>
void for_each_index(const std::vector<int>& dims, F f) {
  std::array<int64_t, 5> idx{};
  const size_t n = dims.size();
  int64_t total = 1;
  for (int d : dims) total *= d;
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t r = flat;
    for (size_t i = n; i-- > 0;) {
      idx[i] = r % dims[i];
      r /= dims[i];
    }
    f(idx);
  }
}

// The three passes from their definitions. Tensors are read through their layouts; the
// filter is packed. Results are blended: out = alpha * sum + beta * out (beta == 0: not read).
// tf32: multiply TF32-rounded inputs (float only), still accumulating in double.
template <class T>
struct Oracle {
  const ConvCase& c;
  bool tf32 = false;

  double in(const T* p, int64_t i) const {
    if constexpr (sizeof(T) == 4) {
      if (tf32) return pn::math::round_to_tf32(p[i]);
    }
    return static_cast<double>(p[i]);
  }
  int64_t w_at(int64_t kk, int64_t cc, const std::array<int64_t, 3>& r) const {
    int64_t o = kk * c.C + cc;
    for (int a = 0; a < c.spatial; ++a) o = o * c.k[a] + (c.mode == CUDNN_CONVOLUTION ? c.k[a] - 1 - r[a] : r[a]);
    return o;
  }
  // Input coordinates of output o and tap r (false in the padding).
  bool tap(const std::array<int64_t, 5>& oidx, const std::array<int64_t, 5>& ridx, std::array<int64_t, 5>& xi) const {
    for (int a = 0; a < c.spatial; ++a) {
      xi[2 + a] = oidx[2 + a] * c.stride[a] - c.pad[a] + ridx[a] * c.dilation[a];
      if (xi[2 + a] < 0 || xi[2 + a] >= c.in[a]) return false;
    }
    return true;
  }
  static void blend(T* out, int64_t i, double sum, double alpha, double beta) {
    out[i] = static_cast<T>(beta == 0 ? alpha * sum : alpha * sum + beta * static_cast<double>(out[i]));
  }
  // Sums f(o index, tap index, input index) over every (output, tap) pair that lands inside.
  template <class F>
  void pairs(F f) const {
    for_each_index(c.y_dims(), [&](const std::array<int64_t, 5>& o) {
      for_each_index(c.k, [&](const std::array<int64_t, 5>& r) {
        std::array<int64_t, 5> xi{o[0], 0};
        if (tap(o, r, xi)) f(o, std::array<int64_t, 3>{r[0], r[1], r[2]}, xi);
      });
    });
  }

  void forward(const T* x, const Layout& xl, const T* w, T* y, const Layout& yl, double alpha, double beta) const {
    std::vector<double> sum(static_cast<size_t>(yl.extent()), 0.0);
    pairs([&](const std::array<int64_t, 5>& o, const std::array<int64_t, 3>& r, std::array<int64_t, 5> xi) {
      for (int64_t cc = 0; cc < c.C; ++cc) {
        xi[1] = cc;
        sum[yl.at(o)] += in(x, xl.at(xi)) * in(w, w_at(o[1], cc, r));
      }
    });
    for_each_index(c.y_dims(),
                   [&](const std::array<int64_t, 5>& o) { blend(y, yl.at(o), sum[yl.at(o)], alpha, beta); });
  }

  void backward_data(const T* w, const T* dy, const Layout& yl, T* dx, const Layout& xl, double alpha,
                     double beta) const {
    std::vector<double> sum(static_cast<size_t>(xl.extent()), 0.0);
    pairs([&](const std::array<int64_t, 5>& o, const std::array<int64_t, 3>& r, std::array<int64_t, 5> xi) {
      for (int64_t cc = 0; cc < c.C; ++cc) {
        xi[1] = cc;
        sum[xl.at(xi)] += in(dy, yl.at(o)) * in(w, w_at(o[1], cc, r));
      }
    });
    for_each_index(c.x_dims(),
                   [&](const std::array<int64_t, 5>& i) { blend(dx, xl.at(i), sum[xl.at(i)], alpha, beta); });
  }

  void backward_filter(const T* x, const Layout& xl, const T* dy, const Layout& yl, T* dw, double alpha,
                       double beta) const {
    const std::vector<int> wd = c.w_dims();
    int64_t nw = 1;
    for (int d : wd) nw *= d;
    std::vector<double> sum(static_cast<size_t>(nw), 0.0);
    pairs([&](const std::array<int64_t, 5>& o, const std::array<int64_t, 3>& r, std::array<int64_t, 5> xi) {
      for (int64_t cc = 0; cc < c.C; ++cc) {
        xi[1] = cc;
        sum[w_at(o[1], cc, r)] += in(dy, yl.at(o)) * in(x, xl.at(xi));
      }
    });
    for (int64_t i = 0; i < nw; ++i) blend(dw, i, sum[i], alpha, beta);
  }
};

}  // namespace pn::test
