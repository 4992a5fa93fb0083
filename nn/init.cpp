#include "nn/init.h"

#include <cmath>

#include "kernels/cpu/random.h"

namespace pn::nn {

void normal_(Tensor& t, Generator& gen, double mean, double std) {
  PN_CHECK(t.device().is_cpu(), "normal_: initialise on the CPU, then move the module ({})", t.desc());
  uint64_t off = gen.reserve(static_cast<uint64_t>(t.numel()));
  PN_DISPATCH_FLOAT(t.dtype(), cpu::fill_normal(t.data<scalar_t>(), t.numel(), gen.seed(), off, mean, std));
}

void init_weight_(Tensor& w, Generator& gen, Init init, int64_t fan_in) {
  switch (init.kind) {
    case InitKind::Normal002: normal_(w, gen, 0.0, 0.02); break;
    case InitKind::HeNormal: normal_(w, gen, 0.0, std::sqrt(2.0 / static_cast<double>(fan_in))); break;
    case InitKind::Zeros: w.fill_(0.0); break;
  }
}

}  // namespace pn::nn
