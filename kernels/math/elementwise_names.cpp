// The ops' names for error messages and benchmarks, one table per enum, each pinned to its
// enum by a static_assert: adding an op without its name (or the reverse) does not compile.
#include <iterator>

#include "kernels/math/elementwise_math.h"

namespace pn::math {

namespace {
constexpr const char* kUnaryNames[] = {"neg", "exp", "log", "sqrt", "abs", "sign", "tanh", "sigmoid",
                                       "relu", "leaky_relu", "leaky_mask", "clamp", "clamp_mask",
                                       "pow", "add_scalar", "mul_scalar", "rsub_scalar", "square",
                                       "reciprocal", "log1p_exp_neg", "greater"};
static_assert(std::size(kUnaryNames) == static_cast<size_t>(Unary::Count), "one name per math::Unary op");
constexpr const char* kBinaryNames[] = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"};
static_assert(std::size(kBinaryNames) == static_cast<size_t>(Binary::Count), "one name per math::Binary op");
}  // namespace

const char* unary_name(Unary op) {
  const int i = static_cast<int>(op);
  return i >= 0 && i < static_cast<int>(Unary::Count) ? kUnaryNames[i] : "unknown unary op";
}

const char* binary_name(Binary op) {
  const int i = static_cast<int>(op);
  return i >= 0 && i < static_cast<int>(Binary::Count) ? kBinaryNames[i] : "unknown binary op";
}

}  // namespace pn::math
