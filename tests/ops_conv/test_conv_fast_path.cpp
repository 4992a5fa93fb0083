// The fast float32 CPU convolution (oneDNN, kernels/cpu/conv_dnnl.h, what conv.h picks for
// float32) against the handwritten reference computed in float64: forward, backward-input
// and backward-weight on odd sizes (strides, padding, kernels that are not cubes, channel
// counts that are not multiples of the 16-wide blocks, batch > 1, 2-D and 3-D, a stride
// that drops trailing input, and the transposed-conv shapes of the U-Net and pix2pix), and
// the choice between the two (PENUMBRA_CPU_CONV; CTest also runs these cases with
// PENUMBRA_CPU_CONV=reference, as test_ops_conv_reference_env).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <random>
#include <vector>

#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_reference.h"
#include "test_util.h"
#include "tests/ops_conv/conv_test_values.h"

using pn::kernels::ConvGeom;

namespace {

using pn::test::random_vector;
using pn::test::rel_error;

struct Case {
  const char* name;
  int dims;
  int64_t N, C_in, C_out, in[3], k[3], stride[3], pad[3];
};

ConvGeom geom(const Case& c) {
  ConvGeom g;
  g.spatial_dims = c.dims;
  g.N = c.N, g.C_in = c.C_in, g.C_out = c.C_out;
  for (int j = 0; j < 3; ++j) {
    g.in[j] = c.in[j], g.k[j] = c.k[j], g.stride[j] = c.stride[j], g.pad[j] = c.pad[j];
    g.out[j] = ConvGeom::out_size(c.in[j], c.k[j], c.stride[j], c.pad[j]);
  }
  return g;
}

using pn::test::to_float;

const Case kCases[] = {
    {"3-D odd: stride (2,1,2), pad (1,0,1), k 3x2x3, batch 2", 3, 2, 3, 5, {5, 7, 6}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}},
    {"3-D 17 -> 19 channels, k 3, pad 1, batch 2", 3, 2, 17, 19, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"3-D stride 2 drops trailing input (in 6, k 1)", 3, 1, 4, 3, {6, 6, 5}, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}},
    {"3-D pointwise 1x1x1", 3, 2, 16, 8, {3, 4, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}},
    {"3-D U-Net up-conv shape: k 2 stride 2", 3, 2, 32, 16, {2, 3, 4}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},
    {"3-D first layer: 1 -> 8 channels", 3, 2, 1, 8, {6, 7, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"3-D critic: k 5 stride 2 pad 2", 3, 1, 8, 16, {7, 9, 8}, {5, 5, 5}, {2, 2, 2}, {2, 2, 2}},
    {"2-D pix2pix down: k 4 stride 2 pad 1, 29 -> 16, batch 3", 2, 3, 29, 16, {1, 11, 10}, {1, 4, 4}, {1, 2, 2}, {0, 1, 1}},
    {"2-D k 3 pad 1, 20 -> 33", 2, 2, 20, 33, {1, 9, 7}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}},
    {"3-D 32 -> 32 (16-channel blocks), k 3 pad 1, odd volume", 3, 1, 32, 32, {5, 9, 11}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
};

pn::cpu::ConvImpl env_impl() { return pn::cpu::parse_conv_impl(std::getenv("PENUMBRA_CPU_CONV")); }

}  // namespace

TEST_CASE("conv fast path: PENUMBRA_CPU_CONV names the implementation, and nothing else") {
  using pn::cpu::ConvImpl;
  const ConvImpl fallback = pn::cpu::dnnl_available() ? ConvImpl::Dnnl : ConvImpl::Reference;
  CHECK(pn::cpu::parse_conv_impl(nullptr) == fallback);
  CHECK(pn::cpu::parse_conv_impl("") == fallback);
  CHECK(pn::cpu::parse_conv_impl("reference") == ConvImpl::Reference);
  if (pn::cpu::dnnl_available()) CHECK(pn::cpu::parse_conv_impl("dnnl") == ConvImpl::Dnnl);
  else CHECK_THROWS_WITH_AS(pn::cpu::parse_conv_impl("dnnl"), doctest::Contains("needs a build with oneDNN"),
                            std::invalid_argument);
  CHECK_THROWS_WITH_AS(pn::cpu::parse_conv_impl("fast"), doctest::Contains("PENUMBRA_CPU_CONV=fast: expected 'reference'"),
                       std::invalid_argument);
}

TEST_CASE("conv fast path: float32 implementation is the environment's choice, oneDNN by default where built in") {
  CHECK(pn::cpu::conv_impl() == env_impl());
  if (!pn::cpu::dnnl_available()) {
    CHECK(pn::cpu::conv_impl() == pn::cpu::ConvImpl::Reference);
    CHECK_THROWS(pn::cpu::set_conv_impl(pn::cpu::ConvImpl::Dnnl));
    return;
  }
  for (const Case& c : kCases) {
    CAPTURE(c.name);
    CHECK(pn::cpu::dnnl_conv_supported(geom(c)));
  }
}

