#include "data/dataset_check.h"

#include <algorithm>
#include <map>

#include "autograd/error.h"
#include "data/label_scheme.h"

namespace pn::data {

DatasetReport check_folder(const std::string& dir, const PairSuffixes& sfx) { return check_scan(scan_folder(dir, sfx)); }

DatasetReport check_scan(const FolderScan& scan) {
  DatasetReport r;
  r.dir = scan.dir;
  r.problems = scan.problems;
  r.cases = static_cast<int>(scan.cases.size());
  std::map<std::string, int> grids;
  for (const auto& f : scan.cases) {
    try {
      Case c = load_case(f, cls::kNumClasses);
      ++r.loaded;
      ++grids[grid_string(c.image)];
      if (c.labels) {
        ++r.with_labels;
        // The label map's lesion class should agree with the mask.
        int64_t disagree = 0;
        for (size_t i = 0; i < c.mask.data.size(); ++i)
          disagree += (c.labels->data[i] == cls::kLesion) != (c.mask.data[i] == 1);
        if (disagree > 0)
          r.problems.push_back(fmt::format("{}: the label map's lesion class differs from the mask in {} voxels", f.labels, disagree));
      }
      int64_t n = 0;
      for (int32_t m : c.mask.data) n += m;
      if (n > 0) {
        ++r.with_lesion;
        r.lesion_ml.push_back(static_cast<double>(n) * c.image.voxel_volume_ml());
      }
    } catch (const pn::Error& e) {
      r.problems.push_back(e.what());
    }
  }
  for (const auto& [g, n] : grids) r.grids.push_back(fmt::format("{}: {} case(s)", g, n));
  return r;
}

std::string DatasetReport::text() const {
  std::string s = fmt::format("{}: {} case(s), {} loaded, {} with a label map, {} with a lesion\n", dir, cases, loaded,
                              with_labels, with_lesion);
  for (const auto& g : grids) s += "  grid " + g + "\n";
  if (!lesion_ml.empty()) {
    auto v = lesion_ml;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    s += fmt::format("  lesion volume (ml): min {:.3f}, median {:.3f}, mean {:.3f}, max {:.3f}\n", v.front(),
                     v[v.size() / 2], sum / static_cast<double>(v.size()), v.back());
  }
  s += fmt::format("  {} problem(s)\n", problems.size());
  for (const auto& p : problems) s += "  PROBLEM " + p + "\n";
  return s;
}

}  // namespace pn::data
