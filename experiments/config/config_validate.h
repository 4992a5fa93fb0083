// Checks on a config's values that types alone cannot express: ranges, allowed words,
// array lengths and agreement between keys (e.g. the U-Net depth must divide the grid).
// Every message names the key, its value and what would be valid.
#pragma once
#include "autograd/autocast.h"
#include "experiments/config/config.h"

namespace pn::experiments {

void validate_config(const Config& c);

// The training precision from run.precision and run.tf32: run.tf32 = true turns "fp32" into
// "tf32" (the two spell the same thing) and is an error beside "bf16" / "fp16" (every
// convolution and matmul then runs in 16 bits, so TF32 would change nothing). Read by
// select_device (experiments/run/compute_device.h) for the trainers and the GPU libraries.
Precision training_precision(const Config& cfg);

}  // namespace pn::experiments
