#include "experiments/config/training_precision.h"

#include "autograd/error.h"

namespace pn::experiments {

Precision training_precision(const Config& cfg) {
  const Precision p = parse_precision(cfg.string("run.precision"), "run.precision");
  if (!cfg.boolean("run.tf32")) return p;
  PN_CHECK(p == Precision::FP32 || p == Precision::TF32,
           "run.tf32 = true and run.precision = \"{}\" conflict: in {} every convolution and matmul runs in 16 bits, "
           "so TF32 would change nothing. Drop run.tf32, or set run.precision = \"tf32\" for TF32 float32 training",
           precision_name(p), precision_name(p));
  return Precision::TF32;
}

}  // namespace pn::experiments
