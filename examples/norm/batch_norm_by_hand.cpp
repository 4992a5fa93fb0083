// Chapter 3: batch and instance normalisation written out in plain loops, next to the
// library's fused kernels. Checks the forward pass, the backward formula derived in the
// chapter (dx from the two per-channel sums), the running statistics, eval mode, instance
// norm, that batch statistics couple the samples of a batch, that double backward through
// a norm is refused, and that sync_batch_norm over 2 ranks of 2 samples equals batch_norm
// over 4 (the ranks are threads, examples/data_parallel/thread_ranks.h).
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "examples/data_parallel/thread_ranks.h"
#include "examples/example_check.h"
#include "nn/sync_batch_norm.h"

using namespace pn;
using pn::examples::check;

namespace {

constexpr int64_t N = 4, C = 3, S = 30;  // x is [N, C, 5, 6]: S = 30 positions per sample and channel
constexpr double kEps = 1e-5;
size_t at(int64_t n, int64_t c, int64_t s) { return static_cast<size_t>((n * C + c) * S + s); }

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Batch norm of channel c over its M = N * S values, forward and backward, by hand.
struct ByHand {
  std::vector<double> y, dx, dgamma, dbeta, mean, var;
  ByHand(const std::vector<double>& x, const std::vector<double>& dy, const std::vector<double>& gamma,
         const std::vector<double>& beta)
      : y(x.size()), dx(x.size()), dgamma(C), dbeta(C), mean(C), var(C) {
    const double M = N * S;
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) sum += x[at(n, c, s)];
      mean[c] = sum / M;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) sq += (x[at(n, c, s)] - mean[c]) * (x[at(n, c, s)] - mean[c]);
      var[c] = sq / M;  // biased: the one used to normalise
      const double inv_std = 1 / std::sqrt(var[c] + kEps);
      double sum_dy = 0, sum_dy_xhat = 0;  // the two per-channel sums of the backward
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
          const double xhat = (x[at(n, c, s)] - mean[c]) * inv_std;
          y[at(n, c, s)] = gamma[c] * xhat + beta[c];
          sum_dy += dy[at(n, c, s)];
          sum_dy_xhat += dy[at(n, c, s)] * xhat;
        }
      dbeta[c] = sum_dy;
      dgamma[c] = sum_dy_xhat;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {  // dx = gamma inv_std (dy - mean(dy) - xhat mean(dy xhat))
          const double xhat = (x[at(n, c, s)] - mean[c]) * inv_std;
          dx[at(n, c, s)] = gamma[c] * inv_std * (dy[at(n, c, s)] - sum_dy / M - xhat * sum_dy_xhat / M);
        }
    }
  }
};

}  // namespace

