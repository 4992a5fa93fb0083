// The thread-runtime defaults (kernels/cpu/thread_env.h): set before the runtimes start,
// so OpenMP threads do not spin on a shared machine and OpenBLAS uses the CPU's vector
// kernels. CTest starts this program without OMP_WAIT_POLICY or OPENBLAS_CORETYPE.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <string>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/thread_env.h"

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

TEST_CASE("thread defaults: OpenMP waits passively unless the user chose a policy") {
  const auto env = pn::cpu::thread_env();
  if (env.wait_policy_set_by_us) CHECK(env.wait_policy == "passive");
  else CHECK(!env.wait_policy.empty());  // the user's choice, left alone
  // A restart happened at most once and noted what it added.
  const char* marker = std::getenv("PENUMBRA_THREAD_DEFAULTS");
  const bool noted = marker && std::string(marker).find("OMP_WAIT_POLICY") != std::string::npos;
  CHECK(noted == env.wait_policy_set_by_us);
}

TEST_CASE("thread defaults: OpenBLAS runs the kernels chosen for this CPU") {
  const auto env = pn::cpu::thread_env();
  const std::string want = env.blas_coretype;
  if (want.empty()) {
    MESSAGE("no AVX2/AVX-512: OpenBLAS keeps its own detection (" << pn::cpu::blas_core_name() << ")");
    return;
  }
  CHECK(lower(pn::cpu::blas_core_name()) == lower(want));
  if (env.blas_coretype_set_by_us) CHECK(want == pn::cpu::default_blas_coretype());
}
