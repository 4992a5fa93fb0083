#include "data/folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/nifti_io.h"
#include "data/resample.h"

namespace pn::data {
namespace fs = std::filesystem;

namespace {

// The files found for one case id in a folder of pairs.
struct Found {
  std::vector<std::string> images;  // per channel
  std::string mask, labels;
  std::string any() const {
    for (const auto& i : images)
      if (!i.empty()) return i;
    return mask.empty() ? labels : mask;
  }
};

// "case01_dwi.nii.gz" -> "case01_dwi"; "" for a file that is no NIfTI.
std::string nifti_stem(const std::string& name) {
  if (name.ends_with(".nii.gz")) return name.substr(0, name.size() - 7);
  if (name.ends_with(".nii")) return name.substr(0, name.size() - 4);
  return "";
}

void check_suffixes(const PairSuffixes& sfx, const std::vector<std::string>& channels) {
  std::vector<std::string> all = channels;
  all.push_back(sfx.mask);
  if (!sfx.labels.empty()) all.push_back(sfx.labels);
  auto sorted = all;
  std::sort(sorted.begin(), sorted.end());
  PN_CHECK(!sfx.image.empty() && !sfx.mask.empty() && std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end() &&
               std::none_of(all.begin(), all.end(), [](const std::string& s) { return s.empty(); }),
           "folder of pairs: the image, channel, mask and label-map suffixes must be distinct and non-empty (got {}); "
           "set data.image_suffix, data.channels, data.mask_suffix and data.labels_suffix to distinct names",
           fmt::join(all, ", "));
}

// Files of `dir` by case id, each under the first suffix it ends with.
std::map<std::string, Found> list_pairs(const std::string& dir, const PairSuffixes& sfx,
                                        const std::vector<std::string>& channels, FolderScan& scan) {
  std::map<std::string, Found> by_id;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string stem = nifti_stem(entry.path().filename().string());
    if (stem.empty()) continue;
    const std::string path = entry.path().string();
    bool matched = false;
    auto take = [&](const std::string& suffix, auto slot) {
      const std::string tail = "_" + suffix;
      if (matched || suffix.empty() || !stem.ends_with(tail) || stem.size() == tail.size()) return;
      Found& f = by_id[stem.substr(0, stem.size() - tail.size())];
      f.images.resize(channels.size());
      std::string& where = slot(f);
      if (!where.empty())
        scan.problems.push_back(fmt::format("{}: a second file for the same case beside {}; keep one of them", path, where));
      else
        where = path;
      matched = true;
    };
    for (size_t k = 0; k < channels.size(); ++k) take(channels[k], [k](Found& f) -> std::string& { return f.images[k]; });
    take(sfx.mask, [](Found& f) -> std::string& { return f.mask; });
    take(sfx.labels, [](Found& f) -> std::string& { return f.labels; });
    if (!matched) scan.ignored.push_back(path);
  }
  if (ec) scan.problems.push_back(fmt::format("{}: cannot list the folder: {}; check its permissions", dir, ec.message()));
  std::sort(scan.ignored.begin(), scan.ignored.end());
  return by_id;
}

// The case of one id, or problems naming what is missing.
void add_case(const std::string& id, const Found& f, const DatasetSpec& spec, const std::vector<std::string>& channels,
              FolderScan& scan) {
  const PairSuffixes& sfx = spec.suffixes;
  if (f.images[0].empty()) {
    scan.problems.push_back(fmt::format("{}: has no image {}_{}.nii.gz beside it; add the image or move this file away",
                                        f.any(), id, channels[0]));
    return;
  }
  bool complete = true;
  for (size_t k = 1; k < channels.size(); ++k)
    if (f.images[k].empty()) {
      scan.problems.push_back(fmt::format("{}: has no {} image {}_{}.nii.gz beside it (data.channels asks for it)",
                                          f.images[0], channels[k], id, channels[k]));
      complete = false;
    }
  if (f.mask.empty() && spec.masks_required) {
    scan.problems.push_back(fmt::format("{}: has no mask {}_{}.nii.gz beside it; training and scoring need a lesion "
                                        "mask per image (an empty one for a lesion-free scan), `segment predict` does not",
                                        f.images[0], id, sfx.mask));
    complete = false;
  }
  if (f.labels.empty() && spec.labels_required) {
    scan.problems.push_back(fmt::format("{}: has no label map {}_{}.nii.gz; translation models learn from label maps "
                                        "(FreeSurfer/SynthSeg aseg with data.labels_lut = \"freesurfer\")",
                                        f.images[0], id, sfx.labels));
    complete = false;
  }
  if (complete) scan.cases.push_back({id, f.images, "", f.mask, f.labels});
}

// A grid that must equal the case's: the mask and the label map lie voxel for voxel on it.
void require_on_grid(const Grid& g, const std::string& name, const Grid& ref, const std::string& ref_name) {
  if (same_grid(g, ref)) return;
  PN_FAIL("{} and {} lie on different grids: {} vs {}{}; a mask or label map must lie voxel for voxel on its image: "
          "check that it belongs to this image, or resample it onto the image's grid (nearest neighbour)",
          ref_name, name, grid_string(ref), grid_string(g),
          g.dims == ref.dims ? fmt::format(" (affines differ by up to {:.4g} mm)", mat4_max_diff(g.affine, ref.affine))
                             : std::string());
}

// An input channel on the case's grid: as it is when it lies there, else resampled
// (linear) through the affines, provided the two overlap in world space.
Volume on_case_grid(Volume v, const std::string& name, const Grid& ref, const std::string& ref_name) {
  if (same_grid(v, ref)) return v;
  const double overlap = field_of_view_overlap(v, ref);
  PN_CHECK(overlap >= 0.5, "{}: covers only {:.0f} % of the field of view of {} ({} vs {}): their headers place them in "
           "different parts of the world; check that both come from the same session and that their affines are right",
           name, 100 * overlap, ref_name, grid_string(v), grid_string(ref));
  return resample_onto(v, ref);
}

}  // namespace

