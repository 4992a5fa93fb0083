// Channels-last convolutions, max-pooling and batch / instance norms (autograd/memory_format.h) and the
// to_channels_last / to_channels_first conversions: values by the definition, equality with
// the channels-first op on the converted input (convolutions through oneDNN's N[D]HWC kernels
// and through the reference), gradients against the channels-first ones, first and second
// derivatives by finite differences (float64), 16 bits, errors.
#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/norm.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

namespace {

constexpr auto kLast = MemoryFormat::channels_last;

// One convolution case: input (channels-first), weight, stride, padding, transposed or not.
struct Case {
  Shape x, w;
  std::vector<int> stride, pad;
  bool transposed = false;
  const char* what;
};

const Case kCases[] = {
    {{2, 3, 7, 6}, {5, 3, 3, 3}, {1}, {1}, false, "2-D 3x3 pad 1"},
    {{1, 4, 9, 8}, {6, 4, 4, 3}, {2, 1}, {1, 0}, false, "2-D 4x3, stride (2, 1)"},
    {{2, 3, 5, 6, 7}, {4, 3, 3, 3, 3}, {1}, {1}, false, "3-D 3x3x3 pad 1"},
    {{1, 5, 4, 6, 5}, {3, 5, 1, 1, 1}, {1}, {0}, false, "3-D pointwise"},
    {{1, 2, 6, 5, 7}, {4, 2, 3, 2, 3}, {2, 1, 2}, {1, 0, 1}, false, "3-D odd, strided"},
    {{2, 4, 3, 4, 5}, {4, 3, 2, 2, 2}, {2}, {0}, true, "3-D transposed 2x2x2 stride 2"},
    {{1, 3, 5, 4}, {3, 2, 3, 3}, {2}, {1}, true, "2-D transposed 3x3 stride 2 pad 1"},
};

Tensor run_conv(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, MemoryFormat f) {
  return c.transposed ? conv_transpose(x, w, b, c.stride, c.pad, f) : conv(x, w, b, c.stride, c.pad, f);
}

// The channels-last result and gradients against the channels-first ones on the same values.
void check_against_channels_first(const Case& c, DType dt, double tol) {
  Generator gen(7);
  const int64_t c_out = c.transposed ? c.w[1] : c.w[0];
  const Tensor x = rand_input(c.x, gen, 1.0, 0.0, false).to(dt), w = rand_input(c.w, gen, 1.0, 0.0, false).to(dt),
               b = rand_input({c_out}, gen, 1.0, 0.0, false).to(dt);
  Tensor xf = x.detach().requires_grad_(), wf = w.detach().requires_grad_(), bf = b.detach().requires_grad_();
  Tensor xl = to_channels_last(x).detach().requires_grad_(), wl = w.detach().requires_grad_(),
         bl = b.detach().requires_grad_();
  const Tensor yf = run_conv(c, xf, wf, bf, MemoryFormat::channels_first), yl = run_conv(c, xl, wl, bl, kLast);
  REQUIRE(yl.shape() == to_channels_last(yf).shape());
  CHECK(test::max_abs_diff(to_channels_first(yl), yf) <= tol);
  // A weighting that tells channels apart, so that a gradient in the wrong layout shows.
  const Tensor gy = rand_input(yf.shape(), gen, 1.0, 0.0, false).to(dt);
  sum(mul(yf, gy)).backward();
  sum(mul(yl, to_channels_last(gy))).backward();
  CHECK(test::max_abs_diff(to_channels_first(xl.grad()), xf.grad()) <= tol);
  CHECK(test::max_abs_diff(wl.grad(), wf.grad()) <= tol);
  CHECK(test::max_abs_diff(bl.grad(), bf.grad()) <= tol);
}

}  // namespace

