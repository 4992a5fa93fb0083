// Checks on a config's values that types alone cannot express: ranges, allowed words,
// array lengths and agreement between keys (e.g. maskgan.base_shape must cover data.grid).
// Every message names the key, its value and what would be valid.
#pragma once
#include "experiments/config/config.h"

namespace pn::experiments {

void validate_config(const Config& c);

// segment.depth against data.grid: the U-Net halves the grid depth times, so every size must
// be divisible by 2^depth (else an error naming both keys). Not part of validate_config: the
// commands that build the U-Net check it (segment train and predict through their network's
// configuration, the study before its first step), so that `maskgan` and `translate` are not
// refused a grid for a network they never build.
void check_unet_grid(const Config& c);

}  // namespace pn::experiments
