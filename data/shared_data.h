// Where the project's provided real data lives (`shared/data` beside the checkout: SOOP
// and LESYMAP lesion masks, the ICBM152 template; see its README). A user's clone has no
// such folder: callers then fall back to procedural data and must say so.
// Search order: $PENUMBRA_SHARED_DATA (an error if set to a folder without README.md),
// then `<A>/shared/data` for every ancestor A of the working directory and of the
// running executable's folder (the repository sits beside `shared/`).
#pragma once
#include <optional>
#include <string>

namespace pn::data {

// The folder, or nothing when no real data is at hand.
std::optional<std::string> find_shared_data();

// "<dir>/<relative>" when the shared data exists and holds that path, else nothing.
std::optional<std::string> shared_data_path(const std::string& relative);

}  // namespace pn::data
