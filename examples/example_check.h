// What every example uses to check its own results: check() prints each claim with "ok" or
// "FAIL" and counts the failures; exit_status() is what main returns, 1 when any claim
// failed, so CTest reports a wrong result as a failed test. close() states "a equals b
// within tol" with both numbers in the message.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace pn::examples {

inline int& failure_count() {
  static int n = 0;
  return n;
}

inline bool check(bool ok, const std::string& claim) {
  std::printf("%s %s\n", ok ? "  ok  " : "  FAIL", claim.c_str());
  std::fflush(stdout);
  if (!ok) ++failure_count();
  return ok;
}

// |a - b| <= tol (NaN never is).
inline bool close(double a, double b, double tol, const std::string& what) {
  return check(std::abs(a - b) <= tol, fmt::format("{}: {:.10g} vs {:.10g} (tolerance {:g})", what, a, b, tol));
}

inline int exit_status() {
  if (failure_count() == 0) {
    std::printf("all checks passed\n");
    return 0;
  }
  std::printf("%d check(s) FAILED\n", failure_count());
  return 1;
}

}  // namespace pn::examples
