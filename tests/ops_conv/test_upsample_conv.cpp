// pixel_shuffle / pixel_unshuffle and the polyphase upsampling convolution
// (autograd/ops/upsample_conv.h): values against the definitions and against upsample-then-
// convolve, first and second derivatives by finite differences (float64), errors.
#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/upsample_conv.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

namespace {

// y = conv(upsample_nearest(x, f), w, bias), "same" padding by the definition: k - 1 in
// total, (k - 1) / 2 of it before (nn::Conv's rule), padded explicitly, then no padding.
Tensor upsample_then_conv(const Tensor& x, const Tensor& w, const Tensor& bias, int f) {
  const Tensor u = upsample_nearest(x, f);
  const int64_t k = w.size(2);
  Shape padded;
  std::vector<int64_t> offsets;
  for (int d = 2; d < u.dim(); ++d) {
    padded.push_back(u.size(d) + k - 1);
    offsets.push_back(-(k - 1) / 2);
  }
  return conv(crop_pad(u, padded, offsets), w, bias, {1}, {0});
}

Shape weight_shape(int64_t out, int64_t in, int dims, int64_t k) {
  Shape s{out, in};
  for (int d = 0; d < dims; ++d) s.push_back(k);
  return s;
}

}  // namespace

TEST_CASE("pixel_shuffle: values by the definition, unshuffle its inverse, derivatives") {
  // 2-D, factor 2: channel c * 4 + (a_h * 2 + a_w) goes to (2 m + a_h, 2 q + a_w).
  std::vector<double> v(8);
  for (int i = 0; i < 8; ++i) v[i] = i;
  Tensor x = Tensor::from_vector(v, {1, 4, 1, 2}, DType::Float64);
  Tensor y = pixel_shuffle(x, 2);
  CHECK(y.shape() == Shape{1, 1, 2, 4});
  CHECK(y.to_vector() == std::vector<double>{0, 2, 1, 3, 4, 6, 5, 7});
  Generator gen(41);
  for (Shape s : {Shape{2, 8, 3, 5}, Shape{1, 16, 2, 3, 4}, Shape{2, 18, 2, 3}}) {
    CAPTURE(shape_str(s));
    const int f = s[1] == 18 ? 3 : 2;
    Tensor a = rand_input(s, gen);
    CHECK(pixel_unshuffle(pixel_shuffle(a, f), f).to_vector() == a.to_vector());
    TensorFn ps = [f](const std::vector<Tensor>& in) { return square(pixel_shuffle(in[0], f)); };
    TensorFn pu = [f](const std::vector<Tensor>& in) { return square(pixel_unshuffle(in[0], f)); };
    CHECK_GRADCHECK(ps, std::vector<Tensor>{a});
    CHECK_GRADGRADCHECK(ps, std::vector<Tensor>{a});
    Tensor b = rand_input(pixel_shuffle(a, f).shape(), gen);
    CHECK_GRADCHECK(pu, std::vector<Tensor>{b});
    CHECK_GRADGRADCHECK(pu, std::vector<Tensor>{b});
  }
  CHECK_THROWS_WITH_AS(pixel_shuffle(Tensor::zeros({1, 6, 2, 2}), 2),
                       doctest::Contains("pixel_shuffle: the channels of float32[1, 6, 2, 2] cpu must be a multiple "
                                         "of factor^2 = 4"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(pixel_unshuffle(Tensor::zeros({1, 1, 4, 5}), 2),
                       doctest::Contains("pixel_unshuffle: spatial sizes of float32[1, 1, 4, 5] cpu must be multiples"),
                       pn::Error);
}

TEST_CASE("polyphase_applies: odd kernels and k = 4 at factor 2 (pix2pix); not k = 2 or 6") {
  for (int k : {1, 3, 4, 5, 7}) CHECK(polyphase_applies(k, 2));
  for (int k : {2, 6}) CHECK_FALSE(polyphase_applies(k, 2));
  CHECK(polyphase_applies(4, 3));
  CHECK_FALSE(polyphase_applies(0, 2));
  CHECK_THROWS_WITH_AS(polyphase_weight(Tensor::zeros({2, 3, 2, 2}), 2),
                       doctest::Contains("no polyphase form for kernel 2 and factor 2"), pn::Error);
  CHECK_THROWS_WITH_AS(polyphase_weight(Tensor::zeros({2, 3, 4, 3}), 2),
                       doctest::Contains("the same size along every spatial dim"), pn::Error);
}

TEST_CASE("polyphase weight, k = 4, f = 2, 1-D view: phase 0 (w0, w1 + w2, w3), phase 1 (0, w0 + w1, w2 + w3)") {
  // A 2-D kernel that varies along W only (each row the same): the H phases double it up.
  Tensor w = Tensor::from_vector(std::vector<double>{1, 10, 100, 1000, 1, 10, 100, 1000, 1, 10, 100, 1000, 1, 10,
                                                     100, 1000},
                                 {1, 1, 4, 4}, DType::Float64);
  Tensor big = polyphase_weight(w, 2);
  REQUIRE(big.shape() == Shape{4, 1, 3, 3});
  const auto v = big.to_vector();
  // Output channel 1 = (a_h 0, a_w 1): rows from H phase 0 (1, 2, 1 rows of w), columns (0, 11, 1100).
  CHECK(std::vector<double>(v.begin() + 9, v.begin() + 18) ==
        std::vector<double>{0, 11, 1100, 0, 22, 2200, 0, 11, 1100});
  // Channel 2 = (a_h 1, a_w 0): rows (0, 2, 2), columns (1, 110, 1000).
  CHECK(std::vector<double>(v.begin() + 18, v.begin() + 27) ==
        std::vector<double>{0, 0, 0, 2, 220, 2000, 2, 220, 2000});
}

TEST_CASE("upsample_conv_same equals upsample then convolve; 2-D and 3-D, k 1/3/4/5, factors 2 and 3") {
  Generator gen(42);
  struct P { int dims; int64_t k; int f; bool bias; Shape x; };
  for (const P& p : {P{2, 4, 2, true, {2, 3, 5, 7}}, P{2, 3, 2, false, {1, 2, 4, 3}}, P{2, 5, 2, true, {1, 2, 3, 4}},
                     P{2, 1, 2, true, {1, 3, 3, 3}}, P{2, 4, 3, false, {1, 2, 3, 2}}, P{3, 4, 2, true, {1, 2, 3, 2, 4}},
                     P{3, 3, 2, false, {2, 2, 2, 3, 2}}}) {
    CAPTURE(p.dims);
    CAPTURE(p.k);
    CAPTURE(p.f);
    Tensor x = rand_input(p.x, gen);
    Tensor w = rand_input(weight_shape(3, p.x[1], p.dims, p.k), gen);
    Tensor b = p.bias ? rand_input({3}, gen) : Tensor();
    const Tensor want = upsample_then_conv(x, w, b, p.f);
    const Tensor got = upsample_conv_same(x, w, b, p.f);
    REQUIRE(got.shape() == want.shape());
    const auto g = got.to_vector(), e = want.to_vector();
    double worst = 0;
    for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - e[i]));
    CHECK(worst < 1e-12);
  }
}

