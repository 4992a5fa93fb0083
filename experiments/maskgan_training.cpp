#include "experiments/maskgan_training.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "data/folder_dataset.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/pipeline.h"
#include "data/tensor_bridge.h"
#include "experiments/checkpoint_dir.h"
#include "experiments/config_presets.h"
#include "experiments/progress.h"
#include "experiments/run_threads.h"
#include "experiments/seg_training.h"
#include "experiments/training_run.h"
#include "models/lesion_wgan.h"
#include "nn/communicator.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"

namespace pn::experiments {

namespace fs = std::filesystem;
using cli::Progress;

namespace {

models::LesionGanConfig gan_config(const Config& cfg) {
  models::LesionGanConfig c;
  const auto grid = cfg.integers("data.grid");
  const auto base = cfg.integers("maskgan.base_shape");
  c.z_dim = cfg.integer("maskgan.latent_dim");
  c.start = {base[0], base[1], base[2]};
  c.gen_filters = cfg.integers("maskgan.gen_filters");
  c.mask_size = {grid[0], grid[1], grid[2]};
  c.critic_filters = cfg.integers("maskgan.critic_filters");
  c.critic_dense = cfg.integer("maskgan.critic_dense");
  c.slope = cfg.number("maskgan.leaky_slope");
  return c;
}

nn::AdamOptions gan_adam(const Config& cfg) {
  return nn::AdamOptions{cfg.number("maskgan.lr"), cfg.number("maskgan.beta1"), cfg.number("maskgan.beta2")};
}

// The training masks on the study's grid as [n, 1, D, H, W] in {-1, 1} (the generator's
// tanh range), keeping those with enough lesion voxels.
Tensor load_masks(const Config& cfg, int64_t& kept, size_t& total) {
  data::FolderDataset ds(cfg.string("data.train_dir"), seg_suffixes(cfg));
  const auto pipe = seg_pipeline(cfg, false);
  const int64_t min_voxels = cfg.integer("maskgan.min_lesion_voxels");
  std::vector<Tensor> masks;
  total = ds.size();
  for (size_t i = 0; i < ds.size(); ++i) {
    data::Sample s = data::preprocess(ds.load(i), pipe, 0);
    int64_t voxels = 0;
    for (int32_t v : s.target.data) voxels += v != 0;
    if (voxels < min_voxels) continue;
    Tensor m = narrow(data::one_hot(s.target, 2), 0, 1, 1);  // [1, D, H, W] in {0, 1}
    masks.push_back(add_scalar(mul_scalar(m, 2.0), -1.0));
  }
  kept = static_cast<int64_t>(masks.size());
  PN_CHECK(kept > 0, "maskgan train: no mask in {} has >= {} lesion voxels on the {} grid (maskgan.min_lesion_voxels)",
           cfg.string("data.train_dir"), min_voxels, shape_str(cfg.integers("data.grid")));
  return data::stack(masks);
}

Tensor rows(const Tensor& t, const std::vector<int64_t>& idx) {
  std::vector<Tensor> parts;
  for (int64_t i : idx) parts.push_back(narrow(t, 0, i, 1));
  return concat(parts, 0);
}

}  // namespace

int remove_small_components(data::LabelVolume& mask, int64_t min_voxels) {
  const auto& d = mask.dims;
  std::vector<int32_t> label(mask.data.size(), 0);
  std::vector<int64_t> stack, members;
  int kept = 0, next = 0;
  for (int64_t start = 0; start < static_cast<int64_t>(mask.data.size()); ++start) {
    if (!mask.data[start] || label[start]) continue;
    label[start] = ++next;
    stack = {start};
    members.clear();
    while (!stack.empty()) {
      const int64_t v = stack.back();
      stack.pop_back();
      members.push_back(v);
      const int64_t i = v % d[0], j = (v / d[0]) % d[1], k = v / (d[0] * d[1]);
      const int64_t nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k}, {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
      for (const auto& n : nb) {
        if (!mask.inside(n[0], n[1], n[2])) continue;
        const int64_t u = mask.index(n[0], n[1], n[2]);
        if (mask.data[u] && !label[u]) label[u] = next, stack.push_back(u);
      }
    }
    if (static_cast<int64_t>(members.size()) < min_voxels)
      for (int64_t v : members) mask.data[v] = 0;
    else
      ++kept;
  }
  return kept;
}

MaskGanResult maskgan_train(const Config& cfg, const RunDirOptions& run_opt) {
  apply_thread_setting(cfg);
  auto comm = nn::world_communicator();
  nn::check_same_on_all_ranks(*comm, "the resolved configuration", cfg.to_toml());
  const bool root = comm->is_root();
  MaskGanResult result;
  size_t total = 0;
  Tensor masks = load_masks(cfg, result.training_masks, total);
  const int64_t epochs = cfg.integer("maskgan.epochs"), batch = cfg.integer("maskgan.batch");
  const int64_t critic_steps = cfg.integer("maskgan.critic_steps");
  const double gp_weight = cfg.number("maskgan.gp_weight");
  const uint64_t seed = static_cast<uint64_t>(cfg.integer("run.seed"));

  Generator gen(seed);
  const auto gc = gan_config(cfg);
  models::LesionGenerator g(gc, gen);
  models::LesionCritic k(gc, gen);
  nn::Adam og(g.named_parameters(), gan_adam(cfg)), ok(k.named_parameters(), gan_adam(cfg));
  nn::CheckpointParts parts{{{"generator", &g}, {"critic", &k}}, {{"opt_g", &og}, {"opt_c", &ok}}};
  nn::DataParallel dp_g(comm, {&g}), dp_k(comm, {&k});

  std::unique_ptr<TrainingRun> run;
  int64_t done = 0, step = 0;
  if (root) {
    run = std::make_unique<TrainingRun>(
        cfg, "maskgan", run_opt, std::vector<std::string>{"critic_loss", "generator_loss", "wasserstein", "gradient_penalty"});
    done = run->done() ? epochs : run->resume(parts, gen, &step);
    result.run_dir = run->dir().path().string();
  }
  int64_t sync[4] = {done, step, static_cast<int64_t>(gen.seed()), static_cast<int64_t>(gen.offset())};
  comm->broadcast(sync, sizeof sync, 0);
  done = sync[0], step = sync[1];
  gen.set_state(static_cast<uint64_t>(sync[2]), static_cast<uint64_t>(sync[3]));
  dp_g.broadcast_state();
  dp_k.broadcast_state();
  for (nn::Optimizer* o : {static_cast<nn::Optimizer*>(&og), static_cast<nn::Optimizer*>(&ok)})
    for (auto& [name, t] : o->named_state()) {
      Tensor h = t;
      comm->broadcast(h.raw(), h.numel() * static_cast<int64_t>(dtype_size(h.dtype())), 0);
    }

  const int64_t n = masks.size(0), per_epoch = std::max<int64_t>(1, nn::steps_per_epoch(n, batch, comm->size()));
  if (root && done < epochs)
    std::printf("maskgan train: %lld of %zu masks with >= %lld lesion voxels, grid %s, %lld epochs of %lld steps, %d "
                "rank(s); generator %lld, critic %lld parameters\n", (long long)n, total,
                (long long)cfg.integer("maskgan.min_lesion_voxels"), shape_str(gc.mask_size).c_str(), (long long)epochs,
                (long long)per_epoch, comm->size(), (long long)g.num_parameters(), (long long)k.num_parameters());
  for (int64_t e = done + 1; e <= epochs; ++e) {
    std::optional<Progress> prog;
    if (root) prog.emplace(fmt::format("epoch {}/{}", e, epochs), per_epoch, "step");
    const auto order = nn::epoch_order(n, seed, e);
    double sums[4] = {0, 0, 0, 0};
    for (int64_t s = 0; s < per_epoch; ++s) {
      // Small datasets: a batch larger than the data wraps around the order.
      std::vector<int64_t> idx;
      for (int64_t b = 0; b < batch; ++b) idx.push_back(order[((s * comm->size() + comm->rank()) * batch + b) % n]);
      Tensor real = rows(masks, idx);
      for (int64_t c = 0; c < critic_steps; ++c) {
        ok.zero_grad();
        Tensor fake = g.forward(Tensor::randn({batch, gc.z_dim}, gen)).detach();
        Tensor eps = Tensor::rand({batch, 1, 1, 1, 1}, gen);
        Tensor xhat = (eps * real + rsub_scalar(1.0, eps) * fake).detach().requires_grad_();
        Tensor gr = grad({sum(k.forward(xhat))}, {xhat}, {}, /*create_graph=*/true)[0];
        Tensor gp = mean(square(add_scalar(sqrt(add_scalar(sum(square(gr), {1, 2, 3, 4}), 1e-12)), -1.0)));
        Tensor w = mean(k.forward(real)) - mean(k.forward(fake));
        Tensor loss_c = gp * gp_weight - w;
        PN_CHECK(std::isfinite(loss_c.item()), "maskgan train: critic loss {} at epoch {} (lower maskgan.lr?)",
                 loss_c.item(), e);
        loss_c.backward();
        dp_k.average_gradients();
        ok.step();
        sums[0] += dp_k.average(loss_c.item()) / critic_steps;
        sums[2] += dp_k.average(w.item()) / critic_steps;
        sums[3] += dp_k.average(gp.item()) / critic_steps;
      }
      og.zero_grad();
      Tensor loss_g = -mean(k.forward(g.forward(Tensor::randn({batch, gc.z_dim}, gen))));
      loss_g.backward();
      dp_g.average_gradients();
      og.step();
      sums[1] += dp_g.average(loss_g.item());
      ++step;
      if (root) prog->advance(1, fmt::format("W {:.3f} gp {:.3f}", sums[2] / (s + 1), sums[3] / (s + 1)));
    }
    for (double& v : sums) v /= static_cast<double>(per_epoch);
    result.last_wasserstein = sums[2];
    if (root) {
      prog->finish();
      run->end_epoch(e, epochs, {sums[0], sums[1], sums[2], sums[3]}, parts, gen, step);
    }
  }
  if (root && !run->done()) run->finish(fmt::format("Wasserstein estimate {:.4f} in the last epoch", result.last_wasserstein));
  return result;
}

std::vector<data::LabelVolume> maskgan_generate(const std::string& run_dir, int64_t count, uint64_t seed,
                                                std::vector<data::Volume>* soft, size_t soft_max) {
  const Config cfg = run_config(run_dir);
  PN_CHECK(count > 0, "maskgan: the number of masks must be positive, got {}", count);
  Generator gen(seed);
  const auto gc = gan_config(cfg);
  models::LesionGenerator g(gc, gen);
  models::LesionCritic k(gc, gen);
  nn::Adam og(g.named_parameters(), gan_adam(cfg)), ok(k.named_parameters(), gan_adam(cfg));
  nn::load_checkpoint(newest_checkpoint(run_dir, "maskgan"), {{{"generator", &g}, {"critic", &k}}, {{"opt_g", &og}, {"opt_c", &ok}}});
  g.eval();
  const auto grid = cfg.integers("data.grid");
  const auto spacing = cfg.numbers("data.spacing");
  const double threshold = cfg.number("maskgan.threshold");
  const int64_t min_component = cfg.integer("maskgan.min_component_voxels");
  std::vector<data::LabelVolume> masks;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<double> v;
    {
      NoGrad ng;
      v = g.forward(Tensor::randn({1, gc.z_dim}, gen)).to_vector();
    }
    data::LabelVolume m;
    static_cast<data::Grid&>(m) = data::Grid::centred({grid[2], grid[1], grid[0]}, {spacing[2], spacing[1], spacing[0]});
    m.data.resize(v.size());
    for (size_t j = 0; j < v.size(); ++j) m.data[j] = v[j] > threshold;
    remove_small_components(m, min_component);
    if (soft && soft->size() < soft_max) {
      data::Volume img;
      static_cast<data::Grid&>(img) = m.grid();
      img.data.assign(v.begin(), v.end());
      soft->push_back(std::move(img));
    }
    masks.push_back(std::move(m));
  }
  return masks;
}

std::vector<int64_t> maskgan_sample(const std::string& run_dir, const std::string& out_dir, int64_t count,
                                    uint64_t seed) {
  std::vector<data::Volume> soft;
  auto masks = maskgan_generate(run_dir, count, seed, &soft);
  fs::create_directories(out_dir);
  std::vector<int64_t> volumes;
  Progress prog("sample", count, "mask");
  for (size_t i = 0; i < masks.size(); ++i) {
    int64_t vox = 0;
    for (int32_t x : masks[i].data) vox += x;
    volumes.push_back(vox);
    data::write_labels(masks[i], (fs::path(out_dir) / fmt::format("mask_{:04d}.nii.gz", i)).string());
    prog.advance(1, fmt::format("{} voxels", vox));
  }
  prog.finish();
  std::vector<data::MontageCase> cases;
  for (size_t i = 0; i < soft.size(); ++i) cases.push_back({&soft[i], nullptr, &masks[i]});
  data::write_montage_png((fs::path(out_dir) / "montage.png").string(), cases);
  std::printf("wrote %lld masks and montage.png to %s\n", (long long)count, out_dir.c_str());
  return volumes;
}

}  // namespace pn::experiments
