// Training checkpoints in safetensors: the weights and buffers of one or more modules,
// optimiser state, and the step, epoch and RNG state in the metadata. Keys are
// "<prefix>.<name>" (e.g. "generator.down0.0.weight", "opt_g.down0.0.weight.exp_avg").
// Saving is atomic; loading checks every name, shape and dtype and fails with a message
// listing what is missing, unexpected or mismatched, so a wrong file is never half-loaded.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace pn::nn {

struct CheckpointState {
  int64_t step = 0;
  int64_t epoch = 0;
  uint64_t rng_seed = 0, rng_offset = 0;
  std::map<std::string, std::string> extra;  // anything else a trainer wants back
};

struct CheckpointParts {
  std::vector<std::pair<std::string, Module*>> modules;
  std::vector<std::pair<std::string, Optimizer*>> optimizers;
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& state);
// Restores tensors in place (same storage, so optimisers keep pointing at them).
CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts);

}  // namespace pn::nn
