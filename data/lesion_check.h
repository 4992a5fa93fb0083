// `penumbra data check` on a folder of lesion masks (SOOP, LESYMAP, a user's own): reads
// every mask (data/lesion_set.h's listing and binary check) and reports the count, grids,
// the problems (unreadable or non-binary files, empty masks), volume statistics, connected
// components, extents, surface/volume, the hemisphere split and, when an arterial atlas is
// given, the vascular territory counts (data/lesion_stats.h, data/arterial_atlas.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/arterial_atlas.h"
#include "data/lesion_set.h"

namespace pn::data {

struct LesionFolderReport {
  std::string dir;
  size_t files = 0, loaded = 0, empty = 0;
  std::map<std::string, int> grids;         // grid_string -> masks
  std::vector<LesionStats> stats;           // per loaded non-empty mask, in file order
  std::map<int, int> territories;           // atlas group -> masks (0 = none)
  bool with_atlas = false;
  std::vector<std::string> problems;        // one line each, naming the file
  std::string text() const;
};

// Never throws for a bad mask (it becomes a problem); a missing or empty folder throws.
LesionFolderReport check_lesion_folder(const std::string& dir, const std::string& suffix = "",
                                       const ArterialAtlas* atlas = nullptr, const LesionLoadProgress& progress = {});

}  // namespace pn::data
