// The dataset abstraction every command uses: a folder of cases on disk, whatever its
// layout (dataset_layout.h opens one: a folder of pairs, ISLES 2022), as a list of
// CaseFiles (the files of one case: one image per input channel, the file whose grid the
// case lives on, an optional lesion mask and an optional anatomy label map), and loading a
// case with every check. This file also holds the folder-of-pairs layout:
// `<case>_<image>.nii.gz` beside `<case>_<mask>.nii.gz` and, optionally,
// `<case>_<labels>.nii.gz` (suffixes configurable; .nii also accepted); further input
// channels are `<case>_<channel>.nii.gz`.
// Scanning lists cases and every problem (an image without a mask where masks are
// required, a mask or label map without an image, an empty folder); NIfTI files that
// match no suffix are listed as ignored. Loading checks that masks and label maps lie on
// the case's grid and hold valid values; further channels on another grid are resampled
// onto it (linear, through the affines). Nothing is skipped silently.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/label_lut.h"
#include "data/volume.h"

namespace pn::data {

struct PairSuffixes {
  std::string image = "dwi";
  std::string mask = "msk";
  std::string labels = "labels";
};

enum class Layout { Auto, Pairs, Isles2022 };

// What to open and what a case needs.
struct DatasetSpec {
  std::string dir{};
  Layout layout = Layout::Auto;
  PairSuffixes suffixes{};
  // Input channels, in order. A folder of pairs: the first is the image (it must equal
  // suffixes.image), the others `<case>_<name>`; ISLES 2022: dwi, adc, flair. Empty: the
  // layout's own image (pairs: suffixes.image; ISLES: dwi), as is the name "image".
  std::vector<std::string> channels{};
  bool masks_required = true;    // false: an image without a mask is a case (prediction)
  bool labels_required = false;  // a missing label map is a problem (translation)
};

struct CaseFiles {
  std::string id;
  std::vector<std::string> images;  // one per input channel
  std::string grid;                 // the file whose grid the case is on; "" = images[0]
  std::string mask;                 // "" when the case has none
  std::string labels;               // "" when the case has no label map
  const std::string& image() const { return images.front(); }
  const std::string& grid_file() const { return grid.empty() ? images.front() : grid; }
};

struct Case {
  std::string id;
  Volume image;                      // the first channel, on the case's grid
  std::vector<Volume> more_channels; // the others, on the same grid
  LabelVolume mask;                  // 0/1; all 0 when the case has no mask file
  bool has_mask = false;
  std::optional<LabelVolume> labels; // 29-class map, when present
};

struct FolderScan {
  std::string dir;
  Layout layout = Layout::Pairs;
  std::string layout_description;      // "folder of pairs (<case>_dwi, <case>_msk)", for messages
  std::vector<std::string> channels;   // the input channels the cases' images are
  std::vector<CaseFiles> cases;        // sorted by id
  std::vector<std::string> problems;   // one line each, naming the file, the problem and what to do
  std::vector<std::string> ignored;    // NIfTI files that belong to no case
};

// How label maps are read: in the study's 29 classes, or through a lookup table
// (FreeSurfer aseg / SynthSeg values, label_lut.h). With a table the mask's lesion is
// painted into the map as the lesion class (the paper's label maps carry it).
struct LoadOptions {
  int num_classes = 29;
  std::shared_ptr<const LabelLut> labels_lut;  // null: the maps already hold study classes
};

// Lists the cases of a folder of pairs; never throws for problems with files (they are listed).
FolderScan scan_folder(const std::string& dir, const PairSuffixes& suffixes = {});
FolderScan scan_folder(const DatasetSpec& spec);

class FolderDataset {
 public:
  // A folder of pairs: scans and throws a pn::Error listing the problems if there are any,
  // or if the folder holds no case; require_labels makes a missing label map a problem too.
  FolderDataset(const std::string& dir, const PairSuffixes& suffixes = {}, bool require_labels = false);
  // The cases of a scan as they are (the caller has dealt with its problems).
  FolderDataset(FolderScan scan, LoadOptions load);
  // The cases of several datasets (e.g. clinical and synthetic volumes pooled), keeping
  // at most `limit` of each (its first, by id; 0 = all), in order.
  static FolderDataset pooled(const std::vector<std::pair<const FolderDataset*, size_t>>& parts);
  size_t size() const { return scan_.cases.size(); }
  const CaseFiles& files(size_t i) const { return scan_.cases.at(i); }
  const FolderScan& scan() const { return scan_; }
  size_t channels() const { return scan_.channels.empty() ? 1 : scan_.channels.size(); }
  // Reads case i; throws on a grid mismatch, a mask that is not 0/1, labels out of range.
  Case load(size_t i) const;

 private:
  FolderScan scan_;
  LoadOptions load_;
};

// Reads one case's files with every check (shared by the dataset and the checker).
Case load_case(const CaseFiles& files, const LoadOptions& options = {});
// An anatomy label map in the study's classes: as stored, or through the table.
LabelVolume read_label_map(const std::string& path, const LoadOptions& options);
// A lesion mask: every voxel 0 or 1 (an error names the first other value and its voxel).
LabelVolume read_mask(const std::string& path);
// "name: 3 problem(s):\n  first\n  ..." (at most 10 lines, then a count).
std::string problems_text(const std::string& what, const std::vector<std::string>& problems);

}  // namespace pn::data
