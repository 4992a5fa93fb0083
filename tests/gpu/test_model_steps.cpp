// One training step of each of the study's networks (and the U-Net, matmul and the 16-bit GANs under bf16 / fp16 autocast) on the GPU (a real one in tests/gpu,
// the emulated one in tests/emu_program) against the same step on the CPU reference: same initial weights (moved with Module::to), same data, the study's
// losses (models/gan_losses.h for the GANs); the loss and every parameter's gradient must
// agree (float32, cuDNN/cuBLAS accumulation orders differ from OpenBLAS's: relative
// tolerance 1e-3 on the loss, 2e-3 on each gradient tensor relative to its largest value, or
// to 1e-4 of the model's largest gradient for tensors whose gradient is zero by construction). Gradients, not weights after
// an Adam step: Adam moves a weight by about ±lr whatever the gradient's size, so a
// near-zero gradient whose sign differs between the backends would look like a large error.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/autocast.h"
#include "autograd/cuda/cuda_backend.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/library_options.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/seg_losses.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"

using namespace pn;
using namespace pn::models;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

// max |a - b| relative to max |b|, or to `floor` when b is smaller: a gradient that is zero
// by construction (a bias followed by a normalisation) holds only rounding noise, whose
// relative differences mean nothing.
double rel_diff(const Tensor& a, const Tensor& b, double floor) {
  auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double d = 0;
  for (size_t i = 0; i < va.size(); ++i) d = std::max(d, std::abs(va[i] - vb[i]));
  return d / std::max(max_abs(b), floor);
}

// Builds the model twice from the same seed, moves one to the GPU, runs step(model,
// device) once on each (it returns the loss after calling backward), and compares the
// losses and every parameter's gradient; with cuDNN's default and deterministic algorithms.
// The largest differences compare_step_with allows: the loss's, relative to its size, each
// gradient tensor's largest, relative to that tensor's largest value (see rel_diff), and the
// relative L2 difference over all gradients together.
struct Tolerance {
  double loss = 1e-3, grad = 2e-3, grad_l2 = 1.0;
};

template <class M, class Make>
void compare_step_with(const char* name, Make make, const std::function<Tensor(M&, Device)>& step,
                       bool deterministic, Tolerance tol = {}) {
  const std::string what = std::string(name) + (deterministic ? ", deterministic algorithms" : ", default algorithms");
  INFO(what);
  cuda::ScopedLibraryOptions options({deterministic, false});
  REQUIRE(cuda::install_cuda_backend());
  Generator g1(11), g2(11);
  auto cpu = make(g1), gpu = make(g2);
  gpu->to(Device::cuda());
  Tensor lc = step(*cpu, Device::cpu()), lg = step(*gpu, Device::cuda());
  const double loss_diff = std::abs(lc.item() - lg.item()) / std::max(1.0, std::abs(lc.item()));
  CHECK(loss_diff <= tol.loss);
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  REQUIRE(pc.size() == pg.size());
  double largest = 0;  // over the whole model: the scale below which a gradient is noise
  for (auto& [n, p] : pc) largest = std::max(largest, max_abs(p.grad()));
  const double floor = 1e-4 * largest;
  double worst = 0, diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < pc.size(); ++i) {
    const auto vg = pg[i].second.grad().to_vector(), vc = pc[i].second.grad().to_vector();
    for (size_t j = 0; j < vc.size() && j < vg.size(); ++j) diff2 += (vg[j] - vc[j]) * (vg[j] - vc[j]), ref2 += vc[j] * vc[j];
    INFO(pc[i].first);
    REQUIRE(pc[i].second.grad().defined());
    REQUIRE(pg[i].second.grad().defined());
    CHECK(pg[i].second.device() == Device::cuda());
    CHECK(pg[i].second.grad().device() == Device::cuda());
    const double d = rel_diff(pg[i].second.grad(), pc[i].second.grad(), floor);
    worst = std::max(worst, d);
    CHECK(d < tol.grad);
  }
  const double overall = std::sqrt(diff2 / std::max(ref2, 1e-300));
  CHECK(overall <= tol.grad_l2);
  MESSAGE(what, ": loss difference ", loss_diff, ", worst gradient difference ", worst, ", relative L2 over all gradients ",
          overall);
}

