// The direct few-channel forward and backward-input kernels (kernels/cpu/conv_few_channel_fwd.h)
// against the float64 reference on odd sizes: widths that are not multiples of the 16-float
// vector (masked stores at row ends; W 8, 19, 33, 40), widths up to 16 where one tile spans two
// rows, channel counts that are not multiples of the 8-channel block (C_in = 1, 3 -> 5,
// 17 -> 19), padding 0, 1 and 2 (forward also 3 and a mixed (2,0,1)), kernels 3x2x3 and 1x3x3
// (2-D), batch > 1; results independent of the thread count (bit for bit); stale output
// overwritten; which geometries they take; and that the dispatcher (conv.h) runs them for the
// small U-Net's few-channel layers when the fast path is chosen.
#include <omp.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_few_channel_fwd.h"
#include "kernels/cpu/conv_reference.h"
#include "test_util.h"
#include "tests/ops_conv/conv_test_values.h"

using pn::kernels::ConvGeom;

namespace {

using pn::test::random_vector;
using pn::test::on_one_thread;
using pn::test::rel_error;
using pn::test::to_float;

using Case = pn::test::ConvCase;
constexpr auto make = pn::test::stride1_geom;

// Every case has padding <= k - 1, so backward-input runs them too.
const Case kCases[] = {
    {"8 -> 8, k 3 pad 1, batch 2, W 19 (a vector tail)", make(2, 8, 8, {5, 7, 19}, {3, 3, 3}, {1, 1, 1})},
    {"3 -> 5, k 3x2x3, pad (1,0,1), batch 2", make(2, 3, 5, {4, 6, 7}, {3, 2, 3}, {1, 0, 1})},
    {"17 -> 19 (three 8-channel blocks), pad 1, W 40", make(1, 17, 19, {3, 4, 40}, {3, 3, 3}, {1, 1, 1})},
    {"2-D 6 -> 10, k 1x3x3 pad (0,1,1), batch 3, W 33", make(3, 6, 10, {1, 9, 33}, {1, 3, 3}, {0, 1, 1})},
    {"1 -> 8 (first layer), pad 2 (output wider than input)", make(2, 1, 8, {4, 5, 6}, {3, 3, 3}, {2, 2, 2})},
    {"16 -> 8, no padding (output narrower), W 18", make(2, 16, 8, {5, 6, 18}, {3, 3, 3}, {0, 0, 0})},
    {"8 -> 1, pad 1, W 8, odd rows (a single-vector tile at the end)", make(2, 8, 1, {3, 5, 8}, {3, 3, 3}, {1, 1, 1})},
};

// Forward only: padding beyond k - 1 (outputs that see only zeros) and mixed per dimension.
const Case kForwardOnly[] = {
    {"4 -> 6, pad 3 (border outputs all zero)", make(2, 4, 6, {3, 4, 5}, {3, 3, 3}, {3, 3, 3})},
    {"5 -> 9, pad (2,0,1), W 17", make(1, 5, 9, {4, 6, 17}, {3, 3, 3}, {2, 0, 1})},
};

// y = conv(x, w): the few-channel kernel against the float64 reference, then the same call
// on one thread, which must give the same bits.
void check_forward(const Case& c, std::mt19937& rng) {
  const std::string name = c.name;
  CAPTURE(name);
  const ConvGeom& g = c.g;
  REQUIRE(pn::cpu::few_channel_fwd_supported(g));
  const auto x = random_vector(static_cast<size_t>(g.N * g.C_in * g.in_volume()), rng);
  const auto w = random_vector(static_cast<size_t>(g.C_out * g.col_rows()), rng);
  std::vector<double> y(static_cast<size_t>(g.N * g.C_out * g.out_volume()));
  pn::cpu::reference::conv_forward(g, x.data(), w.data(), y.data());
  const auto xf = to_float(x), wf = to_float(w);
  std::vector<float> yf(y.size(), 7.f), y_one_thread(y.size(), -7.f);  // stale: overwritten
  pn::cpu::few_channel_conv_forward(g, xf.data(), wf.data(), yf.data());
  CHECK(rel_error(yf, y) < 1e-5);
  on_one_thread([&] { pn::cpu::few_channel_conv_forward(g, xf.data(), wf.data(), y_one_thread.data()); });
  CHECK(y_one_thread == yf);
}

// dx = conv^T(dy, w): as above.
void check_backward_input(const Case& c, std::mt19937& rng) {
  const std::string name = c.name;
  CAPTURE(name);
  const ConvGeom& g = c.g;
  REQUIRE(pn::cpu::few_channel_bwdi_supported(g));
  const auto dy = random_vector(static_cast<size_t>(g.N * g.C_out * g.out_volume()), rng);
  const auto w = random_vector(static_cast<size_t>(g.C_out * g.col_rows()), rng);
  std::vector<double> dx(static_cast<size_t>(g.N * g.C_in * g.in_volume()));
  pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), dx.data());
  const auto dyf = to_float(dy), wf = to_float(w);
  std::vector<float> dxf(dx.size(), 7.f), dx_one_thread(dx.size(), -7.f);
  pn::cpu::few_channel_conv_backward_input(g, dyf.data(), wf.data(), dxf.data());
  CHECK(rel_error(dxf, dx) < 1e-5);
  on_one_thread([&] { pn::cpu::few_channel_conv_backward_input(g, dyf.data(), wf.data(), dx_one_thread.data()); });
  CHECK(dx_one_thread == dxf);
}

}  // namespace

