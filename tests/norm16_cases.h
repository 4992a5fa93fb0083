// The table of norm cases that the 16-bit (mixed-precision) norm tests share: batch norm
// (training, eval), instance norm, and both fused with ReLU / leaky ReLU, each run forward and
// backward on given inputs of any dtype and device (tests/ops_nn/test_norm_16bit.cpp: 16-bit
// against float32 on the CPU; tests/cuda_emu/test_device_norm16.cpp: the emulated device against
// the CPU). Statistics, gamma, beta and running statistics are float32 for 16-bit inputs.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops/norm.h"
#include "autograd/tensor.h"

namespace pn::test {

struct Norm16Case {
  const char* name;
  bool instance, training, fused;
  double slope;  // of the fused activation
};

inline const Norm16Case kNorm16Cases[] = {
    {"batch_norm training", false, true, false, 0.0},   {"batch_norm eval", false, false, false, 0.0},
    {"instance_norm", true, true, false, 0.0},          {"batch_norm_act training relu", false, true, true, 0.0},
    {"batch_norm_act eval leaky", false, false, true, 0.2}, {"instance_norm_act leaky", true, true, true, 0.2},
};

// What one case gives: the output and the gradients of <y, gy>, and the running statistics
// after the step (batch norm; undefined for instance norm).
struct Norm16Result {
  Tensor y, dx, dgamma, dbeta, running_mean, running_var;
};

// Runs case c on x (any dtype), gamma and beta ([C], float32 for a 16-bit x, else x's dtype;
// they and x must require grad), with output gradient gy (x's dtype), on x's device.
inline Norm16Result run_norm16_case(const Norm16Case& c, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    const Tensor& gy) {
  Norm16Result r;
  const int64_t ch = x.size(1);
  if (!c.instance) {  // fixed, not 0 / 1: eval normalises with them, training updates them
    r.running_mean = Tensor::full({ch}, 0.3, gamma.dtype(), x.device());
    r.running_var = Tensor::full({ch}, 1.7, gamma.dtype(), x.device());
  }
  Tensor y;
  if (c.instance)
    y = c.fused ? instance_norm_act(x, gamma, beta, c.slope, 1e-3) : instance_norm(x, gamma, beta, 1e-3);
  else if (c.fused)
    y = batch_norm_act(x, gamma, beta, r.running_mean, r.running_var, c.training, c.slope, 0.1, 1e-3);
  else
    y = batch_norm(x, gamma, beta, r.running_mean, r.running_var, c.training, 0.1, 1e-3);
  const std::vector<Tensor> g = grad({y}, {x, gamma, beta}, {gy});
  r.y = y.detach();
  r.dx = g[0], r.dgamma = g[1], r.dbeta = g[2];
  return r;
}

// The unit in the last place at 1 of a 16-bit format: 2^-7 (bfloat16), 2^-10 (float16).
inline double ulp16(DType t) { return t == DType::BFloat16 ? 1.0 / 128 : 1.0 / 1024; }

// max over elements of |a - b| / max(|b|, 1): errors in units of the format's precision for
// values of magnitude >= 1, absolute below.
inline double scaled_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = a.to(Device::cpu()).to_vector(), vb = b.to(Device::cpu()).to_vector();
  double m = va.size() == vb.size() ? 0.0 : 1e30;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i)
    m = std::max(m, std::abs(va[i] - vb[i]) / std::max(std::abs(vb[i]), 1.0));
  return m;
}

}  // namespace pn::test
