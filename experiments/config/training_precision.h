// The training precision a config asks for: run.precision ("fp32", "tf32", "bf16", "fp16";
// autograd/autocast.h has the casting rules) together with the older run.tf32 switch.
#pragma once
#include "autograd/autocast.h"
#include "experiments/config/config.h"

namespace pn::experiments {

// run.tf32 = true turns "fp32" into "tf32" (the two spell the same thing) and is an error
// beside "bf16" / "fp16" (every convolution and matmul then runs in 16 bits, so TF32 would
// change nothing). Read by select_device (experiments/run/compute_device.h) for the
// trainers and the GPU libraries, and by validate_config so a conflict fails early.
// throws pn::Error naming both keys when they conflict, or run.precision when unknown.
Precision training_precision(const Config& cfg);

}  // namespace pn::experiments
