// bench_upsample: the CPU nearest upsampling (x2) and its adjoint, the block sum, at the sizes
// the translators and the U-Net use, in two numbered versions checked against each other:
//   v1  one output element at a time, its source found by an integer division per element
//       (the kernel before this file);
//   v2  kernels/cpu/pool.cpp, the shipping kernel: one task per source row, the first
//       destination row written by repetition and copied to the other k0 x k1 - 1 rows; the
//       block sum adds runs of k2 in the same order as v1 (bit-identical sums).
// Both are memory-bound, so the reference is the machine's copy rate measured in the same run
// (std::copy of the output's size): GB/s = bytes read + written per pass / median time.
// Ratios within one run are what to read on a shared machine.
//
//   bench_upsample [--reps N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/cpu/pool.h"
#include "kernels/op_geometry.h"

namespace {

using pn::kernels::PoolGeom;

void upsample_v1(const PoolGeom& g, const float* x, float* y) {
  const int64_t rows = g.planes * g.out[0] * g.out[1];
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0], p = r / (g.out[0] * g.out[1]);
    const float* src = x + ((p * g.in[0] + od / g.k[0]) * g.in[1] + oh / g.k[1]) * g.in[2];
    float* dst = y + r * g.out[2];
    for (int64_t ow = 0; ow < g.out[2]; ++ow) dst[ow] = src[ow / g.k[2]];
  }
}

void block_sum_v1(const PoolGeom& g, const float* y, float* x) {
  const int64_t rows = g.planes * g.in[0] * g.in[1];
#pragma omp parallel
  {
    std::vector<float> acc(static_cast<size_t>(g.in[2]));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t ih = r % g.in[1], id = (r / g.in[1]) % g.in[0], p = r / (g.in[0] * g.in[1]);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t a = 0; a < g.k[0]; ++a)
        for (int64_t b = 0; b < g.k[1]; ++b) {
          const float* src = y + ((p * g.out[0] + id * g.k[0] + a) * g.out[1] + ih * g.k[1] + b) * g.out[2];
          for (int64_t ow = 0; ow < g.out[2]; ++ow) acc[ow / g.k[2]] += src[ow];
        }
      std::copy(acc.begin(), acc.end(), x + r * g.in[2]);
    }
  }
}

struct Case {
  const char* name;
  int64_t planes, d, h, w;  // d = 1: a 2-D map (no upsampling along depth)
};

PoolGeom x2(const Case& c) {
  PoolGeom g;
  g.planes = c.planes;
  const int64_t in[3] = {c.d, c.h, c.w};
  for (int a = 0; a < 3; ++a) {
    g.in[a] = in[a];
    g.k[a] = g.stride[a] = (a == 0 && c.d == 1) ? 1 : 2;
    g.out[a] = in[a] * g.k[a];
  }
  return g;
}

void run(const Case& c, int reps) {
  const PoolGeom g = x2(c);
  const size_t n_in = static_cast<size_t>(g.planes * g.in_volume()), n_out = static_cast<size_t>(g.planes * g.out_volume());
  std::vector<float> x(n_in), y1(n_out), y2(n_out), s1(n_in), s2(n_in), copy_dst(n_out);
  for (size_t i = 0; i < n_in; ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  const double bytes = 4.0 * static_cast<double>(n_in + n_out);
  const double t_copy = pn::bench::median_seconds([&] { std::copy(y2.begin(), y2.end(), copy_dst.begin()); }, reps);
  const double t_up1 = pn::bench::median_seconds([&] { upsample_v1(g, x.data(), y1.data()); }, reps);
  const double t_up2 = pn::bench::median_seconds([&] { pn::cpu::upsample_nearest(g, x.data(), y2.data()); }, reps);
  const double t_bs1 = pn::bench::median_seconds([&] { block_sum_v1(g, y1.data(), s1.data()); }, reps);
  const double t_bs2 = pn::bench::median_seconds([&] { pn::cpu::block_sum(g, y2.data(), s2.data()); }, reps);
  const bool same = std::memcmp(y1.data(), y2.data(), n_out * 4) == 0 && std::memcmp(s1.data(), s2.data(), n_in * 4) == 0;
  auto gbs = [&](double t) { return bytes / t / 1e9; };
  std::printf("%-34s copy %6.1f GB/s | upsample v1 %7.2f ms %6.1f GB/s  v2 %7.2f ms %6.1f GB/s (%4.1fx) | "
              "block_sum v1 %7.2f ms  v2 %7.2f ms (%4.1fx) | v1 == v2: %s\n",
              c.name, 8.0 * static_cast<double>(n_out) / t_copy / 1e9, t_up1 * 1e3, gbs(t_up1), t_up2 * 1e3, gbs(t_up2),
              t_up1 / t_up2, t_bs1 * 1e3, t_bs2 * 1e3, t_bs1 / t_bs2, same ? "yes" : "NO");
  if (!same) std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_upsample [--reps N]\n");
      return 2;
    }
  }
  std::printf("bench_upsample: float32, x2 nearest upsampling and its block sum, median of %d\n", reps);
  const Case cases[] = {
      {"pix2pix 256: 64 ch, 128x128 -> 256", 64, 1, 128, 128},
      {"pix2pix 256: 512 ch, 16x16 -> 32", 512, 1, 16, 16},
      {"SPADE: 256 ch, 32x32 -> 64", 256, 1, 32, 32},
      {"3-D: 32 ch, 16x64x64 -> 32x128x128", 32, 16, 64, 64},
      {"3-D small: 4 x 8 ch, 8x16x16 -> 16x32", 32, 8, 16, 16},
  };
  for (const Case& c : cases) run(c, reps);
  return 0;
}