template <class M, class Make>
void compare_step(const char* name, Make make, const std::function<Tensor(M&, Device)>& step, Tolerance tol = {}) {
  for (bool deterministic : {false, true}) compare_step_with<M>(name, make, step, deterministic, tol);
}

Tensor data(const Shape& s, uint64_t seed, Device d) {
  Generator g(seed);
  return Tensor::rand(s, g, DType::Float32, d);
}

// The GANs' bf16 steps, device against CPU with the reference convolution: tight on the
// emulator (which computes what the CPU does), looser on a real GPU (its summation orders: not
// measured yet).
Tolerance bf16_gan_tolerance() {
#if defined(PN_CUDA_EMU)
  return Tolerance{1e-5, 2e-3, 5e-4};
#else
  return Tolerance{2e-3, 5e-2, 1e-2};
#endif
}

// The CPU's reference convolution for one test, its GEMM summing in plain sequential order
// (cpu::GemmOrder::sequential: the same bits on every processor, where OpenBLAS's kernels and so
// its roundings depend on it), the previous choices restored after.
struct ReferenceConvScope {
  cpu::ConvImpl before = cpu::conv_impl();
  cpu::GemmOrder order_before = cpu::gemm_order();
  ReferenceConvScope() {
    cpu::set_conv_impl(cpu::ConvImpl::Reference);
    cpu::set_gemm_order(cpu::GemmOrder::sequential);
  }
  ~ReferenceConvScope() {
    cpu::set_conv_impl(before);
    cpu::set_gemm_order(order_before);
  }
  ReferenceConvScope(const ReferenceConvScope&) = delete;
  ReferenceConvScope& operator=(const ReferenceConvScope&) = delete;
};

}  // namespace

