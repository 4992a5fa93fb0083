// mixed_epoch_order: the synthetic share of every batch, equal step budgets, coverage of
// both sets, and positions that depend only on (seed, epoch) so that a resume continues.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "autograd/error.h"
#include "experiments/train/mixed_order.h"

using pn::experiments::mixed_epoch_order;

TEST_CASE("mixed_epoch_order: pooled pass without a ratio or a budget") {
  const auto o = mixed_epoch_order(5, 7, -1, 4, 0, 3, 1);
  REQUIRE(o.size() == 12);
  auto sorted = o;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);  // a permutation
  CHECK(o != mixed_epoch_order(5, 7, -1, 4, 0, 3, 2));                // reshuffled next epoch
}

TEST_CASE("mixed_epoch_order: each batch holds round(r B) synthetic volumes; streams cover both sets") {
  const int64_t nc = 6, ns = 40, batch = 4, steps = 9;
  for (double r : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    std::map<size_t, int> seen_c;
    for (int64_t epoch = 1; epoch <= 2; ++epoch) {
      const auto o = mixed_epoch_order(nc, ns, r, batch, steps, 11, epoch);
      REQUIRE(o.size() == static_cast<size_t>(steps * batch));
      for (int64_t k = 0; k < steps; ++k) {
        int syn = 0;
        for (int64_t i = 0; i < batch; ++i) {
          const size_t c = o[static_cast<size_t>(k * batch + i)];
          REQUIRE(c < static_cast<size_t>(nc + ns));
          if (c >= static_cast<size_t>(nc)) ++syn;
          else ++seen_c[c];
        }
        CHECK_MESSAGE(syn == static_cast<int>(r * batch), "ratio ", r, " batch ", k);
      }
    }
    // The clinical stream walks whole permutations: 2 epochs x 9 batches x (1 - r) 4 volumes.
    const int clinical_taken = static_cast<int>(2 * steps * batch * (1 - r));
    if (clinical_taken >= nc) {
      CHECK(seen_c.size() == static_cast<size_t>(nc));
      for (auto [c, n] : seen_c) CHECK(n >= clinical_taken / nc);
    }
  }
}

TEST_CASE("mixed_epoch_order: an epoch's order is a function of (seed, epoch) only") {
  const auto a = mixed_epoch_order(6, 30, 0.5, 4, 5, 7, 3);
  CHECK(a == mixed_epoch_order(6, 30, 0.5, 4, 5, 7, 3));
  CHECK(a != mixed_epoch_order(6, 30, 0.5, 4, 5, 8, 3));
  // Consecutive epochs continue the streams: no clinical volume repeats before all 6 were used.
  const auto e1 = mixed_epoch_order(6, 30, 0.5, 4, 1, 7, 1), e2 = mixed_epoch_order(6, 30, 0.5, 4, 1, 7, 2);
  std::vector<size_t> clinical;
  for (const auto* e : {&e1, &e2})
    for (size_t c : *e)
      if (c < 6) clinical.push_back(c);
  REQUIRE(clinical.size() == 4);
  std::sort(clinical.begin(), clinical.end());
  CHECK(std::adjacent_find(clinical.begin(), clinical.end()) == clinical.end());
}

TEST_CASE("mixed_epoch_order: one empty set falls back to one stream; bad arguments throw") {
  const auto o = mixed_epoch_order(0, 5, 0.5, 2, 4, 1, 1);
  CHECK(o.size() == 8);
  for (size_t c : o) CHECK(c < 5);
  CHECK_THROWS_AS(mixed_epoch_order(0, 0, 0.5, 2, 0, 1, 1), pn::Error);
  CHECK_THROWS_AS(mixed_epoch_order(3, 3, 1.5, 2, 0, 1, 1), pn::Error);
}