TEST_CASE("conv few-channel forward: matches the float64 reference on odd sizes, at any thread count") {
  if (!pn::cpu::few_channel_fwd_supported(kCases[0].g)) {
    MESSAGE("skipped: no AVX-512 on this CPU, the kernel's instruction set (oneDNN runs these convolutions)");
    return;
  }
  std::mt19937 rng(171);
  for (const Case& c : kCases) check_forward(c, rng);
  for (const Case& c : kForwardOnly) check_forward(c, rng);
}

TEST_CASE("conv few-channel backward-input: matches the float64 reference on odd sizes, at any thread count") {
  if (!pn::cpu::few_channel_bwdi_supported(kCases[0].g)) {
    MESSAGE("skipped: no AVX-512 on this CPU, the kernel's instruction set (oneDNN runs these convolutions)");
    return;
  }
  std::mt19937 rng(172);
  for (const Case& c : kCases) check_backward_input(c, rng);
}

TEST_CASE("conv few-channel forward / backward-input: the geometries they take, and the dispatcher's choice") {
  const ConvGeom small = make(2, 8, 8, {8, 7, 19}, {3, 3, 3}, {1, 1, 1});
  if (!pn::cpu::few_channel_fwd_supported(small)) {
    MESSAGE("skipped: this CPU has no AVX-512");
    return;
  }
  const ConvGeom stride2 = ConvGeom::make(1, 8, 8, {6, 6, 6}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
  const ConvGeom k2 = make(1, 8, 8, {6, 6, 6}, {2, 2, 2}, {0, 0, 0});
  const ConvGeom pad3 = make(1, 8, 8, {6, 6, 6}, {3, 3, 3}, {3, 3, 3});
  CHECK_FALSE(pn::cpu::few_channel_fwd_supported(stride2));
  CHECK_FALSE(pn::cpu::few_channel_fwd_supported(k2));
  CHECK(pn::cpu::few_channel_fwd_supported(pad3));
  CHECK_FALSE(pn::cpu::few_channel_bwdi_supported(pad3));  // its equivalent forward's padding is -1
  CHECK_FALSE(pn::cpu::few_channel_bwdi_supported(stride2));
  ConvGeom inconsistent = small;
  inconsistent.in[2] += 1;  // dx would not have the extent the equivalent forward writes
  CHECK_FALSE(pn::cpu::few_channel_bwdi_supported(inconsistent));
  CHECK(pn::cpu::few_channel_fwd_preferred(make(1, 16, 8, {8, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  CHECK(pn::cpu::few_channel_bwdi_preferred(make(1, 8, 16, {8, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  // Too few tasks per sample (output depth planes x 8-channel blocks < 8): 2-D layers and 4
  // planes of one block keep oneDNN's spatial split, whatever the batch size.
  for (int64_t n : {1, 64}) {
    CHECK_FALSE(pn::cpu::few_channel_fwd_preferred(make(n, 8, 8, {1, 32, 32}, {1, 3, 3}, {0, 1, 1})));
    CHECK_FALSE(pn::cpu::few_channel_bwdi_preferred(make(n, 8, 8, {1, 32, 32}, {1, 3, 3}, {0, 1, 1})));
    CHECK_FALSE(pn::cpu::few_channel_fwd_preferred(make(n, 16, 8, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  }
  CHECK_FALSE(pn::cpu::few_channel_fwd_preferred(make(1, 8, 16, {8, 16, 16}, {3, 3, 3}, {1, 1, 1})));
  CHECK(pn::cpu::few_channel_fwd_preferred(make(1, 8, 16, {4, 4, 32}, {3, 3, 3}, {1, 1, 1})));
  CHECK_FALSE(pn::cpu::few_channel_fwd_preferred(make(1, 16, 16, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  CHECK_FALSE(pn::cpu::few_channel_bwdi_preferred(make(1, 32, 2, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  CHECK_FALSE(pn::cpu::few_channel_fwd_preferred(stride2));
  std::vector<float> x(8 * 12 * 12 * 12), w(8 * 8 * 27), y(x.size());
  CHECK_THROWS_WITH_AS(pn::cpu::few_channel_conv_forward(k2, x.data(), w.data(), y.data()),
                       doctest::Contains("needs stride 1, kernel width 3"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(pn::cpu::few_channel_conv_backward_input(pad3, y.data(), w.data(), x.data()),
                       doctest::Contains("0 <= padding <= k - 1"), std::invalid_argument);
  // The dispatcher: this kernel's result bit for bit when it is preferred and the fast path
  // chosen (told apart from oneDNN's, which sums in another order), else the reference's.
  REQUIRE(pn::cpu::few_channel_fwd_preferred(small));
  REQUIRE(pn::cpu::few_channel_bwdi_preferred(small));
  std::mt19937 rng(173);
  const auto a = to_float(random_vector(static_cast<size_t>(small.N * small.C_in * small.in_volume()), rng));
  const auto wf = to_float(random_vector(static_cast<size_t>(small.C_out * small.col_rows()), rng));
  const bool fast = pn::cpu::conv_impl() == pn::cpu::ConvImpl::Dnnl;
  std::vector<float> direct(a.size()), other(a.size()), via_dispatch(a.size());  // C_in == C_out, in == out
  pn::cpu::few_channel_conv_forward(small, a.data(), wf.data(), direct.data());
  if (fast) pn::cpu::dnnl_conv_forward(small, a.data(), wf.data(), other.data());
  else pn::cpu::reference::conv_forward(small, a.data(), wf.data(), other.data());
  if (fast) REQUIRE(direct != other);  // else the check below could not tell them apart (the
  // reference may agree with the direct kernel bit for bit: both sum ci, kz, ky, kx in order)
  pn::cpu::conv_forward<float>(small, a.data(), wf.data(), via_dispatch.data());
  CHECK(via_dispatch == (fast ? direct : other));
  pn::cpu::few_channel_conv_backward_input(small, a.data(), wf.data(), direct.data());
  if (fast) pn::cpu::dnnl_conv_backward_input(small, a.data(), wf.data(), other.data());
  else pn::cpu::reference::conv_backward_input(small, a.data(), wf.data(), other.data());
  if (fast) REQUIRE(direct != other);
  pn::cpu::conv_backward_input<float>(small, a.data(), wf.data(), via_dispatch.data());
  CHECK(via_dispatch == (fast ? direct : other));
}
