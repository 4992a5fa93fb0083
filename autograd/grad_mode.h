// Grad mode: whether ops record themselves on the tape. NoGrad turns recording off in a
// scope (inference, optimiser updates); the engine turns it on during a create_graph pass.
#pragma once

namespace pn {

struct GradMode {
  static bool enabled();
  static void set_enabled(bool on);
};

class NoGrad {
 public:
  NoGrad() : prev_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGrad() { GradMode::set_enabled(prev_); }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(GradMode::enabled()) { GradMode::set_enabled(on); }
  ~GradModeGuard() { GradMode::set_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace pn
