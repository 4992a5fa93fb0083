// `penumbra study`: the whole study end to end (experiments/train/study.h).
//   study [--preset small|paper] [--config FILE] [--set key=value ...] [--no-phantom]
#include <cstdio>
#include <memory>

#include "experiments/cli/command.h"
#include "experiments/cli/config_cli.h"
#include "experiments/train/study.h"

namespace pn::cli {
namespace {

void add_study(CLI::App& app) {
  auto* cmd = app.add_subcommand("study", "The whole study: mask GAN, translators, synthetic databases, the "
                                          "segmentation grid and the report (resumes where it stopped)");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto opt = std::make_shared<experiments::StudyOptions>();
  auto no_phantom = std::make_shared<bool>(false);
  experiments::add_config_options(cmd, *req);
  cmd->add_flag("--no-phantom", *no_phantom, "fail instead of writing phantom data when data.train_dir is missing");
  cmd->add_option("--phantom-stroke", opt->phantom_stroke, "phantom stroke subjects for training and test (4:1); held-out ones: study.phantom_holdout")->capture_default_str();
  cmd->add_option("--phantom-healthy", opt->phantom_healthy, "phantom healthy subjects for synthesis; held-out lesion-free ones: study.phantom_holdout_free")->capture_default_str();
  cmd->callback([req, opt, no_phantom] {
    opt->phantom = !*no_phantom;
    experiments::run_study(experiments::resolve_config(*req), *opt);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("study", 20, add_study);

}  // namespace pn::cli
