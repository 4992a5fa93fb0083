#include "experiments/run/run_threads.h"

#include <omp.h>

namespace pn::experiments {

int apply_thread_setting(const Config& c) {
  // Recorded once: later calls with run.threads = N must not become the "share" of a later
  // run.threads = 0 in the same process (the study runs several trainers in one process).
  static const int process_share = omp_get_max_threads();
  const int64_t t = c.integer("run.threads");
  const int n = t > 0 ? static_cast<int>(t) : process_share;
  omp_set_num_threads(n);
  return n;
}

}  // namespace pn::experiments
