// conv and conv_transpose: forward values against direct loop definitions written here,
// first and second derivatives by finite differences (float64), shapes and errors.
#include <array>
#include <random>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

namespace {

// One convolution setting; 2-D cases leave d = 1, k[0] = 1.
struct Case {
  int dims = 2;
  int64_t N = 1, C_in = 1, C_out = 1;
  std::vector<int64_t> in;  // spatial sizes, dims entries
  std::vector<int64_t> k;   // kernel sizes, dims entries
  std::vector<int> stride{1}, pad{0};
  bool bias = false;
  int s(int i) const { return stride.size() == 1 ? stride[0] : stride[i]; }
  int p(int i) const { return pad.size() == 1 ? pad[0] : pad[i]; }
  std::string str() const {
    return fmt::format("{}-D N={} Cin={} Cout={} in=[{}] k=[{}] stride=[{}] pad=[{}] bias={}", dims, N, C_in, C_out,
                       fmt::join(in, ","), fmt::join(k, ","), fmt::join(stride, ","), fmt::join(pad, ","), bias);
  }
};

Shape shape_of(int64_t a, int64_t b, const std::vector<int64_t>& sp) {
  Shape s{a, b};
  s.insert(s.end(), sp.begin(), sp.end());
  return s;
}

// Spatial sizes as (D, H, W), with D = 1 in 2-D.
std::array<int64_t, 3> dhw(const std::vector<int64_t>& sp) {
  return sp.size() == 3 ? std::array<int64_t, 3>{sp[0], sp[1], sp[2]} : std::array<int64_t, 3>{1, sp[0], sp[1]};
}

// y[n, co, o] = b[co] + sum_{ci, t} x[n, ci, o * s - p + t] w[co, ci, t], straight from the definition.
std::vector<double> conv_reference(const Case& c, const std::vector<double>& x, const std::vector<double>& w,
                                   const std::vector<double>& b, std::array<int64_t, 3>& out) {
  auto in = dhw(c.in), k = dhw(c.k);
  std::array<int64_t, 3> s{1, 1, 1}, p{0, 0, 0};
  for (int i = 0; i < c.dims; ++i) { s[3 - c.dims + i] = c.s(i); p[3 - c.dims + i] = c.p(i); }
  for (int j = 0; j < 3; ++j) out[j] = (in[j] + 2 * p[j] - k[j]) / s[j] + 1;
  std::vector<double> y(c.N * c.C_out * out[0] * out[1] * out[2], 0.0);
  size_t at = 0;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t co = 0; co < c.C_out; ++co)
      for (int64_t z = 0; z < out[0]; ++z)
        for (int64_t h = 0; h < out[1]; ++h)
          for (int64_t q = 0; q < out[2]; ++q, ++at) {
            double acc = b.empty() ? 0.0 : b[co];
            for (int64_t ci = 0; ci < c.C_in; ++ci)
              for (int64_t a = 0; a < k[0]; ++a)
                for (int64_t e = 0; e < k[1]; ++e)
                  for (int64_t f = 0; f < k[2]; ++f) {
                    int64_t iz = z * s[0] - p[0] + a, ih = h * s[1] - p[1] + e, iw = q * s[2] - p[2] + f;
                    if (iz < 0 || iz >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2]) continue;
                    acc += x[(((n * c.C_in + ci) * in[0] + iz) * in[1] + ih) * in[2] + iw] *
                           w[(((co * c.C_in + ci) * k[0] + a) * k[1] + e) * k[2] + f];
                  }
            y[at] = acc;
          }
  return y;
}

