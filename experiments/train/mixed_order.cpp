#include "experiments/train/mixed_order.h"

#include <cmath>

#include "autograd/error.h"
#include "nn/data_parallel.h"

namespace pn::experiments {

namespace {

// Element `pos` of the stream of permutations of 0..n-1 (permutation q = pos / n).
size_t stream_at(int64_t n, uint64_t seed, int64_t pos) {
  return static_cast<size_t>(nn::epoch_order(n, seed, pos / n)[static_cast<size_t>(pos % n)]);
}

// Synthetic volumes among the first k batches: round(r B k).
int64_t synthetic_before(double ratio, int64_t batch, int64_t k) {
  return std::llround(ratio * static_cast<double>(batch * k));
}

}  // namespace

std::vector<size_t> mixed_epoch_order(int64_t n_clinical, int64_t n_synthetic, double ratio, int64_t batch,
                                      int64_t steps, uint64_t seed, int64_t epoch) {
  const int64_t n = n_clinical + n_synthetic;
  PN_CHECK(n > 0 && batch > 0 && epoch >= 1 && ratio <= 1, "mixed_epoch_order: {} + {} volumes, batch {}, epoch {}, "
           "ratio {}", n_clinical, n_synthetic, batch, epoch, ratio);
  const bool mixed = ratio >= 0 && n_clinical > 0 && n_synthetic > 0;
  const int64_t per_epoch = steps > 0 ? steps * batch : n;
  std::vector<size_t> order;
  order.reserve(static_cast<size_t>(per_epoch));
  if (!mixed) {  // one pooled stream
    for (int64_t p = (epoch - 1) * per_epoch; p < epoch * per_epoch; ++p) order.push_back(stream_at(n, seed, p));
    return order;
  }
  // Batches of earlier epochs, and the volumes each stream gave them.
  const int64_t batches = (per_epoch + batch - 1) / batch, k0 = (epoch - 1) * batches;
  int64_t syn = synthetic_before(ratio, batch, k0), cli = k0 * batch - syn;
  const uint64_t seed_c = seed * 2 + 1, seed_s = seed * 2 + 2;  // independent streams
  for (int64_t k = k0; k < k0 + batches; ++k) {
    const int64_t size = std::min(batch, per_epoch - (k - k0) * batch);
    const int64_t s = std::min(size, synthetic_before(ratio, batch, k + 1) - synthetic_before(ratio, batch, k));
    // Synthetic and clinical volumes interleaved within the batch so that a rank's slice
    // of a global batch gets its share too.
    for (int64_t i = 0, taken_s = 0; i < size; ++i) {
      const bool take_s = taken_s * size < s * (i + 1) && taken_s < s;
      if (take_s) order.push_back(static_cast<size_t>(n_clinical) + stream_at(n_synthetic, seed_s, syn++)), ++taken_s;
      else order.push_back(stream_at(n_clinical, seed_c, cli++));
    }
  }
  return order;
}

}  // namespace pn::experiments
