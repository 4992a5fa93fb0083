#include "data/folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/nifti_io.h"

namespace pn::data {
namespace fs = std::filesystem;

FolderScan scan_folder(const std::string& dir, const PairSuffixes& sfx) {
  FolderScan scan;
  scan.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    scan.problems.push_back(fmt::format("{}: not a folder (or it does not exist)", dir));
    return scan;
  }
  PN_CHECK(!sfx.image.empty() && !sfx.mask.empty() && sfx.image != sfx.mask && sfx.labels != sfx.image &&
               sfx.labels != sfx.mask,
           "folder dataset: image, mask and labels suffixes must be distinct and non-empty (got '{}', '{}', '{}')",
           sfx.image, sfx.mask, sfx.labels);
  struct Found { std::string image, mask, labels; };
  std::map<std::string, Found> by_id;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    std::string stem;
    if (name.ends_with(".nii.gz")) stem = name.substr(0, name.size() - 7);
    else if (name.ends_with(".nii")) stem = name.substr(0, name.size() - 4);
    else continue;
    const std::string path = entry.path().string();
    bool matched = false;
    for (auto [suffix, slot] : {std::pair{&sfx.image, &Found::image}, {&sfx.mask, &Found::mask}, {&sfx.labels, &Found::labels}}) {
      const std::string tail = "_" + *suffix;
      if (suffix->empty() || !stem.ends_with(tail) || stem.size() == tail.size()) continue;
      std::string& where = by_id[stem.substr(0, stem.size() - tail.size())].*slot;
      if (!where.empty())
        scan.problems.push_back(fmt::format("{}: a second file for the same case beside {}", path, where));
      else
        where = path;
      matched = true;
    }
    if (!matched)
      scan.problems.push_back(fmt::format("{}: NIfTI file matches none of the suffixes _{}, _{}, _{}", path, sfx.image,
                                          sfx.mask, sfx.labels));
  }
  if (ec) scan.problems.push_back(fmt::format("{}: cannot list the folder: {}", dir, ec.message()));
  for (auto& [id, f] : by_id) {
    if (f.image.empty()) {
      scan.problems.push_back(fmt::format("{}: has no image {}_{}.nii.gz beside it", f.mask.empty() ? f.labels : f.mask,
                                          id, sfx.image));
      continue;
    }
    if (f.mask.empty()) {
      scan.problems.push_back(fmt::format("{}: has no mask {}_{}.nii.gz beside it", f.image, id, sfx.mask));
      continue;
    }
    scan.cases.push_back({id, f.image, f.mask, f.labels});
  }
  if (by_id.empty() && scan.problems.empty())
    scan.problems.push_back(fmt::format("{}: no *_{}.nii.gz / *_{}.nii.gz pairs in this folder", dir, sfx.image, sfx.mask));
  return scan;
}

FolderDataset FolderDataset::pooled(const std::vector<std::pair<const FolderDataset*, size_t>>& parts) {
  FolderScan all;
  for (const auto& [ds, limit] : parts) {
    all.dir += (all.dir.empty() ? "" : " + ") + ds->scan_.dir;
    const size_t n = limit == 0 ? ds->size() : std::min(limit, ds->size());
    all.cases.insert(all.cases.end(), ds->scan_.cases.begin(), ds->scan_.cases.begin() + static_cast<std::ptrdiff_t>(n));
  }
  PN_CHECK(!all.cases.empty(), "pooled dataset {}: no cases", all.dir);
  return FolderDataset(std::move(all));
}

FolderDataset::FolderDataset(const std::string& dir, const PairSuffixes& sfx, bool require_labels)
    : scan_(scan_folder(dir, sfx)) {
  if (require_labels)
    for (const auto& c : scan_.cases)
      if (c.labels.empty()) scan_.problems.push_back(fmt::format("{}: has no label map {}_{}.nii.gz", c.image, c.id, sfx.labels));
  if (!scan_.problems.empty()) {
    std::string msg = fmt::format("folder dataset {}: {} problem(s):", dir, scan_.problems.size());
    for (size_t i = 0; i < scan_.problems.size() && i < 10; ++i) msg += "\n  " + scan_.problems[i];
    if (scan_.problems.size() > 10) msg += fmt::format("\n  ... and {} more", scan_.problems.size() - 10);
    PN_FAIL("{}", msg);
  }
}

Case load_case(const CaseFiles& f, int num_classes) {
  Case c;
  c.id = f.id;
  c.image = read_nifti(f.image);
  c.mask = read_labels(f.mask, 2);  // a mask holds 0 and 1 only
  check_same_grid(c.image, f.image, c.mask, f.mask);
  if (!f.labels.empty()) {
    c.labels = read_labels(f.labels, num_classes);
    check_same_grid(c.image, f.image, *c.labels, f.labels);
  }
  return c;
}

Case FolderDataset::load(size_t i) const { return load_case(files(i), cls::kNumClasses); }

}  // namespace pn::data