// Transposed conv by its scatter definition: every input voxel i adds x[n, ci, i] w[ci, co, t]
// to y[n, co, i * s - p + t]. Here C_in / C_out are the transposed op's own channels.
std::vector<double> conv_transpose_reference(const Case& c, const std::vector<double>& x,
                                             const std::vector<double>& w, const std::vector<double>& b,
                                             std::array<int64_t, 3>& out) {
  auto in = dhw(c.in), k = dhw(c.k);
  std::array<int64_t, 3> s{1, 1, 1}, p{0, 0, 0};
  for (int i = 0; i < c.dims; ++i) { s[3 - c.dims + i] = c.s(i); p[3 - c.dims + i] = c.p(i); }
  for (int j = 0; j < 3; ++j) out[j] = (in[j] - 1) * s[j] - 2 * p[j] + k[j];
  const int64_t ov = out[0] * out[1] * out[2];
  std::vector<double> y(c.N * c.C_out * ov, 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t co = 0; co < c.C_out; ++co)
      for (int64_t i = 0; i < ov; ++i) y[(n * c.C_out + co) * ov + i] = b.empty() ? 0.0 : b[co];
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t ci = 0; ci < c.C_in; ++ci)
      for (int64_t z = 0; z < in[0]; ++z)
        for (int64_t h = 0; h < in[1]; ++h)
          for (int64_t q = 0; q < in[2]; ++q) {
            double xv = x[(((n * c.C_in + ci) * in[0] + z) * in[1] + h) * in[2] + q];
            for (int64_t co = 0; co < c.C_out; ++co)
              for (int64_t a = 0; a < k[0]; ++a)
                for (int64_t e = 0; e < k[1]; ++e)
                  for (int64_t f = 0; f < k[2]; ++f) {
                    int64_t oz = z * s[0] - p[0] + a, oh = h * s[1] - p[1] + e, ow = q * s[2] - p[2] + f;
                    if (oz < 0 || oz >= out[0] || oh < 0 || oh >= out[1] || ow < 0 || ow >= out[2]) continue;
                    y[(((n * c.C_out + co) * out[0] + oz) * out[1] + oh) * out[2] + ow] +=
                        xv * w[(((ci * c.C_out + co) * k[0] + a) * k[1] + e) * k[2] + f];
                  }
          }
  return y;
}

// Input, weight and (optional) bias tensors for a case; transposed flips the weight's channels.
std::vector<Tensor> make_inputs(const Case& c, Generator& gen, bool transposed) {
  std::vector<Tensor> v{rand_input(shape_of(c.N, c.C_in, c.in), gen),
                        rand_input(transposed ? shape_of(c.C_in, c.C_out, c.k) : shape_of(c.C_out, c.C_in, c.k), gen, 0.5)};
  if (c.bias) v.push_back(rand_input({c.C_out}, gen));
  return v;
}

TensorFn conv_fn(const Case& c) {
  return [c](const std::vector<Tensor>& in) {
    return conv(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.pad);
  };
}
TensorFn conv_transpose_fn(const Case& c) {
  return [c](const std::vector<Tensor>& in) {
    return conv_transpose(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.pad);
  };
}

// Fixed cases covering the kernel's paths: odd sizes, batch > 1, stride 1 and 2, padding
// 0 and 1, kernels 1..5 and 7, the pointwise (1x1 stride 1) shortcut, non-cubic kernels,
// per-dim stride and padding.
std::vector<Case> fixed_cases() {
  return {
      {2, 2, 3, 2, {5, 6}, {3, 3}, {1}, {1}, true},
      {2, 1, 2, 3, {7, 5}, {2, 2}, {2}, {0}, false},
      {2, 2, 1, 2, {6, 7}, {5, 5}, {2}, {1}, true},
      {2, 2, 2, 3, {4, 5}, {1, 1}, {1}, {0}, true},
      {2, 1, 1, 1, {8, 7}, {7, 7}, {1}, {1}, false},
      {2, 3, 2, 2, {5, 5}, {4, 4}, {2}, {1}, false},
      {2, 1, 2, 2, {6, 5}, {3, 2}, {1, 2}, {0, 1}, true},
      {3, 2, 2, 2, {3, 4, 5}, {3, 3, 3}, {1}, {1}, true},
      {3, 1, 2, 3, {5, 4, 6}, {2, 2, 2}, {2}, {0}, false},
      {3, 2, 1, 2, {5, 6, 5}, {3, 3, 3}, {2}, {1}, true},
      {3, 1, 2, 1, {3, 3, 4}, {1, 1, 1}, {2}, {0}, false},
      {3, 1, 1, 2, {6, 5, 5}, {5, 5, 5}, {2}, {1}, false},
      {3, 1, 2, 2, {4, 5, 3}, {2, 3, 1}, {2, 1, 1}, {1, 0, 0}, true},
  };
}

