#include "nn/grad_scaler.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace pn::nn {

namespace {

// Whether every value of t is finite: sum(t * 0) is 0, or NaN when any value is inf or NaN
// (one reduction on t's device, and no overflow whatever the magnitudes).
bool all_finite(const Tensor& t) { return std::isfinite(sum(mul_scalar(t, 0.0)).item()); }

}  // namespace

GradScaler::GradScaler(GradScalerOptions opt) : opt_(opt), scale_(opt.init_scale) {
  PN_CHECK(opt.init_scale > 0 && opt.growth_factor > 1 && opt.backoff_factor > 0 && opt.backoff_factor < 1 &&
               opt.growth_interval >= 1,
           "GradScaler: needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1 "
           "(got {}, {}, {}, {})", opt.init_scale, opt.growth_factor, opt.backoff_factor, opt.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const { return opt_.enabled ? mul_scalar(loss, scale_) : loss; }

bool GradScaler::step(Optimizer& opt) {
  if (!opt_.enabled) {
    opt.step();
    return true;
  }
  bool finite = true;
  {
    NoGrad ng;
    for (const auto& [name, p] : opt.params()) {
      const Tensor& g = p.grad();
      if (!g.defined()) continue;
      Tensor unscaled = mul_scalar(g, 1.0 / scale_);
      finite = finite && all_finite(unscaled);
      Tensor(p).set_grad(unscaled);
    }
  }
  if (!finite) {
    ++skipped_;
    clean_ = 0;
    scale_ *= opt_.backoff_factor;
    return false;
  }
  opt.step();
  if (++clean_ >= opt_.growth_interval) {
    scale_ *= opt_.growth_factor;
    clean_ = 0;
  }
  return true;
}

std::string GradScaler::state() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%a %" PRId64 " %" PRId64, scale_, clean_, skipped_);
  return buf;
}

void GradScaler::set_state(const std::string& text, const std::string& where) {
  double s = 0;
  long long c = 0, k = 0;
  PN_CHECK(std::sscanf(text.c_str(), "%la %lld %lld", &s, &c, &k) == 3 && s > 0 && c >= 0 && k >= 0,
           "{}: loss scaler state '{}' is not '<scale> <clean steps> <skipped steps>'", where, text);
  scale_ = s;
  clean_ = c;
  skipped_ = k;
}

}  // namespace pn::nn
