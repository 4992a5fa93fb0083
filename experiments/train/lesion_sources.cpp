#include "experiments/train/lesion_sources.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "autograd/error.h"
#include "data/mni_grid.h"
#include "data/shared_data.h"
#include "experiments/run/progress.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

struct NamedSet {
  const char* name;
  const char* folder;  // below shared/data
  const char* what;
};
constexpr NamedSet kNamedSets[] = {{"soop", "soop/lesions", "SOOP acute ischaemic lesions"},
                                   {"lesymap", "lesymap/lesions", "LESYMAP chronic lesions"}};

}  // namespace

LesionSourceSpec resolve_lesion_source(const std::string& key, const std::string& value, const std::string& fallback) {
  LesionSourceSpec spec;
  if (value == fallback) return spec;
  if (value == "auto") {
    if (auto dir = data::shared_data_path("soop/lesions")) {
      spec.dirs = {*dir};
      spec.description = fmt::format("SOOP acute ischaemic lesions ({}; {} = auto)", *dir, key);
    }
    return spec;
  }
  // "soop", "lesymap" or "soop+lesymap".
  std::vector<std::string> words;
  for (size_t p = 0; p <= value.size();) {
    const size_t q = std::min(value.find('+', p), value.size());
    words.push_back(value.substr(p, q - p));
    p = q + 1;
  }
  bool named = true;
  for (const auto& w : words)
    named = named && std::any_of(std::begin(kNamedSets), std::end(kNamedSets), [&](const NamedSet& s) { return w == s.name; });
  if (named) {
    std::vector<std::string> what;
    for (const auto& w : words)
      for (const auto& s : kNamedSets)
        if (w == s.name) {
          auto dir = data::shared_data_path(s.folder);
          PN_CHECK(dir, "config: {} = {}: the provided data (shared/data/{}) is not at hand; set "
                   "PENUMBRA_SHARED_DATA, or use auto, {} or a folder of masks", key, value, s.folder, fallback);
          spec.dirs.push_back(*dir);
          what.push_back(fmt::format("{} ({})", s.what, *dir));
        }
    spec.description = fmt::format("{}", fmt::join(what, " + "));
    return spec;
  }
  PN_CHECK(fs::is_directory(value), "config: {} = {}: not auto, {}, soop, lesymap, soop+lesymap, nor an existing folder "
           "of masks", key, value, fallback);
  spec.dirs = {value};
  spec.description = fmt::format("lesion masks of {}", value);
  return spec;
}

data::Grid study_mni_grid(const Config& cfg) {
  const auto g = cfg.integers("data.grid");
  const auto s = cfg.numbers("data.spacing");
  return data::mni_study_grid({g[2], g[1], g[0]}, {s[2], s[1], s[0]});
}

data::LesionSetOptions lesion_set_options(const Config& cfg, int64_t min_voxels) {
  data::LesionSetOptions o;
  const std::string& mirror = cfg.string("maskgan.mirror");
  o.mirror = mirror == "add" ? data::MirrorMode::AddCopies : mirror == "random" ? data::MirrorMode::Random
                                                                                : data::MirrorMode::Off;
  o.min_voxels = std::max<int64_t>(1, min_voxels);
  o.seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  o.held_out_fraction = cfg.number("maskgan.held_out_fraction");
  o.cache_dir = (fs::path(cfg.string("run.root")) / "cache").string();
  return o;
}

data::LesionSet load_lesion_source(const LesionSourceSpec& spec, const data::Grid& grid,
                                   const data::LesionSetOptions& opt) {
  PN_CHECK(spec.real(), "lesion source: no folder to load");
  data::LesionSet all;
  all.grid = grid;
  for (const auto& dir : spec.dirs) {
    std::unique_ptr<cli::Progress> prog;
    data::LesionSet s = data::load_lesion_set(dir, grid, opt, [&](size_t done, size_t total) {
      if (done == total && !prog) return;  // a cache hit: no bar
      if (!prog) prog = std::make_unique<cli::Progress>("lesion masks", static_cast<int64_t>(total), "mask");
      prog->advance(1);
    });
    if (prog) prog->finish(fmt::format("cached in {}", opt.cache_dir));
    std::printf("lesion masks: %s: %zu file(s), %zu kept, %zu under %lld voxel(s) on the grid dropped, %.1f s%s\n",
                dir.c_str(), s.files, s.masks.size(), s.dropped.size(), (long long)opt.min_voxels, s.seconds,
                s.from_cache ? " (cache)" : "");
    all.files += s.files;
    all.seconds += s.seconds;
    all.from_cache = all.from_cache || s.from_cache;
    for (auto& m : s.masks) all.masks.push_back(std::move(m));
    for (auto& d : s.dropped) all.dropped.push_back(std::move(d));
  }
  return all;
}

}  // namespace pn::experiments