// Seeded random cases: kernel 1..5, stride 1..2, padding 0..1, sizes up to kernel + 4,
// each with an output of at least one voxel (as a conv, or as a transposed conv).
std::vector<Case> random_cases(int count, uint32_t seed, bool transposed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Case> cases;
  for (int i = 0; i < count; ++i) {
    Case c;
    c.dims = pick(2, 3);
    c.N = pick(1, 2);
    c.C_in = pick(1, 3);
    c.C_out = pick(1, 3);
    int k = c.dims == 3 ? pick(1, 3) : pick(1, 5);
    c.stride = {pick(1, 2)};
    c.pad = {pick(0, 1)};
    c.bias = pick(0, 1) == 1;
    for (int d = 0; d < c.dims; ++d) {
      c.k.push_back(k);
      int64_t in = std::max<int64_t>(k - 2 * c.pad[0], 1) + pick(0, c.dims == 3 ? 2 : 4);
      while (transposed && (in - 1) * c.stride[0] - 2 * c.pad[0] + k < 1) ++in;
      c.in.push_back(in);
    }
    cases.push_back(c);
  }
  return cases;
}

void check_forward(const Case& c, bool transposed, Generator& gen) {
  CAPTURE(c.str());
  auto in = make_inputs(c, gen, transposed);
  Tensor y = transposed ? conv_transpose_fn(c)(in) : conv_fn(c)(in);
  std::array<int64_t, 3> out{};
  std::vector<double> b = c.bias ? in[2].to_vector() : std::vector<double>{};
  auto ref = transposed ? conv_transpose_reference(c, in[0].to_vector(), in[1].to_vector(), b, out)
                        : conv_reference(c, in[0].to_vector(), in[1].to_vector(), b, out);
  std::vector<int64_t> sp(out.begin() + (3 - c.dims), out.end());
  CHECK(y.shape() == shape_of(c.N, c.C_out, sp));
  CHECK(test::max_abs_diff(y, Tensor::from_vector(ref, y.shape(), DType::Float64)) < 1e-12);
}

}  // namespace

TEST_CASE("conv forward matches the direct loop definition") {
  Generator gen(21);
  for (const Case& c : fixed_cases()) check_forward(c, false, gen);
  for (const Case& c : random_cases(12, 5, false)) check_forward(c, false, gen);
}

TEST_CASE("conv forward in float32 agrees with float64") {
  Generator gen(22);
  Case c{3, 2, 3, 4, {6, 7, 5}, {3, 3, 3}, {2}, {1}, true};
  auto in = make_inputs(c, gen, false);
  Tensor y64 = conv_fn(c)(in);
  std::vector<Tensor> in32;
  for (const Tensor& t : in) in32.push_back(t.detach().to(DType::Float32));
  Tensor y32 = conv_fn(c)(in32);
  CHECK(y32.dtype() == DType::Float32);
  CHECK(test::max_abs_diff(y32, y64) < 1e-4);
}

TEST_CASE("conv_transpose forward matches the scatter definition") {
  Generator gen(23);
  for (const Case& c : fixed_cases()) check_forward(c, true, gen);
  for (const Case& c : random_cases(12, 6, true)) check_forward(c, true, gen);
}

