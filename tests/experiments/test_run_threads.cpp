// run.threads (experiments/run/run_threads.h): N sets N threads; 0 gives back the process's own
// share of the machine, even after an earlier run in the same process set another count.
#include <doctest/doctest.h>

#include <string>

#include <omp.h>

#include "experiments/config/config_presets.h"
#include "experiments/run/run_threads.h"

using namespace pn::experiments;

namespace {
Config with_threads(int n) {
  Config c = load_preset("small");
  c.set("run.threads=" + std::to_string(n));
  return c;
}
}  // namespace

TEST_CASE("run.threads: a count is applied; 0 is the process's share, not the last count set") {
  const int share = apply_thread_setting(with_threads(0));
  CHECK(share >= 1);
  CHECK(omp_get_max_threads() == share);
  CHECK(apply_thread_setting(with_threads(share + 1)) == share + 1);
  CHECK(omp_get_max_threads() == share + 1);
  CHECK(apply_thread_setting(with_threads(0)) == share);
  CHECK(omp_get_max_threads() == share);
}
