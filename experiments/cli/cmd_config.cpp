// `penumbra config`: shows resolved configs and the keys a config may set.
//   config show [--preset P] [--config F] [--set k=v]   the resolved TOML (to stdout or --write FILE)
//   config keys [--preset P]                            every key with its type and value
#include <cstdio>

#include "experiments/cli/command.h"
#include "experiments/cli/config_cli.h"

namespace pn::cli {
namespace {

void add_config(CLI::App& app) {
  auto* grp = app.add_subcommand("config", "Show resolved configurations and the keys they may set");
  grp->require_subcommand(1);

  auto* show = grp->add_subcommand("show", "Print the resolved config (preset + files + --set) as TOML");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto write = std::make_shared<std::string>();
  experiments::add_config_options(show, *req);
  show->add_option("--write", *write, "write the TOML to this file instead of stdout");
  show->callback([req, write] {
    experiments::Config c = experiments::resolve_config(*req);
    if (write->empty()) std::fputs(c.to_toml().c_str(), stdout);
    else {
      c.write(*write);
      std::printf("wrote %s\n", write->c_str());
    }
  });

  auto* keys = grp->add_subcommand("keys", "List every config key with its type and value in a preset");
  auto preset = std::make_shared<std::string>("small");
  keys->add_option("--preset", *preset, "preset whose values to show")->capture_default_str();
  keys->callback([preset] {
    experiments::Config c = experiments::load_preset(*preset);
    for (const auto& k : c.keys())
      std::printf("%-36s %-22s %s\n", k.c_str(), experiments::config_type_name(c.value(k)).c_str(),
                  experiments::format_config_value(c.value(k)).c_str());
  });
}

}  // namespace

PN_REGISTER_COMMANDS("config", 90, add_config);

}  // namespace pn::cli