TEST_CASE("conv_transpose with stride 2 doubles the size (kernel 2 pad 0, kernel 4 pad 1)") {
  Generator gen(24);
  Tensor x = rand_input({1, 3, 4, 5, 3}, gen);
  CHECK(conv_transpose(x, rand_input({3, 2, 2, 2, 2}, gen), Tensor(), {2}, {0}).shape() == Shape{1, 2, 8, 10, 6});
  CHECK(conv_transpose(x, rand_input({3, 2, 4, 4, 4}, gen), Tensor(), {2}, {1}).shape() == Shape{1, 2, 8, 10, 6});
  // conv with the same weight maps the size back: conv_transpose is its adjoint.
  Tensor w = rand_input({3, 2, 4, 4, 4}, gen);
  Tensor y = conv_transpose(x, w, Tensor(), {2}, {1});
  Tensor z = rand_input(y.shape(), gen);
  // <conv_transpose(x, w), z> = <x, conv(z, w)> with w read as [C_out = 3, C_in = 2, k...].
  double lhs = sum(mul(y, z)).item(), rhs = sum(mul(x, conv(z, w, Tensor(), {2}, {1}))).item();
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
}

TEST_CASE("conv: gradcheck over fixed and random cases") {
  Generator gen(25);
  auto cases = fixed_cases();
  for (const Case& c : random_cases(8, 7, false)) cases.push_back(c);
  for (const Case& c : cases) {
    CAPTURE(c.str());
    CHECK_GRADCHECK(conv_fn(c), make_inputs(c, gen, false));
  }
}

TEST_CASE("conv_transpose: gradcheck over fixed and random cases") {
  Generator gen(26);
  auto cases = fixed_cases();
  for (const Case& c : random_cases(8, 8, true)) cases.push_back(c);
  for (const Case& c : cases) {
    CAPTURE(c.str());
    CHECK_GRADCHECK(conv_transpose_fn(c), make_inputs(c, gen, true));
  }
}

// Second derivatives. gradgradcheck of the plain op checks d(gx)/dw and d(gw)/dx; squaring
// the output makes the upstream gradient depend on x and w, which also checks the
// derivatives w.r.t. gy of the two backward ops.
TEST_CASE("conv and conv_transpose: gradgradcheck, 2-D and 3-D, stride 1 and 2") {
  Generator gen(27);
  const std::vector<Case> cases = {
      {2, 2, 2, 2, {5, 4}, {3, 3}, {1}, {1}, true},
      {2, 1, 2, 2, {5, 6}, {4, 4}, {2}, {1}, false},
      {3, 1, 2, 2, {3, 4, 3}, {3, 3, 3}, {1}, {1}, true},
      {3, 2, 1, 2, {5, 5, 4}, {3, 3, 3}, {2}, {1}, false},
      {3, 1, 2, 1, {4, 4, 4}, {2, 2, 2}, {2}, {0}, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.str());
    for (bool transposed : {false, true}) {
      CAPTURE(transposed);
      TensorFn f = transposed ? conv_transpose_fn(c) : conv_fn(c);
      TensorFn f2 = [f](const std::vector<Tensor>& in) { return square(f(in)); };
      auto in = make_inputs(c, gen, transposed);
      CHECK_GRADGRADCHECK(f, in);
      CHECK_GRADGRADCHECK(f2, in);
    }
  }
}

// The lesion critic's use: a gradient penalty ||d critic / dx||^2 through two strided 3-D
// convs (kernel 5 in the paper; 3 here to stay small), differentiated w.r.t. the weights.
TEST_CASE("conv3d stride 2: gradient penalty is differentiable w.r.t. weights and input") {
  Generator gen(28);
  TensorFn penalty = [](const std::vector<Tensor>& in) {
    GradModeGuard on(true);  // gradcheck evaluates under NoGrad; the penalty needs a graph
    Tensor h = tanh(conv(in[0], in[1], in[3], {2}, {1}));
    Tensor critic = sum(conv(h, in[2], Tensor(), {2}, {1}));
    Tensor gx = grad({critic}, {in[0]}, {}, true)[0];
    return sum(square(gx));
  };
  std::vector<Tensor> in{rand_input({1, 1, 5, 6, 5}, gen), rand_input({2, 1, 3, 3, 3}, gen, 0.5),
                         rand_input({1, 2, 3, 3, 3}, gen, 0.5), rand_input({2}, gen)};
  CHECK_GRADCHECK(penalty, in);
}