TEST_CASE("segmentation U-Net: soft Dice gradients, GPU vs CPU") {
  compare_step<SegmentationUNet>(
      "unet",
      [](Generator& g) {
        return std::make_shared<SegmentationUNet>(
            UNetConfig{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, g);
      },
      [](SegmentationUNet& m, Device d) {
        Tensor loss = soft_dice_loss(softmax(m.forward(data({2, 1, 8, 16, 16}, 1, d)), 1), data({2, 2, 8, 16, 16}, 2, d), 1);
        loss.backward();
        return loss;
      });
}

// The channels-last U-Net (segment.memory_format): NHWC cuDNN convolutions with the weight
// transposed on the device, the channels-last norms, max-pool and concatenation.
TEST_CASE("segmentation U-Net, channels-last: soft Dice gradients, GPU vs CPU") {
  compare_step<SegmentationUNet>(
      "unet channels-last",
      [](Generator& g) {
        return std::make_shared<SegmentationUNet>(
            UNetConfig{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2, .channels_last = true},
            g);
      },
      [](SegmentationUNet& m, Device d) {
        Tensor loss = soft_dice_loss(softmax(m.forward(data({2, 1, 8, 16, 16}, 1, d)), 1), data({2, 2, 8, 16, 16}, 2, d), 1);
        loss.backward();
        return loss;
      });
}

// The other two segment.loss choices (models/seg_losses.h): dice_ce (the small preset's; its
// cross-entropy goes through log-softmax paths soft Dice does not use) and batch_dice, on a
// binary mask with one lesion-free volume in the batch.
TEST_CASE("segmentation U-Net: dice_ce and batch_dice gradients, GPU vs CPU") {
  for (SegLoss loss : {SegLoss::DiceCe, SegLoss::BatchDice}) {
    CAPTURE(seg_loss_name(loss));
    compare_step<SegmentationUNet>(
        seg_loss_name(loss),
        [](Generator& g) {
          return std::make_shared<SegmentationUNet>(
              UNetConfig{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, g);
        },
        [loss](SegmentationUNet& m, Device d) {
          // 0/1 where the uniform draw is above 0.7; volume 2 lesion-free.
          Tensor mask = clamp(mul_scalar(add_scalar(data({2, 1, 8, 16, 16}, 2, d), -0.7), 1e7), 0, 1);
          const Tensor keep = concat({Tensor::full({1, 1, 1, 1, 1}, 1.0, DType::Float32, d),
                                      Tensor::zeros({1, 1, 1, 1, 1}, DType::Float32, d)}, 0);
          mask = mul(mask, keep);
          Tensor l = segmentation_loss(loss, m.forward(data({2, 1, 8, 16, 16}, 1, d)), mask);
          l.backward();
          return l;
        });
  }
}

// Mixed precision (autograd/autocast.h): the same U-Net step under bf16 and fp16 autocast on
// both devices, so the GPU's cuDNN convolutions in 16 bits and the casts are compared with
// the CPU's 16-bit path. Both accumulate in fp32 and round each convolution's result once to
// 16 bits. The CPU side is the reference convolution (kernels/cpu/conv.h), as in
// tests/emu_program/gpu_program.sh: oneDNN's other summation order puts results near a
// rounding boundary one 16-bit ulp apart, and the step (ReLU masks, max-pool winners)
// magnifies that to 4.5% (fp16; bf16 0.2%) relative L2 over all gradients. Measured on the
// emulated device against the reference: loss identical, gradients 1.2e-6 (bf16) and 3.7e-4
// (fp16) relative L2 over all, 2.2e-5 and 1.2e-3 in the worst tensor; the GPU step in fp32
// against the CPU's in bf16 / fp16 is 0.23 / 0.061 and 0.88 / 0.19 apart, so a GPU step that
// ignored autocast fails. fp16 with a fixed loss scale (its gradients underflow otherwise).
// Since the blocks' batch norms keep 16-bit activations (autocast.h rule 2: conv -> norm + ReLU
// -> conv in 16 bits, the block's output and its gradient rounded to 16 bits), more float-level
// device differences meet a 16-bit rounding: re-measured, bf16 1.8e-4 over all and 2.6e-3 in
// the worst tensor (the norms themselves are bit-identical on the two devices:
// tests/cuda_emu/test_device_norm16.cpp), fp16 3.7e-4 and 1.6e-3. Those figures came from AVX-512
// machines, whose OpenBLAS (SkylakeX kernels) happened to sum the reference's GEMM nearly as the
// emulated cuDNN does; on an AVX2 AMD EPYC (Haswell kernels) fp16 was 4.7e-2 and 0.19 apart. The
// scope below therefore also sets cpu::GemmOrder::sequential (kernels/cpu/gemm.h): bf16 1.8e-4 and
// 2.6e-3, fp16 4.4e-4 and 1.6e-3 there, the same bits on any processor.
TEST_CASE("segmentation U-Net in bf16 and fp16 (autocast): gradients, GPU vs CPU in the same precision") {
  const ReferenceConvScope reference;
  struct Case {
    Precision p;
    double scale;
    Tolerance tol;
  };
#if defined(PN_CUDA_EMU)
  const Case cases[] = {{Precision::BF16, 1.0, {1e-5, 1e-2, 1e-3}}, {Precision::FP16, 65536.0, {1e-5, 1e-2, 4e-3}}};
#else
  // A real GPU's cuDNN sums in other orders (tensor-core tiles, Winograd): not measured yet
  // (no GPU in CI); twice the CPU's oneDNN-vs-reference spread of this step, 2.3e-3 / 4.5e-2
  // over all and 1.5e-2 / 0.12 in the worst tensor. Only bf16 still tells a GPU step that
  // ran in fp32 apart (0.23 over all); for fp16 that needs the emulated run.
  const Case cases[] = {{Precision::BF16, 1.0, {2e-3, 3e-2, 5e-3}}, {Precision::FP16, 65536.0, {2e-3, 0.25, 0.1}}};
#endif
  for (const Case& c : cases) {
    const std::string name = std::string("unet ") + precision_name(c.p);
    compare_step_with<SegmentationUNet>(
        name.c_str(),
        [](Generator& g) {
          return std::make_shared<SegmentationUNet>(
              UNetConfig{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, g);
        },
        [c](SegmentationUNet& m, Device d) {
          Tensor loss;
          {
            AutocastScope mixed(c.p);
            loss = soft_dice_loss(softmax(m.forward(data({2, 1, 8, 16, 16}, 1, d)), 1), data({2, 2, 8, 16, 16}, 2, d), 1);
          }
          mul_scalar(loss, c.scale).backward();
          return loss;
        },
        false, c.tol);
  }
}

// autocast matmul (the gemm of linear layers) on the GPU: cuBLAS's gemm_mixed with 16-bit
// operands and fp32 accumulation against the CPU's 16-bit gemm, forward values and both
// operands' gradients (plain and transposed products). Same inputs, same roundings of the
// operands; the products' sums differ only in order, so results agree to one 16-bit ulp of
// the largest value (2^-8 bf16, 2^-11 fp16, relative); and they must differ from the fp32
// product (the 16-bit path really ran on the GPU).
TEST_CASE("matmul in bf16 and fp16 (autocast): values and gradients, GPU vs CPU") {
  REQUIRE(cuda::install_cuda_backend());
  for (const Precision p : {Precision::BF16, Precision::FP16}) {
    const double ulp = p == Precision::BF16 ? 0x1p-8 : 0x1p-11;
    for (const bool trans_b : {false, true}) {
      INFO(precision_name(p), trans_b ? ", b transposed" : "");
      auto run = [&](Device d, Precision q) {
        Tensor a = data({6, 9}, 21, d).requires_grad_(), b = data(trans_b ? Shape{4, 9} : Shape{9, 4}, 22, d).requires_grad_();
        Tensor y;
        {
          AutocastScope mixed(q);
          y = matmul(a, b, false, trans_b);
        }
        sum(mul(y, data({6, 4}, 23, d))).backward();
        return std::vector<Tensor>{y, a.grad(), b.grad()};
      };
      const auto cpu = run(Device::cpu(), p), gpu = run(Device::cuda(), p), gpu32 = run(Device::cuda(), Precision::FP32);
      for (size_t i = 0; i < cpu.size(); ++i) {
        CHECK(gpu[i].dtype() == DType::Float32);
        CHECK(rel_diff(gpu[i], cpu[i], 0) <= ulp);
      }
      CHECK(rel_diff(gpu[0], gpu32[0], 0) > 0);
    }
  }
}

// The casts round as the CPU's do, fills, sums and concatenation (box copies) in 16 bits match
// the CPU's; a 16-bit tensor reaching a CUDA op without a 16-bit kernel (a normal fill)
// is an error naming the op and the dtype, as on the CPU (autograd/backend_impl.h).
TEST_CASE("CUDA backend: a bfloat16 tensor in an op without a 16-bit kernel is a clear error") {
  REQUIRE(cuda::install_cuda_backend());
  Tensor x = data({4, 4}, 24, Device::cuda()).to(DType::BFloat16);
  CHECK(x.device() == Device::cuda());
  CHECK(x.to(DType::Float32).to_vector() == data({4, 4}, 24, Device::cpu()).to(DType::BFloat16).to(DType::Float32).to_vector());
  for (const DType t : {DType::BFloat16, DType::Float16}) {  // fill, cast and box copy (concat) in 16 bits
    INFO(dtype_name(t));
    CHECK(Tensor::full({3}, 1.5, t, Device::cuda()).to(DType::Float32).to_vector() == std::vector<double>{1.5, 1.5, 1.5});
    auto joined = [t](Device d) {
      Tensor a = data({2, 3}, 25, d).to(t), b = data({2, 5}, 26, d).to(t);
      Tensor y = concat({a, b}, 1);
      CHECK(y.dtype() == t);
      return y.to(DType::Float32).to_vector();
    };
    CHECK(joined(Device::cuda()) == joined(Device::cpu()));
  }
  // Sums read 16 bits and round once, as the CPU's (a double sum of these values is exact).
  const Tensor x_cpu = data({4, 4}, 24, Device::cpu()).to(DType::BFloat16);
  CHECK(sum(x, {1}).dtype() == DType::BFloat16);
  CHECK(sum(x, {1}).to(DType::Float32).to_vector() == sum(x_cpu, {1}).to(DType::Float32).to_vector());
  Generator gen(24);
  CHECK_THROWS_WITH_AS((void)Tensor::randn({4}, gen, DType::BFloat16, Device::cuda()),
                       doctest::Contains("fill_normal: no bfloat16 kernel"), Error);
  CHECK_THROWS_WITH_AS(x.to(DType::Float64), doctest::Contains("not bfloat16 to float64: cast through float32"), Error);
}

TEST_CASE("pix2pix generator (L1) and PatchGAN (LSGAN discriminator loss): gradients, GPU vs CPU") {
  Pix2PixConfig pc;
  pc.label_channels = 3, pc.base_filters = 4, pc.depth = 3, pc.dropout = 0;
  compare_step<Pix2PixGenerator>(
      "pix2pix", [pc](Generator& g) { return std::make_shared<Pix2PixGenerator>(pc, g, g); },
      [](Pix2PixGenerator& m, Device d) {
        Tensor fake = m.forward(data({1, 3, 16, 16}, 3, d));
        Tensor loss = models::l1_reconstruction_loss(fake, data({1, 1, 16, 16}, 4, d)) * 10.0;
        loss.backward();
        return loss;
      });
  PatchGanConfig dc;
  dc.label_channels = 3, dc.filters = {4, 8, 8};
  compare_step<PatchGan>(
      "patchgan", [dc](Generator& g) { return std::make_shared<PatchGan>(dc, g, g); },
      [](PatchGan& m, Device d) {
        Tensor labels = data({1, 3, 16, 16}, 6, d);
        Tensor loss = models::lsgan_discriminator_loss(m.forward(data({1, 1, 16, 16}, 5, d), labels),
                                                       m.forward(data({1, 1, 16, 16}, 12, d), labels));
        loss.backward();
        return loss;
      });
}

// The GANs that stay 16-bit between blocks under autocast (autograd/autocast.h rule 2): the
// device's 16-bit instance norm + LeakyReLU, upsampling, concatenation, dropout (the float32
// mask on both: the same counter-based draws) and convolutions against the CPU's, in bf16.
// The CPU side uses the reference convolution, as the U-Net's case above.
TEST_CASE("pix2pix (with dropout), PatchGAN and the lesion generator in bf16 (autocast): gradients, GPU vs CPU") {
  const ReferenceConvScope reference;
  // Measured on the emulator: loss identical; worst gradient tensor 0 (pix2pix, lesion
  // generator) and 8.2e-5 (PatchGAN), 4e-6 relative L2 over all; a device step in float32 is
  // ~1e-2 apart.
  const Tolerance tol = bf16_gan_tolerance();
  Pix2PixConfig pc;
  pc.label_channels = 3, pc.base_filters = 4, pc.depth = 3, pc.dropout = 0.3;
  compare_step_with<Pix2PixGenerator>(
      "pix2pix bf16", [pc](Generator& g) { return std::make_shared<Pix2PixGenerator>(pc, g, g); },
      [](Pix2PixGenerator& m, Device d) {
        Tensor loss;
        {
          AutocastScope mixed(Precision::BF16);
          loss = models::l1_reconstruction_loss(m.forward(data({2, 3, 16, 16}, 3, d)), data({2, 1, 16, 16}, 4, d));
        }
        loss.backward();
        return loss;
      },
      false, tol);
  PatchGanConfig dc;
  dc.label_channels = 3, dc.filters = {4, 8, 8};
  compare_step_with<PatchGan>(
      "patchgan bf16", [dc](Generator& g) { return std::make_shared<PatchGan>(dc, g, g); },
      [](PatchGan& m, Device d) {
        Tensor loss, labels = data({2, 3, 32, 32}, 6, d);
        {
          AutocastScope mixed(Precision::BF16);
          loss = models::lsgan_discriminator_loss(m.forward(data({2, 1, 32, 32}, 5, d), labels),
                                                  m.forward(data({2, 1, 32, 32}, 12, d), labels));
        }
        loss.backward();
        return loss;
      },
      false, tol);
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 8, 8}, c.out_kernel = 3;
  compare_step_with<LesionGenerator>(
      "lesion generator bf16", [c](Generator& g) { return std::make_shared<LesionGenerator>(c, g); },
      [](LesionGenerator& m, Device d) {
        Tensor loss;
        {
          AutocastScope mixed(Precision::BF16);
          loss = models::l1_reconstruction_loss(m.forward(data({2, 8}, 14, d)), data({2, 1, 4, 8, 8}, 15, d));
        }
        loss.backward();
        return loss;
      },
      false, tol);
}

// SPADE (normalisations and residual blocks in 16 bits, biases added in 16 bits: rule 1b) and
// the lesion critic (16-bit blocks, the penalty's double backward through them) in bf16, the
// device against the CPU with the reference convolution, as above.
TEST_CASE("SPADE and the lesion critic's WGAN-GP loss in bf16 (autocast, rule 1b): gradients, GPU vs CPU") {
  const ReferenceConvScope reference;
  const Tolerance tol = bf16_gan_tolerance();  // emulator: loss and every gradient identical
  SpadeConfig sc;
  sc.out_size = {16, 16}, sc.z_dim = 8, sc.label_channels = 3, sc.filters = {8, 4}, sc.hidden = 4;
  compare_step_with<SpadeGenerator>(
      "spade bf16", [sc](Generator& g) { return std::make_shared<SpadeGenerator>(sc, g); },
      [](SpadeGenerator& m, Device d) {
        Tensor loss;
        {
          AutocastScope mixed(Precision::BF16);
          loss = models::l1_reconstruction_loss(m.forward(data({1, 8}, 7, d), data({1, 3, 16, 16}, 8, d)),
                                                data({1, 1, 16, 16}, 9, d));
        }
        loss.backward();
        return loss;
      },
      false, tol);
  LesionGanConfig c;
  c.mask_size = {4, 8, 8}, c.critic_filters = {4, 6, 8}, c.critic_dense = 16;
  compare_step_with<LesionCritic>(
      "critic bf16", [c](Generator& g) { return std::make_shared<LesionCritic>(c, g); },
      [](LesionCritic& k, Device d) {
        Tensor loss;
        {
          AutocastScope mixed(Precision::BF16);
          loss = models::wgan_gp_critic_loss([&k](const Tensor& x) { return k.forward(x); },
                                             data({2, 1, 4, 8, 8}, 10, d), data({2, 1, 4, 8, 8}, 11, d),
                                             data({2, 1, 1, 1, 1}, 13, d), 10.0)
                     .loss;
        }
        loss.backward();
        return loss;
      },
      false, tol);
}

TEST_CASE("SPADE generator (L1) gradients, GPU vs CPU") {
  SpadeConfig sc;
  sc.out_size = {16, 16}, sc.z_dim = 8, sc.label_channels = 3, sc.filters = {8, 4}, sc.hidden = 4;
  compare_step<SpadeGenerator>(
      "spade", [sc](Generator& g) { return std::make_shared<SpadeGenerator>(sc, g); },
      [](SpadeGenerator& m, Device d) {
        Tensor loss = models::l1_reconstruction_loss(m.forward(data({1, 8}, 7, d), data({1, 3, 16, 16}, 8, d)),
                                                     data({1, 1, 16, 16}, 9, d));
        loss.backward();
        return loss;
      });
}

TEST_CASE("lesion WGAN critic loss with gradient penalty (double backward): gradients, GPU vs CPU") {
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 8, 8};
  c.critic_filters = {4, 6, 8}, c.critic_dense = 16;
  compare_step<LesionCritic>(
      "critic", [c](Generator& g) { return std::make_shared<LesionCritic>(c, g); },
      [](LesionCritic& k, Device d) {
        Tensor loss = models::wgan_gp_critic_loss([&k](const Tensor& x) { return k.forward(x); },
                                                  data({2, 1, 4, 8, 8}, 10, d), data({2, 1, 4, 8, 8}, 11, d),
                                                  data({2, 1, 1, 1, 1}, 13, d), 10.0)
                          .loss;
        loss.backward();
        return loss;
      });
}