int main() {
  Generator gen(5);
  Tensor x = (Tensor::randn({N, C, 5, 6}, gen, DType::Float64) * 2.0 + 3.0).detach().requires_grad_();
  Tensor gamma = Tensor::randn({C}, gen, DType::Float64).requires_grad_();
  Tensor beta = Tensor::randn({C}, gen, DType::Float64).requires_grad_();
  Tensor dy = Tensor::randn(x.shape(), gen, DType::Float64);
  Tensor running_mean = Tensor::zeros({C}, DType::Float64), running_var = Tensor::ones({C}, DType::Float64);

  Tensor y = batch_norm(x, gamma, beta, running_mean, running_var, /*training=*/true, /*momentum=*/0.1, kEps);
  auto g = grad({y}, {x, gamma, beta}, {dy});
  const ByHand h(x.to_vector(), dy.to_vector(), gamma.to_vector(), beta.to_vector());
  check(max_diff(y.to_vector(), h.y) < 1e-12, "forward: gamma (x - mean) / sqrt(var + eps) + beta per channel");
  check(max_diff(g[0].to_vector(), h.dx) < 1e-12, "dx = gamma inv_std (dy - mean(dy) - xhat mean(dy xhat))");
  check(max_diff(g[1].to_vector(), h.dgamma) < 1e-12 && max_diff(g[2].to_vector(), h.dbeta) < 1e-12,
        "dgamma = sum(dy xhat), dbeta = sum(dy) per channel");

  const double M = N * S;
  std::vector<double> want_rm(C), want_rv(C);
  for (int64_t c = 0; c < C; ++c) {
    want_rm[c] = 0.9 * 0.0 + 0.1 * h.mean[c];
    want_rv[c] = 0.9 * 1.0 + 0.1 * h.var[c] * M / (M - 1);  // the unbiased variance
  }
  check(max_diff(running_mean.to_vector(), want_rm) < 1e-12 && max_diff(running_var.to_vector(), want_rv) < 1e-12,
        "running stats: r = 0.9 r + 0.1 batch, with the unbiased variance for running_var");

  // Eval mode: the running statistics are constants, so dx = gamma inv_std dy, nothing else.
  Tensor ye = batch_norm(x, gamma, beta, running_mean, running_var, /*training=*/false, 0.1, kEps);
  Tensor dxe = grad({ye}, {x}, {dy})[0];
  std::vector<double> want_dxe(x.numel());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s)
        want_dxe[at(n, c, s)] = gamma.to_vector()[c] / std::sqrt(want_rv[c] + kEps) * dy.to_vector()[at(n, c, s)];
  check(max_diff(dxe.to_vector(), want_dxe) < 1e-12, "eval mode: dx = gamma / sqrt(running_var + eps) dy");

  // Instance norm is batch norm of each sample alone: the same formula with N = 1.
  Tensor yi = instance_norm(x, gamma, beta, kEps);
  std::vector<double> want_i;
  for (int64_t n = 0; n < N; ++n) {
    Tensor xn = narrow(x.detach(), 0, n, 1);
    auto yn = batch_norm(xn, gamma.detach(), beta.detach(), {}, {}, true, 0.1, kEps).to_vector();
    want_i.insert(want_i.end(), yn.begin(), yn.end());
  }
  check(max_diff(yi.to_vector(), want_i) < 1e-12, "instance_norm(x)[n] == batch_norm(x[n] alone)");

  // Batch statistics couple the samples: changing sample 1 changes sample 0's output.
  Tensor x2 = x.detach().clone();
  x2.data<double>()[at(1, 0, 0)] += 10.0;
  const auto b0 = narrow(batch_norm(x2, gamma, beta, {}, {}, true), 0, 0, 1).to_vector();
  const auto b1 = narrow(batch_norm(x.detach(), gamma, beta, {}, {}, true), 0, 0, 1).to_vector();
  const auto i0 = narrow(instance_norm(x2, gamma, beta), 0, 0, 1).to_vector();
  const auto i1 = narrow(instance_norm(x.detach(), gamma, beta), 0, 0, 1).to_vector();
  check(max_diff(b0, b1) > 1e-3 && max_diff(i0, i1) == 0.0,
        "batch norm: sample 0's output depends on sample 1; instance norm: it does not");

  std::string error;
  try {
    Tensor gx = grad({sum(square(batch_norm(x, gamma, beta, {}, {}, true)))}, {x}, {}, /*create_graph=*/true)[0];
    grad({sum(gx)}, {x});
  } catch (const Error& e) {
    error = e.what();
  }
  check(error.find("double backward of batch_norm is not supported") != std::string::npos,
        "a second derivative through a norm is refused with a clear error: " + error.substr(0, 60) + "...");

  // Synchronised batch norm: ranks 0 and 1 hold samples {0, 1} and {2, 3}; statistics are
  // all-reduced, so each rank's slice of y and of dx is that of batch_norm over all 4.
  Tensor y_all = batch_norm(x, gamma, beta, {}, {}, true, 0.1, kEps);
  Tensor dx_all = grad({y_all}, {x}, {dy})[0];
  std::vector<std::vector<double>> y_rank(2), dx_rank(2);
  pn::examples::run_ranks(2, [&](const nn::Collectives& comm) {
    const int r = comm.rank();
    Tensor xr = narrow(x.detach(), 0, 2 * r, 2).requires_grad_();
    Tensor yr = nn::sync_batch_norm(xr, gamma.detach(), beta.detach(), {}, {}, true, 0.1, kEps, comm);
    y_rank[r] = yr.to_vector();
    dx_rank[r] = grad({yr}, {xr}, {narrow(dy, 0, 2 * r, 2)})[0].to_vector();
  });
  bool same = true;
  for (int r = 0; r < 2; ++r) {
    same = same && max_diff(y_rank[r], narrow(y_all.detach(), 0, 2 * r, 2).to_vector()) < 1e-12;
    same = same && max_diff(dx_rank[r], narrow(dx_all, 0, 2 * r, 2).to_vector()) < 1e-12;
  }
  check(same, "sync_batch_norm on 2 ranks x 2 samples == batch_norm on 4 samples (y and dx)");
  return pn::examples::exit_status();
}