TEST_CASE("conv: backward into the weight only, and no recording under NoGrad") {
  Generator gen(29);
  Tensor x = rand_input({2, 2, 5, 4}, gen, 1.0, 0.0, false), w = rand_input({3, 2, 3, 3}, gen);
  sum(conv(x, w, Tensor(), {1}, {1})).backward();
  CHECK_FALSE(x.grad().defined());
  // d sum(y) / d w[co, ci, a, b] = sum over n, h, q of x[n, ci, h + a - 1, q + b - 1] (inside x).
  auto xv = x.to_vector(), gw = w.grad().to_vector();
  for (int64_t co = 0; co < 3; ++co)
    for (int64_t ci = 0; ci < 2; ++ci)
      for (int64_t a = 0; a < 3; ++a)
        for (int64_t b = 0; b < 3; ++b) {
          double s = 0;
          for (int64_t n = 0; n < 2; ++n)
            for (int64_t h = 0; h < 5; ++h)
              for (int64_t q = 0; q < 4; ++q) {
                int64_t ih = h + a - 1, iq = q + b - 1;
                if (ih >= 0 && ih < 5 && iq >= 0 && iq < 4) s += xv[((n * 2 + ci) * 5 + ih) * 4 + iq];
              }
          CHECK(gw[((co * 2 + ci) * 3 + a) * 3 + b] == doctest::Approx(s).epsilon(1e-12));
        }
  NoGrad ng;
  CHECK_FALSE(conv(x, w, Tensor(), {1}, {1}).requires_grad());
}

TEST_CASE("conv and conv_transpose: shape and argument errors name the op and shapes") {
  Tensor x = Tensor::zeros({1, 3, 8, 8}), w = Tensor::zeros({4, 2, 3, 3});
  CHECK_THROWS_WITH_AS(conv(x, w, Tensor(), {1}, {0}),
                       doctest::Contains("conv: input float32[1, 3, 8, 8] cpu has 3 channels but weight float32[4, 2, 3, 3] cpu expects 2"),
                       pn::Error);
  Tensor w3 = Tensor::zeros({4, 3, 3, 3});
  CHECK_THROWS_WITH_AS(conv(Tensor::zeros({3, 8, 8}), w3, Tensor(), {1}, {0}), doctest::Contains("must be 4-D"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, Tensor::zeros({4, 3, 3}), Tensor(), {1}, {0}), doctest::Contains("must have 4 dims"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3, Tensor(), {1, 1, 1}, {0}), doctest::Contains("stride needs 1 or 2 entries"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3, Tensor(), {0}, {0}), doctest::Contains("stride must be >= 1"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3, Tensor(), {1}, {-1}), doctest::Contains("padding must be >= 0"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(Tensor::zeros({1, 3, 2, 8}), w3, Tensor(), {1}, {0}), doctest::Contains("does not fit input"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3, Tensor::zeros({3}), {1}, {0}), doctest::Contains("conv: bias float32[3] cpu does not match the 4"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3.to(DType::Float64), Tensor(), {1}, {0}), doctest::Contains("conv: dtype mismatch"), pn::Error);
  CHECK_THROWS_WITH_AS(conv(x, w3, Tensor::zeros({4}, DType::Float64), {1}, {0}), doctest::Contains("dtype mismatch"), pn::Error);
  CHECK(conv(x, w3, Tensor::zeros({4}), {2}, {1}).shape() == Shape{1, 4, 4, 4});
  CHECK(conv(x, w3, Tensor(), {1, 2}, {0, 1}).shape() == Shape{1, 4, 6, 4});
  CHECK_THROWS_WITH_AS(conv_transpose(x, w, Tensor(), {2}, {0}),
                       doctest::Contains("conv_transpose: input float32[1, 3, 8, 8] cpu has 3 channels but weight float32[4, 2, 3, 3] cpu expects 4"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(conv_transpose(Tensor::zeros({1, 4, 1, 1}), w, Tensor(), {1}, {2}), doctest::Contains("leaves no output"), pn::Error);
  CHECK(conv_transpose(Tensor::zeros({2, 4, 3, 5}), w, Tensor::zeros({2}), {2}, {1}).shape() == Shape{2, 2, 5, 9});
}
