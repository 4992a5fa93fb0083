// Linked into the shared_data suite: before doctest's main runs, looks for the project's
// real data (data/shared_data.h) and, when there is none, says so and exits with 77, which
// CTest reports as skipped, never as passed.
#include <cstdio>
#include <cstdlib>

#include "data/shared_data.h"

namespace {

struct RequireSharedData {
  RequireSharedData() {
    if (pn::data::find_shared_data()) return;
    std::fprintf(stderr,
                 "SKIPPED: no shared/data folder beside the checkout (set PENUMBRA_SHARED_DATA to it); "
                 "these tests need the real lesion masks and the ICBM152 template.\n");
    std::exit(77);
  }
};
const RequireSharedData g_require_shared_data;

}  // namespace