TEST_CASE("conv fast path: forward and both backwards match the float64 reference") {
  if (!pn::cpu::dnnl_available()) return;
  std::mt19937 rng(16);
  for (const Case& c : kCases) {
    CAPTURE(c.name);
    const ConvGeom g = geom(c);
    const size_t nx = g.N * g.C_in * g.in_volume(), nw = g.C_out * g.col_rows(), ny = g.N * g.C_out * g.out_volume();
    const auto x = random_vector(nx, rng), w = random_vector(nw, rng), dy = random_vector(ny, rng);
    std::vector<double> y(ny), dx(nx), dw(nw);
    pn::cpu::reference::conv_forward(g, x.data(), w.data(), y.data());
    pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), dx.data());
    pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), dw.data());
    const auto xf = to_float(x), wf = to_float(w), dyf = to_float(dy);
    // Stale contents everywhere: every pass overwrites its output.
    std::vector<float> yf(ny, 7.f), dxf(nx, 7.f), dwf(nw, 7.f);
    // The second run reuses the cached plan and buffers; the third runs on one thread (a
    // plan of its own: primitives fix their thread count).
    const int threads = omp_get_max_threads();
    for (int rep = 0; rep < 3; ++rep) {
      if (rep == 2) omp_set_num_threads(1);
      pn::cpu::dnnl_conv_forward(g, xf.data(), wf.data(), yf.data());
      pn::cpu::dnnl_conv_backward_input(g, dyf.data(), wf.data(), dxf.data());
      pn::cpu::dnnl_conv_backward_weight(g, xf.data(), dyf.data(), dwf.data());
      CHECK(rel_error(yf, y) < 1e-5);
      CHECK(rel_error(dxf, dx) < 1e-5);
      CHECK(rel_error(dwf, dw) < 1e-5);
      std::fill(yf.begin(), yf.end(), 7.f), std::fill(dxf.begin(), dxf.end(), 7.f), std::fill(dwf.begin(), dwf.end(), 7.f);
    }
    omp_set_num_threads(threads);
  }
}

TEST_CASE("conv fast path: the dispatcher's float32 result is the chosen implementation's, float64 the reference's") {
  if (!pn::cpu::dnnl_available()) return;
  std::mt19937 rng(17);
  const ConvGeom g = geom(kCases[1]);
  const size_t nx = g.N * g.C_in * g.in_volume(), nw = g.C_out * g.col_rows(), ny = g.N * g.C_out * g.out_volume();
  const auto xf = to_float(random_vector(nx, rng)), wf = to_float(random_vector(nw, rng));
  std::vector<float> via_dispatch(ny), via_dnnl(ny), via_reference(ny);
  pn::cpu::dnnl_conv_forward(g, xf.data(), wf.data(), via_dnnl.data());
  pn::cpu::reference::conv_forward(g, xf.data(), wf.data(), via_reference.data());
  REQUIRE(via_dnnl != via_reference);  // else the checks below could not tell them apart
  pn::cpu::conv_forward(g, xf.data(), wf.data(), via_dispatch.data());
  CHECK(via_dispatch == (env_impl() == pn::cpu::ConvImpl::Dnnl ? via_dnnl : via_reference));
  const pn::cpu::ConvImpl before = pn::cpu::conv_impl();
  pn::cpu::set_conv_impl(pn::cpu::ConvImpl::Reference);
  pn::cpu::conv_forward(g, xf.data(), wf.data(), via_dispatch.data());
  CHECK(via_dispatch == via_reference);
  pn::cpu::set_conv_impl(pn::cpu::ConvImpl::Dnnl);
  pn::cpu::conv_forward(g, xf.data(), wf.data(), via_dispatch.data());
  CHECK(via_dispatch == via_dnnl);
  pn::cpu::set_conv_impl(before);
  const std::vector<double> xd(xf.begin(), xf.end()), wd(wf.begin(), wf.end());
  std::vector<double> yd(ny), yd_dispatch(ny);
  pn::cpu::reference::conv_forward(g, xd.data(), wd.data(), yd.data());
  pn::cpu::conv_forward(g, xd.data(), wd.data(), yd_dispatch.data());
  CHECK(yd_dispatch == yd);
  // A planted bug: a wrong weight must be caught by the comparison the test above makes.
  auto wrong = wf;
  wrong[3] += 0.5f;
  pn::cpu::dnnl_conv_forward(g, xf.data(), wrong.data(), via_dnnl.data());
  CHECK(rel_error(via_dnnl, yd) > 1e-3);
}

TEST_CASE("conv fast path: channels-first float32 backward-weight is the reference's on a CPU without AVX-512") {
  if (!pn::cpu::dnnl_available() || pn::cpu::conv_impl() != pn::cpu::ConvImpl::Dnnl) return;
  std::mt19937 rng(18);
  const ConvGeom g = geom(kCases[1]);  // 17 -> 19 channels: no few-channel kernel
  const bool avx512 = __builtin_cpu_supports("avx512f");
  CHECK(pn::cpu::reference_bwdw_preferred(g) == !avx512);
  ConvGeom last = g;
  last.channels_last = true;
  CHECK_FALSE(pn::cpu::reference_bwdw_preferred(last));
  const size_t nx = g.N * g.C_in * g.in_volume(), nw = g.C_out * g.col_rows(), ny = g.N * g.C_out * g.out_volume();
  const auto xf = to_float(random_vector(nx, rng)), dyf = to_float(random_vector(ny, rng));
  std::vector<float> via_dispatch(nw, 7.f), via_dnnl(nw), via_reference(nw);
  pn::cpu::dnnl_conv_backward_weight(g, xf.data(), dyf.data(), via_dnnl.data());
  pn::cpu::reference::conv_backward_weight(g, xf.data(), dyf.data(), via_reference.data());
  REQUIRE(via_dnnl != via_reference);  // else the check below could not tell them apart
  pn::cpu::conv_backward_weight(g, xf.data(), dyf.data(), via_dispatch.data());
  CHECK(via_dispatch == (avx512 ? via_dnnl : via_reference));
  const std::string chosen = avx512 ? "oneDNN (AVX-512)" : "the reference (no AVX-512)";
  MESSAGE("backward-weight, channels-first: " << chosen);
}
