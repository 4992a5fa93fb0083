// The emulated cuDNN at its API (kernels/cuda/emu/cudnn_emu.h): every emulated algorithm of
// the three directions on tensors with non-packed strides (x and y are channel slices of
// bigger, row-padded tensors; what lies outside the slice must stay untouched), 2-D and 3-D,
// strides, padding, dilation, both convolution modes, alpha/beta blending (beta = 0 over NaN),
// float (rtol 1e-5) and double (1e-12), against an oracle computed from the definitions
// (cudnn_test_util.h); the descriptor functions; determinism and TF32.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cudnn_test_util.h"
#include "emu_util.h"

using namespace pn::test;
using pn::cuda::emu::ConvDirection;

namespace {

std::string detail() { return pn::cuda::emu::last_error_detail(); }

// x and y as slices of bigger tensors: 2 more channels before and after, and each row two
// elements longer than the slice, so no stride of the slice is the packed one.
Layout slice_of_bigger(const std::vector<int>& dims, int channel_offset) {
  std::vector<int> big = dims;
  big[1] += 3;
  big.back() += 2;
  Layout l{dims, packed_strides(big), 0};
  l.offset = static_cast<int64_t>(channel_offset) * l.strides[1];
  return l;
}

Layout packed(const std::vector<int>& dims) { return {dims, packed_strides(dims), 0}; }

template <class T>
std::vector<T> nan_filled(int64_t n) {
  return std::vector<T>(static_cast<size_t>(n), std::numeric_limits<T>::quiet_NaN());
}

// Runs `algo` of `dir` on case c (x and y strided slices) and compares with the oracle.
template <class T>
void check_algorithm(const ConvCase& c, ConvDirection dir, int algo, double alpha, double beta, uint64_t seed) {
  const cudnnDataType_t t = sizeof(T) == 4 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
  const double rtol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  const Layout xl = slice_of_bigger(c.x_dims(), 1), yl = slice_of_bigger(c.y_dims(), 2);
  const Layout wl = packed(c.w_dims());
  Handle h;
  Descriptors d(c, xl, yl, t, CUDNN_FMA_MATH);
  auto x = random_vector<T>(xl.extent() + 5, seed), w = random_vector<T>(wl.extent(), seed + 1);
  auto y = random_vector<T>(yl.extent() + 5, seed + 2);
  // The output is all NaN when beta == 0: it must not be read.
  std::vector<T>& out = dir == ConvDirection::Forward ? y : dir == ConvDirection::BackwardData ? x : w;
  if (beta == 0) {
    const Layout& ol = dir == ConvDirection::Forward ? yl : dir == ConvDirection::BackwardData ? xl : wl;
    for_each_index(ol.dims,
                   [&](const std::array<int64_t, 5>& i) { out[ol.at(i)] = std::numeric_limits<T>::quiet_NaN(); });
  }
  DeviceArray<T> dx(x), dw(w), dy(y);
  size_t bytes = 0;
  cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
  if (dir == ConvDirection::Forward)
    s = cudnnGetConvolutionForwardWorkspaceSize(h.h, d.x, d.w, d.conv, d.y, cudnnConvolutionFwdAlgo_t(algo), &bytes);
  else if (dir == ConvDirection::BackwardData)
    s = cudnnGetConvolutionBackwardDataWorkspaceSize(h.h, d.w, d.y, d.conv, d.x, cudnnConvolutionBwdDataAlgo_t(algo),
                                                     &bytes);
  else
    s = cudnnGetConvolutionBackwardFilterWorkspaceSize(h.h, d.x, d.y, d.conv, d.w,
                                                       cudnnConvolutionBwdFilterAlgo_t(algo), &bytes);
  REQUIRE_MESSAGE(s == CUDNN_STATUS_SUCCESS, detail());
  DeviceArray<char> ws(static_cast<int64_t>(bytes) + 1);
  const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
  T* xp = dx.get() + xl.offset;
  T* yp = dy.get() + yl.offset;
  if (dir == ConvDirection::Forward)
    s = cudnnConvolutionForward(h.h, &a, d.x, xp, d.w, dw.get(), d.conv, cudnnConvolutionFwdAlgo_t(algo), ws.get(),
                                bytes, &b, d.y, yp);
  else if (dir == ConvDirection::BackwardData)
    s = cudnnConvolutionBackwardData(h.h, &a, d.w, dw.get(), d.y, yp, d.conv, cudnnConvolutionBwdDataAlgo_t(algo),
                                     ws.get(), bytes, &b, d.x, xp);
  else
    s = cudnnConvolutionBackwardFilter(h.h, &a, d.x, xp, d.y, yp, d.conv, cudnnConvolutionBwdFilterAlgo_t(algo),
                                       ws.get(), bytes, &b, d.w, dw.get());
  REQUIRE_MESSAGE(s == CUDNN_STATUS_SUCCESS, detail());
  // The oracle on host copies (with the same offsets: the layouts include them).
  std::vector<T> want_x = x, want_w = w, want_y = y;
  const Oracle<T> oracle{c};
  if (dir == ConvDirection::Forward) oracle.forward(x.data(), xl, w.data(), want_y.data(), yl, alpha, beta);
  if (dir == ConvDirection::BackwardData) oracle.backward_data(w.data(), y.data(), yl, want_x.data(), xl, alpha, beta);
  if (dir == ConvDirection::BackwardFilter)
    oracle.backward_filter(x.data(), xl, y.data(), yl, want_w.data(), alpha, beta);
  const std::string what = std::string(dir == ConvDirection::Forward        ? "forward"
                                       : dir == ConvDirection::BackwardData ? "backward data"
                                                                            : "backward filter") +
                           " algo " + std::to_string(algo) + " spatial " + std::to_string(c.spatial) +
                           (c.mode == CUDNN_CONVOLUTION ? " convolution" : " cross-correlation");
  // Whole buffers: the result inside the slice, and everything else unchanged.
  check_close(dx.to_host(), want_x, rtol, rtol, what + " (x / dx buffer)");
  check_close(dw.to_host(), want_w, rtol, rtol, what + " (w / dw buffer)");
  check_close(dy.to_host(), want_y, rtol, rtol, what + " (y / dy buffer)");
}

ConvCase case_3d() {
  ConvCase c;
  c.spatial = 3;
  c.N = 2, c.C = 2, c.K = 3;
  c.in = {4, 6, 7}, c.k = {3, 2, 3}, c.pad = {1, 0, 1}, c.stride = {1, 2, 1}, c.dilation = {1, 1, 2};
  return c;
}

ConvCase case_3d_strided() {
  ConvCase c;
  c.spatial = 3;
  c.N = 1, c.C = 2, c.K = 3;
  c.in = {5, 7, 6}, c.k = {3, 3, 3}, c.pad = {1, 1, 1}, c.stride = {2, 2, 2}, c.dilation = {1, 1, 1};
  c.mode = CUDNN_CONVOLUTION;
  return c;
}

ConvCase case_2d() {
  ConvCase c;
  c.spatial = 2;
  c.N = 2, c.C = 2, c.K = 3;
  c.in = {9, 8}, c.k = {3, 3}, c.pad = {1, 2}, c.stride = {2, 1}, c.dilation = {1, 2};
  c.mode = CUDNN_CONVOLUTION;
  return c;
}

template <class T>
void check_all_algorithms() {
  uint64_t seed = 100;
  for (const ConvCase& c : {case_3d(), case_3d_strided(), case_2d()}) {
    std::vector<int> fwd = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM};
    if (c.spatial == 2) fwd.push_back(CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
    for (int algo : fwd) {
      check_algorithm<T>(c, ConvDirection::Forward, algo, 1.5, 0.0, seed++);
      check_algorithm<T>(c, ConvDirection::Forward, algo, 1.0, -0.5, seed++);
    }
    for (int algo : {0, 1}) {
      check_algorithm<T>(c, ConvDirection::BackwardData, algo, 1.5, 0.0, seed++);
      check_algorithm<T>(c, ConvDirection::BackwardData, algo, 1.0, -0.5, seed++);
      check_algorithm<T>(c, ConvDirection::BackwardFilter, algo, 1.5, 0.0, seed++);
      check_algorithm<T>(c, ConvDirection::BackwardFilter, algo, 1.0, -0.5, seed++);
    }
  }
}

}  // namespace

