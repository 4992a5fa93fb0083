// run.threads applied to the process: the OpenMP thread count, which the CPU kernels and
// OpenBLAS (its OpenMP build) both use. 0 means every core.
#pragma once
#include "experiments/config.h"

namespace pn::experiments {

// Sets the thread count from run.threads and returns it.
int apply_thread_setting(const Config& c);

}  // namespace pn::experiments
