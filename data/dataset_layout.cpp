#include "data/dataset_layout.h"

#include "autograd/error.h"
#include "data/isles_dataset.h"

namespace pn::data {

Layout parse_layout(const std::string& name) {
  if (name == "auto") return Layout::Auto;
  if (name == "pairs") return Layout::Pairs;
  if (name == "isles2022") return Layout::Isles2022;
  PN_FAIL("unknown dataset layout '{}': use auto, pairs (a folder of <case>_<image> / <case>_<mask> files) or isles2022",
          name);
}

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::Auto: return "auto";
    case Layout::Pairs: return "pairs";
    case Layout::Isles2022: return "isles2022";
  }
  return "?";
}

Layout resolve_layout(const std::string& dir, Layout asked) {
  if (asked != Layout::Auto) return asked;
  return looks_like_isles(dir) ? Layout::Isles2022 : Layout::Pairs;
}

FolderScan scan_dataset(const DatasetSpec& spec) {
  const Layout layout = resolve_layout(spec.dir, spec.layout);
  FolderScan scan = layout == Layout::Isles2022 ? scan_isles(spec) : scan_folder(spec);
  if (spec.layout == Layout::Auto) scan.layout_description += ", detected";
  if (layout == Layout::Pairs && scan.cases.empty() && looks_like_isles(spec.dir))
    scan.problems.push_back(fmt::format("{}: holds sub-*/ses-* folders: an ISLES 2022 folder, read here as a folder of "
                                        "pairs; set data.layout = \"isles2022\" (or \"auto\")", spec.dir));
  return scan;
}

FolderDataset open_dataset(const DatasetSpec& spec, LoadOptions load) {
  FolderScan scan = scan_dataset(spec);
  if (scan.cases.empty() && scan.problems.empty())
    scan.problems.push_back(fmt::format("{}: no case found", spec.dir));
  if (!scan.problems.empty())
    PN_FAIL("{}", problems_text(fmt::format("{} ({})", spec.dir, scan.layout_description), scan.problems));
  return FolderDataset(std::move(scan), std::move(load));
}

}  // namespace pn::data
