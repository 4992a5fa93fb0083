// Data-parallel training: every rank holds a replica of the model, trains on its own
// shard of each global batch, and averages gradients with the others before the optimiser
// step, so that N ranks with per-rank batch B follow the same trajectory as one process
// with batch N*B. Rank 0's initial weights and buffers are broadcast to all; gradients go
// through the communicator in buckets (fewer, larger all-reduces).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/communicator.h"
#include "nn/module.h"

namespace pn::nn {

class DataParallel {
 public:
  // comm: the host communicator, plus the device one when the modules live on a GPU and
  // there are several ranks (Collectives converts from a host communicator alone).
  DataParallel(Collectives comm, std::vector<Module*> modules, int64_t bucket_bytes = int64_t{4} << 20);

  // Copies rank 0's parameters and buffers to every rank (call once, after construction
  // or after loading a checkpoint on rank 0 only).
  void broadcast_state();
  // grad <- mean over ranks of grad, for every parameter (a missing grad counts as zero,
  // so every rank makes the same collective calls).
  void average_gradients();
  // Sum over ranks of a scalar (e.g. a loss for logging), divided by the number of ranks.
  double average(double value);

  Communicator& comm() { return *comm_.host; }
  const Collectives& collectives() const { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  double comm_seconds() const { return comm_seconds_; }  // time spent in collectives so far

 private:
  Collectives comm_;
  std::vector<Module*> modules_;
  int64_t bucket_bytes_;
  double comm_seconds_ = 0;
};

// Copies rank 0's parameters and buffers of `modules` to every rank (each tensor through
// the communicator of its device, Collectives).
void broadcast_module_state(const Collectives& comm, const std::vector<Module*>& modules);

// Copies rank 0's whole training state to every rank (after rank 0 alone loaded a
// checkpoint): the modules' parameters and buffers and the optimisers' state tensors through
// the communicator of their device; the optimisers' step counts and learning rates and the
// generators' (seed, offset) through the host communicator.
void broadcast_training_state(const Collectives& comm, const CheckpointParts& parts);

// Makes every BatchNorm in the tree of `root` synchronise its training statistics over
// comm's ranks (PyTorch's convert_sync_batchnorm); returns how many it switched.
int enable_sync_batch_norm(Module& root, const Collectives& comm);

// The sample order of an epoch: a permutation of 0..n-1 from (seed, epoch), the same on
// every rank and in a single-process run.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// The samples one rank trains on in global step `step` of an epoch: the global batch is
// order[step * B * ranks, (step + 1) * B * ranks), and rank r takes its r-th slice of B.
// Steps that would run past the end of the epoch are not taken (steps_per_epoch).
std::vector<int64_t> rank_batch(const std::vector<int64_t>& order, int64_t step, int64_t per_rank_batch, int rank,
                                int ranks);
int64_t steps_per_epoch(int64_t n, int64_t per_rank_batch, int ranks);

// This rank's share of a global batch [ranks * B, ...]: samples [rank * B, (rank + 1) * B).
Tensor rank_slice(const Tensor& global_batch, int rank, int ranks);

}  // namespace pn::nn
