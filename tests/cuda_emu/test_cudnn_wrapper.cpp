// The cuDNN wrapper (kernels/cuda/dnn.h) on the emulated cuDNN: parity of forward,
// backward-input and backward-weight with the CPU reference (kernels/cpu/conv_reference.h), 2-D and
// 3-D, stride 1 and 2, padding, odd sizes, N > 1, float (rtol 1e-5) and double (1e-12),
// with the default and the deterministic algorithms; the options (TF32, determinism); the
// fallback from a failing algorithm to the next and its caching; sizes past int; the
// workspace pool's release threshold; and errors that carry the emulator's reason.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cudnn_test_util.h"
#include "emu_util.h"
#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/library_options.h"

using pn::cuda::emu::ConvDirection;
using pn::kernels::ConvGeom;
using pn::test::DeviceArray;

namespace {

bool mentions(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

ConvGeom conv_geom(int64_t n, int64_t cin, int64_t cout, std::vector<int64_t> in, std::vector<int64_t> k,
                   std::vector<int64_t> stride, std::vector<int64_t> pad) {
  ConvGeom g;
  g.spatial_dims = in[0] == 1 && k[0] == 1 ? 2 : 3;
  g.N = n, g.C_in = cin, g.C_out = cout;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d], g.k[d] = k[d], g.stride[d] = stride[d], g.pad[d] = pad[d];
    g.out[d] = ConvGeom::out_size(in[d], k[d], stride[d], pad[d]);
  }
  return g;
}

struct Sizes {
  int64_t x, y, w;
};
Sizes sizes(const ConvGeom& g) {
  return {g.N * g.C_in * g.in_volume(), g.N * g.C_out * g.out_volume(), g.C_out * g.C_in * g.k_volume()};
}

template <class T>
void check_parity(const ConvGeom& g, uint64_t seed, const std::string& label) {
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  const Sizes s = sizes(g);
  const auto x = pn::test::random_vector<T>(s.x, seed), w = pn::test::random_vector<T>(s.w, seed + 1);
  const auto dy = pn::test::random_vector<T>(s.y, seed + 2);
  std::vector<T> y(s.y), dx(s.x), dw(s.w);
  pn::cpu::reference::conv_forward(g, x.data(), w.data(), y.data());
  pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), dx.data());
  pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), dw.data());
  DeviceArray<T> d_x(x), d_w(w), d_dy(dy), d_y(s.y), d_dx(s.x), d_dw(s.w);
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
  pn::cuda::conv_backward_input(g, d_dy.get(), d_w.get(), d_dx.get(), nullptr);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);
  const double k_terms = double(g.col_rows()), n_terms = double(g.N * g.out_volume());
  const std::string what = label + (sizeof(T) == 4 ? " float" : " double");
  pn::test::check_close(d_y.to_host(), y, tol, tol * k_terms, what + " forward");
  pn::test::check_close(d_dx.to_host(), dx, tol, tol * k_terms, what + " backward input");
  pn::test::check_close(d_dw.to_host(), dw, tol, tol * n_terms, what + " backward weight");
}

const std::vector<ConvGeom>& parity_geometries() {
  static const std::vector<ConvGeom> g = {
      conv_geom(2, 3, 4, {5, 7, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),    // 3-D, padded
      conv_geom(2, 4, 3, {9, 7, 11}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}),   // 3-D, stride 2
      conv_geom(3, 2, 4, {1, 13, 10}, {1, 3, 3}, {1, 2, 1}, {0, 1, 1}),  // 2-D, mixed stride
      conv_geom(2, 3, 2, {1, 11, 9}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}),   // 2-D, stride 2, padded
  };
  return g;
}

int64_t launches(ConvDirection d, int algo) { return pn::cuda::emu::cudnn_launches(d, algo); }

}  // namespace

TEST_CASE("cuDNN wrapper convolutions match the CPU reference, default and deterministic algorithms") {
  uint64_t seed = 300;
  for (bool deterministic : {false, true}) {
    pn::cuda::ScopedLibraryOptions opts({deterministic, false});
    for (const ConvGeom& g : parity_geometries()) {
      const std::string label = std::string(deterministic ? "deterministic " : "default ") +
                                (g.spatial_dims == 2 ? "2-D" : "3-D") + " stride " + std::to_string(g.stride[2]);
      check_parity<float>(g, seed, label);
      check_parity<double>(g, seed + 10, label);
      seed += 20;
    }
  }
}

