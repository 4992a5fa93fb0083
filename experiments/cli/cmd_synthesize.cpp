// `penumbra synthesize`: the synthetic database (experiments/train/synthesis.h).
//   synthesize --maskgan RUN --translator RUN --out DIR [--count N] [--preset/--config/--set]
#include <cstdio>
#include <memory>

#include "experiments/cli/command.h"
#include "experiments/run/compute_device.h"
#include "experiments/cli/config_cli.h"
#include "experiments/train/synthesis.h"

namespace pn::cli {
namespace {

struct SynthOptions {
  std::string maskgan, translator, out;
  int64_t count = 0;
};

void add_synthesize(CLI::App& app) {
  auto* cmd = app.add_subcommand("synthesize", "Healthy label maps + GAN lesions -> translated images: the synthetic "
                                               "database as image/mask/label pairs with a manifest");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto o = std::make_shared<SynthOptions>();
  experiments::add_config_options(cmd, *req);
  cmd->add_option("--maskgan", o->maskgan, "run folder of `maskgan train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--translator", o->translator, "run folder of `translate train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", o->out, "output folder")->required();
  cmd->add_option("--count", o->count, "volumes (default: synthesize.count)");
  cmd->callback([req, o] {
    const experiments::Config cfg = experiments::resolve_config(*req);
    const experiments::ComputeDevice where = experiments::select_device(cfg, *nn::world_communicator());
    std::printf("synthesize: computing on %s\n", where.summary.c_str());
    experiments::synthesize(cfg, o->maskgan, o->translator, o->out, o->count, where.device);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("synthesize", 38, add_synthesize);

}  // namespace pn::cli
