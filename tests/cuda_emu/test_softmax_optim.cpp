// Parity of the CUDA softmax / log-softmax and optimiser-update kernels with the CPU
// reference, under the emulator. Tolerance: check_same_math (exact emulated; 8 ulp on a
// GPU): both sides run the same kernels/math functions in the same order.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/softmax.h"

using pn::test::DeviceArray;

namespace {

template <class T>
void check_softmax() {
  struct Shape { int64_t outer, axis, inner; };
  // Channel softmax of a small volume batch, a last-axis softmax, and one long axis.
  const Shape shapes[] = {{3, 5, 7 * 11 * 13}, {257, 10, 1}, {2, 1000 + 37, 3}};
  for (const Shape& s : shapes) {
    const int64_t n = s.outer * s.axis * s.inner;
    const auto x = pn::test::random_vector<T>(n, 31, -8.0, 8.0);
    for (bool log : {false, true}) {
      std::vector<T> want(n);
      pn::cpu::softmax_forward(x.data(), want.data(), s.outer, s.axis, s.inner, log);
      DeviceArray<T> d_x(x), d_y(n);
      pn::cuda::softmax_forward(d_x.get(), d_y.get(), s.outer, s.axis, s.inner, log, nullptr);
      const std::string what = std::string(log ? "log_softmax" : "softmax") + " [" + std::to_string(s.outer) + ", " +
                               std::to_string(s.axis) + ", " + std::to_string(s.inner) + "]";
      pn::test::check_same_math(d_y.to_host(), want, what);
    }
  }
}

template <class T>
void check_optim() {
  const int64_t n = 3000 + 37;
  const auto p0 = pn::test::random_vector<T>(n, 41), g = pn::test::random_vector<T>(n, 42);
  const auto m0 = pn::test::random_vector<T>(n, 43, -0.1, 0.1), v0 = pn::test::random_vector<T>(n, 44, 0.0, 0.2);
  for (bool decoupled : {false, true}) {
    auto p = p0, m = m0, v = v0;
    pn::cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1 - 0.9 * 0.9,
                         1 - 0.999 * 0.999, decoupled);
    DeviceArray<T> dp(p0), dg(g), dm(m0), dv(v0);
    pn::cuda::adam_update(dp.get(), dg.get(), dm.get(), dv.get(), n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1 - 0.9 * 0.9,
                          1 - 0.999 * 0.999, decoupled, nullptr);
    const std::string what = decoupled ? "adamw" : "adam";
    pn::test::check_same_math(dp.to_host(), p, what + " p");
    pn::test::check_same_math(dm.to_host(), m, what + " m");
    pn::test::check_same_math(dv.to_host(), v, what + " v");
    CHECK(dp.to_host() != p0);  // the step did something
  }
  struct Sgd { double momentum; bool nesterov, first; };
  for (const Sgd& s : {Sgd{0.0, false, false}, Sgd{0.9, false, true}, Sgd{0.9, false, false}, Sgd{0.9, true, false}}) {
    auto p = p0, buf = m0;
    pn::cpu::sgd_update(p.data(), g.data(), s.momentum != 0 ? buf.data() : nullptr, n, 0.05, s.momentum, 0.1, 1e-4,
                        s.nesterov, s.first);
    DeviceArray<T> dp(p0), dg(g), dbuf(m0);
    pn::cuda::sgd_update(dp.get(), dg.get(), s.momentum != 0 ? dbuf.get() : nullptr, n, 0.05, s.momentum, 0.1, 1e-4,
                         s.nesterov, s.first, nullptr);
    const std::string what = "sgd momentum " + std::to_string(s.momentum) + (s.nesterov ? " nesterov" : "") +
                             (s.first ? " first" : "");
    pn::test::check_same_math(dp.to_host(), p, what + " p");
    pn::test::check_same_math(dbuf.to_host(), buf, what + " buf");
  }
}

// One multi-tensor step over chunks of awkward sizes (around the kernel's 2048-element tiles,
// an empty one) against the CPU's, for every chunk.
template <class T>
void check_adam_multi() {
  const std::vector<int64_t> sizes = {1, 2047, 2048, 2049, 0, 37, 5000};
  std::vector<std::vector<T>> p0, g, m0, v0;
  std::vector<std::unique_ptr<DeviceArray<T>>> dp, dg, dm, dv;
  unsigned seed = 60;
  for (int64_t n : sizes) {
    p0.push_back(pn::test::random_vector<T>(n, seed++));
    g.push_back(pn::test::random_vector<T>(n, seed++));
    m0.push_back(pn::test::random_vector<T>(n, seed++, -0.1, 0.1));
    v0.push_back(pn::test::random_vector<T>(n, seed++, 0.0, 0.2));
  }
  std::vector<std::vector<T>> p = p0, m = m0, v = v0;
  std::vector<pn::kernels::AdamChunk> host, dev;
  for (size_t k = 0; k < sizes.size(); ++k) {
    for (auto [d, h] : {std::pair{&dp, &p0[k]}, std::pair{&dg, &g[k]}, std::pair{&dm, &m0[k]}, std::pair{&dv, &v0[k]}})
      d->push_back(std::make_unique<DeviceArray<T>>(*h));
    host.push_back({p[k].data(), g[k].data(), m[k].data(), v[k].data(), sizes[k]});
    dev.push_back({dp[k]->get(), dg[k]->get(), dm[k]->get(), dv[k]->get(), sizes[k]});
  }
  const int64_t count = static_cast<int64_t>(sizes.size());
  pn::cpu::adam_update_multi<T>(host.data(), count, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.19, 0.002, true);
  pn::cuda::adam_update_multi<T>(dev.data(), count, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.19, 0.002, true, nullptr);
  for (size_t k = 0; k < sizes.size(); ++k) {
    const std::string what = "adam_update_multi, chunk " + std::to_string(k) + " of " + std::to_string(sizes[k]);
    pn::test::check_same_math(dp[k]->to_host(), p[k], what + " p");
    pn::test::check_same_math(dm[k]->to_host(), m[k], what + " m");
    pn::test::check_same_math(dv[k]->to_host(), v[k], what + " v");
    if (sizes[k] > 0) CHECK(p[k] != p0[k]);  // the step did something
  }
}

}  // namespace

TEST_CASE("multi-tensor Adam (one launch over a list of tensors) matches the CPU reference") {
  check_adam_multi<float>();
  check_adam_multi<double>();
}

TEST_CASE("softmax and log_softmax match the CPU reference") {
  check_softmax<float>();
  check_softmax<double>();
}

TEST_CASE("Adam, AdamW and SGD updates match the CPU reference") {
  check_optim<float>();
  check_optim<double>();
}