TEST_CASE("allow_tf32 switches convolutions to TF32; off by default, FP32 FMA math bit for bit") {
  const ConvGeom g = conv_geom(2, 3, 4, {1, 12, 10}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1});  // 2-D: GEMM first
  const Sizes s = sizes(g);
  const auto x = pn::test::random_vector<float>(s.x, 41), w = pn::test::random_vector<float>(s.w, 42);
  DeviceArray<float> d_x(x), d_w(w), d_y(s.y);
  auto wrapper = [&] {
    pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
    return d_y.to_host();
  };
  const int64_t gemm_before = launches(ConvDirection::Forward, CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
  const auto fp32 = wrapper();
  std::vector<float> tf32;
  {
    pn::cuda::ScopedLibraryOptions opts({false, true});
    tf32 = wrapper();
  }
  REQUIRE(launches(ConvDirection::Forward, CUDNN_CONVOLUTION_FWD_ALGO_GEMM) == gemm_before + 2);
  // The same algorithm at the raw API with each math type gives the same bits.
  pn::test::ConvCase c;
  c.spatial = 2;
  c.N = 2, c.C = 3, c.K = 4, c.in = {12, 10}, c.k = {3, 3}, c.pad = {1, 1}, c.stride = {1, 1}, c.dilation = {1, 1};
  const pn::test::Layout xl{c.x_dims(), pn::test::packed_strides(c.x_dims()), 0};
  const pn::test::Layout yl{c.y_dims(), pn::test::packed_strides(c.y_dims()), 0};
  pn::test::Handle h;
  DeviceArray<char> ws(1 << 20);
  auto raw = [&](cudnnMathType_t math) {
    pn::test::Descriptors d(c, xl, yl, CUDNN_DATA_FLOAT, math);
    const float one = 1, zero = 0;
    PN_REQUIRE_CUDNN(cudnnConvolutionForward(h.h, &one, d.x, d_x.get(), d.w, d_w.get(), d.conv,
                                             CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.get(), 1 << 20, &zero, d.y,
                                             d_y.get()));
    return d_y.to_host();
  };
  CHECK(fp32 == raw(CUDNN_FMA_MATH));
  CHECK(tf32 == raw(CUDNN_DEFAULT_MATH));
  std::vector<float> want(static_cast<size_t>(s.y));
  pn::test::Oracle<float>{c, true}.forward(x.data(), xl, w.data(), want.data(), yl, 1, 0);
  pn::test::check_close(tf32, want, 2e-6, 2e-6, "TF32 against the TF32-rounded definition");
  double worst = 0;
  for (size_t i = 0; i < fp32.size(); ++i)
    worst = std::max(worst, std::abs(double(tf32[i]) - fp32[i]) / (1 + std::abs(fp32[i])));
  CHECK(worst > 1e-4);
  CHECK(worst < 1e-2);
}

TEST_CASE("deterministic = true makes backward-weight bit-reproducible; the default need not be") {
  const ConvGeom g = conv_geom(2, 2, 6, {6, 7, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const Sizes s = sizes(g);
  DeviceArray<float> x(pn::test::random_vector<float>(s.x, 51)), dy(pn::test::random_vector<float>(s.y, 52)), dw(s.w);
  auto run = [&] {
    pn::cuda::conv_backward_weight(g, x.get(), dy.get(), dw.get(), nullptr);
    return dw.to_host();
  };
  const auto a = run(), b = run();
  CHECK(a != b);  // the default's first choice, ALGO_0, sums in a varying order
  pn::cuda::ScopedLibraryOptions opts({true, false});
  const int64_t algo1 = launches(ConvDirection::BackwardFilter, 1);
  const auto c = run(), d = run();
  CHECK(c == d);
  CHECK(launches(ConvDirection::BackwardFilter, 1) == algo1 + 2);
  pn::test::check_close(c, a, 1e-5, 1e-4, "deterministic against default");
}

TEST_CASE("a failing algorithm falls back to the next candidate, which is cached") {
  const ConvGeom g = conv_geom(1, 2, 3, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});  // used by no other test
  const Sizes s = sizes(g);
  const auto x = pn::test::random_vector<float>(s.x, 61), dy = pn::test::random_vector<float>(s.y, 62);
  std::vector<float> want(s.w);
  pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), want.data());
  DeviceArray<float> d_x(x), d_dy(dy), d_dw(s.w);
  const auto F = ConvDirection::BackwardFilter;
  const int64_t q0 = pn::cuda::emu::cudnn_heuristic_queries(F), a0 = launches(F, 0), a1 = launches(F, 1);
  pn::cuda::emu::inject_cudnn_failure(F, 0, CUDNN_STATUS_EXECUTION_FAILED);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);
  pn::test::check_close(d_dw.to_host(), want, 1e-5, 1e-4, "after the fallback");
  CHECK(pn::cuda::emu::cudnn_heuristic_queries(F) == q0 + 1);
  CHECK(launches(F, 0) == a0);  // failed, not run
  CHECK(launches(F, 1) == a1 + 1);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);  // cached: no query, ALGO_1
  CHECK(pn::cuda::emu::cudnn_heuristic_queries(F) == q0 + 1);
  CHECK(launches(F, 0) == a0);
  CHECK(launches(F, 1) == a1 + 2);

  // When every candidate fails, the error lists each one's reason.
  const ConvGeom g2 = conv_geom(1, 2, 2, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const Sizes s2 = sizes(g2);
  DeviceArray<float> w2(s2.w), dy2(s2.y), dx2(s2.x);
  pn::cuda::emu::inject_cudnn_failure(ConvDirection::BackwardData, 0, CUDNN_STATUS_NOT_SUPPORTED);
  pn::cuda::emu::inject_cudnn_failure(ConvDirection::BackwardData, 1, CUDNN_STATUS_EXECUTION_FAILED);
  try {
    pn::cuda::conv_backward_input(g2, dy2.get(), w2.get(), dx2.get(), nullptr);
    FAIL("every algorithm failed: the call must throw");
  } catch (const pn::cuda::CudaError& e) {
    INFO(e.what());
    CHECK(mentions(e.what(), "no algorithm could run conv_backward_input for N=1 C_in=2 C_out=2 in=[4, 5, 6]"));
    CHECK(mentions(e.what(), "algorithm 0: CUDNN_STATUS_NOT_SUPPORTED"));
    CHECK(mentions(e.what(), "algorithm 1: CUDNN_STATUS_EXECUTION_FAILED"));
    CHECK(mentions(e.what(), "injected"));
    CHECK(mentions(e.what(), "Skipped: algorithm 2"));
  }
  // A failure that another algorithm cannot cure is raised at once.
  pn::cuda::emu::inject_cudnn_failure(ConvDirection::BackwardData, 0, CUDNN_STATUS_INTERNAL_ERROR);
  const int64_t d1 = launches(ConvDirection::BackwardData, 1);
  CHECK_THROWS_WITH_AS(pn::cuda::conv_backward_input(g2, dy2.get(), w2.get(), dx2.get(), nullptr),
                       doctest::Contains("CUDNN_STATUS_INTERNAL_ERROR"), pn::cuda::CudaError);
  CHECK(launches(ConvDirection::BackwardData, 1) == d1);
  pn::cuda::emu::clear_cudnn_failures();
}

