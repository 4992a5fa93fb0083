// bench_seg_metrics: time of evaluate_case (threshold, confusion, soft Dice, surfaces, two
// exact distance transforms, HD95) on one volume of the paper's grid (32x128x128, spacing
// 3.6x2x2 mm) and of the small preset's (16x32x32): a lesion ellipsoid against a
// prediction shifted by two voxels. Median wall time over --reps runs.
//
//   bench_seg_metrics [--reps N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/bench_util.h"
#include "experiments/metrics/seg_metrics.h"

int main(int argc, char** argv) {
  int reps = 5;
  pn::bench::Args("bench_seg_metrics").option("--reps", &reps).parse(argc, argv);
  struct Case {
    const char* name;
    pn::experiments::Grid3 g;
  } cases[] = {{"paper 32x128x128", {{32, 128, 128}, {3.6, 2.0, 2.0}}}, {"small 16x32x32", {{16, 32, 32}, {7.2, 8.0, 8.0}}}};
  for (const auto& c : cases) {
    const auto& d = c.g.dims;
    std::vector<uint8_t> truth(static_cast<size_t>(c.g.voxels()));
    std::vector<float> prob(truth.size());
    for (int64_t z = 0; z < d[0]; ++z)
      for (int64_t y = 0; y < d[1]; ++y)
        for (int64_t x = 0; x < d[2]; ++x) {
          auto in = [&](double shift) {
            return std::pow((z - d[0] / 2.0) / (d[0] / 4.0), 2) + std::pow((y - d[1] / 2.0) / (d[1] / 5.0), 2) +
                       std::pow((x - shift - d[2] / 2.0) / (d[2] / 6.0), 2) <= 1.0;
          };
          const size_t i = static_cast<size_t>((z * d[1] + y) * d[2] + x);
          truth[i] = in(0);
          prob[i] = in(2) ? 0.9f : 0.1f;
        }
    pn::experiments::CaseMetrics m;
    const double ms = 1e3 * pn::bench::median_seconds([&] { m = pn::experiments::evaluate_case(prob.data(), truth.data(), c.g, 0.5); }, reps);
    std::printf("%-18s evaluate_case %8.2f ms (median of %d) | hard Dice %.4f, HD95 %.2f mm\n", c.name, ms,
                reps, m.hard_dice, m.hd95_mm);
  }
  return 0;
}
