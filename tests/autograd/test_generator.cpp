// Generator batch slices (per-rank noise streams): N ranks drawing their shares of a global
// batch get exactly the values one process drawing the whole batch gets, and all end at the
// same counter offset; a draw that is not per-sample is refused.
#include <doctest/doctest.h>

#include <vector>

#include "autograd/generator.h"
#include "autograd/ops/dropout.h"
#include "autograd/tensor.h"

using namespace pn;

namespace {

// Three draws of a step (latents, per-sample weights, a dropout mask) for samples
// [first, first + count) of a global batch of `total`.
std::vector<double> draws(Generator& g, int64_t first, int64_t count, int64_t total) {
  g.set_batch_slice(first, count, total);
  std::vector<double> out;
  for (Tensor t : {Tensor::randn({count, 3}, g), Tensor::rand({count, 1, 1}, g),
                   dropout(Tensor::ones({count, 2, 2}), 0.5, g, true)}) {
    auto v = t.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  g.clear_batch_slice();
  return out;
}

}  // namespace

TEST_CASE("generator batch slices: 3 ranks x batch 2 draw what 1 process x batch 6 draws") {
  Generator whole(42);
  whole.reserve(5);  // not at offset 0: the slice is relative to the current offset
  Tensor z = Tensor::randn({6, 3}, whole), e = Tensor::rand({6, 1, 1}, whole);
  Tensor m = dropout(Tensor::ones({6, 2, 2}), 0.5, whole, true);
  const auto vz = z.to_vector(), ve = e.to_vector(), vm = m.to_vector();
  for (int rank = 0; rank < 3; ++rank) {
    Generator g(42);
    g.reserve(5);
    const auto got = draws(g, 2 * rank, 2, 6);
    std::vector<double> want(vz.begin() + 6 * rank, vz.begin() + 6 * rank + 6);
    want.insert(want.end(), ve.begin() + 2 * rank, ve.begin() + 2 * rank + 2);
    want.insert(want.end(), vm.begin() + 8 * rank, vm.begin() + 8 * rank + 8);
    CHECK(got == want);
    CHECK(g.offset() == whole.offset());
  }
  // Without a slice every rank would draw the first samples' values: rank 1 would repeat
  // rank 0's latents instead of drawing samples 2 and 3.
  Generator plain(42);
  plain.reserve(5);
  const auto rank1_plain = Tensor::randn({2, 3}, plain).to_vector();
  CHECK(rank1_plain == std::vector<double>(vz.begin(), vz.begin() + 6));
  CHECK(rank1_plain != std::vector<double>(vz.begin() + 6, vz.begin() + 12));
}

TEST_CASE("generator batch slices: a draw that is not per-sample is refused; bad slices too") {
  Generator g(1);
  g.set_batch_slice(1, 2, 4);
  CHECK(g.has_batch_slice());
  CHECK_THROWS_WITH_AS(Tensor::randn({3}, g), doctest::Contains("a draw of 3 values under a batch slice of 2"), Error);
  CHECK_THROWS_WITH_AS(g.uniform(), doctest::Contains("batch slice"), Error);
  g.clear_batch_slice();
  CHECK_FALSE(g.has_batch_slice());
  CHECK_NOTHROW(g.uniform());
  CHECK_THROWS_WITH_AS(g.set_batch_slice(3, 2, 4), doctest::Contains("does not lie in a global batch of 4"), Error);
  CHECK_THROWS_WITH_AS(g.set_batch_slice(0, 0, 4), doctest::Contains("batch slice"), Error);
}
