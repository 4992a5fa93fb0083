#include "data/lesion_check.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "autograd/error.h"
#include "data/histogram.h"
#include "data/nifti_io.h"

namespace pn::data {
namespace {

struct OneMask {
  std::string grid, problem;
  std::optional<LesionStats> stats;
  int group = 0;
};

OneMask check_one(const std::string& path, const ArterialAtlas* atlas) {
  OneMask r;
  try {
    const LabelVolume m = read_labels(path, 2);
    r.grid = grid_string(m);
    const LesionStats s = lesion_stats(m);
    if (s.voxels == 0) {
      r.problem = path + ": the mask is empty (no lesion voxel)";
      return r;
    }
    r.stats = s;
    if (atlas) r.group = atlas->territory(m).group;
  } catch (const std::exception& e) {
    r.problem = e.what();
  }
  return r;
}

std::vector<double> field(const std::vector<LesionStats>& s, double (*f)(const LesionStats&)) {
  std::vector<double> v;
  for (const auto& x : s) v.push_back(f(x));
  return v;
}

}  // namespace

LesionFolderReport check_lesion_folder(const std::string& dir, const std::string& suffix, const ArterialAtlas* atlas,
                                       const LesionLoadProgress& progress) {
  LesionFolderReport r;
  r.dir = dir;
  r.with_atlas = atlas != nullptr;
  const auto files = list_lesion_files(dir, suffix);
  r.files = files.size();
  std::vector<OneMask> results(files.size());
  size_t done = 0;
  const auto n = static_cast<int64_t>(files.size());
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < n; ++i) {
    results[static_cast<size_t>(i)] = check_one(files[static_cast<size_t>(i)], atlas);
#pragma omp critical(lesion_check_progress)
    {
      ++done;
      if (progress) progress(done, files.size());
    }
  }
  for (const auto& m : results) {
    if (!m.grid.empty()) {
      ++r.loaded;
      ++r.grids[m.grid];
    }
    if (!m.problem.empty()) r.problems.push_back(m.problem);
    if (!m.grid.empty() && !m.stats) ++r.empty;
    if (!m.stats) continue;
    r.stats.push_back(*m.stats);
    if (atlas) ++r.territories[m.group];
  }
  return r;
}

std::string LesionFolderReport::text() const {
  std::string s = fmt::format("{}: {} lesion mask(s), {} loaded, {} empty\n", dir, files, loaded, empty);
  for (const auto& [g, n] : grids) s += fmt::format("  grid {}: {} mask(s)\n", g, n);
  if (!stats.empty()) {
    const auto vol = field(stats, [](const LesionStats& x) { return x.volume_ml; });
    const Histogram hist = histogram(vol, {0.0, 1.0, 10.0, 100.0});
    s += fmt::format("  volume (ml): {}; {} under 1 ml\n", summary_string(summarize(vol), 3), hist.counts[0]);
    s += fmt::format("  volume histogram: <1 ml {}, 1-10 ml {}, 10-100 ml {}, >100 ml {}\n", hist.counts[0], hist.counts[1],
                     hist.counts[2], hist.above);
    const auto comp = field(stats, [](const LesionStats& x) { return static_cast<double>(x.components); });
    const auto multi = std::count_if(comp.begin(), comp.end(), [](double c) { return c > 1; });
    s += fmt::format("  components (26-connected): {}; {} mask(s) with more than one\n", summary_string(summarize(comp), 1),
                     multi);
    const auto ext = field(stats, [](const LesionStats& x) { return std::max({x.extent_mm[0], x.extent_mm[1], x.extent_mm[2]}); });
    s += fmt::format("  largest extent (mm): {}\n", summary_string(summarize(ext), 1));
    const auto sv = field(stats, [](const LesionStats& x) { return x.surface_to_volume; });
    s += fmt::format("  surface/volume (1/mm): {}\n", summary_string(summarize(sv), 3));
    const auto left = std::count_if(stats.begin(), stats.end(), [](const LesionStats& x) { return x.hemisphere == Hemisphere::Left; });
    s += fmt::format("  hemisphere (centre of mass, world x < 0 = left): {} left, {} right\n", left,
                     static_cast<int64_t>(stats.size()) - left);
  }
  if (with_atlas) {
    std::string t;
    for (const auto& [g, n] : territories) t += fmt::format("{}{} {}", t.empty() ? "" : ", ", ArterialAtlas::group_name(g), n);
    s += "  territory (arterial atlas, most lesion voxels): " + t + "\n";
  } else {
    s += "  territory: no arterial atlas (shared/data/soop/ArterialAtlas136 not found)\n";
  }
  s += fmt::format("  {} problem(s)\n", problems.size());
  for (const auto& p : problems) s += "  PROBLEM " + p + "\n";
  return s;
}

}  // namespace pn::data
