// Checks on a config's values that types alone cannot express: ranges, allowed words,
// array lengths and agreement between keys (e.g. the U-Net depth must divide the grid).
// Every message names the key, its value and what would be valid.
#pragma once
#include "experiments/config/config.h"

namespace pn::experiments {

void validate_config(const Config& c);

}  // namespace pn::experiments
