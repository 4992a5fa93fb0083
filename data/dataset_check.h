// Reading every case of a dataset with all checks, reporting all problems at once:
// `penumbra data check`, and the check every training command runs on its inputs before
// its first step. Per case: every file readable and complete, every voxel finite, images
// not constant, masks binary and on the image's grid, label maps valid and on the grid
// (and their lesion class equal to the mask), further channels overlapping the image;
// plus any check the caller adds (the training pipeline). The report lists the cases that
// passed, so a caller may leave the others out (data.skip_bad_cases).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data/folder_dataset.h"

namespace pn::data {

struct DatasetReport {
  std::string dir, layout;
  int cases = 0, loaded = 0, with_mask = 0, with_labels = 0, with_lesion = 0;
  std::vector<std::string> grids;            // "128x128x32 @ 2.00x2.00x3.60 mm: 12 cases"
  std::vector<double> lesion_ml;             // per loaded case with a lesion
  std::vector<std::string> problems;         // the scan's, then each bad case's
  std::vector<size_t> good;                  // indices of the scan's cases that passed every check
  std::vector<std::string> ignored;          // files that belong to no case
  std::string text() const;                  // the human-readable report
};

struct CheckOptions {
  LoadOptions load;
  // A further check of a loaded case; throws pn::Error naming the problem.
  std::function<void(const Case&)> extra;
  std::function<void(size_t done, size_t total)> progress;
};

DatasetReport check_folder(const std::string& dir, const PairSuffixes& suffixes = {});
// The same for any scanned layout (folder of pairs, ISLES 2022).
DatasetReport check_scan(const FolderScan& scan, const CheckOptions& options = {});

}  // namespace pn::data
