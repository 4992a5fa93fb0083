// The options every config-driven subcommand shares: --preset, --config (repeatable),
// --set key=value (repeatable), filled into a ConfigRequest (config_presets.h); and, for
// subcommands that write a run folder, --out and --restart (run_dir.h); for those that use
// a trained run, --device.
#pragma once
#include <CLI/CLI.hpp>

#include "experiments/config/config_presets.h"
#include "experiments/run/run_dir.h"

namespace pn::experiments {

inline void add_config_options(CLI::App* cmd, ConfigRequest& req) {
  cmd->add_option("--preset", req.preset,
                  "base settings: small (CPU, phantom, ~15 min), medium (CPU, phantom, finer grid, under an hour) or "
                  "paper (the study, GPUs); default: the first --config file's `preset`, else small");
  cmd->add_option("--config", req.files, "TOML file(s) layered over the preset, in order")->check(CLI::ExistingFile);
  cmd->add_option("--set", req.sets, "override keys, e.g. --set segment.epochs=20 data.grid=16,32,32 (repeatable; applied last, in order)");
}

// --device for commands that use a trained run (predict, sample, eval): "" keeps the run's
// own run.device.
inline void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, "auto, cpu or cuda (default: the run's run.device)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

inline void add_run_options(CLI::App* cmd, RunDirOptions& opt) {
  cmd->add_option("--out", opt.out, "run folder (default: <run.root>/<run.name or the command's name>)");
  cmd->add_flag("--restart", opt.restart, "empty an existing run folder and start over instead of resuming");
}

}  // namespace pn::experiments