FolderScan scan_folder(const std::string& dir, const PairSuffixes& sfx) {
  DatasetSpec spec;
  spec.dir = dir;
  spec.layout = Layout::Pairs;
  spec.suffixes = sfx;
  return scan_folder(spec);
}

FolderScan scan_folder(const DatasetSpec& spec) {
  const PairSuffixes& sfx = spec.suffixes;
  FolderScan scan;
  scan.dir = spec.dir;
  scan.layout = Layout::Pairs;
  scan.channels = spec.channels.empty() ? std::vector<std::string>{sfx.image} : spec.channels;
  for (auto& ch : scan.channels)
    if (ch == "image") ch = sfx.image;
  scan.layout_description = fmt::format("folder of pairs (<case>_{}, <case>_{}{})", fmt::join(scan.channels, ", <case>_"),
                                        sfx.mask, sfx.labels.empty() ? "" : ", <case>_" + sfx.labels);
  std::error_code ec;
  if (!fs::is_directory(spec.dir, ec)) {
    scan.problems.push_back(fmt::format("{}: not a folder (or it does not exist); check the path", spec.dir));
    return scan;
  }
  PN_CHECK(scan.channels[0] == sfx.image,
           "folder of pairs {}: the first input channel is '{}' but the image files are <case>_{}: in a folder of pairs "
           "the first channel is the image; list it first (data.channels = [\"{}\", ...]) or set data.image_suffix",
           spec.dir, scan.channels[0], sfx.image, sfx.image);
  check_suffixes(sfx, scan.channels);
  const auto by_id = list_pairs(spec.dir, sfx, scan.channels, scan);
  for (const auto& [id, f] : by_id) add_case(id, f, spec, scan.channels, scan);
  if (by_id.empty() && scan.problems.empty())
    scan.problems.push_back(fmt::format(
        "{}: no <case>_{}.nii(.gz) images{}{}", spec.dir, sfx.image,
        spec.masks_required ? fmt::format(" with <case>_{}.nii(.gz) masks", sfx.mask) : std::string(),
        scan.ignored.empty() ? std::string("; is it the right folder?")
                             : fmt::format("; its {} NIfTI file(s) (e.g. {}) match none of the suffixes: set "
                                           "data.image_suffix and data.mask_suffix to your names, or data.layout if "
                                           "this is an ISLES 2022 folder", scan.ignored.size(),
                                           fs::path(scan.ignored[0]).filename().string())));
  return scan;
}

std::string problems_text(const std::string& what, const std::vector<std::string>& problems) {
  std::string msg = fmt::format("{}: {} problem(s):", what, problems.size());
  for (size_t i = 0; i < problems.size() && i < 10; ++i) msg += "\n  " + problems[i];
  if (problems.size() > 10) msg += fmt::format("\n  ... and {} more (`penumbra data check` lists them all)", problems.size() - 10);
  return msg;
}

