// The emulated cuDNN refuses what the real one documents as errors, with the documented
// status and an explanation (pn::cuda::emu::last_error_detail(), cudnnGetLastErrorString):
// mismatched channels, wrong output dims, data type mismatch, a workspace too small or NULL,
// an algorithm that does not support the geometry, destroyed handles, negative strides;
// and, beyond what a GPU can say at the call, buffers too short for their descriptors and
// host pointers. Two planted wrapper bugs show what the checks catch:
//  (a) a copy of dnn.cpp's descriptor setup with a wrong stride: one variant spans past the
//      allocation and is refused with an explanation; one stays inside it and computes
//      garbage, which the parity check catches;
//  (b) a workspace smaller than cudnnGet*WorkspaceSize said: refused with BAD_PARAM.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "cudnn_test_util.h"
#include "emu_util.h"
#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"

using namespace pn::test;

namespace {

std::string detail() { return pn::cuda::emu::last_error_detail(); }
bool mentions(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

ConvCase small_3d() {
  ConvCase c;
  c.spatial = 3;
  c.N = 2, c.C = 3, c.K = 4;
  c.in = {4, 5, 6}, c.k = {3, 3, 3}, c.pad = {1, 1, 1}, c.stride = {1, 1, 1}, c.dilation = {1, 1, 1};
  return c;
}

Layout packed(const std::vector<int>& dims) { return {dims, packed_strides(dims), 0}; }

// A forward call on case c with the given layouts and buffers.
struct ForwardCall {
  Handle h;
  ConvCase c;
  Layout xl, yl;
  cudnnDataType_t t;
  Descriptors d;
  ForwardCall(const ConvCase& cc, const Layout& x, const Layout& y, cudnnDataType_t type = CUDNN_DATA_FLOAT)
      : c(cc), xl(x), yl(y), t(type), d(cc, x, y, type, CUDNN_FMA_MATH) {}
  cudnnStatus_t run(const void* x, const void* w, void* y, cudnnConvolutionFwdAlgo_t algo, void* ws, size_t bytes) {
    const double one = 1, zero = 0;
    const float onef = 1, zerof = 0;
    const void* a = t == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&one) : &onef;
    const void* b = t == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&zero) : &zerof;
    return cudnnConvolutionForward(h.h, a, d.x, x, d.w, w, d.conv, algo, ws, bytes, b, d.y, y);
  }
};

}  // namespace

