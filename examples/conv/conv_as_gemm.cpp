// Chapter 2: a convolution is three matrix products. This program writes im2col and its
// adjoint col2im in plain loops (2-D, one sample at a time), builds forward, backward-input
// and backward-weight from them as GEMMs, and checks each against pn::conv and its
// autograd gradients; then checks that conv_transpose is backward-input, the adjoint
// identity behind double backward, and gradgradcheck through conv.
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/gradcheck.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "examples/example_check.h"

using namespace pn;
using pn::examples::check;

namespace {

struct Geom {
  int64_t N, C, H, W, O, k, stride, pad;
  int64_t Ho() const { return (H + 2 * pad - k) / stride + 1; }
  int64_t Wo() const { return (W + 2 * pad - k) / stride + 1; }
  int64_t K() const { return C * k * k; }  // rows of the column matrix
  int64_t P() const { return Ho() * Wo(); }  // its columns: output positions
};

// The input pixel that output position p = (oy, ox) reads through kernel row r = (c, ky, kx),
// or -1 in the zero padding. col[r][p] = x[that pixel].
int64_t source(const Geom& g, int64_t r, int64_t p) {
  const int64_t c = r / (g.k * g.k), ky = r / g.k % g.k, kx = r % g.k;
  const int64_t iy = p / g.Wo() * g.stride - g.pad + ky, ix = p % g.Wo() * g.stride - g.pad + kx;
  if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) return -1;
  return (c * g.H + iy) * g.W + ix;
}

std::vector<double> im2col(const Geom& g, const double* x) {  // x: one sample [C, H, W]
  std::vector<double> col(g.K() * g.P(), 0.0);
  for (int64_t r = 0; r < g.K(); ++r)
    for (int64_t p = 0; p < g.P(); ++p)
      if (int64_t s = source(g, r, p); s >= 0) col[r * g.P() + p] = x[s];
  return col;
}

void col2im_add(const Geom& g, const std::vector<double>& col, double* dx) {  // the adjoint: += along the same map
  for (int64_t r = 0; r < g.K(); ++r)
    for (int64_t p = 0; p < g.P(); ++p)
      if (int64_t s = source(g, r, p); s >= 0) dx[s] += col[r * g.P() + p];
}

// C[m, n] = sum_k op(A)[m, k] op(B)[k, n] with op = transpose when ta / tb (row-major).
std::vector<double> gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, const double* a, const double* b) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < kk; ++l) c[i * n + j] += (ta ? a[l * m + i] : a[i * kk + l]) * (tb ? b[j * kk + l] : b[l * n + j]);
  return c;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = a.size() == b.size() ? 0.0 : 1e300;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double dot(const Tensor& a, const Tensor& b) { return sum(a * b).item(); }

}  // namespace

int main() {
  const Geom g{2, 3, 7, 7, 4, 3, 2, 1};  // N, C, H, W, O (output channels), k, stride, pad
  Generator gen(11);
  Tensor x = Tensor::randn({g.N, g.C, g.H, g.W}, gen, DType::Float64).requires_grad_();
  Tensor w = Tensor::randn({g.O, g.C, g.k, g.k}, gen, DType::Float64).requires_grad_();
  Tensor dy = Tensor::randn({g.N, g.O, g.Ho(), g.Wo()}, gen, DType::Float64);  // some upstream gradient

  // The three GEMMs, sample by sample. W viewed as a matrix is [O, K] without any copy.
  std::vector<double> y(g.N * g.O * g.P()), dx(g.N * g.C * g.H * g.W, 0.0), dw(g.O * g.K(), 0.0);
  const double *px = x.data<double>(), *pw = w.data<double>(), *pdy = dy.data<double>();
  for (int64_t n = 0; n < g.N; ++n) {
    const auto col = im2col(g, px + n * g.C * g.H * g.W);
    const auto yn = gemm(false, false, g.O, g.P(), g.K(), pw, col.data());  // y[n] = W col
    std::copy(yn.begin(), yn.end(), y.begin() + n * g.O * g.P());
    const double* dyn = pdy + n * g.O * g.P();
    col2im_add(g, gemm(true, false, g.K(), g.P(), g.O, pw, dyn), dx.data() + n * g.C * g.H * g.W);  // W^T dy[n]
    const auto dwn = gemm(false, true, g.O, g.K(), g.P(), dyn, col.data());  // dy[n] col^T
    for (size_t i = 0; i < dw.size(); ++i) dw[i] += dwn[i];
  }

  Tensor out = conv(x, w, {}, {int(g.stride)}, {int(g.pad)});
  check(max_diff(out.to_vector(), y) < 1e-12, "forward: pn::conv == W @ im2col(x), per sample");
  auto grads = grad({out}, {x, w}, {dy});
  check(max_diff(grads[0].to_vector(), dx) < 1e-12, "backward-input: dx == col2im(W^T @ dy)");
  check(max_diff(grads[1].to_vector(), dw) < 1e-12, "backward-weight: dW == sum_n dy[n] @ im2col(x[n])^T");

  // conv_transpose with the same weight and geometry *is* backward-input: U-Net's up-convolution.
  Tensor up = conv_transpose(dy, w.detach(), {}, {int(g.stride)}, {int(g.pad)});
  check(up.shape() == x.shape() && max_diff(up.to_vector(), dx) < 1e-12,
        "conv_transpose(dy, w) == the gradient of conv with respect to its input");

  // Adjoint identity: all three passes are one bilinear form <dy, conv(x, w)>.
  const double fwd = dot(dy, out.detach()), bin = dot(x.detach(), grads[0]), bw = dot(w.detach(), grads[1]);
  check(std::abs(fwd - bin) < 1e-10 && std::abs(fwd - bw) < 1e-10,
        fmt::format("<dy, conv(x, w)> = <x, bwd_input(dy, w)> = <w, bwd_weight(x, dy)> = {:.6f}", fwd));

  // Double backward: the derivatives of the backward passes are the other passes, so
  // second derivatives through conv (the gradient penalty's) match finite differences.
  Tensor xs = Tensor::randn({1, 2, 5, 5}, gen, DType::Float64).requires_grad_();
  Tensor ws = Tensor::randn({2, 2, 3, 3}, gen, DType::Float64).requires_grad_();
  TensorFn f = [](const std::vector<Tensor>& in) { return tanh(conv(in[0], in[1], {}, {1}, {1})); };
  check(gradcheck(f, {xs, ws}).ok, "gradcheck of tanh(conv(x, w)) in x and w");
  check(gradgradcheck(f, {xs, ws}).ok, "gradgradcheck of tanh(conv(x, w)): second derivatives are right");
  return pn::examples::exit_status();
}
