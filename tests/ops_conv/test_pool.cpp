// max_pool, upsample_nearest and block_sum: values against direct definitions, first and
// second derivatives by finite differences (float64), ties, shapes and errors.
#include "autograd/cpu_block_cache.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

namespace {

TensorFn pool_fn(int k, int s) {
  return [k, s](const std::vector<Tensor>& in) { return max_pool(in[0], k, s); };
}

// Max over each window of a (N, C, [D,] H, W) tensor, by the definition.
std::vector<double> max_pool_reference(const Tensor& x, int k, int s) {
  const bool three = x.dim() == 5;
  const int64_t D = three ? x.size(2) : 1, H = x.size(-2 + x.dim()), W = x.size(x.dim() - 1);
  const int64_t kd = three ? k : 1, sd = three ? s : 1;
  const int64_t od = (D - kd) / sd + 1, oh = (H - k) / s + 1, ow = (W - k) / s + 1;
  auto v = x.to_vector();
  std::vector<double> y;
  for (int64_t p = 0; p < x.size(0) * x.size(1); ++p)
    for (int64_t z = 0; z < od; ++z)
      for (int64_t h = 0; h < oh; ++h)
        for (int64_t q = 0; q < ow; ++q) {
          double m = -1e300;
          for (int64_t a = 0; a < kd; ++a)
            for (int64_t b = 0; b < k; ++b)
              for (int64_t c = 0; c < k; ++c)
                m = std::max(m, v[((p * D + z * sd + a) * H + h * s + b) * W + q * s + c]);
          y.push_back(m);
        }
  return y;
}

}  // namespace

TEST_CASE("max_pool forward matches the definition; 2-D and 3-D, overlapping windows, odd sizes") {
  Generator gen(31);
  struct P { Shape s; int k, st; Shape out; };
  for (const P& p : {P{{2, 3, 6, 7}, 2, 2, {2, 3, 3, 3}}, P{{1, 2, 7, 5}, 3, 2, {1, 2, 3, 2}},
                     P{{2, 2, 4, 6, 5}, 2, 2, {2, 2, 2, 3, 2}}, P{{1, 1, 5, 5, 7}, 3, 1, {1, 1, 3, 3, 5}}}) {
    CAPTURE(shape_str(p.s));
    Tensor x = rand_input(p.s, gen);
    Tensor y = max_pool(x, p.k, p.st);
    REQUIRE(y.shape() == p.out);
    CHECK(test::max_abs_diff(y, Tensor::from_vector(max_pool_reference(x, p.k, p.st), p.out, DType::Float64)) == 0.0);
  }
}

TEST_CASE("max_pool keeps its argmax only where a gradient will read it") {
  Generator gen(35);
  const Shape s{2, 8, 8, 64, 64};  // float32: 2 MiB in, 256 KiB out, 512 KiB of int64 argmax
  Tensor x = Tensor::randn(s, gen, DType::Float32);
  const size_t out_bytes = static_cast<size_t>(x.numel() / 8) * 4;
  auto pool_peak = [&](const Tensor& in, Tensor& y) {
    cpu_block_reset_peak();
    const size_t before = cpu_block_cache_stats().live_bytes;
    y = max_pool(in, 2, 2);
    return cpu_block_cache_stats().peak_live_bytes - before;
  };
  Tensor plain, tracked, nograd;
  CHECK(pool_peak(x, plain) < out_bytes + out_bytes / 2);  // y alone: no gradient to feed
  {
    NoGrad ng;
    Tensor xg = x.detach().requires_grad_();
    CHECK(pool_peak(xg, nograd) < out_bytes + out_bytes / 2);
  }
  Tensor xg = x.detach().requires_grad_();
  CHECK(pool_peak(xg, tracked) >= 3 * out_bytes);  // y and its argmax
  CHECK(plain.to_vector() == tracked.to_vector());
  CHECK(nograd.to_vector() == tracked.to_vector());
  CHECK(!plain.requires_grad());
  // The tracked pool's gradient still reaches the maxima.
  sum(tracked).backward();
  CHECK(sum(xg.grad()).item() == doctest::Approx(static_cast<double>(tracked.numel())));
}

