// The op profile (autograd/profile.h): known ops counted under the right pass, kernel and op,
// backward nodes and allocations recorded, nothing recorded while it is off.
#include "autograd/profile.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using profile::Pass;

namespace {

// Profiling on (or off) for one test, cleared before; the previous setting restored after.
class ProfileSetting {
 public:
  explicit ProfileSetting(bool on) : prev_(profile::enabled()) {
    profile::set_enabled(on);
    profile::reset();
  }
  ~ProfileSetting() {
    profile::set_enabled(prev_);
    profile::reset();
  }

 private:
  bool prev_;
};

const profile::Row* find_row(const std::vector<profile::Row>& rows, Pass pass, const std::string& kernel,
                             const std::string& op) {
  for (const auto& r : rows)
    if (r.pass == pass && r.kernel == kernel && r.op == op) return &r;
  return nullptr;
}

int64_t calls(const std::vector<profile::Row>& rows, Pass pass, const std::string& kernel, const std::string& op) {
  const profile::Row* r = find_row(rows, pass, kernel, op);
  return r ? r->calls : 0;
}

// Forward: exp three times, add twice, one sum; backward through all of it; one exp under
// an update scope.
void run_known_ops() {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {4}).requires_grad_();
  Tensor s = sum(add(add(exp(x), exp(x)), exp(x)));
  s.backward();
  const profile::PassScope update(Pass::Update);
  const NoGrad no_grad;
  Tensor t = exp(x.detach());
}

}  // namespace

TEST_CASE("op profile: each kernel call counted under its pass and op, nodes and allocations too") {
  const ProfileSetting on(true);
  run_known_ops();
  const auto rows = profile::rows();
  CHECK(calls(rows, Pass::Forward, "unary", "exp") == 3);
  CHECK(calls(rows, Pass::Forward, "binary", "add") == 2);
  CHECK(calls(rows, Pass::Forward, "sum_reduce", "sum") == 1);
  CHECK(calls(rows, Pass::Update, "unary", "exp") == 1);
  // Backward: each exp node recomputes exp(x) and multiplies; x's three gradients add twice.
  CHECK(calls(rows, Pass::Backward, "unary", "exp") == 3);
  CHECK(calls(rows, Pass::Backward, "binary", "mul") == 3);
  CHECK(calls(rows, Pass::Backward, "binary", "add") == 2);
  CHECK(calls(rows, Pass::BackwardNode, "exp", "") == 3);
  CHECK(calls(rows, Pass::BackwardNode, "add", "") == 2);
  CHECK(calls(rows, Pass::BackwardNode, "sum", "") == 1);
  CHECK(calls(rows, Pass::Forward, "unary", "relu") == 0);
  // Allocations under the op that made them: three forward exp outputs, three backward, one update.
  const profile::Row* alloc = find_row(rows, Pass::Alloc, "alloc", "exp");
  REQUIRE(alloc != nullptr);
  CHECK(alloc->calls == 7);
  CHECK(alloc->bytes == doctest::Approx(7 * 4 * sizeof(float)));
  for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].seconds >= rows[i].seconds);  // longest first
  for (const auto& r : rows) CHECK((r.seconds >= 0 && r.cpu_seconds >= 0));
  const std::string table = profile::report();
  CHECK(table.find("PN_PROFILE") != std::string::npos);
  CHECK(table.find("backward (inclusive)") != std::string::npos);
  CHECK(table.find("cpu ms") != std::string::npos);
  CHECK(table.find("sum_reduce") != std::string::npos);
  profile::reset();
  CHECK(profile::rows().empty());
}

TEST_CASE("op profile: off records nothing") {
  const ProfileSetting off(false);
  run_known_ops();
  CHECK(profile::rows().empty());
}

// Run twice by CTest: as part of test_autograd (PN_PROFILE unset: off) and as
// test_autograd_profile_env (PN_PROFILE=1: on from the start, the table printed at exit).
TEST_CASE("op profile: PN_PROFILE in the environment switches it on from the start") {
  const char* v = std::getenv("PN_PROFILE");
  const bool expected = v != nullptr && *v != '\0' && std::string(v) != "0";
  CHECK(profile::enabled() == expected);
}
