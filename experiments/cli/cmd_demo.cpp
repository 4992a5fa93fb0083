// `penumbra demo`: the small end-to-end example. A small 3-D U-Net learns (on the CPU, or
// a CUDA device with --device) to segment one bright random blob in a noisy volume (all data generated in memory from the
// seed), with the study's soft Dice loss and Adam; it ends with the hard Dice on held-out
// volumes. It exercises the whole engine: conv, batch norm, pooling, transposed conv,
// concatenation, softmax, the loss, backward and the optimiser.
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "kernels/math/philox.h"
#include "experiments/cli/command.h"
#include "experiments/run/compute_device.h"
#include "experiments/run/progress.h"
#include "models/unet.h"
#include "nn/communicator.h"
#include "nn/optim.h"

namespace pn::cli {
namespace {

struct DemoOptions {
  uint64_t seed = 1;
  std::vector<int64_t> size{16, 32, 32};
  int train = 64, test = 16, epochs = 12, batch = 4;
  int base = 8, depth = 2;
  double lr = 3e-3, noise = 0.5;
  std::string device = "auto";  // as run.device: "auto", "cpu" or "cuda"
};

// One volume: N(0, noise^2) background plus an ellipsoid of intensity +1; mask = ellipsoid.
void make_blob(const DemoOptions& o, Generator& gen, float* img, float* mask) {
  const int64_t D = o.size[0], H = o.size[1], W = o.size[2];
  double r[3], c[3];
  const int64_t dims[3] = {D, H, W};
  for (int a = 0; a < 3; ++a) {
    r[a] = 2.0 + gen.uniform() * (static_cast<double>(std::min(dims[a], int64_t{32})) / 4.0);
    c[a] = r[a] + gen.uniform() * (static_cast<double>(dims[a]) - 2 * r[a]);
  }
  uint64_t off = gen.reserve(static_cast<uint64_t>(D * H * W));
  for (int64_t z = 0; z < D; ++z)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        double q = std::pow((z - c[0]) / r[0], 2) + std::pow((y - c[1]) / r[1], 2) + std::pow((x - c[2]) / r[2], 2);
        int64_t i = (z * H + y) * W + x;
        bool in = q <= 1.0;
        mask[i] = in ? 1.f : 0.f;
        img[i] = static_cast<float>((in ? 1.0 : 0.0) + o.noise * math::philox_normal(gen.seed(), off + i));
      }
}

struct BlobSet {
  Tensor images, onehot;  // [N,1,D,H,W], [N,2,D,H,W]
};

BlobSet make_set(const DemoOptions& o, Generator& gen, int n) {
  const int64_t vox = o.size[0] * o.size[1] * o.size[2];
  Shape s{n, 1, o.size[0], o.size[1], o.size[2]};
  BlobSet b{Tensor::empty(s), Tensor::empty({n, 2, o.size[0], o.size[1], o.size[2]})};
  std::vector<float> mask(vox);
  for (int i = 0; i < n; ++i) {
    make_blob(o, gen, b.images.data<float>() + i * vox, mask.data());
    float* oh = b.onehot.data<float>() + i * 2 * vox;
    for (int64_t v = 0; v < vox; ++v) { oh[v] = 1.f - mask[v]; oh[vox + v] = mask[v]; }
  }
  return b;
}

Tensor batch_slice(const Tensor& t, int start, int count) {
  Shape s = t.shape();
  s[0] = count;
  Tensor out = Tensor::empty(s);
  const int64_t per = t.numel() / t.size(0);
  std::copy_n(t.data<float>() + start * per, count * per, out.data<float>());
  return out;
}

// Hard Dice of the argmax foreground against the mask, per volume.
std::vector<double> hard_dice(const Tensor& logits, const Tensor& onehot) {
  const int64_t n = logits.size(0), vox = logits.numel() / (n * 2);
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) {
    const float* l = logits.data<float>() + i * 2 * vox;
    const float* t = onehot.data<float>() + i * 2 * vox + vox;
    double inter = 0, ps = 0, ts = 0;
    for (int64_t v = 0; v < vox; ++v) {
      double p = l[vox + v] > l[v] ? 1 : 0;
      inter += p * t[v];
      ps += p;
      ts += t[v];
    }
    out.push_back(ps + ts > 0 ? 2 * inter / (ps + ts) : 1.0);
  }
  return out;
}

