// bench_conv: time of the CPU 3-D convolution kernels (forward, backward-input,
// backward-weight; float32; oneDNN by default, the vol2col + sgemm reference with
// --reference) on the conv3x3x3 (padding 1) layers of the segmentation U-Net
// encoder and bottleneck: the paper's size (1 input channel, 32x128x128, filters 32, 64,
// 128, 256, bottleneck 512) and a small one (16x32x32, filters 8..64, bottleneck 128).
// Each level has two convs (C_in -> f, f -> f); spatial size halves per level; batch 1.
// Reported: median wall time over --reps runs after one warm-up, and GFLOP/s with
// FLOPs = 2 * N * C_out * C_in * k^3 * output voxels per pass. The reference, timed in the
// same run, is one plain sgemm of the forward pass's shape (C_out x voxels x C_in k^3): the
// ratio fwd / sgemm shows what the convolution costs next to the bare matrix product. The
// machine's sgemm rate (a square 2048^3 product, the best case for BLAS) heads the output.
//
// `--bwdw-few` instead times backward-weight alone at batch 4 on the small U-Net's layers (and
// a few larger ones, to show the crossover): the direct few-channel kernel
// (conv_few_channel.h), oneDNN and the reference, interleaved call by call, medians.
// `--fwd-few` does the same for forward and backward-input (conv_few_channel_fwd.h).
// `--layouts` times each pass of the same layers with channels-first (NC[D]HW) and channels-last
// (N[D]HWC, ConvGeom::channels_last) operands, the two interleaved call by call: ms of each and
// their ratio (channels-last / channels-first; under 1: channels-last is faster).
//
//   bench_conv [--small-only] [--reference] [--bwdw-few] [--fwd-few] [--layouts] [--reps N]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_few_channel.h"
#include "kernels/cpu/conv_few_channel_fwd.h"
#include "kernels/cpu/conv_reference.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/thread_env.h"

namespace {

using pn::kernels::ConvGeom;

struct Net {
  const char* name;
  int64_t d, h, w;
  std::vector<int64_t> filters;  // per level; the bottleneck doubles the last
};

ConvGeom conv3(int64_t c_in, int64_t c_out, int64_t d, int64_t h, int64_t w) {
  ConvGeom g;
  g.N = 1;
  g.C_in = c_in;
  g.C_out = c_out;
  const int64_t sp[3] = {d, h, w};
  for (int j = 0; j < 3; ++j) {
    g.in[j] = sp[j];
    g.k[j] = 3;
    g.pad[j] = 1;
    g.out[j] = ConvGeom::out_size(sp[j], 3, 1, 1);
  }
  return g;
}

using pn::bench::median_seconds;

void fill_random(std::vector<float>& v, unsigned seed) {
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
  }
}

