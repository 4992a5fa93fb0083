// Parity of the CUDA batch/instance-norm kernels with the CPU reference, under the
// emulator. Tolerances: statistics and the backward's group sums are reduced in a
// different order (parallel tree vs sequential), so rtol/atol 1e-6 (float) / 1e-12
// (double); the per-element passes, given the same statistics, are exact emulated. The fused
// norm + activation (norm_act) likewise, with and without the 16-byte path.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/norm.h"

using pn::test::DeviceArray;
using pn::math::NormGeom;

namespace {

template <class T>
void check_norm(bool per_instance) {
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-12;
  const double tol_grad = sizeof(T) == 4 ? 2e-5 : 1e-11;  // dx: differences of O(1) terms
  const NormGeom geoms[] = {NormGeom{3, 5, 7 * 11 * 13, per_instance}, NormGeom{4, 3, 37, per_instance},
                            NormGeom{2, 7, 1000 + 37, per_instance},
                            // Batch groups of 5000 and instance groups of 4100: split across blocks of 4096.
                            NormGeom{2, 3, 2500, per_instance}, NormGeom{1, 2, 4100, per_instance}};
  int seed = 80;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = pn::math::norm_groups(g);
    const std::string what = std::string(per_instance ? "instance" : "batch") + " norm [" + std::to_string(g.n) +
                             ", " + std::to_string(g.c) + ", " + std::to_string(g.s) + "]";
    // An offset mean, so that the shifted moments matter.
    const auto x = pn::test::random_vector<T>(n, seed++, 3.0, 7.0);
    const auto gy = pn::test::random_vector<T>(n, seed++);
    const auto gamma = pn::test::random_vector<T>(g.c, seed++, 0.5, 1.5), beta = pn::test::random_vector<T>(g.c, seed++);
    std::vector<T> mean(groups), var(groups);
    pn::cpu::norm_stats(x.data(), g, mean.data(), var.data());
    DeviceArray<T> d_x(x), d_gy(gy), d_gamma(gamma), d_beta(beta), d_mean(groups), d_var(groups);
    pn::cuda::norm_stats(d_x.get(), g, d_mean.get(), d_var.get(), nullptr);
    pn::test::check_close(d_mean.to_host(), mean, tol, tol, what + " mean");
    pn::test::check_close(d_var.to_host(), var, tol, tol, what + " var");

    // Forward from the CPU's statistics on both sides: exact emulated.
    DeviceArray<T> c_mean(mean), c_var(var), d_y(n);
    std::vector<T> y(n);
    pn::cpu::norm_forward(x.data(), g, mean.data(), var.data(), 1e-5, gamma.data(), beta.data(), y.data());
    pn::cuda::norm_forward(d_x.get(), g, c_mean.get(), c_var.get(), 1e-5, d_gamma.get(), d_beta.get(), d_y.get(),
                           nullptr);
    pn::test::check_same_math(d_y.to_host(), y, what + " forward");
    const T* none = nullptr;  // no affine
    pn::cpu::norm_forward(x.data(), g, mean.data(), var.data(), 1e-5, none, none, y.data());
    pn::cuda::norm_forward(d_x.get(), g, c_mean.get(), c_var.get(), 1e-5, none, none, d_y.get(), nullptr);
    pn::test::check_same_math(d_y.to_host(), y, what + " forward without affine");

    for (bool batch_stats : {true, false}) {
      std::vector<T> dx(n), dgamma(g.c), dbeta(g.c);
      pn::cpu::norm_backward(x.data(), gy.data(), g, mean.data(), var.data(), 1e-5, gamma.data(), batch_stats,
                             dx.data(), dgamma.data(), dbeta.data());
      DeviceArray<T> d_dx(n), d_dgamma(g.c), d_dbeta(g.c);
      pn::cuda::norm_backward(d_x.get(), d_gy.get(), g, c_mean.get(), c_var.get(), 1e-5, d_gamma.get(), batch_stats,
                              d_dx.get(), d_dgamma.get(), d_dbeta.get(), nullptr);
      const std::string w = what + (batch_stats ? " backward (batch stats)" : " backward (fixed stats)");
      pn::test::check_close(d_dx.to_host(), dx, tol_grad, tol_grad, w + " dx");
      // Sums of ~M O(1) terms: absolute error grows with M.
      const double atol_sum = tol * static_cast<double>(pn::math::norm_group_size(g));
      pn::test::check_close(d_dgamma.to_host(), dgamma, tol, atol_sum, w + " dgamma");
      pn::test::check_close(d_dbeta.to_host(), dbeta, tol, atol_sum, w + " dbeta");
    }
  }
  // Running statistics: per channel, exact.
  const int64_t c = 37;
  auto rm = pn::test::random_vector<T>(c, 90), rv = pn::test::random_vector<T>(c, 91, 0.5, 2.0);
  const auto bm = pn::test::random_vector<T>(c, 92), bv = pn::test::random_vector<T>(c, 93, 0.1, 3.0);
  DeviceArray<T> d_rm(rm), d_rv(rv), d_bm(bm), d_bv(bv);
  pn::cpu::norm_running_update(rm.data(), rv.data(), bm.data(), bv.data(), c, 0.1, 250);
  pn::cuda::norm_running_update(d_rm.get(), d_rv.get(), d_bm.get(), d_bv.get(), c, 0.1, 250, nullptr);
  pn::test::check_same_math(d_rm.to_host(), rm, "running_mean");
  pn::test::check_same_math(d_rv.to_host(), rv, "running_var");
}