int run_demo(const DemoOptions& o) {
  PN_CHECK(o.size.size() == 3, "demo: --size takes three numbers D,H,W, got {}", o.size.size());
  PN_CHECK(o.batch >= 1 && o.train >= o.batch && o.test >= 1 && o.epochs >= 1, "demo: need batch >= 1, train >= batch, test >= 1, epochs >= 1");
  Generator gen(o.seed);
  std::printf("penumbra demo: 3-D U-Net (base %d, depth %d) segments a bright blob in %lldx%lldx%lld noisy volumes\n",
              o.base, o.depth, (long long)o.size[0], (long long)o.size[1], (long long)o.size[2]);
  std::printf("data: %d training + %d held-out volumes generated in memory (seed %llu, noise sd %.2f)\n", o.train, o.test,
              (unsigned long long)o.seed, o.noise);
  BlobSet train = make_set(o, gen, o.train), test = make_set(o, gen, o.test);
  const Device device = experiments::select_device(o.device, *nn::world_communicator()).device;
  models::SegmentationUNet net({.dims = 3, .in_channels = 1, .classes = 2, .base_filters = o.base, .depth = o.depth},
                               gen);
  net.to(device);  // before the optimiser: it keeps the parameters' handles
  std::printf("model: %lld parameters, on %s\n", (long long)net.num_parameters(), device.str().c_str());
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{o.lr});
  const int steps_per_epoch = o.train / o.batch;
  Progress prog("train", static_cast<int64_t>(o.epochs) * steps_per_epoch, "step");
  double first_loss = -1, last_loss = 0;
  for (int e = 0; e < o.epochs; ++e) {
    net.train();
    double epoch_loss = 0;
    for (int s = 0; s < steps_per_epoch; ++s) {
      Tensor x = batch_slice(train.images, s * o.batch, o.batch).to(device);
      Tensor t = batch_slice(train.onehot, s * o.batch, o.batch).to(device);
      Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), t, 1);
      double lv = loss.item();
      PN_CHECK(std::isfinite(lv), "demo: the loss became {} at epoch {} step {}; lower --lr", lv, e + 1, s + 1);
      opt.zero_grad();
      loss.backward();
      opt.step();
      epoch_loss += lv;
      prog.advance(1, fmt::format("epoch {}/{} | loss {:.4f}", e + 1, o.epochs, lv));
    }
    last_loss = epoch_loss / steps_per_epoch;
    if (first_loss < 0) first_loss = last_loss;
  }
  prog.finish(fmt::format("mean loss first epoch {:.4f}, last epoch {:.4f}", first_loss, last_loss));
  net.eval();
  std::vector<double> dice;
  {
    NoGrad ng;
    for (int i = 0; i < o.test; i += o.batch) {
      int c = std::min(o.batch, o.test - i);
      const Tensor logits = net.forward(batch_slice(test.images, i, c).to(device)).to(Device::cpu());
      auto d = hard_dice(logits, batch_slice(test.onehot, i, c));
      dice.insert(dice.end(), d.begin(), d.end());
    }
  }
  double mean = 0, lo = 1;
  for (double d : dice) { mean += d; lo = std::min(lo, d); }
  mean /= static_cast<double>(dice.size());
  std::printf("held-out hard Dice: mean %.4f, min %.4f over %zu volumes (%.1f s)\n", mean, lo, dice.size(),
              prog.elapsed_seconds());
  return 0;
}

void add_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Small end-to-end example: a 3-D U-Net learns to segment a bright blob (~1 min on 2 CPU cores)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--seed", o->seed, "random seed (data and weights)")->capture_default_str();
  cmd->add_option("--size", o->size, "volume size D H W")->delimiter(',')->expected(3)->capture_default_str();
  cmd->add_option("--train", o->train, "training volumes")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test", o->test, "held-out volumes")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", o->epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--base", o->base, "filters of the first level")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--depth", o->depth, "U-Net levels")->capture_default_str()->check(CLI::Range(1, 5));
  cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--noise", o->noise, "noise standard deviation")->capture_default_str();
  cmd->add_option("--device", o->device, "auto (CUDA when present), cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->callback([o] {
    int rc = run_demo(*o);
    if (rc) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("demo", 0, add_demo);

}  // namespace pn::cli
