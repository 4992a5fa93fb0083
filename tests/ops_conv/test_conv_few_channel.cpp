// The direct few-channel backward-weight kernel (kernels/cpu/conv_few_channel.h) against the
// float64 reference on odd sizes: widths that are not multiples of the 16-float vector (the
// zero-padded tail), channel counts that are not multiples of its 8-channel block, padding 0,
// 1 and 2, kernels 3x2x3 and 1x3x3 (2-D), batch > 1, C_in != C_out; its result independent of
// the thread count; which geometries it takes; and that the dispatcher (conv.h) runs it for
// the small U-Net's few-channel layers when the fast path is chosen. Stride-2 layers are not
// this kernel's (few_channel_bwdw_supported is false; oneDNN runs them: test_conv_fast_path).
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_few_channel.h"
#include "kernels/cpu/conv_reference.h"
#include "test_util.h"
#include "tests/ops_conv/conv_test_values.h"

using pn::kernels::ConvGeom;

namespace {

using pn::test::random_vector;
using pn::test::rel_error;

using Case = pn::test::ConvCase;
constexpr auto make = pn::test::stride1_geom;

const Case kCases[] = {
    {"8 -> 8, k 3 pad 1, batch 2, W 19 (a vector tail)", make(2, 8, 8, {5, 7, 19}, {3, 3, 3}, {1, 1, 1})},
    {"3 -> 5, k 3x2x3, pad (1,0,1), batch 2", make(2, 3, 5, {4, 6, 7}, {3, 2, 3}, {1, 0, 1})},
    {"17 -> 19 (three 8-channel blocks), pad 1", make(1, 17, 19, {3, 4, 20}, {3, 3, 3}, {1, 1, 1})},
    {"2-D 6 -> 10, k 1x3x3 pad (0,1,1), batch 3, W 33", make(3, 6, 10, {1, 9, 33}, {1, 3, 3}, {0, 1, 1})},
    {"1 -> 8 (first layer), pad 2 (output wider than input)", make(2, 1, 8, {4, 5, 6}, {3, 3, 3}, {2, 2, 2})},
    {"16 -> 8, no padding (output narrower)", make(2, 16, 8, {5, 6, 18}, {3, 3, 3}, {0, 0, 0})},
};

struct Operands {
  std::vector<double> x, dy, dw;  // dw: the float64 reference
  std::vector<float> xf, dyf;
};

Operands operands(const ConvGeom& g, std::mt19937& rng) {
  Operands o;
  o.x = random_vector(static_cast<size_t>(g.N * g.C_in * g.in_volume()), rng);
  o.dy = random_vector(static_cast<size_t>(g.N * g.C_out * g.out_volume()), rng);
  o.dw.resize(static_cast<size_t>(g.C_out * g.col_rows()));
  pn::cpu::reference::conv_backward_weight(g, o.x.data(), o.dy.data(), o.dw.data());
  o.xf.assign(o.x.begin(), o.x.end());
  o.dyf.assign(o.dy.begin(), o.dy.end());
  return o;
}

}  // namespace

TEST_CASE("conv few-channel backward-weight: matches the float64 reference on odd sizes, at any thread count") {
  if (!pn::cpu::few_channel_bwdw_supported(kCases[0].g)) {
    MESSAGE("skipped: no AVX-512 on this CPU, the kernel's instruction set (oneDNN runs these convolutions)");
    return;
  }
  std::mt19937 rng(161);
  for (const Case& c : kCases) {
    CAPTURE(c.name);
    REQUIRE(pn::cpu::few_channel_bwdw_supported(c.g));
    const Operands o = operands(c.g, rng);
    std::vector<float> dw(o.dw.size(), 7.f), dw_one_thread(o.dw.size(), -7.f);  // stale: overwritten
    pn::cpu::few_channel_conv_backward_weight(c.g, o.xf.data(), o.dyf.data(), dw.data());
    CHECK(rel_error(dw, o.dw) < 1e-5);
    pn::test::on_one_thread(
        [&] { pn::cpu::few_channel_conv_backward_weight(c.g, o.xf.data(), o.dyf.data(), dw_one_thread.data()); });
    CHECK(dw_one_thread == dw);
  }
  // A planted bug: one wrong input value must be caught by the comparison above.
  const Case& c = kCases[0];
  Operands o = operands(c.g, rng);
  o.xf[5] += 0.5f;
  std::vector<float> dw(o.dw.size());
  pn::cpu::few_channel_conv_backward_weight(c.g, o.xf.data(), o.dyf.data(), dw.data());
  CHECK(rel_error(dw, o.dw) > 1e-4);
}

TEST_CASE("conv few-channel backward-weight: the geometries it takes, and the dispatcher's choice") {
  const ConvGeom small = make(2, 8, 8, {5, 7, 19}, {3, 3, 3}, {1, 1, 1});
  if (!pn::cpu::few_channel_bwdw_supported(small)) {
    MESSAGE("skipped: this CPU has no AVX-512");
    return;
  }
  const ConvGeom stride2 = ConvGeom::make(1, 8, 8, {6, 6, 6}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
  const ConvGeom k2 = make(1, 8, 8, {6, 6, 6}, {2, 2, 2}, {0, 0, 0});
  CHECK_FALSE(pn::cpu::few_channel_bwdw_supported(stride2));
  CHECK_FALSE(pn::cpu::few_channel_bwdw_supported(k2));
  CHECK(pn::cpu::few_channel_bwdw_preferred(small));
  CHECK(pn::cpu::few_channel_bwdw_preferred(make(1, 16, 8, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  CHECK_FALSE(pn::cpu::few_channel_bwdw_preferred(make(1, 16, 16, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  CHECK_FALSE(pn::cpu::few_channel_bwdw_preferred(make(1, 32, 2, {4, 4, 4}, {3, 3, 3}, {1, 1, 1})));
  std::vector<float> x(64 * 8 * 8), dy(x.size()), dw(8 * 8 * 8);
  CHECK_THROWS_WITH_AS(pn::cpu::few_channel_conv_backward_weight(k2, x.data(), dy.data(), dw.data()),
                       doctest::Contains("needs stride 1, kernel width 3"), std::invalid_argument);
  // The dispatcher: this kernel's result bit for bit when the fast path is chosen.
  std::mt19937 rng(162);
  const Operands o = operands(small, rng);
  std::vector<float> direct(o.dw.size()), via_dispatch(o.dw.size()), reference(o.dw.size());
  pn::cpu::few_channel_conv_backward_weight(small, o.xf.data(), o.dyf.data(), direct.data());
  pn::cpu::reference::conv_backward_weight(small, o.xf.data(), o.dyf.data(), reference.data());
  REQUIRE(direct != reference);  // else the check below could not tell them apart
  pn::cpu::conv_backward_weight<float>(small, o.xf.data(), o.dyf.data(), via_dispatch.data());
  CHECK(via_dispatch == (pn::cpu::conv_impl() == pn::cpu::ConvImpl::Dnnl ? direct : reference));
}
