// The case order of one segmentation epoch over clinical volumes [0, n_clinical) pooled
// with synthetic ones [n_clinical, n_clinical + n_synthetic):
//  - ratio < 0 (the authors' way): a shuffled pass over the pooled set;
//  - ratio in [0, 1]: every batch takes round(r B (k+1)) - round(r B k) synthetic volumes
//    (k = the batch's index in the run), so the synthetic share is r of every B batches
//    to within one volume; the rest are clinical.
// `steps` > 0 fixes the epoch at steps * batch volumes (equal step budgets across
// experiments), else one pass over the pooled set. Each set is read as an endless stream
// of seeded permutations that continues across epochs; a position in it is a pure
// function of (seed, epoch), so resumed and fresh runs see the same volumes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pn::experiments {

std::vector<size_t> mixed_epoch_order(int64_t n_clinical, int64_t n_synthetic, double ratio, int64_t batch,
                                      int64_t steps, uint64_t seed, int64_t epoch);

}  // namespace pn::experiments