TEST_CASE("cuDNN argument checks return the documented statuses with a reason") {
  const ConvCase c = small_3d();
  DeviceArray<float> x(2 * 3 * 4 * 5 * 6), w(4 * 3 * 27), y(2 * 4 * 4 * 5 * 6);
  DeviceArray<char> ws(1 << 16);
  ForwardCall ok(c, packed(c.x_dims()), packed(c.y_dims()));
  REQUIRE(ok.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_SUCCESS);

  SUBCASE("mismatched channels: BAD_PARAM") {
    ConvCase bad = c;
    bad.C = 2;  // the filter expects 2 input channels, x has 3
    ForwardCall call(bad, packed(c.x_dims()), packed(c.y_dims()));
    CHECK(call.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_BAD_PARAM);
    CHECK(mentions(detail(), "channels"));
  }
  SUBCASE("wrong output dims: forward NOT_SUPPORTED (spatial), BAD_PARAM (channels); backward data BAD_PARAM") {
    std::vector<int> yd = c.y_dims();
    yd[4] += 1;
    ForwardCall call(c, packed(c.x_dims()), packed(yd));
    CHECK(call.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_NOT_SUPPORTED);
    CHECK(mentions(detail(), "does not match the output dims [2, 4, 4, 5, 6]"));
    const float one = 1, zero = 0;
    CHECK(cudnnConvolutionBackwardData(call.h.h, &one, call.d.w, w.get(), call.d.y, y.get(), call.d.conv,
                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, nullptr, 0, &zero, call.d.x,
                                       x.get()) == CUDNN_STATUS_BAD_PARAM);
    std::vector<int> yc = c.y_dims();
    yc[1] = 5;
    ForwardCall channels(c, packed(c.x_dims()), packed(yc));
    CHECK(channels.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_BAD_PARAM);
  }
  SUBCASE("data type mismatch: BAD_PARAM") {
    cudnnTensorDescriptor_t yd = nullptr;
    PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&yd));
    const std::vector<int> dims = c.y_dims(), st = packed_strides(dims);
    PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(yd, CUDNN_DATA_DOUBLE, 5, dims.data(), st.data()));
    const float one = 1, zero = 0;
    CHECK(cudnnConvolutionForward(ok.h.h, &one, ok.d.x, x.get(), ok.d.w, w.get(), ok.d.conv,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, yd,
                                  y.get()) == CUDNN_STATUS_BAD_PARAM);
    CHECK(mentions(detail(), "data type"));
    PN_REQUIRE_CUDNN(cudnnDestroyTensorDescriptor(yd));
  }
  SUBCASE("workspace: too small or NULL is BAD_PARAM; GEMM on 3-D is NOT_SUPPORTED") {
    size_t need = 0;
    PN_REQUIRE_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(ok.h.h, ok.d.x, ok.d.w, ok.d.conv, ok.d.y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &need));
    CHECK(need == 3 * 27 * 32);  // one 32-byte entry per filter tap
    CHECK(ok.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.get(), need - 1) ==
          CUDNN_STATUS_BAD_PARAM);
    CHECK(mentions(detail(), "smaller than the " + std::to_string(need) + " bytes"));
    CHECK(ok.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, nullptr, need) ==
          CUDNN_STATUS_BAD_PARAM);
    CHECK(mentions(detail(), "workSpace is NULL"));
    CHECK(ok.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.get(), need) ==
          CUDNN_STATUS_SUCCESS);
    size_t gemm = 0;
    CHECK(cudnnGetConvolutionForwardWorkspaceSize(ok.h.h, ok.d.x, ok.d.w, ok.d.conv, ok.d.y,
                                                  CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                                                  &gemm) == CUDNN_STATUS_NOT_SUPPORTED);
    CHECK(ok.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.get(), 1 << 16) ==
          CUDNN_STATUS_NOT_SUPPORTED);
    CHECK(mentions(detail(), "2-D"));
    char buf[512];
    cudnnGetLastErrorString(buf, sizeof buf);
    CHECK(mentions(buf, "CUDNN_CONVOLUTION_FWD_ALGO_GEMM"));
  }
  SUBCASE("handles: NULL is BAD_PARAM, destroyed NOT_INITIALIZED") {
    cudnnHandle_t h = nullptr;
    PN_REQUIRE_CUDNN(cudnnCreate(&h));
    PN_REQUIRE_CUDNN(cudnnDestroy(h));
    const float one = 1, zero = 0;
    CHECK(cudnnConvolutionForward(h, &one, ok.d.x, x.get(), ok.d.w, w.get(), ok.d.conv,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, ok.d.y,
                                  y.get()) == CUDNN_STATUS_NOT_INITIALIZED);
    CHECK(mentions(detail(), "destroyed"));
    CHECK(cudnnSetStream(nullptr, nullptr) == CUDNN_STATUS_BAD_PARAM);
    int n = 0;
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ok.h.h, ok.d.x, ok.d.w, ok.d.conv, ok.d.y, 0, &n, perf) ==
          CUDNN_STATUS_BAD_PARAM);
  }
  SUBCASE("negative strides: NOT_SUPPORTED") {
    Layout neg = packed(c.x_dims());
    neg.strides[4] = -1;
    ForwardCall call(c, neg, packed(c.y_dims()));
    CHECK(call.run(x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_NOT_SUPPORTED);
  }
  SUBCASE("a buffer too short for its descriptor, or host memory: EXECUTION_FAILED naming the operand") {
    DeviceArray<float> short_x(2 * 3 * 4 * 5 * 6 - 1);
    CHECK(ok.run(short_x.get(), w.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_EXECUTION_FAILED);
    CHECK(mentions(detail(), "x (dims [2, 3, 4, 5, 6] strides [360, 120, 30, 6, 1])"));
    CHECK(mentions(detail(), "runs 4 byte(s) past the end of its"));
    std::vector<float> host_w(4 * 3 * 27);
    CHECK(ok.run(x.get(), host_w.data(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0) ==
          CUDNN_STATUS_EXECUTION_FAILED);
    CHECK(mentions(detail(), "w (dims [4, 3, 3, 3, 3])"));
    CHECK(cudaGetLastError() == cudaSuccess);  // the refusal is cuDNN's, not a stray CUDA error
  }
}

namespace {

enum class StrideBug {
  None,
  OwnDimInsteadOfNext,    // s[i] = s[i + 1] * d[i]: every stride too small, stays in bounds
  OutputStridesForInput,  // x described with y's strides (a copy-paste slip): spans too far
};

// A copy of dnn.cpp's descriptor setup (5-D, packed strides of the tensor's own dims), with
// a bug planted in the input's strides.
std::vector<int> wrapper_strides(const std::vector<int>& d, bool own_dim) {
  std::vector<int> s(5);
  s[4] = 1;
  for (int i = 3; i >= 0; --i) s[i] = s[i + 1] * (own_dim ? d[i] : d[i + 1]);
  return s;
}

// Runs the planted setup for geometry g: the status, and the result when it ran.
cudnnStatus_t planted_forward(const pn::kernels::ConvGeom& g, StrideBug bug, const std::vector<float>& x,
                              const std::vector<float>& w, std::vector<float>& y) {
  ConvCase c;
  c.spatial = 3;
  c.N = int(g.N), c.C = int(g.C_in), c.K = int(g.C_out);
  for (int i = 0; i < 3; ++i) {
    c.in.push_back(int(g.in[i]));
    c.k.push_back(int(g.k[i]));
    c.pad.push_back(int(g.pad[i]));
    c.stride.push_back(int(g.stride[i]));
    c.dilation.push_back(1);
  }
  const std::vector<int> xd = c.x_dims(), yd = c.y_dims();
  Layout xl{xd, wrapper_strides(xd, bug == StrideBug::OwnDimInsteadOfNext), 0};
  if (bug == StrideBug::OutputStridesForInput) xl.strides = wrapper_strides(yd, false);
  ForwardCall call(c, xl, Layout{yd, wrapper_strides(yd, false), 0});
  DeviceArray<float> dx(x), dw(w), dy(static_cast<int64_t>(y.size()));
  const cudnnStatus_t s = call.run(dx.get(), dw.get(), dy.get(), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0);
  if (s == CUDNN_STATUS_SUCCESS) y = dy.to_host();
  return s;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

}  // namespace

TEST_CASE("planted bug (a): a wrong stride in the wrapper's descriptors is refused or fails parity") {
  pn::kernels::ConvGeom g;
  g.N = 2, g.C_in = 2, g.C_out = 3;
  for (int i = 0; i < 3; ++i) {
    g.in[i] = 5, g.k[i] = 3, g.stride[i] = 1, g.pad[i] = 1;
    g.out[i] = pn::kernels::ConvGeom::out_size(g.in[i], g.k[i], g.stride[i], g.pad[i]);
  }
  const int64_t nx = g.N * g.C_in * 125, ny = g.N * g.C_out * 125, nw = g.C_out * g.C_in * 27;
  const auto x = random_vector<float>(nx, 11), w = random_vector<float>(nw, 12);
  std::vector<float> want(static_cast<size_t>(ny)), got(static_cast<size_t>(ny));
  pn::cpu::conv_forward(g, x.data(), w.data(), want.data());

  // The correct setup passes parity (so the harness itself is sound).
  REQUIRE(planted_forward(g, StrideBug::None, x, w, got) == CUDNN_STATUS_SUCCESS);
  check_close(got, want, 1e-5, 1e-5, "the correct descriptor setup");
  // x described with y's strides (3 channels' worth for 2): the input spans 625 elements of
  // a 500-element allocation, which the emulated cuDNN refuses at the call, naming x.
  CHECK(planted_forward(g, StrideBug::OutputStridesForInput, x, w, got) == CUDNN_STATUS_EXECUTION_FAILED);
  INFO(detail());
  CHECK(mentions(detail(), "x (dims [2, 2, 5, 5, 5] strides [375, 125, 25, 5, 1])"));
  CHECK(mentions(detail(), "runs 500 byte(s) past the end of its 2000-byte allocation"));
  // Strides from each dim itself: [100, 50, 25, 5, 1] stays inside, runs, and is wrong.
  REQUIRE(planted_forward(g, StrideBug::OwnDimInsteadOfNext, x, w, got) == CUDNN_STATUS_SUCCESS);
  CHECK(max_abs_diff(got, want) > 0.1);
}

TEST_CASE("planted bug (b): a workspace smaller than queried is refused with BAD_PARAM") {
  const ConvCase c = small_3d();
  Handle h;
  const Layout xl = packed(c.x_dims()), yl = packed(c.y_dims());
  Descriptors d(c, xl, yl, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH);
  DeviceArray<float> x(xl.extent()), dy(yl.extent()), dw(4 * 3 * 27);
  size_t need = 0;
  PN_REQUIRE_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h.h, d.x, d.y, d.conv, d.w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &need));
  REQUIRE(need == size_t(3 * 27 * 4 * 5 * 6) * sizeof(float));  // one sample's column matrix
  DeviceArray<char> ws(static_cast<int64_t>(need));
  const float one = 1, zero = 0;
  // The planted bug: the workspace sized for the wrong algorithm (ALGO_0 needs none).
  size_t wrong = 0;
  PN_REQUIRE_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h.h, d.x, d.y, d.conv, d.w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, &wrong));
  CHECK(cudnnConvolutionBackwardFilter(h.h, &one, d.x, x.get(), d.y, dy.get(), d.conv,
                                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, ws.get(), wrong, &zero, d.w,
                                       dw.get()) == CUDNN_STATUS_BAD_PARAM);
  CHECK(mentions(detail(), "workSpaceSizeInBytes 0 is smaller than the " + std::to_string(need) + " bytes"));
  // And the claim of a big enough workspace over a short allocation is refused too.
  DeviceArray<char> short_ws(static_cast<int64_t>(need) - 8);
  CHECK(cudnnConvolutionBackwardFilter(h.h, &one, d.x, x.get(), d.y, dy.get(), d.conv,
                                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, short_ws.get(), need, &zero, d.w,
                                       dw.get()) == CUDNN_STATUS_EXECUTION_FAILED);
  CHECK(mentions(detail(), "workspace"));
}