TEST_CASE("sizes past int are refused before any allocation, naming the op, geometry and limit") {
  const ConvGeom big = conv_geom(1, 1, 1, {2048, 2048, 1024}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  CHECK_THROWS_WITH_AS(pn::cuda::conv_forward<float>(big, nullptr, nullptr, nullptr, nullptr),
                       doctest::Contains("conv_forward: elements of the input (N * C_in * in volume) = 4294967296 "
                                         "exceeds cuDNN's limit of 2147483647"),
                       pn::cuda::CudaError);
  CHECK_THROWS_WITH_AS(pn::cuda::conv_backward_weight<double>(big, nullptr, nullptr, nullptr, nullptr),
                       doctest::Contains("in=[2048, 2048, 1024] k=[3, 3, 3]"), pn::cuda::CudaError);
  ConvGeom padded = conv_geom(1, 1, 1, {4, 4, 4}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  padded.pad[2] = int64_t(INT_MAX) + 1;
  CHECK_THROWS_WITH_AS(pn::cuda::conv_backward_input<float>(padded, nullptr, nullptr, nullptr, nullptr),
                       doctest::Contains("conv_backward_input: a padding = 2147483648"), pn::cuda::CudaError);
}

TEST_CASE("the workspace pool keeps its memory, and wrapper errors carry the emulator's reason") {
  const ConvGeom g = conv_geom(1, 2, 2, {3, 4, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const Sizes s = sizes(g);
  DeviceArray<float> x(s.x), w(s.w), y(s.y);
  pn::cuda::conv_forward(g, x.get(), w.get(), y.get(), nullptr);
  cudaMemPool_t pool = nullptr;
  REQUIRE(cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess);
  uint64_t threshold = 0;
  REQUIRE(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold) == cudaSuccess);
  CHECK(threshold == UINT64_MAX);

  std::vector<float> host_x(static_cast<size_t>(s.x));
  try {
    pn::cuda::conv_forward(g, host_x.data(), w.get(), y.get(), nullptr);
    FAIL("a host input must be refused");
  } catch (const pn::cuda::CudaError& e) {
    INFO(e.what());
    CHECK(mentions(e.what(), "CUDNN_STATUS_EXECUTION_FAILED"));
    CHECK(mentions(e.what(), "x (dims [1, 2, 3, 4, 5] strides [120, 60, 20, 5, 1])"));
    CHECK(mentions(e.what(), "is not device memory"));
    CHECK(mentions(e.what(), "in conv_forward[1, 2, 3, 4, 5]"));
  }
}