TEST_CASE("max_pool: gradcheck and gradgradcheck") {
  Generator gen(32);
  struct P { Shape s; int k, st; };
  for (const P& p : {P{{2, 3, 6, 7}, 2, 2}, P{{1, 2, 7, 5}, 3, 2}, P{{2, 2, 4, 6, 5}, 2, 2}, P{{1, 2, 5, 4, 5}, 3, 1}}) {
    CAPTURE(shape_str(p.s));
    Tensor x = rand_input(p.s, gen);
    CHECK_GRADCHECK(pool_fn(p.k, p.st), std::vector<Tensor>{x});
    CHECK_GRADGRADCHECK(pool_fn(p.k, p.st), std::vector<Tensor>{x});
    // Squared, the upstream gradient depends on x: exercises scatter's own backward (gather).
    TensorFn sq = [p](const std::vector<Tensor>& in) { return square(max_pool(in[0], p.k, p.st)); };
    CHECK_GRADGRADCHECK(sq, std::vector<Tensor>{x});
  }
}

TEST_CASE("max_pool sends the gradient to the first maximum on ties, and accumulates overlaps") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 3, 3, 0,  //
                                                     3, 2, 1, 0,  //
                                                     0, 0, 0, 0},
                                 {1, 1, 3, 4}, DType::Float64);
  x.requires_grad_(true);
  Tensor y = max_pool(x, 2, 1);  // 2x3 overlapping windows; the 3 at (0, 1) wins the first two
  CHECK(y.to_vector() == std::vector<double>{3, 3, 3, 3, 2, 1});
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 2, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0});
}

TEST_CASE("upsample_nearest and block_sum: values, adjointness, derivatives") {
  Generator gen(33);
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}, DType::Float64);
  Tensor u = upsample_nearest(x, 2);
  CHECK(u.shape() == Shape{1, 1, 4, 6});
  CHECK(u.to_vector() == std::vector<double>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6});
  CHECK(block_sum(u, 2).to_vector() == std::vector<double>{4, 8, 12, 16, 20, 24});
  for (Shape s : {Shape{2, 3, 3, 5}, Shape{2, 2, 3, 2, 3}}) {
    for (int f : {2, 3}) {
      CAPTURE(shape_str(s));
      CAPTURE(f);
      Tensor a = rand_input(s, gen);
      Tensor ua = upsample_nearest(a, f);
      Tensor b = rand_input(ua.shape(), gen);
      // <up(a), b> = <a, block_sum(b)>: each is the other's adjoint.
      CHECK(sum(mul(ua, b)).item() == doctest::Approx(sum(mul(a, block_sum(b, f))).item()).epsilon(1e-12));
      TensorFn up = [f](const std::vector<Tensor>& in) { return upsample_nearest(in[0], f); };
      TensorFn bs = [f](const std::vector<Tensor>& in) { return block_sum(in[0], f); };
      TensorFn up_sq = [f](const std::vector<Tensor>& in) { return square(upsample_nearest(in[0], f)); };
      TensorFn bs_sq = [f](const std::vector<Tensor>& in) { return square(block_sum(in[0], f)); };
      CHECK_GRADCHECK(up, std::vector<Tensor>{a});
      CHECK_GRADCHECK(bs, std::vector<Tensor>{b});
      CHECK_GRADGRADCHECK(up_sq, std::vector<Tensor>{a});
      CHECK_GRADGRADCHECK(bs_sq, std::vector<Tensor>{b});
    }
  }
  CHECK(upsample_nearest(Tensor::zeros({1, 2, 3, 4, 5}), 2).shape() == Shape{1, 2, 6, 8, 10});
}

TEST_CASE("pool and upsample errors name the op and the shapes") {
  CHECK_THROWS_WITH_AS(max_pool(Tensor::zeros({2, 4, 4})), doctest::Contains("max_pool: input float32[2, 4, 4] cpu must be 4-D"), pn::Error);
  CHECK_THROWS_WITH_AS(max_pool(Tensor::zeros({1, 1, 1, 4})), doctest::Contains("max_pool: kernel 2 larger than input"), pn::Error);
  CHECK_THROWS_WITH_AS(max_pool(Tensor::zeros({1, 1, 4, 4}), 0), doctest::Contains("must be >= 1"), pn::Error);
  CHECK_THROWS_WITH_AS(upsample_nearest(Tensor::zeros({4, 4}), 2), doctest::Contains("upsample_nearest: input float32[4, 4] cpu"), pn::Error);
  CHECK_THROWS_WITH_AS(upsample_nearest(Tensor::zeros({1, 1, 4, 4}), 0), doctest::Contains("factor 0"), pn::Error);
  CHECK_THROWS_WITH_AS(block_sum(Tensor::zeros({1, 1, 4, 5}), 2), doctest::Contains("block_sum: spatial sizes of float32[1, 1, 4, 5] cpu must be multiples of 2"), pn::Error);
}