TEST_CASE("upsample_conv_same: gradcheck and gradgradcheck in x, w and bias") {
  Generator gen(43);
  for (Shape xs : {Shape{1, 2, 3, 4}, Shape{1, 2, 2, 3, 2}}) {
    CAPTURE(shape_str(xs));
    const int dims = static_cast<int>(xs.size()) - 2;
    std::vector<Tensor> in{rand_input(xs, gen), rand_input(weight_shape(2, 2, dims, 4), gen), rand_input({2}, gen)};
    TensorFn f = [](const std::vector<Tensor>& t) { return square(upsample_conv_same(t[0], t[1], t[2], 2)); };
    CHECK_GRADCHECK(f, in);
    CHECK_GRADGRADCHECK(f, in);
  }
}

TEST_CASE("upsample_conv_same under a bfloat16 autocast scope: 16-bit convolution, float32 kernel sums") {
  Generator gen(44);
  Tensor x = Tensor::randn({1, 3, 16, 16}, gen), w = (Tensor::randn({4, 3, 4, 4}, gen) * 0.1).detach();
  w.requires_grad_();
  const Tensor want = upsample_conv_same(x, w, Tensor(), 2);
  Tensor got;
  {
    const AutocastScope bf16(DType::BFloat16);
    got = upsample_conv_same(x, w, Tensor(), 2);
  }
  CHECK(got.dtype() == DType::Float32);  // rule 1: the result cast back outside a Keep16BitScope
  const auto g = got.to_vector(), e = want.to_vector();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - e[i])), scale = std::max(scale, std::abs(e[i]));
  CHECK(worst > 0);                 // it really ran in 16 bits
  CHECK(worst < 2e-2 * scale);      // bfloat16 operands, float32 accumulation
  sum(got).backward();
  CHECK(w.grad().dtype() == DType::Float32);  // the master weight's gradient
}
