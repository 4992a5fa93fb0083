// autograd's ops on CUDA tensors, dispatched to kernels/cuda and run by the emulator:
// elementwise with broadcasting, reductions, softmax, random fills, dropout, casts and
// optimiser updates, pooling, upsampling, concatenation, cropping and norms, forward and
// backward, against the same computation on the CPU; and the layers that run through the
// emulated cuDNN and cuBLAS (Conv, ConvTranspose, Linear; matmul), 1e-5 relative in float32.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "autograd/backend.h"
#include "autograd/cuda/cuda_backend.h"
#include "autograd/generator.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/upsample_conv.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/optim_update.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/tensor.h"
#include "nn/layers.h"

using namespace pn;

namespace {

double max_diff(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// A small graph using every dispatched family: broadcasting binary ops, unary maps,
// softmax over channels, soft Dice (sums), mse.
Tensor graph(const Tensor& x, const Tensor& w, const Tensor& target) {
  Tensor h = tanh(x * w + exp(mul_scalar(x, 0.5)));
  Tensor p = softmax(leaky_relu(h, 0.2), 1);
  return soft_dice_loss(p, target, 1) + mse_loss(sigmoid(h), target) + mean(clamp(log_softmax(h, 1), -3.0, 0.0));
}

}  // namespace

TEST_CASE("a graph of dispatched ops gives the CPU's values and gradients on the emulated device") {
  REQUIRE(cuda::install_cuda_backend());
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gen(3);
    // Odd sizes, so that no kernel's block size divides them.
    Tensor x = Tensor::randn({3, 2, 7, 11}, gen, dt), w = Tensor::randn({1, 2, 1, 1}, gen, dt);
    Tensor target = Tensor::rand({3, 2, 7, 11}, gen, dt);
    Tensor xc = x.detach().requires_grad_(), wc = w.detach().requires_grad_();
    Tensor xg = x.to(Device::cuda()).detach().requires_grad_(), wg = w.to(Device::cuda()).detach().requires_grad_();
    Tensor lc = graph(xc, wc, target), lg = graph(xg, wg, target.to(Device::cuda()));
    CHECK(lg.device() == Device::cuda());
    lc.backward();
    lg.backward();
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    CHECK(std::abs(lc.item() - lg.item()) < tol);
    CHECK(xg.grad().device() == Device::cuda());
    CHECK(max_diff(xc.grad(), xg.grad()) < tol);
    CHECK(max_diff(wc.grad(), wg.grad()) < tol);
  }
}

TEST_CASE("random fills, dropout and casts on the device match the CPU bit for bit") {
  REQUIRE(cuda::install_cuda_backend());
  Generator a(9), b(9);
  Tensor rc = Tensor::randn({1001}, a), rg = Tensor::randn({1001}, b, DType::Float32, Device::cuda());
  CHECK(max_diff(rc, rg) == 0.0);
  Tensor uc = Tensor::rand({513}, a, DType::Float64), ug = Tensor::rand({513}, b, DType::Float64, Device::cuda());
  CHECK(max_diff(uc, ug) == 0.0);
  Tensor dc = dropout(Tensor::ones({777}), 0.3, a, true);
  Tensor dg = dropout(Tensor::ones({777}, DType::Float32, Device::cuda()), 0.3, b, true);
  CHECK(max_diff(dc, dg) == 0.0);
  Tensor c64 = rg.to(DType::Float64);
  CHECK(c64.device() == Device::cuda());
  CHECK(max_diff(c64, rc) == 0.0);
  CHECK(max_diff(Tensor::full({5}, 2.5, DType::Float32, Device::cuda()), Tensor::full({5}, 2.5)) == 0.0);
}

