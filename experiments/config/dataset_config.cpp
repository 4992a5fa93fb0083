#include "experiments/config/dataset_config.h"

#include <cstdio>

#include "autograd/error.h"
#include "data/dataset_check.h"
#include "data/dataset_layout.h"
#include "data/label_lut.h"

namespace pn::experiments {

namespace {

// "_dwi.nii.gz" -> "dwi".
std::string bare_suffix(std::string s) {
  for (const char* ext : {".nii.gz", ".nii"})
    if (s.size() > std::string(ext).size() && s.ends_with(ext)) s.resize(s.size() - std::string(ext).size());
  if (!s.empty() && s[0] == '_') s.erase(0, 1);
  return s;
}

}  // namespace

data::DatasetSpec dataset_spec(const Config& cfg, const std::string& dir, DatasetNeeds needs) {
  data::DatasetSpec spec;
  spec.dir = dir;
  spec.layout = data::parse_layout(cfg.string("data.layout"));
  spec.suffixes = {bare_suffix(cfg.string("data.image_suffix")), bare_suffix(cfg.string("data.mask_suffix")),
                   bare_suffix(cfg.string("data.labels_suffix"))};
  spec.channels = cfg.strings("data.channels");
  spec.masks_required = needs.masks;
  spec.labels_required = needs.labels;
  return spec;
}

data::LoadOptions load_options(const Config& cfg) {
  data::LoadOptions opt;
  opt.num_classes = static_cast<int>(cfg.integer("data.classes"));
  const std::string& lut = cfg.string("data.labels_lut");
  if (lut == "freesurfer") opt.labels_lut = std::make_shared<data::LabelLut>(data::freesurfer_aseg_lut());
  else if (lut != "none") opt.labels_lut = std::make_shared<data::LabelLut>(data::read_lut_file(lut));
  return opt;
}

int64_t input_channels(const Config& cfg) { return static_cast<int64_t>(cfg.strings("data.channels").size()); }

data::FolderDataset open_dataset(const Config& cfg, const std::string& dir, const std::string& what,
                                 DatasetNeeds needs) {
  const data::DatasetSpec spec = dataset_spec(cfg, dir, needs);
  data::FolderScan scan = data::scan_dataset(spec);
  if (scan.cases.empty() && scan.problems.empty()) scan.problems.push_back(fmt::format("{}: no case found", dir));
  if (!scan.problems.empty())
    PN_FAIL("{}", data::problems_text(fmt::format("{} = {} ({})", what, dir, scan.layout_description), scan.problems));
  std::printf("%s: %s: %s, %zu case(s)\n", what.c_str(), dir.c_str(), scan.layout_description.c_str(),
              scan.cases.size());
  return data::FolderDataset(std::move(scan), load_options(cfg));
}

data::FolderDataset open_checked_dataset(const Config& cfg, const std::string& dir, const std::string& what,
                                         DatasetNeeds needs, const data::PipelineOptions* pipe) {
  data::FolderDataset ds = open_dataset(cfg, dir, what, needs);
  data::CheckOptions opt;
  opt.load = load_options(cfg);
  if (pipe) opt.extra = [pipe](const data::Case& c) { (void)data::preprocess(c, *pipe, 0); };
  const data::DatasetReport r = data::check_scan(ds.scan(), opt);
  if (r.problems.empty()) return ds;
  const bool skip = cfg.boolean("data.skip_bad_cases");
  PN_CHECK(skip && !r.good.empty(), "{}{}",
           data::problems_text(fmt::format("{} = {}: {} of {} case(s) cannot be used", what, dir,
                                           ds.size() - r.good.size(), ds.size()),
                               r.problems),
           skip ? "\n  no case is left to use"
                : "\n  fix or remove these cases, or set data.skip_bad_cases = true to leave them out");
  data::FolderScan kept = ds.scan();
  kept.cases.clear();
  for (size_t i : r.good) kept.cases.push_back(ds.files(i));
  std::printf("%s: leaving out %zu bad case(s) of %zu (data.skip_bad_cases):\n", what.c_str(),
              ds.size() - r.good.size(), ds.size());
  for (const auto& p : r.problems) std::printf("  skipped: %s\n", p.c_str());
  return data::FolderDataset(std::move(kept), opt.load);
}

}  // namespace pn::experiments
