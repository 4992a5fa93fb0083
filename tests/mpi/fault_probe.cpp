// A 2-rank program that fails on purpose, for expect_fault.sh: after one all-reduce, rank 1
// either throws (mode "raise": handled the way the penumbra program handles errors) or dies
// (mode "die"), while rank 0 waits in the next all-reduce. The job must end, not hang.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "autograd/error.h"
#include "nn/communicator.h"

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "raise";
  try {
    auto w = pn::nn::world_communicator();
    PN_CHECK(w->size() == 2, "fault_probe: run with mpirun -np 2 (got {} ranks)", w->size());
    double v = 1;
    w->allreduce_sum(&v, 1);
    if (w->rank() == 1) {
      if (!std::strcmp(mode, "die")) std::raise(SIGKILL);
      PN_FAIL("fault_probe: planted failure on rank {} (loss is NaN at step 7)", w->rank());
    }
    w->allreduce_sum(&v, 1);  // rank 0 waits here for a partner that will never come
    std::printf("fault_probe: rank 0 returned from a collective its partner never joined\n");
    return 0;
  } catch (const pn::Error& e) {
    std::fprintf(stderr, "fault_probe: error: %s\n", e.what());
    pn::nn::abort_ranks_on_fatal_error(e.what());
    return 1;
  }
}
