// The table of ops that take bfloat16 / float16 tensors besides the norms (those are in
// tests/norm16_cases.h): elementwise maps (unary, broadcasting binary, where), sums, max-pooling,
// nearest upsampling, pixel shuffles, concatenation, narrowing and cropping / padding, each run forward and
// backward on given inputs of any dtype and device. Used by
// tests/autograd/test_low_precision.cpp (16-bit against float32 on the rounded inputs, on the
// CPU) and tests/cuda_emu/test_device_ops16.cpp (the emulated device against the CPU).
#pragma once
#include <functional>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/reduce.h"
#include "autograd/tensor.h"

namespace pn::test {

using Op16Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Op16Case {
  const char* name;
  std::vector<Shape> inputs;  // one shape per input
  Op16Fn f;
  // How far the 16-bit backward may be from the float32 one on the same rounded values, rounded
  // once, in units of the format's precision (test::ulp16) of max(|dx|, 1): 0 where the 16-bit
  // backward is one rounding of the same float math (masks, copies, selections, one product,
  // float32 sums); more where it is a chain of 16-bit ops, each rounding once.
  double backward_ulps;
  // Whether a device computes it bit for bit as the CPU: not where the summation order of
  // colliding terms may vary (atomics: kernels/cuda/pool.h), there within backward_ulps.
  bool device_bitwise = true;
};

// Odd sizes throughout, so that no kernel's block or vector width divides them.
inline const std::vector<Op16Case>& op16_cases() {
  static const std::vector<Op16Case> cases = {
      {"relu", {{2, 3, 7, 9}}, [](const auto& x) { return relu(x[0]); }, 0},
      // The mask's slope is a 16-bit value (0.2 rounded) in the backward.
      {"leaky_relu 0.2", {{2, 3, 7, 9}}, [](const auto& x) { return leaky_relu(x[0], 0.2); }, 1},
      {"add", {{3, 5, 11}, {3, 5, 11}}, [](const auto& x) { return add(x[0], x[1]); }, 0},
      {"add, broadcast per channel", {{2, 3, 5, 7}, {1, 3, 1, 1}}, [](const auto& x) { return add(x[0], x[1]); }, 0},
      {"sub", {{3, 5, 11}, {3, 5, 11}}, [](const auto& x) { return sub(x[0], x[1]); }, 0},
      {"mul", {{3, 5, 11}, {3, 5, 11}}, [](const auto& x) { return mul(x[0], x[1]); }, 0},
      // The broadcast operand's gradient sums 4 products, each rounded to 16 bits first (measured: <= 0.92).
      {"mul, broadcast rows", {{4, 37}, {37}}, [](const auto& x) { return mul(x[0], x[1]); }, 2},
      {"maximum", {{3, 41}, {3, 41}}, [](const auto& x) { return maximum(x[0], x[1]); }, 0},
      // where on a condition that is zero for about half the elements (also where in the backward).
      {"where", {{3, 41}, {3, 41}}, [](const auto& x) { return where(relu(x[0]).detach(), x[0], x[1]); }, 0},
      {"mul_scalar", {{5, 23}}, [](const auto& x) { return mul_scalar(x[0], 0.3); }, 0},
      {"rsub_scalar", {{5, 23}}, [](const auto& x) { return rsub_scalar(0.7, x[0]); }, 0},
      // 1 - tanh^2 and s (1 - s): three 16-bit ops between g and dx.
      {"tanh", {{5, 23}}, [](const auto& x) { return tanh(x[0]); }, 2},
      {"sigmoid", {{5, 23}}, [](const auto& x) { return sigmoid(x[0]); }, 2},
      {"square, neg", {{5, 23}}, [](const auto& x) { return neg(square(x[0])); }, 0},
      // Pooling: selections forward, scatters backward (exact unless windows overlap).
      {"max_pool 2-D k2", {{2, 3, 9, 11}}, [](const auto& x) { return max_pool(x[0], 2, 2); }, 0},
      {"max_pool 3-D k2", {{1, 3, 5, 6, 7}}, [](const auto& x) { return max_pool(x[0], 2, 2); }, 0},
      // Overlapping windows: an input's gradient sums up to 4 terms, rounding after each add.
      {"max_pool 2-D k3 stride 2", {{2, 2, 9, 11}}, [](const auto& x) { return max_pool(x[0], 3, 2); }, 2, false},
      // Upsampling: copies forward, block sums (float, rounded once) backward.
      {"upsample_nearest 2-D x2", {{2, 3, 5, 7}}, [](const auto& x) { return upsample_nearest(x[0], 2); }, 0},
      {"upsample_nearest 3-D x2", {{1, 2, 3, 4, 5}}, [](const auto& x) { return upsample_nearest(x[0], 2); }, 0},
      // Pixel shuffles (the polyphase upsampling convolution's last step): permutations both ways.
      {"pixel_shuffle 2-D x2", {{2, 12, 5, 7}}, [](const auto& x) { return pixel_shuffle(x[0], 2); }, 0},
      {"pixel_shuffle 3-D x2", {{1, 16, 3, 4, 5}}, [](const auto& x) { return pixel_shuffle(x[0], 2); }, 0},
      {"pixel_unshuffle 2-D x3", {{2, 2, 9, 6}}, [](const auto& x) { return pixel_unshuffle(x[0], 3); }, 0},
      // Sums: each 16-bit element widened, accumulated in double, rounded once (forward); the
      // gradient broadcast back (exact). On the device: the split kernel with several chunks and
      // its merge (a bias gradient's channels, a whole tensor), and the columns kernel.
      {"sum per channel (a bias gradient)", {{3, 4, 1701}}, [](const auto& x) { return sum(x[0], {0, 2}); }, 0},
      {"sum of everything", {{9001}}, [](const auto& x) { return sum(x[0]); }, 0},
      {"sum over the outer axis", {{37, 13}}, [](const auto& x) { return sum(x[0], {0}, true); }, 0},
      {"sum over the middle axis", {{7, 30, 9}}, [](const auto& x) { return sum(x[0], {1}); }, 0},
      // Means: the sum scaled in double, then rounded once (the float32 side rounds its sum and
      // its mean, well inside a 16-bit rounding); the gradient scaled once.
      {"mean per channel", {{3, 4, 1701}}, [](const auto& x) { return mean(x[0], {0, 2}); }, 0},
      {"mean of everything", {{9001}}, [](const auto& x) { return mean(x[0]); }, 0},
      // Box copies: concat (the U-Net's skips), narrow and crop / pad.
      {"concat channels", {{2, 3, 5, 7}, {2, 4, 5, 7}}, [](const auto& x) { return concat({x[0], x[1]}, 1); }, 0},
      {"narrow, crop_pad", {{2, 5, 9, 11}},
       [](const auto& x) { return crop_pad(narrow(x[0], 1, 1, 3), {7, 13}, {1, -1}); }, 0},
  };
  return cases;
}

// What one case gives: the output and the gradients of <y, gy> for every input.
struct Op16Result {
  Tensor y;
  std::vector<Tensor> dx;
};

// Runs case c on xs (fresh leaves are made of them: any dtype, one device) with the output
// gradient gy = make_gy(y's shape), which must have y's dtype and device.
inline Op16Result run_op16_case(const Op16Case& c, const std::vector<Tensor>& xs,
                                const std::function<Tensor(const Shape&)>& make_gy) {
  std::vector<Tensor> leaves;
  for (const Tensor& x : xs) leaves.push_back(x.detach().requires_grad_());
  const Tensor y = c.f(leaves);
  Op16Result r{y.detach(), grad({y}, leaves, {make_gy(y.shape())})};
  return r;
}

// Float32 inputs of case c in [-3, 3) (kinks and ties are checked on the same rounded values
// by both sides, so no margin around them is needed).
inline std::vector<Tensor> op16_inputs(const Op16Case& c, Generator& gen) {
  std::vector<Tensor> xs;
  for (const Shape& s : c.inputs) xs.push_back(Tensor::rand(s, gen) * 6.0 - 3.0);
  return xs;
}

}  // namespace pn::test
