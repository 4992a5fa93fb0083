// The folder-of-pairs layout: `<case>_<image>.nii.gz` beside `<case>_<mask>.nii.gz` and,
// optionally, `<case>_<labels>.nii.gz` (suffixes configurable; .nii also accepted).
// Scanning lists cases and every problem (an image without a mask, a mask or label map
// without an image, an empty folder); loading checks that the mask and label map lie on
// the image's grid and hold valid labels. Nothing is skipped silently: a strict scan
// throws on any problem, and check_folder() reports all of them.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "data/volume.h"

namespace pn::data {

struct PairSuffixes {
  std::string image = "dwi";
  std::string mask = "msk";
  std::string labels = "labels";
};

struct CaseFiles {
  std::string id;
  std::string image, mask;
  std::string labels;  // empty when the case has no label map
};

struct Case {
  std::string id;
  Volume image;
  LabelVolume mask;                   // 0/1
  std::optional<LabelVolume> labels;  // 29-class map, when present
};

struct FolderScan {
  std::string dir;
  std::vector<CaseFiles> cases;        // sorted by id
  std::vector<std::string> problems;   // one line each, naming the file
};

// Lists the cases of `dir`; never throws for problems with files (they are listed).
FolderScan scan_folder(const std::string& dir, const PairSuffixes& suffixes = {});

class FolderDataset {
 public:
  // Scans and throws a pn::Error listing the problems if there are any, or if the folder
  // holds no case; require_labels makes a missing label map a problem too.
  FolderDataset(const std::string& dir, const PairSuffixes& suffixes = {}, bool require_labels = false);
  // The cases of several datasets (e.g. clinical and synthetic volumes pooled), keeping
  // at most `limit` of each (its first, by id; 0 = all), in order.
  static FolderDataset pooled(const std::vector<std::pair<const FolderDataset*, size_t>>& parts);
  size_t size() const { return scan_.cases.size(); }
  const CaseFiles& files(size_t i) const { return scan_.cases.at(i); }
  // Reads case i; throws on a grid mismatch, a mask that is not 0/1, labels out of range.
  Case load(size_t i) const;

 private:
  explicit FolderDataset(FolderScan scan) : scan_(std::move(scan)) {}
  FolderScan scan_;
};

// Reads one case's files with every check (shared by the dataset and the checker).
Case load_case(const CaseFiles& files, int num_classes);

}  // namespace pn::data
