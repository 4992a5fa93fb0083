// Losses: forward against naive loops, stability at extreme logits, gradients (first and
// second order) with constant targets, soft Dice in both target forms, and errors.
#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "test_util.h"

using namespace pn;

namespace {

Tensor constant(const Shape& s, Generator& gen, double scale = 1.0, double shift = 0.0) {
  return test::rand_input(s, gen, scale, shift, false);
}

// Uniform(0, 1) probabilities as constants.
Tensor probs01(const Shape& s, Generator& gen) { return Tensor::rand(s, gen, DType::Float64); }

// One-hot [N, C, S...] from a uniform draw of classes.
Tensor one_hot(const Shape& s, Generator& gen) {
  Tensor t = Tensor::zeros(s, DType::Float64);
  const int64_t n = s[0], c = s[1], sp = t.numel() / (n * c);
  double* p = t.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < sp; ++k) p[(i * c + static_cast<int64_t>(gen.below(c))) * sp + k] = 1.0;
  return t;
}

}  // namespace

TEST_CASE("mse, l1 and bce_with_logits match naive loops") {
  Generator gen(31);
  for (Shape s : {Shape{2, 3, 4, 5}, Shape{3, 1, 2, 3, 3}}) {
    Tensor x = constant(s, gen, 3.0), t = constant(s, gen), p = probs01(s, gen);
    auto xv = x.to_vector(), tv = t.to_vector(), pv = p.to_vector();
    double mse = 0, l1 = 0, bce = 0;
    for (size_t i = 0; i < xv.size(); ++i) {
      mse += (xv[i] - tv[i]) * (xv[i] - tv[i]);
      l1 += std::abs(xv[i] - tv[i]);
      double sg = 1.0 / (1.0 + std::exp(-xv[i]));
      bce += -(pv[i] * std::log(sg) + (1 - pv[i]) * std::log(1 - sg));
    }
    const double n = static_cast<double>(xv.size());
    CHECK(mse_loss(x, t).item() == doctest::Approx(mse / n).epsilon(1e-12));
    CHECK(l1_loss(x, t).item() == doctest::Approx(l1 / n).epsilon(1e-12));
    CHECK(bce_with_logits(x, p).item() == doctest::Approx(bce / n).epsilon(1e-10));
    CHECK(mse_loss(x, t).dim() == 0);
  }
}

TEST_CASE("bce_with_logits is finite at extreme logits and has the right gradient at zero") {
  Tensor x = Tensor::from_vector(std::vector<double>{1000, -1000, 80, -80}, {4}, DType::Float32);
  Tensor t = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {4}, DType::Float32);
  // Terms: 0, 0, 80, 80 (log(1 + e^80) = 80 to float precision).
  CHECK(bce_with_logits(x, t).item() == doctest::Approx(40.0).epsilon(1e-6));
  // At x = 0 the gradient is (sigmoid(0) - t) / n, even though max(x, 0) and |x| kink there.
  Tensor z = Tensor::zeros({2}, DType::Float64).requires_grad_();
  Tensor tz = Tensor::from_vector(std::vector<double>{1.0, 0.25}, {2}, DType::Float64);
  bce_with_logits(z, tz).backward();
  auto g = z.grad().to_vector();
  CHECK(g[0] == doctest::Approx((0.5 - 1.0) / 2));
  CHECK(g[1] == doctest::Approx((0.5 - 0.25) / 2));
}

TEST_CASE("cross_entropy matches a naive computation, one-hot and soft targets") {
  Generator gen(32);
  for (Shape s : {Shape{2, 4, 3, 5}, Shape{2, 3, 2, 3, 4}, Shape{5, 3}}) {
    INFO("shape " << shape_str(s));
    Tensor x = constant(s, gen, 2.0);
    for (Tensor t : {one_hot(s, gen), softmax(constant(s, gen), 1)}) {
      auto xv = x.to_vector(), tv = t.to_vector();
      const int64_t n = s[0], c = s[1], sp = x.numel() / (n * c);
      double total = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < sp; ++k) {
          double lse = 0;
          for (int64_t j = 0; j < c; ++j) lse += std::exp(xv[(i * c + j) * sp + k]);
          for (int64_t j = 0; j < c; ++j) total -= tv[(i * c + j) * sp + k] * (xv[(i * c + j) * sp + k] - std::log(lse));
        }
      CHECK(cross_entropy(x, t).item() == doctest::Approx(total / static_cast<double>(n * sp)).epsilon(1e-12));
    }
  }
}

TEST_CASE("loss gradients by finite differences, first and second order") {
  Generator gen(33);
  for (Shape s : {Shape{2, 3, 3, 5}, Shape{2, 2, 3, 2, 3}}) {
    INFO("shape " << shape_str(s));
    Tensor x = test::rand_input(s, gen, 2.0);
    Tensor t = constant(s, gen), p = probs01(s, gen), oh = one_hot(s, gen);
    TensorFn mse = [t](const std::vector<Tensor>& in) { return mse_loss(in[0], t); };
    TensorFn l1 = [t](const std::vector<Tensor>& in) { return l1_loss(in[0], t); };
    TensorFn bce = [p](const std::vector<Tensor>& in) { return bce_with_logits(in[0], p); };
    TensorFn ce = [oh](const std::vector<Tensor>& in) { return cross_entropy(in[0], oh); };
    TensorFn ce_last = [p](const std::vector<Tensor>& in) { return cross_entropy(in[0], p, -1); };
    for (const TensorFn& f : {mse, l1, bce, ce, ce_last}) CHECK_GRADCHECK(f, std::vector<Tensor>{x});
    for (const TensorFn& f : {mse, bce, ce}) CHECK_GRADGRADCHECK(f, std::vector<Tensor>{x});
  }
  // A target that requires grad gets its gradient too.
  Tensor a = test::rand_input({3, 4}, gen), b = test::rand_input({3, 4}, gen);
  TensorFn both = [](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); };
  CHECK_GRADCHECK(both, (std::vector<Tensor>{a, b}));
}