TEST_CASE("Adam and SGD updates on the device match the CPU") {
  REQUIRE(cuda::install_cuda_backend());
  Generator gen(4);
  Tensor p = Tensor::randn({301}, gen), g = Tensor::randn({301}, gen);
  Tensor pc = p.clone(), mc = Tensor::zeros({301}), vc = Tensor::zeros({301});
  Tensor pg = p.to(Device::cuda()), gg = g.to(Device::cuda());
  Tensor mg = Tensor::zeros({301}, DType::Float32, Device::cuda()), vg = Tensor::zeros({301}, DType::Float32, Device::cuda());
  for (int s = 1; s <= 3; ++s) {
    adam_update_(pc, g, mc, vc, s, AdamHyper{1e-2, 0.9, 0.999, 1e-8, 0.01, true});
    adam_update_(pg, gg, mg, vg, s, AdamHyper{1e-2, 0.9, 0.999, 1e-8, 0.01, true});
  }
  CHECK(max_diff(pc, pg) == 0.0);
  Tensor bc = Tensor::zeros({301}), bg = Tensor::zeros({301}, DType::Float32, Device::cuda());
  for (int s = 1; s <= 3; ++s) {
    sgd_update_(pc, g, bc, s, SgdHyper{0.1, 0.9, 0.0, 0.0, true});
    sgd_update_(pg, gg, bg, s, SgdHyper{0.1, 0.9, 0.0, 0.0, true});
  }
  CHECK(max_diff(pc, pg) == 0.0);
}

// A U-Net-like block without convolutions: norms (also fused with the activation), pooling,
// upsampling, skip concat, crop.
Tensor spatial_graph(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm, const Tensor& rv) {
  Tensor h = relu(batch_norm(x, gamma, beta, rm, rv, true)) + batch_norm_act(x, gamma, beta, {}, {}, true, 0.0) +
             instance_norm_act(x, gamma, beta, 0.2);
  Tensor down = max_pool(h, 2, 2);
  Tensor up = upsample_nearest(instance_norm(down, gamma, beta), 2);
  Tensor cat = concat({h, up}, 1);
  Tensor c = crop_pad(cat, {5, 7}, {1, -1});
  return mean(square(c)) + sum(narrow(cat, 1, 1, 2)) * 1e-3;
}

TEST_CASE("norms, pooling, upsampling, concat and crop on the emulated device match the CPU") {
  REQUIRE(cuda::install_cuda_backend());
  Generator gen(7);
  Tensor x = Tensor::randn({2, 3, 8, 10}, gen), gamma = Tensor::rand({3}, gen), beta = Tensor::randn({3}, gen);
  Tensor rm_c = Tensor::zeros({3}), rv_c = Tensor::ones({3});
  Tensor rm_g = rm_c.to(Device::cuda()), rv_g = rv_c.to(Device::cuda());
  Tensor xc = x.detach().requires_grad_(), gc = gamma.detach().requires_grad_(), bc = beta.detach().requires_grad_();
  Tensor xg = x.to(Device::cuda()).detach().requires_grad_();
  Tensor gg = gamma.to(Device::cuda()).detach().requires_grad_(), bg = beta.to(Device::cuda()).detach().requires_grad_();
  Tensor lc = spatial_graph(xc, gc, bc, rm_c, rv_c), lg = spatial_graph(xg, gg, bg, rm_g, rv_g);
  lc.backward();
  lg.backward();
  CHECK(std::abs(lc.item() - lg.item()) < 1e-5);
  CHECK(max_diff(xc.grad(), xg.grad()) < 1e-5);
  CHECK(max_diff(gc.grad(), gg.grad()) < 1e-5);
  CHECK(max_diff(bc.grad(), bg.grad()) < 1e-5);
  CHECK(max_diff(rm_c, rm_g) < 1e-6);
  CHECK(max_diff(rv_c, rv_g) < 1e-6);
}

namespace {

// max |a - b| / (1 + max |b|): a relative error at the scale of the values.
double scaled_diff(const Tensor& a, const Tensor& b) {
  auto vb = b.to_vector();
  double scale = 0;
  for (double v : vb) scale = std::max(scale, std::abs(v));
  return max_diff(a, b) / (1 + scale);
}

// Backpropagates a weighting gy (random, seed `seed`, yc's dtype) through yc on the CPU and yg
// on the device, and compares every input's gradient within tol (scaled_diff).
void check_device_grads(const Tensor& yc, const Tensor& yg, const std::vector<Tensor>& cpu,
                        const std::vector<Tensor>& dev, uint64_t seed, double tol) {
  Generator gy_gen(seed);
  const Tensor gy = Tensor::randn(yc.shape(), gy_gen).to(yc.dtype());
  sum(mul(yc, gy)).backward();
  sum(mul(yg, gy.to(Device::cuda()))).backward();
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("input " << i);
    CHECK(scaled_diff(dev[i].grad(), cpu[i].grad()) < tol);
  }
}

