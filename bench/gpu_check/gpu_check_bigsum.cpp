// gpu_check bigsum: our fill and sum kernels past 2^31 elements (float32; 2^31 + 7 by
// default, 8.6 GB), where a 32-bit index would wrap. The array is filled with 1, then its
// last 7 elements with 256 (a second fill at an offset past 2^31); every element is read
// back and checked. Three sums follow, each against its exact value: all elements (2^31 +
// 7 * 256, representable in float32, so one lost or repeated tail element shows), and the
// array viewed as [rows, c] (c the smallest divisor of n from 2 to 64) summed over its
// columns (rows outputs of c elements, each exact) and over its rows (c outputs; the
// double accumulation is exact, so the float result is the rounded exact sum).
#include <cstring>
#include <vector>

#include "bench/gpu_check/gpu_check.h"
#include "bench/gpu_check/gpu_check_util.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/reduce.h"
#include "kernels/op_geometry.h"

namespace pn::gpu_check {

namespace {

constexpr int64_t kTail = 7;
constexpr float kTailValue = 256.0f;

bool in_tail(int64_t i, int64_t n) { return i >= n - kTail; }

// Counts elements that differ from expected(i); reports the first.
template <class Expected>
int64_t count_wrong(const std::vector<float>& got, Expected expected, int64_t* first_bad) {
  int64_t wrong = 0, first = -1;
  const int64_t n = static_cast<int64_t>(got.size());
#pragma omp parallel for reduction(+ : wrong) schedule(static)
  for (int64_t i = 0; i < n; ++i) wrong += got[static_cast<size_t>(i)] != expected(i);
  for (int64_t i = 0; wrong > 0 && i < n; ++i)
    if (got[static_cast<size_t>(i)] != expected(i)) {
      first = i;
      break;
    }
  *first_bad = first;
  return wrong;
}

bool report(const char* check, int64_t n, int64_t outputs, int64_t wrong, int64_t first_bad, double expected_first,
            double got_first, double ms) {
  Line("bigsum")
      .add("check", check)
      .add("n", n)
      .add("outputs", outputs)
      .add("wrong", wrong)
      .add("first_bad", first_bad)
      .add("expected", expected_first)
      .add("got", got_first)
      .add("ms", ms)
      .add("gbps", static_cast<double>(n) * sizeof(float) / (ms * 1e-3) / 1e9)
      .add("ok", wrong == 0)
      .print();
  return wrong == 0;
}

int64_t smallest_divisor(int64_t n) {
  for (int64_t c = 2; c <= 64; ++c)
    if (n % c == 0) return c;
  return 0;
}

// Sum of [rows, c] over axis `axis` (0: c outputs, 1: rows outputs); axis -1: everything.
kernels::ReduceGeom view_reduce(int64_t rows, int64_t c, int axis) {
  kernels::ReduceGeom g;
  g.ndim = 2;
  g.shape[0] = rows, g.shape[1] = c;
  g.reduce[0] = axis != 1, g.reduce[1] = axis != 0;
  return g;
}

// One sum of x (n elements) viewed by g into `outputs` values, timed, every output against
// expected(i) (bitwise).
template <class Expected>
bool check_sum(const char* name, const DeviceFloats& x, int64_t n, const kernels::ReduceGeom& g, int64_t outputs,
               Expected expected, DeviceTimer& timer, int reps) {
  DeviceFloats out(outputs);
  const double ms = timer.median_ms([&] { cuda::sum_reduce<float>(x.get(), out.get(), g, stream()); }, reps, 1);
  const std::vector<float> host = out.to_host();
  int64_t first_bad = -1;
  const int64_t wrong = count_wrong(host, expected, &first_bad);
  const int64_t at = first_bad >= 0 ? first_bad : outputs - 1;
  return report(name, n, outputs, wrong, first_bad, expected(at), host[static_cast<size_t>(at)], ms);
}

}  // namespace

int run_bigsum(const BigSumOptions& opt) {
  const int64_t n = opt.elements;
  const int64_t c = smallest_divisor(n);
  if (n <= kTail || c == 0) {
    std::fprintf(stderr, "gpu_check bigsum: --elements %lld must exceed %lld and have a divisor in 2..64\n",
                 static_cast<long long>(n), static_cast<long long>(kTail));
    return 2;
  }
  const int64_t rows = n / c;
  DeviceTimer timer;
  DeviceFloats x(n);
  auto fill_all = [&] {
    cuda::fill<float>(x.get(), n, 1.0f, stream());
    cuda::fill<float>(x.get() + (n - kTail), kTail - (opt.plant_lost_element ? 1 : 0), kTailValue, stream());
  };
  const double fill_ms = timer.median_ms(fill_all, opt.reps, 1);
  auto value = [n](int64_t i) { return in_tail(i, n) ? kTailValue : 1.0f; };
  bool ok = true;
  {
    const std::vector<float> host = x.to_host();
    int64_t first_bad = -1;
    const int64_t wrong = count_wrong(host, value, &first_bad);
    const int64_t at = first_bad >= 0 ? first_bad : n - 1;
    ok = report("fill", n, n, wrong, first_bad, value(at), host[static_cast<size_t>(at)], fill_ms) && ok;
  }
  // All elements: (n - 7) + 7 * 256, exact in float32 for n = 2^31 + 7 (and small n).
  const double total = static_cast<double>(n - kTail) + kTail * static_cast<double>(kTailValue);
  if (static_cast<double>(static_cast<float>(total)) != total)
    std::fprintf(stderr, "gpu_check bigsum: the total %.0f is not exact in float32; the check is weaker\n", total);
  auto all = [total](int64_t) { return static_cast<float>(total); };
  ok = check_sum("sum_all", x, n, view_reduce(rows, c, -1), 1, all, timer, opt.reps) && ok;
  // Over the columns of [rows, c]: rows outputs, each the sum of its c elements (exact).
  auto row_sum = [&](int64_t r) {
    double s = 0;
    for (int64_t j = 0; j < c; ++j) s += value(r * c + j);
    return static_cast<float>(s);
  };
  ok = check_sum("sum_rows", x, n, view_reduce(rows, c, 1), rows, row_sum, timer, opt.reps) && ok;
  // Over the rows of [rows, c]: c outputs of rows elements (double partials exact, then rounded).
  auto col_sum = [&](int64_t j) {
    double s = static_cast<double>(rows);
    for (int64_t i = n - kTail; i < n; ++i)
      if (i % c == j) s += kTailValue - 1.0;
    return static_cast<float>(s);
  };
  ok = check_sum("sum_cols", x, n, view_reduce(rows, c, 0), c, col_sum, timer, opt.reps) && ok;
  return ok ? 0 : 1;
}

}  // namespace pn::gpu_check