TEST_CASE("soft_dice matches a naive per-volume computation in both target forms") {
  Generator gen(34);
  const Shape s{3, 3, 4, 5, 2};
  Tensor probs = softmax(constant(s, gen, 2.0), 1);
  Tensor oh = one_hot(s, gen);
  const int cls = 2;
  // The [N, 1, ...] mask of class cls, and the naive Dice per volume.
  Tensor mask = Tensor::zeros({3, 1, 4, 5, 2}, DType::Float64);
  auto pv = probs.to_vector(), tv = oh.to_vector();
  const int64_t sp = 40;
  std::vector<double> want(3);
  for (int64_t i = 0; i < 3; ++i) {
    double inter = 0, ps = 0, ts = 0;
    for (int64_t k = 0; k < sp; ++k) {
      double pp = pv[(i * 3 + cls) * sp + k], tt = tv[(i * 3 + cls) * sp + k];
      mask.data<double>()[i * sp + k] = tt;
      inter += pp * tt;
      ps += pp;
      ts += tt;
    }
    want[i] = (2 * inter + 1e-5) / (ps + ts + 1e-5);
  }
  auto d1 = soft_dice(probs, oh, cls).to_vector(), d2 = soft_dice(probs, mask, cls).to_vector();
  REQUIRE(d1.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(d1[i] == doctest::Approx(want[i]).epsilon(1e-12));
    CHECK(d2[i] == doctest::Approx(want[i]).epsilon(1e-12));
  }
  CHECK(soft_dice_loss(probs, oh, cls).item() == doctest::Approx(1.0 - (want[0] + want[1] + want[2]) / 3).epsilon(1e-12));
  // A perfect prediction scores 1; an empty target and empty prediction score 1 through eps.
  CHECK(soft_dice_loss(oh, oh, 1).item() == doctest::Approx(0.0));
  Tensor zeros = Tensor::zeros(s, DType::Float64);
  CHECK(soft_dice_loss(zeros, zeros, 0).item() == doctest::Approx(0.0));
}

TEST_CASE("soft_dice gradients on 3-D volumes") {
  Generator gen(35);
  const Shape s{2, 2, 3, 4, 5};
  Tensor logits = test::rand_input(s, gen);
  Tensor oh = one_hot(s, gen);
  Tensor mask = Tensor::rand({2, 1, 3, 4, 5}, gen, DType::Float64);  // soft mask: also accepted
  TensorFn loss = [oh](const std::vector<Tensor>& in) { return soft_dice_loss(softmax(in[0], 1), oh, 1); };
  TensorFn per_volume = [mask](const std::vector<Tensor>& in) { return soft_dice(sigmoid(in[0]), mask, 0, 1e-3); };
  CHECK_GRADCHECK(loss, std::vector<Tensor>{logits});
  CHECK_GRADCHECK(per_volume, std::vector<Tensor>{logits});
  Tensor small = test::rand_input({2, 2, 2, 3}, gen);
  Tensor small_oh = one_hot({2, 2, 2, 3}, gen);
  TensorFn loss2 = [small_oh](const std::vector<Tensor>& in) { return soft_dice_loss(softmax(in[0], 1), small_oh, 0); };
  CHECK_GRADGRADCHECK(loss2, std::vector<Tensor>{small});
}

TEST_CASE("loss errors name the op and the shapes") {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({3, 2});
  CHECK_THROWS_WITH_AS(mse_loss(a, b), doctest::Contains("mse_loss: prediction float32[2, 3] cpu and target float32[3, 2] cpu"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(l1_loss(a, b), doctest::Contains("l1_loss"), pn::Error);
  CHECK_THROWS_WITH_AS(bce_with_logits(a, Tensor::ones({2, 3}, DType::Float64)), doctest::Contains("bce_with_logits: dtype mismatch"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(a, b), doctest::Contains("cross_entropy"), pn::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(a, a, 2), doctest::Contains("cross_entropy: axis 2"), pn::Error);
  Tensor p = Tensor::ones({2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(soft_dice_loss(p, Tensor::ones({2, 2, 4, 4}), 1),
                       doctest::Contains("soft_dice: target float32[2, 2, 4, 4] cpu must be one-hot"), pn::Error);
  CHECK_THROWS_WITH_AS(soft_dice(p, p, 3), doctest::Contains("soft_dice: class 3 out of range for 3 channels"), pn::Error);
  CHECK_THROWS_WITH_AS(batch_soft_dice_loss(p, Tensor::ones({2, 2, 4, 4}), 1),
                       doctest::Contains("batch_soft_dice_loss: target float32[2, 2, 4, 4] cpu must be one-hot"), pn::Error);
  CHECK_THROWS_WITH_AS(soft_dice(a, a, 0), doctest::Contains("soft_dice: expected probabilities"), pn::Error);
}
