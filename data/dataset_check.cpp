#include "data/dataset_check.h"

#include <algorithm>
#include <map>

#include "autograd/error.h"
#include "data/label_scheme.h"

namespace pn::data {

namespace {

// Problems of a loaded case that loading itself does not reject.
void check_loaded(const Case& c, const CaseFiles& f, const LoadOptions& load) {
  auto constant = [](const Volume& v, const std::string& name) {
    if (v.data.empty()) return;
    const auto [lo, hi] = std::minmax_element(v.data.begin(), v.data.end());
    PN_CHECK(*lo != *hi, "{}: every voxel holds {}: an empty or failed export? re-export the image", name, *lo);
  };
  constant(c.image, f.images[0]);
  for (size_t k = 0; k < c.more_channels.size(); ++k) constant(c.more_channels[k], f.images[k + 1]);
  if (c.labels && c.has_mask && !load.labels_lut) {
    int64_t disagree = 0;
    for (size_t i = 0; i < c.mask.data.size(); ++i) disagree += (c.labels->data[i] == cls::kLesion) != (c.mask.data[i] == 1);
    PN_CHECK(disagree == 0, "{}: the label map's lesion class differs from the mask {} in {} voxels; the label map of a "
             "stroke case carries the mask as class {} (or give FreeSurfer/SynthSeg maps with data.labels_lut, which "
             "paints the mask in)", f.labels, f.mask, disagree, cls::kLesion);
  }
}

}  // namespace

DatasetReport check_folder(const std::string& dir, const PairSuffixes& sfx) { return check_scan(scan_folder(dir, sfx)); }

DatasetReport check_scan(const FolderScan& scan, const CheckOptions& opt) {
  DatasetReport r;
  r.dir = scan.dir;
  r.layout = scan.layout_description;
  r.problems = scan.problems;
  r.ignored = scan.ignored;
  r.cases = static_cast<int>(scan.cases.size());
  std::map<std::string, int> grids;
  for (size_t i = 0; i < scan.cases.size(); ++i) {
    const CaseFiles& f = scan.cases[i];
    try {
      Case c = load_case(f, opt.load);
      check_loaded(c, f, opt.load);
      if (opt.extra) opt.extra(c);
      ++r.loaded;
      r.good.push_back(i);
      ++grids[grid_string(c.image)];
      r.with_mask += c.has_mask;
      r.with_labels += c.labels.has_value();
      int64_t n = 0;
      for (int32_t m : c.mask.data) n += m;
      if (n > 0) {
        ++r.with_lesion;
        r.lesion_ml.push_back(static_cast<double>(n) * c.image.voxel_volume_ml());
      }
    } catch (const pn::Error& e) {
      r.problems.push_back(e.what());
    }
    if (opt.progress) opt.progress(i + 1, scan.cases.size());
  }
  for (const auto& [g, n] : grids) r.grids.push_back(fmt::format("{}: {} case(s)", g, n));
  return r;
}

std::string DatasetReport::text() const {
  std::string s = fmt::format("{}: {}\n  {} case(s), {} loaded, {} with a mask, {} with a label map, {} with a lesion\n",
                              dir, layout, cases, loaded, with_mask, with_labels, with_lesion);
  for (const auto& g : grids) s += "  grid " + g + "\n";
  if (!lesion_ml.empty()) {
    auto v = lesion_ml;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    s += fmt::format("  lesion volume (ml): min {:.3f}, median {:.3f}, mean {:.3f}, max {:.3f}\n", v.front(),
                     v[v.size() / 2], sum / static_cast<double>(v.size()), v.back());
  }
  if (!ignored.empty()) {
    s += fmt::format("  {} NIfTI file(s) ignored (no case's suffix):", ignored.size());
    for (size_t i = 0; i < ignored.size() && i < 5; ++i) s += " " + ignored[i];
    s += ignored.size() > 5 ? " ...\n" : "\n";
  }
  s += fmt::format("  {} problem(s)\n", problems.size());
  for (const auto& p : problems) s += "  PROBLEM " + p + "\n";
  return s;
}

}  // namespace pn::data
