// The built-in presets and how a run's config is resolved from its sources:
//   preset  ->  --config files, in order  ->  --set overrides, in order  ->  validation.
// `paper` (presets/paper.toml, the study's full settings) is the schema: it lists every
// key. `small` (presets/small.toml) is layered over it: reduced sizes and epochs for
// running the whole study on the phantom with two CPU cores in about 15 minutes. `medium`
// (presets/medium.toml) is layered over small: a finer grid, deeper networks and 200
// held-out volumes, the whole study in under an hour on two cores with intervals of about
// +-5 points. All three files are compiled in.
#pragma once
#include <string>
#include <vector>

#include "experiments/config/config.h"

namespace pn::experiments {

std::vector<std::string> preset_names();
// The TOML source of a preset as shipped (small: only its differences from paper; medium:
// only its differences from small).
const std::string& preset_source(const std::string& name);
Config load_preset(const std::string& name);

struct ConfigRequest {
  std::string preset;               // empty: the first file's `preset = ...`, else "small"
  std::vector<std::string> files;   // layered in order
  std::vector<std::string> sets;    // "key=value", applied last
};

// The resolved, validated config (validate_config, config_validate.h).
Config resolve_config(const ConfigRequest& req);

}  // namespace pn::experiments