// Conv (stride 2), ConvTranspose (stride 2) and Linear layers in a row, with a squared loss.
struct LayerStack {
  nn::Conv conv;
  nn::ConvTranspose up;
  nn::Linear fc;
  LayerStack(int dims, int64_t flat, Generator& gen)
      : conv(3, 4, conv_options(dims), gen), up(4, 2, conv_options(dims), gen), fc(flat, 5, gen) {}
  static nn::ConvOptions conv_options(int dims) {
    nn::ConvOptions o;
    o.dims = dims;
    o.kernel = 3;
    o.stride = 2;
    o.padding = 1;
    return o;
  }
  void to(Device d) {
    conv.to(d);
    up.to(d);
    fc.to(d);
  }
  Tensor loss(const Tensor& x) {
    Tensor h = up(leaky_relu(conv(x), 0.1));
    return sum(square(fc(h.flatten(1))));
  }
  std::vector<Tensor> parameters() const {
    std::vector<Tensor> p;
    for (const nn::Module* m : {static_cast<const nn::Module*>(&conv), static_cast<const nn::Module*>(&up),
                                static_cast<const nn::Module*>(&fc)})
      for (const Tensor& t : m->parameters()) p.push_back(t);
    return p;
  }
};

}  // namespace

TEST_CASE("Conv, ConvTranspose and Linear layers on the emulated device match the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  for (int dims : {2, 3}) {
    // Odd sizes: 7 -> 4 -> 7 per spatial dim with kernel 3, stride 2, padding 1.
    const Shape shape = dims == 2 ? Shape{2, 3, 7, 7} : Shape{2, 3, 5, 7, 7};
    const int64_t flat = dims == 2 ? 2 * 7 * 7 : 2 * 5 * 7 * 7;
    Generator g_cpu(17), g_dev(17), g_x(18);
    LayerStack cpu(dims, flat, g_cpu), dev(dims, flat, g_dev);
    dev.to(Device::cuda());
    const Tensor x = Tensor::randn(shape, g_x);
    Tensor xc = x.detach().requires_grad_(), xg = x.to(Device::cuda()).detach().requires_grad_();
    Tensor lc = cpu.loss(xc), lg = dev.loss(xg);
    CHECK(lg.device() == Device::cuda());
    lc.backward();
    lg.backward();
    INFO("spatial dims " << dims);
    CHECK(std::abs(lc.item() - lg.item()) <= 1e-5 * (1 + std::abs(lc.item())));
    CHECK(scaled_diff(xg.grad(), xc.grad()) < 1e-5);
    const auto pc = cpu.parameters(), pg = dev.parameters();
    REQUIRE(pc.size() == pg.size());
    for (size_t i = 0; i < pc.size(); ++i) {
      INFO("parameter " << i);
      REQUIRE(pg[i].grad().defined());
      CHECK(pg[i].grad().device() == Device::cuda());
      CHECK(scaled_diff(pg[i].grad(), pc[i].grad()) < 1e-5);
    }
  }
}

TEST_CASE("the polyphase upsampling convolution on the emulated device matches the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  for (int dims : {2, 3}) {
    INFO("spatial dims " << dims);
    Generator gen(19);
    const Shape xs = dims == 2 ? Shape{2, 3, 5, 7} : Shape{1, 3, 3, 4, 5};
    const Shape ws = dims == 2 ? Shape{4, 3, 4, 4} : Shape{4, 3, 4, 4, 4};
    const Tensor x = Tensor::randn(xs, gen), w = Tensor::randn(ws, gen), b = Tensor::randn({4}, gen);
    std::vector<Tensor> cpu{x.detach(), w.detach(), b.detach()}, dev;
    for (Tensor& t : cpu) dev.push_back(t.to(Device::cuda()).detach().requires_grad_());
    for (Tensor& t : cpu) t.requires_grad_();
    // upsample_conv_same: a 0/1 matmul and an axis swap (the combined kernel), a convolution on
    // the small grid and a pixel shuffle: every kernel of the path on the device.
    const Tensor yc = upsample_conv_same(cpu[0], cpu[1], cpu[2], 2), yg = upsample_conv_same(dev[0], dev[1], dev[2], 2);
    CHECK(yg.device() == Device::cuda());
    CHECK(scaled_diff(yg, yc) < 1e-5);
    sum(square(yc)).backward();
    sum(square(yg)).backward();
    for (size_t i = 0; i < cpu.size(); ++i) {
      INFO("input " << i);
      CHECK(scaled_diff(dev[i].grad(), cpu[i].grad()) < 1e-5);
    }
  }
}

