#include "data/isles_dataset.h"

#include <algorithm>
#include <filesystem>

#include "autograd/error.h"

namespace pn::data {
namespace fs = std::filesystem;

IslesModality parse_isles_modality(const std::string& name) {
  if (name == "dwi") return IslesModality::DWI;
  if (name == "adc") return IslesModality::ADC;
  if (name == "flair") return IslesModality::FLAIR;
  PN_FAIL("unknown ISLES modality '{}' (dwi, adc, flair)", name);
}

bool looks_like_isles(const std::string& root) {
  std::error_code ec;
  return fs::is_directory(fs::path(root) / "rawdata", ec) && fs::is_directory(fs::path(root) / "derivatives", ec);
}

FolderScan scan_isles(const std::string& root, IslesModality modality) {
  FolderScan scan;
  scan.dir = root;
  if (!looks_like_isles(root)) {
    scan.problems.push_back(fmt::format("{}: not an ISLES 2022 folder (needs rawdata/ and derivatives/)", root));
    return scan;
  }
  const fs::path raw = fs::path(root) / "rawdata", der = fs::path(root) / "derivatives";
  std::vector<std::string> subjects;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(raw, ec))
    if (e.is_directory() && e.path().filename().string().starts_with("sub-")) subjects.push_back(e.path().filename().string());
  std::sort(subjects.begin(), subjects.end());
  for (const auto& sub : subjects) {
    std::vector<std::string> sessions;
    for (const auto& e : fs::directory_iterator(raw / sub, ec))
      if (e.is_directory() && e.path().filename().string().starts_with("ses-")) sessions.push_back(e.path().filename().string());
    std::sort(sessions.begin(), sessions.end());
    if (sessions.empty()) scan.problems.push_back(fmt::format("{}: no ses-* folder", (raw / sub).string()));
    for (const auto& ses : sessions) {
      const std::string stem = sub + "_" + ses;
      const fs::path image = modality == IslesModality::FLAIR ? raw / sub / ses / "anat" / (stem + "_FLAIR.nii.gz")
                             : raw / sub / ses / "dwi" / (stem + (modality == IslesModality::DWI ? "_dwi.nii.gz" : "_adc.nii.gz"));
      const fs::path mask = der / sub / ses / (stem + "_msk.nii.gz");
      const bool has_image = fs::is_regular_file(image, ec), has_mask = fs::is_regular_file(mask, ec);
      if (!has_image) scan.problems.push_back(fmt::format("{}: missing", image.string()));
      if (!has_mask) scan.problems.push_back(fmt::format("{}: missing (the lesion mask of {})", mask.string(), stem));
      if (has_image && has_mask) scan.cases.push_back({stem, image.string(), mask.string(), ""});
    }
  }
  if (subjects.empty()) scan.problems.push_back(fmt::format("{}: no sub-* folders", raw.string()));
  return scan;
}

}  // namespace pn::data
