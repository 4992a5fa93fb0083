// Chapter 1: differentiate y = sum_i x_i^2 tanh(x_i) twice with the tape and check both
// derivatives against central finite differences. grad(..., create_graph = true) records
// the backward pass itself, so its result can be differentiated again.
#include <cmath>
#include <cstdio>

#include "autograd/engine.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

using namespace pn;

double f(double x) { return x * x * std::tanh(x); }  // one term of y, in plain C++

int main() {
  Tensor x = Tensor::from_vector(std::vector<double>{-1.5, 0.3, 2.0}, {3}, DType::Float64).requires_grad_();
  Tensor y = sum(square(x) * tanh(x));
  Tensor g = grad({y}, {x}, {}, /*create_graph=*/true)[0];  // g_i = dy/dx_i, itself recorded
  Tensor h = grad({sum(g)}, {x})[0];  // h_i = sum_j dg_j/dx_i = d2y/dx_i2 (the terms are separate)
  const double e = 1e-4;
  int failures = 0;
  for (int i = 0; i < 3; ++i) {
    const double xi = x.to_vector()[i];
    const double d1 = (f(xi + e) - f(xi - e)) / (2 * e);             // error O(e^2)
    const double d2 = (f(xi + e) - 2 * f(xi) + f(xi - e)) / (e * e);  // error O(e^2) + rounding/e^2
    const double gi = g.to_vector()[i], hi = h.to_vector()[i];
    const bool ok = std::abs(gi - d1) < 1e-7 && std::abs(hi - d2) < 1e-5;
    std::printf("x = %5.2f  dy/dx = %.9f (fd %.9f)  d2y/dx2 = %.9f (fd %.9f)  %s\n", xi, gi, d1, hi, d2,
                ok ? "ok" : "FAIL");
    failures += !ok;
  }
  return failures == 0 ? 0 : 1;
}
