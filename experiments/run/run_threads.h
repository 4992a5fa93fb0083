// run.threads applied to the process: the OpenMP thread count, which the CPU kernels, oneDNN
// and OpenBLAS (its OpenMP build) all use, per rank.
//   run.threads = N > 0: N threads in every rank.
//   run.threads = 0: the rank's share of the machine, as the process started with it:
//     OMP_NUM_THREADS when set, else the node's cores split evenly between the ranks on the
//     node (the MPI communicator sets that split when it starts), else every core.
// So `mpirun -np 2` on a 2-core machine runs 1 thread per rank, not 2 each.
#pragma once
#include "experiments/config/config.h"

namespace pn::experiments {

// Sets the thread count from run.threads and returns it. The first call records the process's
// own share (call it after the world communicator exists, as TrainingLoop does).
int apply_thread_setting(const Config& c);

}  // namespace pn::experiments
