// Opening a run's datasets from its config, the same way in every command: the layout
// (data.layout = auto | pairs | isles2022, detected for auto), the pairs' suffixes
// (data.*_suffix), the input channels (data.channels) and, for training, every case read
// and checked before the first step (data/dataset_check.h: readable, finite, masks binary
// and on the image's grid, the slice range inside the resampled volume), every problem
// listed at once; data.skip_bad_cases leaves the bad cases out instead of stopping.
// Each opened folder is announced with the layout found ("data.train_dir: DIR: ISLES
// 2022 (...), detected, 250 cases").
#pragma once
#include <optional>
#include <string>

#include "data/folder_dataset.h"
#include "data/pipeline.h"
#include "experiments/config/config.h"

namespace pn::experiments {

struct DatasetNeeds {
  bool masks = true;    // false: images alone are cases (prediction)
  bool labels = false;  // every case needs an anatomy label map (translation)
};

// The spec of folder `dir` under the config's data.* keys.
data::DatasetSpec dataset_spec(const Config& cfg, const std::string& dir, DatasetNeeds needs = {});

// Scans `dir` (named `what` in messages, e.g. "data.train_dir"), prints its layout and
// case count, and throws a pn::Error listing every problem of the scan.
data::FolderDataset open_dataset(const Config& cfg, const std::string& dir, const std::string& what,
                                 DatasetNeeds needs = {});

// open_dataset, then reads every case with all checks, and those of `pipe` when given
// (the case must preprocess). Throws listing every bad case, or with data.skip_bad_cases
// drops them (each named on stdout) and throws only when none is left.
data::FolderDataset open_checked_dataset(const Config& cfg, const std::string& dir, const std::string& what,
                                         DatasetNeeds needs = {}, const data::PipelineOptions* pipe = nullptr);

// How label maps are read (data.classes; data.labels_lut: "none", "freesurfer" for
// FreeSurfer/SynthSeg aseg values, or a table file, data/label_lut.h).
data::LoadOptions load_options(const Config& cfg);

// The number of input channels a model of this config takes (data.channels).
int64_t input_channels(const Config& cfg);

}  // namespace pn::experiments
