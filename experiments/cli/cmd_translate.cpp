// `penumbra translate`: label map -> DWI translation (experiments/train/translate_training.h).
//   translate train  --model pix2pix10|pix2pix100|spade [--preset/--config/--set] [--out DIR] [--restart]
//   translate sample --run RUN_FOLDER --labels DIR --out DIR [--seed S] [--device auto|cpu|cuda]
#include <cstdio>
#include <memory>

#include "experiments/cli/command.h"
#include "experiments/run/compute_device.h"
#include "experiments/cli/config_cli.h"
#include "experiments/train/translate_training.h"

namespace pn::cli {
namespace {

struct SampleOptions {
  std::string run, labels, out, device;
  uint64_t seed = 1;
};

void add_translate(CLI::App& app) {
  auto* grp = app.add_subcommand("translate", "Label map -> DWI translation: pix2pix (L1 weight N) or SPADE, against "
                                              "the conditional PatchGAN");
  grp->require_subcommand(1);
  auto* train = grp->add_subcommand("train", "Train (or resume) a translator on data.train_dir's image/label-map pairs");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto run = std::make_shared<experiments::RunDirOptions>();
  auto model = std::make_shared<std::string>("pix2pix10");
  train->add_option("--model", *model, "pix2pixN (N: the L1 weight; the study's pix2pix10 and pix2pix100) or spade")
      ->capture_default_str();
  experiments::add_config_options(train, *req);
  experiments::add_run_options(train, *run);
  train->callback([req, run, model] {
    auto r = experiments::translate_train(experiments::resolve_config(*req), *model, *run);
    if (!r.run_dir.empty()) std::printf("run folder: %s\n", r.run_dir.c_str());
  });
  auto* sample = grp->add_subcommand("sample", "Turn every <case>_<labels suffix> label map of a folder into an image");
  auto o = std::make_shared<SampleOptions>();
  sample->add_option("--run", o->run, "run folder of `translate train`")->required()->check(CLI::ExistingDirectory);
  sample->add_option("--labels", o->labels, "folder of label maps")->required()->check(CLI::ExistingDirectory);
  sample->add_option("--out", o->out, "output folder")->required();
  sample->add_option("--seed", o->seed, "SPADE's latent draws")->capture_default_str();
  experiments::add_device_option(sample, o->device);
  sample->callback([o] {
    const Device device = experiments::select_device_for_run(o->run, o->device, "translate sample");
    experiments::translate_sample(o->run, o->labels, o->out, o->seed, device);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("translate", 35, add_translate);

}  // namespace pn::cli
