// The CPU conv kernels called directly: splitting the column matrix into chunks of output
// rows (which the op-level tests, being small, never do) must not change any pass.
#include <random>
#include <vector>

#include "kernels/op_geometry.h"
#include "kernels/cpu/conv_reference.h"
#include "test_util.h"
#include "tests/ops_conv/conv_test_values.h"

using pn::kernels::ConvGeom;

namespace {

using pn::test::random_vector;

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("conv kernels: chunked column buffers give the same result as one chunk") {
  std::mt19937 rng(51);
  // 3-D, stride (2, 1, 2), padding 1, odd sizes: chunks of 1, 2 and 5 output rows cross
  // depth-slice boundaries and leave a partial last chunk.
  ConvGeom g;
  g.N = 2, g.C_in = 3, g.C_out = 2;
  const int64_t in[3] = {5, 7, 6}, k[3] = {3, 2, 3}, s[3] = {2, 1, 2};
  for (int j = 0; j < 3; ++j) {
    g.in[j] = in[j], g.k[j] = k[j], g.stride[j] = s[j], g.pad[j] = 1;
    g.out[j] = ConvGeom::out_size(in[j], k[j], s[j], 1);
  }
  const size_t nx = g.N * g.C_in * g.in_volume(), nw = g.C_out * g.col_rows(), ny = g.N * g.C_out * g.out_volume();
  auto x = random_vector(nx, rng), w = random_vector(nw, rng), dy = random_vector(ny, rng);
  std::vector<double> y0(ny), dx0(nx), dw0(nw);
  pn::cpu::reference::conv_forward(g, x.data(), w.data(), y0.data());
  pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), dx0.data());
  pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), dw0.data());
  const int64_t per_row = g.col_rows() * g.out[2];
  for (int64_t rows : {1, 2, 5}) {
    CAPTURE(rows);
    ConvGeom c = g;
    c.col_budget = rows * per_row;
    std::vector<double> y(ny), dx(nx, 7.0), dw(nw, 7.0);  // stale values must be overwritten
    pn::cpu::reference::conv_forward(c, x.data(), w.data(), y.data());
    pn::cpu::reference::conv_backward_input(c, dy.data(), w.data(), dx.data());
    pn::cpu::reference::conv_backward_weight(c, x.data(), dy.data(), dw.data());
    CHECK(max_diff(y, y0) < 1e-12);
    CHECK(max_diff(dx, dx0) < 1e-12);
    CHECK(max_diff(dw, dw0) < 1e-12);
  }
}