TEST_CASE("every emulated cuDNN algorithm matches the definition on strided slices, float and double") {
  check_all_algorithms<float>();
  check_all_algorithms<double>();
}

TEST_CASE("cuDNN descriptors: set, get, output dims, and the documented refusals") {
  cudnnTensorDescriptor_t t = nullptr;
  PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&t));
  const int dims[5] = {2, 3, 4, 5, 6}, strides[5] = {400, 120, 30, 6, 1};
  PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 5, dims, strides));
  cudnnDataType_t dt;
  int nb = 0, gd[5] = {}, gs[5] = {};
  PN_REQUIRE_CUDNN(cudnnGetTensorNdDescriptor(t, 5, &dt, &nb, gd, gs));
  CHECK(nb == 5);
  CHECK(dt == CUDNN_DATA_FLOAT);
  CHECK(std::vector<int>(gd, gd + 5) == std::vector<int>(dims, dims + 5));
  CHECK(std::vector<int>(gs, gs + 5) == std::vector<int>(strides, strides + 5));
  // cudnnSetTensorNdDescriptor: nbDims outside [4, 8] and over 2^31 - 1 elements are
  // NOT_SUPPORTED; a size <= 0 or an invalid data type BAD_PARAM.
  CHECK(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 3, dims, strides) == CUDNN_STATUS_NOT_SUPPORTED);
  const int zero[4] = {2, 0, 4, 4}, huge[4] = {65536, 65536, 1, 1}, s4[4] = {1, 1, 1, 1};
  CHECK(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 4, zero, s4) == CUDNN_STATUS_BAD_PARAM);
  CHECK(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 4, huge, s4) == CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(detail().find("2^31") != std::string::npos);
  CHECK(cudnnSetTensorNdDescriptor(t, cudnnDataType_t(99), 5, dims, strides) == CUDNN_STATUS_BAD_PARAM);
  PN_REQUIRE_CUDNN(cudnnDestroyTensorDescriptor(t));
  CHECK(cudnnGetTensorNdDescriptor(t, 5, &dt, &nb, gd, gs) == CUDNN_STATUS_BAD_PARAM);  // destroyed
  CHECK(detail().find("destroyed") != std::string::npos);

  cudnnConvolutionDescriptor_t conv = nullptr;
  PN_REQUIRE_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
  const int pad[3] = {1, 0, 2}, stride[3] = {1, 2, 1}, dil[3] = {1, 1, 2}, bad_stride[3] = {1, 0, 1};
  const int bad_pad[3] = {1, -1, 0};
  CHECK(cudnnSetConvolutionNdDescriptor(conv, 3, pad, bad_stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) ==
        CUDNN_STATUS_BAD_PARAM);
  CHECK(cudnnSetConvolutionNdDescriptor(conv, 3, bad_pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) ==
        CUDNN_STATUS_BAD_PARAM);
  CHECK(cudnnSetConvolutionNdDescriptor(conv, 7, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) ==
        CUDNN_STATUS_NOT_SUPPORTED);
  PN_REQUIRE_CUDNN(cudnnSetConvolutionNdDescriptor(conv, 3, pad, stride, dil, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT));
  CHECK(cudnnSetConvolutionMathType(conv, cudnnMathType_t(7)) == CUDNN_STATUS_BAD_PARAM);
  cudnnMathType_t math;
  PN_REQUIRE_CUDNN(cudnnGetConvolutionMathType(conv, &math));
  CHECK(math == CUDNN_DEFAULT_MATH);  // cuDNN's default
  int len = 0, gp[3], gst[3], gdl[3];
  cudnnConvolutionMode_t mode;
  PN_REQUIRE_CUDNN(cudnnGetConvolutionNdDescriptor(conv, 3, &len, gp, gst, gdl, &mode, &dt));
  CHECK(len == 3);
  CHECK(mode == CUDNN_CONVOLUTION);
  CHECK(gdl[2] == 2);

  // Output dims: 1 + (in + 2 pad - ((k - 1) dilation + 1)) / stride.
  cudnnTensorDescriptor_t x = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&x));
  PN_REQUIRE_CUDNN(cudnnCreateFilterDescriptor(&w));
  const int xd[5] = {2, 3, 7, 8, 9}, wd[5] = {4, 3, 3, 2, 3};
  PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_FLOAT, 5, xd, packed_strides({2, 3, 7, 8, 9}).data()));
  PN_REQUIRE_CUDNN(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wd));
  int out[5] = {};
  PN_REQUIRE_CUDNN(cudnnGetConvolutionNdForwardOutputDim(conv, x, w, 5, out));
  CHECK(std::vector<int>(out, out + 5) == std::vector<int>{2, 4, 7, 4, 9});  // 1+(7+2-3)/1, 1+(8-2)/2, 1+(9+4-5)/1
  const int wd_bad[5] = {4, 2, 3, 2, 3};                                     // 2 input channels for a 3-channel x
  PN_REQUIRE_CUDNN(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wd_bad));
  CHECK(cudnnGetConvolutionNdForwardOutputDim(conv, x, w, 5, out) == CUDNN_STATUS_BAD_PARAM);
  CHECK(std::string(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM)) == "CUDNN_STATUS_BAD_PARAM");
  CHECK(cudnnGetVersion() == CUDNN_VERSION);
  PN_REQUIRE_CUDNN(cudnnDestroyFilterDescriptor(w));
  PN_REQUIRE_CUDNN(cudnnDestroyTensorDescriptor(x));
  PN_REQUIRE_CUDNN(cudnnDestroyConvolutionDescriptor(conv));
}

