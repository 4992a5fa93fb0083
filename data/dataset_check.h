// `penumbra data check`: reads every case of a folder-of-pairs dataset with all checks and
// reports what it found (cases, grids, spacing, label maps, lesion volume statistics) and
// every problem, instead of stopping at the first.
#pragma once
#include <string>
#include <vector>

#include "data/folder_dataset.h"

namespace pn::data {

struct DatasetReport {
  std::string dir;
  int cases = 0, loaded = 0, with_labels = 0, with_lesion = 0;
  std::vector<std::string> grids;            // "128x128x32 @ 2.00x2.00x3.60 mm: 12 cases"
  std::vector<double> lesion_ml;             // per loaded case with a lesion
  std::vector<std::string> problems;
  std::string text() const;                  // the human-readable report
};

DatasetReport check_folder(const std::string& dir, const PairSuffixes& suffixes = {});
// The same for any scanned layout (folder of pairs, ISLES 2022).
DatasetReport check_scan(const FolderScan& scan);

}  // namespace pn::data
