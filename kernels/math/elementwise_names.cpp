#include "kernels/math/elementwise_math.h"

namespace pn::math {

const char* unary_name(Unary op) {
  static const char* names[] = {"neg", "exp", "log", "sqrt", "abs", "sign", "tanh", "sigmoid",
                                "relu", "leaky_relu", "leaky_mask", "clamp", "clamp_mask",
                                "pow", "add_scalar", "mul_scalar", "rsub_scalar", "square",
                                "reciprocal", "log1p_exp_neg", "greater"};
  return names[static_cast<int>(op)];
}

const char* binary_name(Binary op) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"};
  return names[static_cast<int>(op)];
}

}  // namespace pn::math