void run(const Net& net, int reps) {
  std::printf("\n%s: input 1x%lldx%lldx%lld (D x H x W), conv 3x3x3 pad 1, batch 1, float32, %d threads, median of %d\n",
              net.name, (long long)net.d, (long long)net.h, (long long)net.w, omp_get_max_threads(), reps);
  std::printf("%-13s %-10s %-13s %8s | %9s %7s | %9s %7s | %9s %7s\n", "layer", "channels", "D x H x W", "GFLOP",
              "fwd ms", "GF/s", "bwd-in ms", "GF/s", "bwd-w ms", "GF/s");
  std::printf("%-13s %-10s %-13s %8s | %9s %7s | %s\n", "", "", "", "", "sgemm ms", "GF/s", "fwd / sgemm");
  std::vector<int64_t> levels = net.filters;
  levels.push_back(net.filters.back() * 2);
  int64_t c_in = 1, d = net.d, h = net.h, w = net.w;
  double total_flop = 0, total_t[3] = {0, 0, 0}, total_gemm = 0;
  for (size_t l = 0; l < levels.size(); ++l) {
    const int64_t f = levels[l];
    for (int c = 0; c < 2; ++c) {
      ConvGeom g = conv3(c == 0 ? c_in : f, f, d, h, w);
      std::vector<float> x(g.N * g.C_in * g.in_volume()), wt(g.C_out * g.col_rows()), y(g.N * g.C_out * g.out_volume());
      std::vector<float> dx(x.size()), dw(wt.size());
      fill_random(x, 1);
      fill_random(wt, 2);
      fill_random(y, 3);
      const double flop = 2.0 * g.macs();
      const double t[3] = {
          median_seconds([&] { pn::cpu::conv_forward(g, x.data(), wt.data(), y.data()); }, reps),
          median_seconds([&] { pn::cpu::conv_backward_input(g, y.data(), wt.data(), dx.data()); }, reps),
          median_seconds([&] { pn::cpu::conv_backward_weight(g, x.data(), y.data(), dw.data()); }, reps)};
      // Reference: the forward pass's matrix product alone, on a ready column matrix.
      const int64_t M = g.C_out, Nn = g.out_volume(), K = g.col_rows();
      std::vector<float> col(K * Nn), out(M * Nn);
      fill_random(col, 4);
      const double t_gemm = median_seconds(
          [&] { pn::cpu::gemm<float>(false, false, M, Nn, K, 1.f, wt.data(), K, col.data(), Nn, 0.f, out.data(), Nn); },
          reps);
      total_gemm += t_gemm;
      std::string layer = (l + 1 == levels.size() ? std::string("bottleneck") : "level " + std::to_string(l)) +
                          "." + std::to_string(c + 1);
      std::string ch = std::to_string(g.C_in) + "->" + std::to_string(g.C_out);
      std::string sz = std::to_string(d) + "x" + std::to_string(h) + "x" + std::to_string(w);
      std::printf("%-13s %-10s %-13s %8.3f | %9.1f %7.1f | %9.1f %7.1f | %9.1f %7.1f\n", layer.c_str(), ch.c_str(),
                  sz.c_str(), flop * 1e-9, t[0] * 1e3, flop / t[0] * 1e-9, t[1] * 1e3, flop / t[1] * 1e-9,
                  t[2] * 1e3, flop / t[2] * 1e-9);
      std::printf("%-13s %-10s %-13s %8s | %9.1f %7.1f | %.2f\n", "", "", "", "", t_gemm * 1e3,
                  flop / t_gemm * 1e-9, t[0] / t_gemm);
      total_flop += flop;
      for (int k = 0; k < 3; ++k) total_t[k] += t[k];
    }
    c_in = f;
    d /= 2, h /= 2, w /= 2;
  }
  std::printf("%-13s %-10s %-13s %8.3f | %9.1f %7.1f | %9.1f %7.1f | %9.1f %7.1f\n", "total", "", "", total_flop * 1e-9,
              total_t[0] * 1e3, total_flop / total_t[0] * 1e-9, total_t[1] * 1e3, total_flop / total_t[1] * 1e-9,
              total_t[2] * 1e3, total_flop / total_t[2] * 1e-9);
  std::printf("%-13s %-10s %-13s %8s | %9.1f %7.1f | %.2f\n", "", "", "", "", total_gemm * 1e3,
              total_flop / total_gemm * 1e-9, total_t[0] / total_gemm);
}

enum class Pass { Forward, BackwardInput, BackwardWeight };

// The three implementations of one pass on g: few-channel kernel, oneDNN, reference; and
// whether conv.h takes the few-channel kernel for it.
struct Impls {
  std::function<void()> impl[3];
  bool few_chosen;
};

Impls impls(Pass pass, const ConvGeom& g, std::vector<float>& x, std::vector<float>& w, std::vector<float>& y) {
  namespace c = pn::cpu;
  float *xp = x.data(), *wp = w.data(), *yp = y.data();
  switch (pass) {
    case Pass::Forward:
      return {{[=] { c::few_channel_conv_forward(g, xp, wp, yp); }, [=] { c::dnnl_conv_forward(g, xp, wp, yp); },
               [=] { c::reference::conv_forward(g, xp, wp, yp); }},
              c::few_channel_fwd_preferred(g)};
    case Pass::BackwardInput:
      return {{[=] { c::few_channel_conv_backward_input(g, yp, wp, xp); },
               [=] { c::dnnl_conv_backward_input(g, yp, wp, xp); },
               [=] { c::reference::conv_backward_input(g, yp, wp, xp); }},
              c::few_channel_bwdi_preferred(g)};
    case Pass::BackwardWeight: break;
  }
  return {{[=] { c::few_channel_conv_backward_weight(g, xp, yp, wp); },
           [=] { c::dnnl_conv_backward_weight(g, xp, yp, wp); },
           [=] { c::reference::conv_backward_weight(g, xp, yp, wp); }},
          c::few_channel_bwdw_preferred(g)};
}

