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
#include "experiments/lesion_sources.h"
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

// The training masks, sparse (a dense SOOP set on the paper's grid would take 3 GB): the
// lesion voxels' linear indices on the study grid (x fastest: the generator's [D, H, W]
// layout), masks with >= maskgan.min_lesion_voxels voxels only.
struct TrainingMasks {
  std::vector<std::vector<int64_t>> voxels;
  size_t considered = 0;  // masks read, before the size filter
  std::string source;     // for the log
};

TrainingMasks load_masks(const Config& cfg) {
  TrainingMasks tm;
  const int64_t min_voxels = cfg.integer("maskgan.min_lesion_voxels");
  const LesionSourceSpec spec = maskgan_mask_source(cfg);
  if (spec.real()) {
    const data::LesionSet set = load_lesion_source(spec, study_mni_grid(cfg), lesion_set_options(cfg, min_voxels));
    for (size_t i : set.train()) tm.voxels.push_back(set.masks[i].voxels);
    tm.considered = set.masks.size() + set.dropped.size();
    tm.source = fmt::format("{}: {} of {} masks with >= {} voxels on the grid, {} of them held out for evaluation",
                            spec.description, set.masks.size(), tm.considered, min_voxels, set.held_out().size());
  } else {
    data::FolderDataset ds(cfg.string("data.train_dir"), seg_suffixes(cfg));
    const auto pipe = seg_pipeline(cfg, false);
    tm.considered = ds.size();
    for (size_t i = 0; i < ds.size(); ++i) {
      const data::Sample s = data::preprocess(ds.load(i), pipe, 0);
      std::vector<int64_t> v;
      for (size_t x = 0; x < s.target.data.size(); ++x)
        if (s.target.data[x] != 0) v.push_back(static_cast<int64_t>(x));
      if (static_cast<int64_t>(v.size()) >= min_voxels) tm.voxels.push_back(std::move(v));
    }
    tm.source = fmt::format("the masks of data.train_dir ({}): {} of {} with >= {} lesion voxels",
                            cfg.string("data.train_dir"), tm.voxels.size(), tm.considered, min_voxels);
  }
  PN_CHECK(!tm.voxels.empty(), "maskgan train: no training mask has >= {} lesion voxels on the {} grid "
           "(maskgan.min_lesion_voxels; masks from {})", min_voxels, shape_str(cfg.integers("data.grid")), tm.source);
  return tm;
}

// Masks idx as [batch, 1, D, H, W] in {-1, 1} (the generator's tanh range).
Tensor mask_batch(const TrainingMasks& tm, const std::vector<int64_t>& idx, const std::vector<int64_t>& grid) {
  const int64_t per = grid[0] * grid[1] * grid[2];
  std::vector<float> v(idx.size() * static_cast<size_t>(per), -1.f);
  for (size_t b = 0; b < idx.size(); ++b)
    for (int64_t x : tm.voxels[static_cast<size_t>(idx[b])]) v[b * static_cast<size_t>(per) + static_cast<size_t>(x)] = 1.f;
  return Tensor::from_vector(v, {static_cast<int64_t>(idx.size()), 1, grid[0], grid[1], grid[2]});
}

// Position p of an endless stream of seeded permutations of 0..n-1 (permutation k =
// epoch_order(n, seed, k + 1)): every mask once per n draws, whatever the epoch length.
class MaskStream {
 public:
  MaskStream(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t at(int64_t p) {
    if (p / n_ != cached_) cached_ = p / n_, order_ = nn::epoch_order(n_, seed_, cached_ + 1);
    return order_[static_cast<size_t>(p % n_)];
  }

 private:
  int64_t n_;
  uint64_t seed_;
  int64_t cached_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace

LesionSourceSpec maskgan_mask_source(const Config& cfg) {
  return resolve_lesion_source("maskgan.masks", cfg.string("maskgan.masks"), "train_dir");
}

data::Grid maskgan_mask_grid(const Config& cfg) {
  if (maskgan_mask_source(cfg).real()) return study_mni_grid(cfg);
  const auto grid = cfg.integers("data.grid");
  const auto spacing = cfg.numbers("data.spacing");
  return data::Grid::centred({grid[2], grid[1], grid[0]}, {spacing[2], spacing[1], spacing[0]});
}

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
  // Rank 0 first: a cold load of a real set fills the cache the other ranks then read.
  TrainingMasks masks;
  if (root) masks = load_masks(cfg);
  comm->barrier();
  if (!root) masks = load_masks(cfg);
  result.training_masks = static_cast<int64_t>(masks.voxels.size());
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

  const int64_t n = result.training_masks, fixed_steps = cfg.integer("maskgan.steps_per_epoch");
  const int64_t per_epoch = fixed_steps > 0 ? fixed_steps : std::max<int64_t>(1, nn::steps_per_epoch(n, batch, comm->size()));
  if (root && done < epochs)
    std::printf("maskgan train: %s\nmaskgan train: grid %s, %lld epochs of %lld steps (batch %lld per rank, %d rank(s)); "
                "generator %lld, critic %lld parameters\n", masks.source.c_str(), shape_str(gc.mask_size).c_str(),
                (long long)epochs, (long long)per_epoch, (long long)batch, comm->size(), (long long)g.num_parameters(),
                (long long)k.num_parameters());
  MaskStream stream(n, seed);
  const auto grid = cfg.integers("data.grid");
  for (int64_t e = done + 1; e <= epochs; ++e) {
    std::optional<Progress> prog;
    if (root) prog.emplace(fmt::format("epoch {}/{}", e, epochs), per_epoch, "step");
    double sums[4] = {0, 0, 0, 0};
    for (int64_t s = 0; s < per_epoch; ++s) {
      // Each rank its own slice of the global batch, drawn from the stream of permutations.
      const int64_t base = ((e - 1) * per_epoch + s) * comm->size() * batch + comm->rank() * batch;
      std::vector<int64_t> idx;
      for (int64_t b = 0; b < batch; ++b) idx.push_back(stream.at(base + b));
      Tensor real = mask_batch(masks, idx, grid);
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
  const data::Grid mask_grid = maskgan_mask_grid(cfg);
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
    static_cast<data::Grid&>(m) = mask_grid;
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
