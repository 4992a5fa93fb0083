#include "experiments/run_threads.h"

#include <omp.h>

namespace pn::experiments {

int apply_thread_setting(const Config& c) {
  const int64_t t = c.integer("run.threads");
  const int n = t > 0 ? static_cast<int>(t) : omp_get_num_procs();
  omp_set_num_threads(n);
  return n;
}

}  // namespace pn::experiments