TEST_CASE("channels-last convolutions on the emulated device match the CPU, forward and backward, in 3 dtypes") {
  REQUIRE(cuda::install_cuda_backend());
  struct Case {
    Shape x, w;
    int stride, pad;
    bool transposed;
  };
  // cuDNN's NHWC / NDHWC descriptors, the weight through its [C_out, k..., C_in] copy (and the
  // weight gradient back), and the device's batched transposes at the network's door.
  const Case cases[] = {{{2, 3, 7, 6}, {5, 3, 3, 3}, 1, 1, false},
                        {{1, 4, 5, 6, 7}, {6, 4, 3, 2, 3}, 2, 1, false},
                        {{2, 4, 3, 4, 5}, {4, 3, 2, 2, 2}, 2, 0, true}};
  for (DType dt : {DType::Float32, DType::Float64, DType::BFloat16}) {
    const double tol = dt == DType::Float64 ? 1e-12 : dt == DType::Float32 ? 1e-5 : 2e-2;
    for (const Case& c : cases) {
      INFO(std::string(dtype_name(dt)) << " input " << shape_str(c.x) << (c.transposed ? " transposed" : ""));
      Generator gen(29);
      const Tensor x = Tensor::randn(c.x, gen).to(dt), w = Tensor::randn(c.w, gen).to(dt),
                   b = Tensor::randn({c.transposed ? c.w[1] : c.w[0]}, gen).to(dt);
      std::vector<Tensor> cpu{to_channels_last(x).detach(), w.detach(), b.detach()}, dev;
      for (Tensor& t : cpu) dev.push_back(t.to(Device::cuda()).detach().requires_grad_());
      for (Tensor& t : cpu) t.requires_grad_();
      auto run = [&c](const std::vector<Tensor>& in) {
        const Tensor y = c.transposed ? conv_transpose(in[0], in[1], in[2], {c.stride}, {c.pad}, MemoryFormat::channels_last)
                                      : conv(in[0], in[1], in[2], {c.stride}, {c.pad}, MemoryFormat::channels_last);
        return to_channels_first(y);  // the device's transpose, and its gradient's
      };
      const Tensor yc = run(cpu), yg = run(dev);
      CHECK(yg.device() == Device::cuda());
      CHECK(scaled_diff(yg, yc) < tol);
      check_device_grads(yc, yg, cpu, dev, 31, tol);
    }
  }
}

TEST_CASE("channels-last max-pooling on the emulated device matches the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  for (const Shape& s : {Shape{2, 5, 4, 6, 8}, Shape{1, 3, 7, 6}}) {
    for (DType dt : {DType::Float32, DType::BFloat16}) {
      INFO(std::string(dtype_name(dt)) << " input " << shape_str(s));
      Generator gen(37);
      const Tensor x = to_channels_last(Tensor::randn(s, gen).to(dt));
      Tensor xc = x.detach().requires_grad_(), xg = x.to(Device::cuda()).detach().requires_grad_();
      for (int k : {2, 3}) {
        const Tensor yc = max_pool(xc, k, 2, MemoryFormat::channels_last), yg = max_pool(xg, k, 2, MemoryFormat::channels_last);
        CHECK(yg.to(Device::cpu()).to_vector() == yc.to_vector());
        sum(square(yc)).backward();
        sum(square(yg)).backward();
      }
      CHECK(scaled_diff(xg.grad(), xc.grad()) < (dt == DType::Float32 ? 1e-6 : 1e-2));
    }
  }
}