// norm_act_forward / norm_act_backward from the CPU's statistics against the CPU reference.
template <class T>
void check_norm_act(bool per_instance, double slope) {
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-12, tol_grad = sizeof(T) == 4 ? 2e-5 : 1e-11;
  // S % 4 == 0 (16-byte accesses for float) and odd rows; batch groups of 5000 split across blocks.
  const NormGeom geoms[] = {NormGeom{2, 3, 64, per_instance}, NormGeom{3, 5, 37, per_instance},
                            NormGeom{2, 3, 2500, per_instance}};
  int seed = 120;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = pn::math::norm_groups(g);
    const std::string what = std::string(per_instance ? "instance" : "batch") + " norm_act slope " +
                             std::to_string(slope) + " [" + std::to_string(g.n) + ", " + std::to_string(g.c) + ", " +
                             std::to_string(g.s) + "]";
    const auto x = pn::test::random_vector<T>(n, seed++, 3.0, 7.0), gy = pn::test::random_vector<T>(n, seed++);
    const auto gamma = pn::test::random_vector<T>(g.c, seed++, 0.5, 1.5), beta = pn::test::random_vector<T>(g.c, seed++);
    std::vector<T> mean(groups), var(groups), y(n), dx(n), dgamma(g.c), dbeta(g.c);
    pn::cpu::norm_stats(x.data(), g, mean.data(), var.data());
    DeviceArray<T> d_x(x), d_gy(gy), d_gamma(gamma), d_beta(beta), d_mean(mean), d_var(var), d_y(n);
    pn::cpu::norm_act_forward(x.data(), g, mean.data(), var.data(), 1e-5, gamma.data(), beta.data(), slope, y.data());
    pn::cuda::norm_act_forward(d_x.get(), g, d_mean.get(), d_var.get(), 1e-5, d_gamma.get(), d_beta.get(), slope,
                               d_y.get(), nullptr);
    pn::test::check_same_math(d_y.to_host(), y, what + " forward");
    for (bool batch_stats : {true, false}) {
      pn::cpu::norm_act_backward(x.data(), y.data(), gy.data(), g, mean.data(), var.data(), 1e-5, gamma.data(), slope,
                                 batch_stats, dx.data(), dgamma.data(), dbeta.data());
      DeviceArray<T> d_dx(n), d_dgamma(g.c), d_dbeta(g.c), d_ycpu(y);
      pn::cuda::norm_act_backward(d_x.get(), d_ycpu.get(), d_gy.get(), g, d_mean.get(), d_var.get(), 1e-5,
                                  d_gamma.get(), slope, batch_stats, d_dx.get(), d_dgamma.get(), d_dbeta.get(), nullptr);
      const std::string w = what + (batch_stats ? " backward (batch stats)" : " backward (fixed stats)");
      const double atol_sum = tol * static_cast<double>(pn::math::norm_group_size(g));
      pn::test::check_close(d_dx.to_host(), dx, tol_grad, tol_grad, w + " dx");
      pn::test::check_close(d_dgamma.to_host(), dgamma, tol, atol_sum, w + " dgamma");
      pn::test::check_close(d_dbeta.to_host(), dbeta, tol, atol_sum, w + " dbeta");
    }
  }
}

}  // namespace

TEST_CASE("fused norm + activation forward and backward match the CPU reference") {
  for (bool per_instance : {false, true})
    for (double slope : {0.0, 0.2}) {
      check_norm_act<float>(per_instance, slope);
      check_norm_act<double>(per_instance, slope);
    }
}

TEST_CASE("batch norm statistics, forward, backward and running update match the CPU reference") {
  check_norm<float>(false);
  check_norm<double>(false);
}

TEST_CASE("instance norm statistics, forward and backward match the CPU reference") {
  check_norm<float>(true);
  check_norm<double>(true);
}
