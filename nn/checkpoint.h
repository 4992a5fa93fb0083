// Training checkpoints in safetensors: the weights and buffers of one or more modules,
// optimiser state (moments in tensors; step counts and learning rates in the metadata), the
// state (seed, offset) of every random generator, and the step, epoch and anything else a
// trainer adds in the metadata. Keys are "<prefix>.<name>" (e.g. "generator.down0.0.weight",
// "opt_g.down0.0.weight.exp_avg"; metadata "opt_g.steps", "rng.dropout").
// Saving is atomic and refuses non-finite values (a diverged model is not a checkpoint);
// the metadata carries a checksum of every tensor's bytes. Reading (read_checkpoint)
// verifies the file: a torn, truncated or altered file is reported as corrupt, which lets
// a caller fall back to an older one. Restoring (restore_checkpoint) checks every name,
// shape and dtype and that every value is finite, and fails with a message listing what is
// wrong before anything is copied, so a model is never half-loaded.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "nn/module.h"
#include "nn/grad_scaler.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace pn::nn {

struct CheckpointState {
  int64_t step = 0;
  int64_t epoch = 0;
  std::map<std::string, std::string> extra;  // anything else a trainer wants back
};

struct CheckpointParts {
  std::vector<std::pair<std::string, Module*>> modules;
  std::vector<std::pair<std::string, Optimizer*>> optimizers;
  std::vector<std::pair<std::string, Generator*>> generators;  // metadata "rng.<name>" = "<seed> <offset>"
  std::vector<std::pair<std::string, GradScaler*>> scalers = {};  // metadata "scaler.<name>" (grad_scaler.h)
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& state);
// Reads and verifies a checkpoint file (format, checksum when present); throws pn::Error
// saying what is wrong with the file.
SafetensorsFile read_checkpoint(const std::string& path);
// Restores tensors in place (same storage, so optimisers keep pointing at them), optimiser
// steps and learning rates, and generator states; returns the step, epoch and metadata.
CheckpointState restore_checkpoint(const SafetensorsFile& file, const std::string& path, const CheckpointParts& parts);
// read_checkpoint then restore_checkpoint.
CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts);

// The values of a tensor that are NaN or infinite (0 for an undefined tensor).
int64_t count_non_finite(const Tensor& t);

}  // namespace pn::nn