TEST_CASE("the non-deterministic algorithms vary in the last bits, the deterministic ones never") {
  ConvCase c;
  c.spatial = 3;
  c.N = 2, c.C = 2, c.K = 8;
  c.in = {5, 5, 5}, c.k = {3, 3, 3}, c.pad = {1, 1, 1}, c.stride = {1, 1, 1}, c.dilation = {1, 1, 1};
  const Layout xl = packed(c.x_dims()), yl = packed(c.y_dims()), wl = packed(c.w_dims());
  Handle h;
  Descriptors d(c, xl, yl, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH);
  DeviceArray<float> x(random_vector<float>(xl.extent(), 1)), w(random_vector<float>(wl.extent(), 2));
  DeviceArray<float> dy(random_vector<float>(yl.extent(), 3)), out_w(wl.extent()), out_x(xl.extent());
  DeviceArray<char> ws(1 << 20);
  const float one = 1, zero = 0;
  auto filter = [&](cudnnConvolutionBwdFilterAlgo_t algo) {
    PN_REQUIRE_CUDNN(cudnnConvolutionBackwardFilter(h.h, &one, d.x, x.get(), d.y, dy.get(), d.conv, algo, ws.get(),
                                                    1 << 20, &zero, d.w, out_w.get()));
    return out_w.to_host();
  };
  auto data = [&](cudnnConvolutionBwdDataAlgo_t algo) {
    PN_REQUIRE_CUDNN(cudnnConvolutionBackwardData(h.h, &one, d.w, w.get(), d.y, dy.get(), d.conv, algo, ws.get(),
                                                  1 << 20, &zero, d.x, out_x.get()));
    return out_x.to_host();
  };
  const auto f0a = filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0), f0b = filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
  const auto f1a = filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1), f1b = filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
  CHECK(f0a != f0b);  // summed in another order: some last bits differ ...
  check_close(f0a, f0b, 1e-5, 1e-4, "backward filter ALGO_0 run to run");  // ... and only those
  CHECK(f1a == f1b);
  const auto d0a = data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0), d0b = data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0);
  const auto d1a = data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1), d1b = data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
  CHECK(d0a != d0b);
  check_close(d0a, d0b, 1e-5, 1e-4, "backward data ALGO_0 run to run");
  CHECK(d1a == d1b);
  // The heuristics say which is which.
  cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
  int n = 0;
  PN_REQUIRE_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h.h, d.x, d.y, d.conv, d.w, 8, &n, perf));
  REQUIRE(n == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
  CHECK(perf[0].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
  CHECK(perf[0].determinism == CUDNN_NON_DETERMINISTIC);
  CHECK(perf[1].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
  CHECK(perf[1].determinism == CUDNN_DETERMINISTIC);
  CHECK(perf[2].status == CUDNN_STATUS_NOT_SUPPORTED);
}

TEST_CASE("TF32: the default and tensor-op math round float inputs to TF32, FMA math and double do not") {
  const ConvCase c = case_3d();
  const Layout xl = packed(c.x_dims()), yl = packed(c.y_dims()), wl = packed(c.w_dims());
  Handle h;
  const auto x = random_vector<float>(xl.extent(), 7), w = random_vector<float>(wl.extent(), 8);
  DeviceArray<float> dx(x), dw(w), dy(yl.extent());
  auto forward = [&](cudnnMathType_t math) {
    Descriptors d(c, xl, yl, CUDNN_DATA_FLOAT, math);
    const float one = 1, zero = 0;
    PN_REQUIRE_CUDNN(cudnnConvolutionForward(h.h, &one, d.x, dx.get(), d.w, dw.get(), d.conv,
                                             CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y,
                                             dy.get()));
    return dy.to_host();
  };
  const auto fma = forward(CUDNN_FMA_MATH), def = forward(CUDNN_DEFAULT_MATH), tensor = forward(CUDNN_TENSOR_OP_MATH);
  std::vector<float> want_fp32(fma.size()), want_tf32(fma.size());
  Oracle<float>{c, false}.forward(x.data(), xl, w.data(), want_fp32.data(), yl, 1, 0);
  Oracle<float>{c, true}.forward(x.data(), xl, w.data(), want_tf32.data(), yl, 1, 0);
  check_close(fma, want_fp32, 1e-5, 1e-5, "FMA math is FP32");
  check_close(def, want_tf32, 2e-6, 2e-6, "default math is TF32");
  CHECK(def == tensor);
  double worst = 0;  // TF32 moves results by about 2^-11 relative per product
  for (size_t i = 0; i < fma.size(); ++i)
    worst = std::max(worst, std::abs(double(def[i]) - fma[i]) / (1 + std::abs(fma[i])));
  CHECK(worst > 1e-4);
  CHECK(worst < 1e-2);
}