TEST_CASE("to_channels_last / to_channels_first: values by the definition, inverses, derivatives, 16 bits") {
  std::vector<double> v(12);
  for (int i = 0; i < 12; ++i) v[i] = i;
  // [N 1, C 3, H 2, W 2] -> [1, 2, 2, 3]: element (h, w, c) = x[c][h][w] = c * 4 + h * 2 + w.
  const Tensor x = Tensor::from_vector(v, {1, 3, 2, 2}, DType::Float64);
  const Tensor y = to_channels_last(x);
  CHECK(y.shape() == Shape{1, 2, 2, 3});
  CHECK(y.to_vector() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  Generator gen(3);
  for (Shape s : {Shape{2, 3, 4, 5}, Shape{2, 5, 3, 4, 6}, Shape{1, 1, 2, 3}, Shape{3, 70, 1, 40}}) {
    CAPTURE(shape_str(s));
    const Tensor a = rand_input(s, gen);
    CHECK(to_channels_first(to_channels_last(a)).to_vector() == a.to_vector());
    for (DType dt : {DType::Float32, DType::BFloat16, DType::Float16}) {
      const Tensor a16 = a.detach().to(dt);
      CHECK(to_channels_last(a16).to(DType::Float64).to_vector() == to_channels_last(a16.to(DType::Float64)).to_vector());
    }
    if (s[1] > 5) continue;  // finite differences on the small ones
    TensorFn last = [](const std::vector<Tensor>& in) { return square(to_channels_last(in[0])); };
    TensorFn first = [](const std::vector<Tensor>& in) { return square(to_channels_first(in[0])); };
    CHECK_GRADCHECK(last, std::vector<Tensor>{a});
    CHECK_GRADGRADCHECK(last, std::vector<Tensor>{a});
    const Tensor b = rand_input(to_channels_last(a).shape(), gen);
    CHECK_GRADCHECK(first, std::vector<Tensor>{b});
  }
  CHECK_THROWS_WITH_AS(to_channels_last(Tensor::zeros({2, 3, 4})), doctest::Contains("must be 4-D or 5-D"),
                       pn::Error);
}

TEST_CASE("a channels-last convolution equals the channels-first one, forward and backward, through each kernel") {
  for (const Case& c : kCases) {
    CAPTURE(c.what);
    // float64: the reference through transposes, which are exact.
    check_against_channels_first(c, DType::Float64, 1e-12);
    // float32: oneDNN's N[D]HWC kernels (where built in) against its blocked ones, then the reference.
    check_against_channels_first(c, DType::Float32, 2e-5);
    const cpu::ConvImpl before = cpu::conv_impl();
    cpu::set_conv_impl(cpu::ConvImpl::Reference);
    check_against_channels_first(c, DType::Float32, 0.0);
    cpu::set_conv_impl(before);
  }
}

TEST_CASE("a channels-last convolution: first and second derivatives by finite differences (float64)") {
  for (const Case& c : kCases) {
    CAPTURE(c.what);
    if (c.x[1] * c.x[2] * c.x[3] > 100 && c.x.size() == 5) continue;  // the smaller cases keep this quick
    Generator gen(11);
    const int64_t c_out = c.transposed ? c.w[1] : c.w[0];
    const Tensor x = to_channels_last(rand_input(c.x, gen, 1.0, 0.0, false)).detach().requires_grad_();
    const Tensor w = rand_input(c.w, gen), b = rand_input({c_out}, gen);
    TensorFn f = [c](const std::vector<Tensor>& in) { return square(run_conv(c, in[0], in[1], in[2], kLast)); };
    const std::vector<Tensor> inputs{x, w, b};
    CHECK_GRADCHECK(f, inputs);
    CHECK_GRADGRADCHECK(f, inputs);
  }
}

TEST_CASE("a channels-last convolution in 16 bits: bfloat16 / float16 storage, as the channels-first one") {
  Generator gen(5);
  const Tensor x = rand_input({2, 8, 5, 6, 7}, gen, 1.0, 0.0, false), w = rand_input({16, 8, 3, 3, 3}, gen, 0.2);
  const Tensor y32 = conv(x.to(DType::Float32), w.to(DType::Float32), {}, {1}, {1});
  for (DType dt : {DType::BFloat16, DType::Float16}) {
    CAPTURE(dtype_name(dt));
    const Tensor x16 = x.to(dt), w16 = w.detach().to(dt);
    const Tensor yl = conv(to_channels_last(x16), w16, {}, {1}, {1}, kLast), yf = conv(x16, w16, {}, {1}, {1});
    CHECK(yl.dtype() == dt);
    // Both accumulate in float32 and round once; the summation orders may differ, so within a
    // rounding of each other, and both within 16-bit precision of float32 (but not equal to it).
    const double ulp = dt == DType::BFloat16 ? 1.0 / 128 : 1.0 / 1024, scale = test::max_abs_diff(y32, mul_scalar(y32, 0.0));
    CHECK(test::max_abs_diff(to_channels_first(yl), yf) <= ulp * scale);
    CHECK(test::max_abs_diff(to_channels_first(yl), y32) <= ulp * scale);
    CHECK(test::max_abs_diff(to_channels_first(yl), y32) > 0.0);
  }
}

TEST_CASE("a channels-last convolution names a mismatch in the channel count") {
  const Tensor x = Tensor::zeros({1, 5, 6, 3}), w = Tensor::zeros({4, 5, 3, 3});
  // Read as channels-last, x [1, 5, 6, 3] has 3 channels, not 5; moved there, it has 5.
  CHECK_THROWS_WITH_AS(conv(x, w, {}, {1}, {1}, kLast), doctest::Contains("3 channels (channels-last)"),
                       pn::Error);
  CHECK(conv(to_channels_last(x), w, {}, {1}, {1}, kLast).shape() == Shape{1, 6, 3, 4});
}

TEST_CASE("channels-last max-pooling equals the channels-first one: values, argmax routes, derivatives, 16 bits") {
  Generator gen(13);
  struct Pool {
    Shape x;
    int k, stride;
  };
  for (const Pool& p : {Pool{{2, 3, 6, 8}, 2, 2}, Pool{{1, 4, 5, 7, 6}, 3, 2}, Pool{{2, 5, 4, 6, 4}, 2, 2},
                        Pool{{1, 1, 5, 5}, 2, 1}}) {
    CAPTURE(shape_str(p.x));
    for (DType dt : {DType::Float64, DType::Float32, DType::BFloat16}) {
      const Tensor x = rand_input(p.x, gen, 1.0, 0.0, false).to(dt);
      Tensor xf = x.detach().requires_grad_(), xl = to_channels_last(x).detach().requires_grad_();
      const Tensor yf = max_pool(xf, p.k, p.stride), yl = max_pool(xl, p.k, p.stride, kLast);
      REQUIRE(yl.shape() == to_channels_last(yf).shape());
      CHECK(to_channels_first(yl).to_vector() == yf.to_vector());  // the same maxima, exactly
      const Tensor gy = rand_input(yf.shape(), gen, 1.0, 0.0, false).to(dt);
      sum(mul(yf, gy)).backward();
      sum(mul(yl, to_channels_last(gy))).backward();
      CHECK(to_channels_first(xl.grad()).to_vector() == xf.grad().to_vector());  // the same routes
    }
    const Tensor x = to_channels_last(rand_input(p.x, gen, 1.0, 0.0, false)).detach().requires_grad_();
    TensorFn f = [p](const std::vector<Tensor>& in) { return square(max_pool(in[0], p.k, p.stride, kLast)); };
    CHECK_GRADCHECK(f, std::vector<Tensor>{x});
    CHECK_GRADGRADCHECK(f, std::vector<Tensor>{x});
  }
  // Read as channels-last, [1, 5, 1, 3] has a spatial size of 1 along H: no 2x2 window fits.
  CHECK_THROWS_WITH_AS(max_pool(Tensor::zeros({1, 5, 1, 3}), 2, 2, kLast),
                       doctest::Contains("larger than input float32[1, 5, 1, 3] cpu (channels-last)"), pn::Error);
}

namespace {

// One norm in either format: batch norm (training or eval, running statistics updated) or
// instance norm, each plain or fused with a leaky ReLU (slope < 0: none).
struct NormCase {
  bool instance, training;
  double slope;
};
Tensor run_norm(const NormCase& k, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
                const Tensor& rv, MemoryFormat f) {
  if (k.instance)
    return k.slope < 0 ? instance_norm(x, gamma, beta, 1e-5, f) : instance_norm_act(x, gamma, beta, k.slope, 1e-5, f);
  return k.slope < 0 ? batch_norm(x, gamma, beta, rm, rv, k.training, 0.1, 1e-5, f)
                     : batch_norm_act(x, gamma, beta, rm, rv, k.training, k.slope, 0.1, 1e-5, f);
}

}  // namespace

TEST_CASE("channels-last batch and instance norms equal the channels-first ones: values, statistics, gradients") {
  const NormCase cases[] = {{false, true, -1}, {false, true, 0.0}, {false, true, 0.2}, {false, false, -1},
                            {false, false, 0.0}, {true, true, -1},  {true, true, 0.2}};
  for (const Shape& s : {Shape{2, 5, 4, 6, 7}, Shape{3, 4, 9, 70}, Shape{1, 33, 3, 5, 4}}) {
    for (const NormCase& k : cases) {
      for (DType dt : {DType::Float64, DType::Float32, DType::BFloat16}) {
        CAPTURE(shape_str(s));
        CAPTURE(k.instance);
        CAPTURE(k.training);
        CAPTURE(k.slope);
        CAPTURE(dtype_name(dt));
        Generator gen(17);
        const DType pt = dt == DType::BFloat16 ? DType::Float32 : dt;
        const int64_t c = s[1];
        // An offset mean, so that the shifted moments matter.
        const Tensor x = rand_input(s, gen, 2.0, 3.0, false).to(dt);
        const Tensor gamma = rand_input({c}, gen, 1.0, 1.0, false).to(pt), beta = rand_input({c}, gen, 1.0, 0.0, false).to(pt);
        Tensor rm_f = rand_input({c}, gen, 1.0, 0.0, false).to(pt), rv_f = square(rand_input({c}, gen, 1.0, 1.0, false)).to(pt);
        Tensor rm_l = rm_f.clone(), rv_l = rv_f.clone();
        Tensor xf = x.detach().requires_grad_(), xl = to_channels_last(x).detach().requires_grad_();
        Tensor gf = gamma.detach().requires_grad_(), gl = gamma.detach().requires_grad_();
        Tensor bf = beta.detach().requires_grad_(), bl = beta.detach().requires_grad_();
        const Tensor yf = run_norm(k, xf, gf, bf, rm_f, rv_f, MemoryFormat::channels_first);
        const Tensor yl = run_norm(k, xl, gl, bl, rm_l, rv_l, kLast);
        // float64: the double sums in another order; float32 / bf16: a rounding of the statistics.
        const double tol = dt == DType::Float64 ? 1e-12 : dt == DType::Float32 ? 2e-5 : 4e-2;
        CHECK(test::max_abs_diff(to_channels_first(yl), yf) <= tol);
        CHECK(test::max_abs_diff(rm_l, rm_f) <= tol);
        CHECK(test::max_abs_diff(rv_l, rv_f) <= tol);
        const Tensor gy = rand_input(yf.shape(), gen, 1.0, 0.0, false).to(dt);
        sum(mul(yf, gy)).backward();
        sum(mul(yl, to_channels_last(gy))).backward();
        CHECK(test::max_abs_diff(to_channels_first(xl.grad()), xf.grad()) <= 10 * tol);
        CHECK(test::max_abs_diff(gl.grad(), gf.grad()) <= 10 * tol * static_cast<double>(x.numel()) / c);
        CHECK(test::max_abs_diff(bl.grad(), bf.grad()) <= 10 * tol * static_cast<double>(x.numel()) / c);
      }
    }
  }
}

TEST_CASE("channels-last batch and instance norms: derivatives by finite differences (float64), errors") {
  Generator gen(19);
  const Tensor x = to_channels_last(rand_input({2, 3, 3, 4, 2}, gen, 1.0, 0.5, false)).detach().requires_grad_();
  const Tensor gamma = rand_input({3}, gen, 1.0, 1.0), beta = rand_input({3}, gen);
  TensorFn bn = [](const std::vector<Tensor>& in) {
    return square(batch_norm(in[0], in[1], in[2], {}, {}, true, 0.1, 1e-5, kLast));
  };
  TensorFn in_act = [](const std::vector<Tensor>& in) {
    return square(instance_norm_act(in[0], in[1], in[2], 0.2, 1e-5, kLast));
  };
  const std::vector<Tensor> inputs{x, gamma, beta};
  CHECK_GRADCHECK(bn, inputs);
  CHECK_GRADCHECK(in_act, inputs);
  // gamma has the channels of the LAST axis of a channels-last input.
  CHECK_THROWS_WITH_AS(batch_norm(x, Tensor::ones({2}, DType::Float64), {}, {}, {}, true, 0.1, 1e-5, kLast),
                       doctest::Contains("gamma must have shape [3] (channels of input"), pn::Error);
}

TEST_CASE("channels-last norm statistics of empty groups are zero, as channels-first ones (no read)") {
  // S = 0: the groups have no first element to shift by (the kernel once read x[0] of an empty x).
  for (bool per_instance : {false, true}) {
    const pn::math::NormGeom g{2, 3, 0, per_instance, true};
    std::vector<float> mean(6, -1.0f), var(6, -1.0f);
    pn::cpu::norm_stats<float>(nullptr, g, mean.data(), var.data());
    for (int64_t grp = 0; grp < pn::math::norm_groups(g); ++grp) {
      CHECK(mean[grp] == 0.0f);
      CHECK(var[grp] == 0.0f);
    }
  }
}
