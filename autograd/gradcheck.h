// Finite-difference checks of analytic gradients, in float64.
// gradcheck: projects the outputs on a fixed random direction r, L = sum(f(x) * r), and
// compares dL/dx from backward with central differences (L(x+h) - L(x-h)) / 2h per element.
// gradgradcheck: runs gradcheck on x -> <dL/dx, v>, built with create_graph, which checks
// the second derivatives (the backward of the backward).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace pn {

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
  uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the first mismatches: input, element, analytic, numeric
};

// inputs must be float64; those with requires_grad are checked.
GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {});
GradcheckResult gradgradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& opt = {});

}  // namespace pn