TEST_CASE("channels-last batch and instance norms on the emulated device match the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  constexpr auto kLast = MemoryFormat::channels_last;
  // [2, 6, 8, 24, 24]: several splits per group on the device (over 128 rows of a channel tile
  // each), tiles of 6 channels (5 rows per warp). [3, 37, 5, 7]: one split, a full tile of 32
  // channels and one of 5, three instance-norm samples.
  for (const Shape& shape : {Shape{2, 6, 8, 24, 24}, Shape{3, 37, 5, 7}}) {
    for (DType dt : {DType::Float32, DType::BFloat16}) {
      for (int variant = 0; variant < 4; ++variant) {
        INFO(std::string(dtype_name(dt)) << " variant " << variant << " shape " << shape_str(shape));
        Generator gen(41);
        const int64_t c = shape[1];
        const Tensor x = to_channels_last(Tensor::randn(shape, gen).to(dt));
        const Tensor gamma = Tensor::randn({c}, gen), beta = Tensor::randn({c}, gen);
        Tensor rm_c = Tensor::zeros({c}), rv_c = Tensor::ones({c});
        Tensor rm_g = rm_c.to(Device::cuda()), rv_g = rv_c.to(Device::cuda());
        std::vector<Tensor> cpu{x.detach(), gamma.detach(), beta.detach()}, dev;
        for (Tensor& t : cpu) dev.push_back(t.to(Device::cuda()).detach().requires_grad_());
        for (Tensor& t : cpu) t.requires_grad_();
        auto run = [variant, kLast](const std::vector<Tensor>& in, const Tensor& rm, const Tensor& rv) {
          switch (variant) {
            case 0: return batch_norm(in[0], in[1], in[2], rm, rv, true, 0.1, 1e-5, kLast);
            case 1: return batch_norm_act(in[0], in[1], in[2], rm, rv, true, 0.2, 0.1, 1e-5, kLast);
            case 2: return instance_norm(in[0], in[1], in[2], 1e-5, kLast);
            default: return instance_norm_act(in[0], in[1], in[2], 0.0, 1e-5, kLast);
          }
        };
        const Tensor yc = run(cpu, rm_c, rv_c), yg = run(dev, rm_g, rv_g);
        const double tol = dt == DType::Float32 ? 1e-5 : 2e-2;
        CHECK(scaled_diff(yg, yc) < tol);
        CHECK(scaled_diff(rm_g, rm_c) < 1e-6);
        CHECK(scaled_diff(rv_g, rv_c) < 1e-6);
        check_device_grads(yc, yg, cpu, dev, 43, tol);
        if (variant != 0) continue;
        // Eval: the running statistics, fixed.
        const Tensor ec = batch_norm(cpu[0].detach(), gamma, beta, rm_c, rv_c, false, 0.1, 1e-5, kLast);
        const Tensor eg = batch_norm(dev[0].detach(), gamma.to(Device::cuda()), beta.to(Device::cuda()), rm_g, rv_g,
                                     false, 0.1, 1e-5, kLast);
        CHECK(scaled_diff(eg, ec) < tol);
      }
    }
  }
}

TEST_CASE("matmul with transposes on the emulated device matches the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Generator gen(23);
        const Tensor a = Tensor::randn(ta ? Shape{7, 5} : Shape{5, 7}, gen, dt);
        const Tensor b = Tensor::randn(tb ? Shape{3, 7} : Shape{7, 3}, gen, dt);
        Tensor ac = a.detach().requires_grad_(), bc = b.detach().requires_grad_();
        Tensor ag = a.to(Device::cuda()).detach().requires_grad_(), bg = b.to(Device::cuda()).detach().requires_grad_();
        Tensor yc = matmul(ac, bc, ta, tb), yg = matmul(ag, bg, ta, tb);
        INFO("trans_a " << ta << " trans_b " << tb);
        CHECK(scaled_diff(yg, yc) < tol);
        sum(square(yc)).backward();
        sum(square(yg)).backward();
        CHECK(scaled_diff(ag.grad(), ac.grad()) < tol);
        CHECK(scaled_diff(bg.grad(), bc.grad()) < tol);
      }
  }
}