// One pass at batch 4 on the small U-Net's k 3 pad 1 layers and a few larger ones (the
// crossover): few-channel kernel, oneDNN, reference, one call of each in turn per repetition
// (a loaded machine slows all three alike), median ms and GFLOP/s, and conv.h's choice.
void compare(Pass pass, int reps) {
  struct Shape {
    int64_t c_in, c_out, d, h, w;
  };
  const Shape shapes[] = {{1, 8, 16, 32, 32},  {8, 8, 16, 32, 32},  {16, 8, 16, 32, 32}, {8, 16, 16, 32, 32}, {8, 16, 8, 16, 16},
                          {16, 16, 8, 16, 16}, {32, 16, 8, 16, 16}, {16, 32, 4, 8, 8},   {32, 32, 4, 8, 8},
                          {16, 16, 16, 32, 32}, {32, 32, 16, 32, 32}, {8, 8, 32, 64, 64}};
  const char* name = pass == Pass::Forward ? "forward" : pass == Pass::BackwardInput ? "backward-input" : "backward-weight";
  std::printf("\n%s, batch 4, k 3 pad 1, %d threads, median of %d interleaved\n", name, omp_get_max_threads(), reps);
  std::printf("%-10s %-12s | %9s %7s | %9s %7s | %9s %7s | %s\n", "channels", "D x H x W", "few ms", "GF/s", "oneDNN ms",
              "GF/s", "ref ms", "GF/s", "chosen");
  for (const Shape& s : shapes) {
    ConvGeom g = conv3(s.c_in, s.c_out, s.d, s.h, s.w);
    g.N = 4;
    std::vector<float> x(g.N * g.C_in * g.in_volume()), y(g.N * g.C_out * g.out_volume()), w(g.C_out * g.col_rows());
    fill_random(x, 1);
    fill_random(y, 3);
    fill_random(w, 2);
    const Impls run = impls(pass, g, x, w, y);
    std::vector<double> t[3];
    for (int r = 0; r <= reps; ++r)
      for (int k = 0; k < 3; ++k) {
        const int i = (r + k) % 3;
        const auto t0 = std::chrono::steady_clock::now();
        run.impl[i]();
        if (r > 0) t[i].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    const double flop = 2.0 * g.macs();
    std::printf("%3lld->%-5lld %2lldx%3lldx%-5lld", (long long)s.c_in, (long long)s.c_out, (long long)s.d, (long long)s.h,
                (long long)s.w);
    for (auto& v : t) {
      std::sort(v.begin(), v.end());
      std::printf(" | %9.2f %7.1f", v[v.size() / 2] * 1e3, flop / v[v.size() / 2] * 1e-9);
    }
    std::printf(" | %s\n", run.few_chosen ? "few-channel" : "oneDNN");
  }
}

// The three passes of g on the given operands: forward, backward-input, backward-weight.
std::function<void()> pass_of(int pass, const ConvGeom& g, std::vector<float>& x, std::vector<float>& w,
                              std::vector<float>& y) {
  float *xp = x.data(), *wp = w.data(), *yp = y.data();
  if (pass == 0) return [=] { pn::cpu::conv_forward(g, xp, wp, yp); };
  if (pass == 1) return [=] { pn::cpu::conv_backward_input(g, yp, wp, xp); };
  return [=] { pn::cpu::conv_backward_weight(g, xp, yp, wp); };
}

// Each layer's passes in both layouts, interleaved call by call, medians (see the top).
void compare_layouts(const Net& net, int reps) {
  std::printf("\n%s, channels-first against channels-last, batch 1, float32, %d threads, median of %d interleaved\n",
              net.name, omp_get_max_threads(), reps);
  std::printf("%-13s %-10s %-13s | %21s | %21s | %21s\n", "layer", "channels", "D x H x W", "fwd ms first / last",
              "bwd-in ms first / last", "bwd-w ms first / last");
  std::vector<int64_t> levels = net.filters;
  levels.push_back(net.filters.back() * 2);
  int64_t c_in = 1, d = net.d, h = net.h, w = net.w;
  double total[2] = {0, 0};
  for (size_t l = 0; l < levels.size(); ++l, c_in = levels[l - 1], d /= 2, h /= 2, w /= 2)
    for (int c = 0; c < 2; ++c) {
      ConvGeom g[2] = {conv3(c == 0 ? c_in : levels[l], levels[l], d, h, w), {}};
      g[1] = g[0];
      g[1].channels_last = true;
      std::vector<float> x(g[0].N * g[0].C_in * g[0].in_volume()), wt(g[0].C_out * g[0].col_rows()),
          y(g[0].N * g[0].C_out * g[0].out_volume());
      fill_random(x, 1), fill_random(wt, 2), fill_random(y, 3);
      std::printf("%-13s %4lld->%-4lld %3lldx%3lldx%-5lld", ((l + 1 == levels.size() ? std::string("bottleneck")
                                                            : "level " + std::to_string(l)) + "." + std::to_string(c + 1)).c_str(),
                  (long long)g[0].C_in, (long long)g[0].C_out, (long long)d, (long long)h, (long long)w);
      for (int pass = 0; pass < 3; ++pass) {
        std::vector<double> t[2];
        const std::function<void()> fn[2] = {pass_of(pass, g[0], x, wt, y), pass_of(pass, g[1], x, wt, y)};
        for (int r = 0; r <= reps; ++r)
          for (int k = 0; k < 2; ++k) {
            const int i = (r + k) % 2;
            const auto t0 = std::chrono::steady_clock::now();
            fn[i]();
            if (r > 0) t[i].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          }
        double med[2];
        for (int i = 0; i < 2; ++i) {
          std::sort(t[i].begin(), t[i].end());
          med[i] = t[i][t[i].size() / 2];
          total[i] += med[i];
        }
        std::printf(" | %7.1f %7.1f %5.2f", med[0] * 1e3, med[1] * 1e3, med[1] / med[0]);
      }
      std::printf("\n");
    }
  std::printf("all passes: channels-first %.1f ms, channels-last %.1f ms, ratio %.2f\n", total[0] * 1e3, total[1] * 1e3,
              total[1] / total[0]);
}

// The machine's sgemm rate in GFLOP/s: a square product, BLAS's best case.
double square_sgemm_rate(int reps) {
  const int64_t n = 2048;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  fill_random(a, 5);
  fill_random(b, 6);
  const double t = median_seconds([&] { pn::cpu::gemm<float>(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n); }, reps);
  return 2.0 * n * n * n / t * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  bool small_only = false, reference = false, bwdw_few = false, fwd_few = false, layouts = false;
  int reps = 3;
  pn::bench::Args("bench_conv").flag("--small-only", &small_only).flag("--reference", &reference)
      .flag("--bwdw-few", &bwdw_few).flag("--fwd-few", &fwd_few).flag("--layouts", &layouts)
      .option("--reps", &reps).parse(argc, argv);
  if (reference) pn::cpu::set_conv_impl(pn::cpu::ConvImpl::Reference);
  const auto env = pn::cpu::thread_env();
  std::printf("convolutions: %s | OMP_WAIT_POLICY=%s OPENBLAS_CORETYPE=%s | sgemm 2048^3: %.1f GFLOP/s\n",
              pn::cpu::conv_impl_name(pn::cpu::conv_impl()), env.wait_policy.c_str(), env.blas_coretype.c_str(),
              square_sgemm_rate(reps));
  if (bwdw_few || fwd_few) {
    if (!pn::cpu::dnnl_available() || !pn::cpu::few_channel_bwdw_supported(conv3(8, 8, 4, 4, 4))) {
      std::fprintf(stderr, "bench_conv %s: needs a build with oneDNN and an AVX-512 CPU\n",
                   fwd_few ? "--fwd-few" : "--bwdw-few");
      return 1;
    }
    if (fwd_few) compare(Pass::Forward, reps), compare(Pass::BackwardInput, reps);
    if (bwdw_few) compare(Pass::BackwardWeight, reps);
    return 0;
  }
  if (layouts) {
    compare_layouts({"small U-Net", 16, 32, 32, {8, 16, 32, 64}}, reps);
    if (!small_only) compare_layouts({"paper U-Net", 32, 128, 128, {32, 64, 128, 256}}, reps);
    return 0;
  }
  run({"small U-Net", 16, 32, 32, {8, 16, 32, 64}}, reps);
  if (!small_only) run({"paper U-Net", 32, 128, 128, {32, 64, 128, 256}}, reps);
  return 0;
}
