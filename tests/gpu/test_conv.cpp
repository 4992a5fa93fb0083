// cuDNN convolutions (kernels/cuda/dnn.h) against the CPU reference (vol2col + BLAS):
// forward, backward-input and backward-weight, 3-D with stride and padding and 2-D (D = 1).
// Tolerance: different summation orders over C_in k^3 (or N out^3) terms in FP32/FP64
// math: rtol 1e-5 / 1e-12, atol that times the number of summands.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/dnn.h"

using pn::test::DeviceArray;
using pn::kernels::ConvGeom;

namespace {

ConvGeom conv_geom(int64_t n, int64_t cin, int64_t cout, std::vector<int64_t> in, std::vector<int64_t> k,
                   std::vector<int64_t> stride, std::vector<int64_t> pad) {
  ConvGeom g;
  g.N = n;
  g.C_in = cin;
  g.C_out = cout;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.k[d] = k[d];
    g.stride[d] = stride[d];
    g.pad[d] = pad[d];
    g.out[d] = ConvGeom::out_size(in[d], k[d], stride[d], pad[d]);
  }
  return g;
}

template <class T>
void check_conv() {
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  const ConvGeom geoms[] = {conv_geom(2, 3, 5, {7, 9, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            conv_geom(2, 4, 6, {9, 7, 11}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}),
                            conv_geom(3, 2, 4, {1, 13, 10}, {1, 3, 3}, {1, 2, 1}, {0, 1, 1})};
  int seed = 300;
  for (const ConvGeom& g : geoms) {
    const int64_t nx = g.N * g.C_in * g.in_volume(), ny = g.N * g.C_out * g.out_volume();
    const int64_t nw = g.C_out * g.C_in * g.k_volume();
    const auto x = pn::test::random_vector<T>(nx, seed++), w = pn::test::random_vector<T>(nw, seed++);
    const auto dy = pn::test::random_vector<T>(ny, seed++);
    std::vector<T> y(ny), dx(nx), dw(nw);
    pn::cpu::reference::conv_forward(g, x.data(), w.data(), y.data());
    pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), dx.data());
    pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), dw.data());
    DeviceArray<T> d_x(x), d_w(w), d_dy(dy), d_y(ny), d_dx(nx), d_dw(nw);
    pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
    pn::cuda::conv_backward_input(g, d_dy.get(), d_w.get(), d_dx.get(), nullptr);
    pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);
    const std::string what = "conv N" + std::to_string(g.N) + " C" + std::to_string(g.C_in) + "->" +
                             std::to_string(g.C_out) + " in " + std::to_string(g.in[0]) + "x" +
                             std::to_string(g.in[1]) + "x" + std::to_string(g.in[2]);
    const double k_terms = static_cast<double>(g.col_rows()), n_terms = static_cast<double>(g.N * g.out_volume());
    pn::test::check_close(d_y.to_host(), y, tol, tol * k_terms, what + " forward");
    pn::test::check_close(d_dx.to_host(), dx, tol, tol * k_terms, what + " backward input");
    pn::test::check_close(d_dw.to_host(), dw, tol, tol * n_terms, what + " backward weight");
  }
}

}  // namespace

TEST_CASE("cuDNN convolutions match the CPU reference") {
  check_conv<float>();
  check_conv<double>();
}