FolderDataset FolderDataset::pooled(const std::vector<std::pair<const FolderDataset*, size_t>>& parts) {
  FolderScan all;
  LoadOptions load;
  for (const auto& [ds, limit] : parts) {
    all.dir += (all.dir.empty() ? "" : " + ") + ds->scan_.dir;
    if (all.channels.empty()) all.channels = ds->scan_.channels, load = ds->load_;
    PN_CHECK(ds->channels() == std::max<size_t>(1, all.channels.size()),
             "pooled dataset {}: {} has {} input channel(s), the others {}", all.dir, ds->scan_.dir, ds->channels(),
             all.channels.size());
    const size_t n = limit == 0 ? ds->size() : std::min(limit, ds->size());
    all.cases.insert(all.cases.end(), ds->scan_.cases.begin(), ds->scan_.cases.begin() + static_cast<std::ptrdiff_t>(n));
  }
  PN_CHECK(!all.cases.empty(), "pooled dataset {}: no cases", all.dir);
  return FolderDataset(std::move(all), load);
}

FolderDataset::FolderDataset(const std::string& dir, const PairSuffixes& sfx, bool require_labels) {
  DatasetSpec spec;
  spec.dir = dir;
  spec.layout = Layout::Pairs;
  spec.suffixes = sfx;
  spec.labels_required = require_labels;
  scan_ = scan_folder(spec);
  if (!scan_.problems.empty()) PN_FAIL("{}", problems_text("folder dataset " + dir, scan_.problems));
}

FolderDataset::FolderDataset(FolderScan scan, LoadOptions load) : scan_(std::move(scan)), load_(std::move(load)) {}

LabelVolume read_mask(const std::string& path) {
  const Volume v = read_nifti(path);
  for (size_t i = 0; i < v.data.size(); ++i) {
    const float x = v.data[i];
    if (x == 0 || x == 1) continue;
    const auto idx = static_cast<int64_t>(i);
    PN_FAIL("{}: voxel ({}, {}, {}) holds {}: a lesion mask holds only 0 and 1; binarise it (e.g. `fslmaths {} -bin "
            "out.nii.gz`), or check that this file is a mask", path, idx % v.dims[0], idx / v.dims[0] % v.dims[1],
            idx / (v.dims[0] * v.dims[1]), x, path);
  }
  return to_labels(v, 2, path);
}

LabelVolume read_label_map(const std::string& path, const LoadOptions& opt) {
  return opt.labels_lut ? apply_lut(to_labels(read_nifti(path), INT32_MAX, path), *opt.labels_lut, path)
                        : read_labels(path, opt.num_classes);
}

Case load_case(const CaseFiles& f, const LoadOptions& opt) {
  PN_CHECK(!f.images.empty(), "case {}: no image file", f.id);
  Case c;
  c.id = f.id;
  Volume first = read_nifti(f.images[0]);
  const std::string& ref_name = f.grid_file();
  const Grid ref = ref_name == f.images[0] ? first.grid() : read_nifti(ref_name).grid();
  c.image = on_case_grid(std::move(first), f.images[0], ref, ref_name);
  for (size_t k = 1; k < f.images.size(); ++k)
    c.more_channels.push_back(on_case_grid(read_nifti(f.images[k]), f.images[k], ref, ref_name));
  c.has_mask = !f.mask.empty();
  if (c.has_mask) {
    c.mask = read_mask(f.mask);
    require_on_grid(c.mask, f.mask, ref, ref_name);
  } else {
    c.mask = LabelVolume::zeros_on(ref);
  }
  if (!f.labels.empty()) {
    LabelVolume labels = read_label_map(f.labels, opt);
    require_on_grid(labels, f.labels, ref, ref_name);
    // Mapped anatomy (FreeSurfer/SynthSeg) has no lesion class: the mask's lesion is it.
    if (opt.labels_lut && c.has_mask)
      for (size_t i = 0; i < labels.data.size(); ++i)
        if (c.mask.data[i] != 0) labels.data[i] = cls::kLesion;
    c.labels = std::move(labels);
  }
  return c;
}

Case FolderDataset::load(size_t i) const { return load_case(files(i), load_); }

}  // namespace pn::data
