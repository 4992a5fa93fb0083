// `penumbra maskgan`: the 3-D lesion-mask WGAN-GP (experiments/train/maskgan_training.h).
//   maskgan train  [--preset/--config/--set] [--out DIR] [--restart]
//   maskgan sample --run RUN_FOLDER --out DIR [--count N] [--seed S] [--set K=V ...] [--device auto|cpu|cuda]
//   maskgan eval   --run RUN_FOLDER --out DIR [--count N] [--seed S] [--set K=V ...] [--device auto|cpu|cuda]
// --set changes only how the trained generator is sampled (maskgan.threshold, maskgan.peak_cut, maskgan.temperature,
// maskgan.min_component_voxels, maskgan.sample_ema, maskgan.sample_selected), e.g. to sweep the threshold without training again.
#include <cstdio>
#include <memory>

#include "experiments/cli/command.h"
#include "experiments/run/compute_device.h"
#include "experiments/cli/config_cli.h"
#include "experiments/train/lesion_eval.h"
#include "experiments/train/maskgan_training.h"

namespace pn::cli {
namespace {

struct SampleOptions {
  std::string run, out, device;
  int64_t count = 16;
  uint64_t seed = 1;
  std::vector<std::string> sampling;  // --set: sampling keys only
};

void add_sampling_options(CLI::App* cmd, SampleOptions& o) {
  cmd->add_option("--run", o.run, "run folder of `maskgan train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--seed", o.seed, "latent draws")->capture_default_str();
  cmd->add_option("--set", o.sampling,
                  "sampling keys instead of the run's: maskgan.threshold, maskgan.peak_cut, maskgan.temperature, "
                  "maskgan.min_component_voxels, maskgan.sample_ema, maskgan.sample_selected (repeatable)");
  experiments::add_device_option(cmd, o.device);
}

void add_maskgan(CLI::App& app) {
  auto* grp = app.add_subcommand("maskgan", "The lesion-mask GAN (3-D WGAN-GP): train on lesion masks, sample new ones");
  grp->require_subcommand(1);
  auto* train = grp->add_subcommand("train", "Train (or resume) on real lesion masks (maskgan.masks: SOOP when shared/data is at hand, else data.train_dir's masks)");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto run = std::make_shared<experiments::RunDirOptions>();
  experiments::add_config_options(train, *req);
  experiments::add_run_options(train, *run);
  train->callback([req, run] {
    auto r = experiments::maskgan_train(experiments::resolve_config(*req), *run);
    if (!r.run_dir.empty()) std::printf("run folder: %s\n", r.run_dir.c_str());
  });
  auto* sample = grp->add_subcommand("sample", "Write N binary lesion masks (NIfTI, specks removed) and montage.png");
  auto o = std::make_shared<SampleOptions>();
  add_sampling_options(sample, *o);
  sample->add_option("--out", o->out, "output folder")->required();
  sample->add_option("--count", o->count, "masks to write")->capture_default_str()->check(CLI::PositiveNumber);
  sample->callback([o] {
    experiments::check_sampling_overrides(o->sampling);  // before the run folder is read
    const Device device = experiments::select_device_for_run(o->run, o->device, "maskgan sample");
    experiments::maskgan_sample(o->run, o->out, o->count, o->seed, device, o->sampling);
  });
  auto* eval = grp->add_subcommand("eval", "Compare generated masks with the held-out real ones: volume, components, "
                                           "surface/volume, hemisphere, territory (table, histograms, montage)");
  auto e = std::make_shared<SampleOptions>();
  e->count = 256;
  add_sampling_options(eval, *e);
  eval->add_option("--out", e->out, "output folder (lesion_comparison.md, lesion_stats.csv, figures/, montage.png)")
      ->required();
  eval->add_option("--count", e->count, "masks to generate")->capture_default_str()->check(CLI::PositiveNumber);
  eval->callback([e] {
    experiments::check_sampling_overrides(e->sampling);
    const Device device = experiments::select_device_for_run(e->run, e->device, "maskgan eval");
    const std::string md = experiments::write_lesion_comparison(
        experiments::compare_generated_lesions(e->run, e->count, e->seed, device, e->sampling), e->out);
    std::printf("%s\nwrote %s/lesion_comparison.md\n", md.c_str(), e->out.c_str());
  });
}

}  // namespace

PN_REGISTER_COMMANDS("maskgan", 30, add_maskgan);

}  // namespace pn::cli
