#include "data/isles_dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "autograd/error.h"

namespace pn::data {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Names of the sub-folders of `p` that start with `prefix`, sorted.
std::vector<std::string> subfolders(const fs::path& p, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p, ec))
    if (e.is_directory(ec) && e.path().filename().string().starts_with(prefix)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// "sub-1_ses-1_FLAIR.nii.gz" -> "flair"; "" for a file that is no NIfTI.
std::string modality_of(const std::string& name) {
  std::string stem = name.ends_with(".nii.gz") ? name.substr(0, name.size() - 7)
                     : name.ends_with(".nii")  ? name.substr(0, name.size() - 4)
                                               : "";
  const size_t us = stem.rfind('_');
  return stem.empty() || us == std::string::npos ? "" : lower(stem.substr(us + 1));
}

// The NIfTI files of a folder and of its sub-folders one level down, by modality (the
// name's last "_" part, lower case). `nested` counts files found in sub-folders.
std::map<std::string, std::vector<std::string>> files_by_modality(const fs::path& dir, int* nested = nullptr,
                                                                  int* flat = nullptr) {
  std::map<std::string, std::vector<std::string>> out;
  std::error_code ec;
  auto add = [&](const fs::path& folder, int* count) {
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      if (!e.is_regular_file(ec)) continue;
      const std::string m = modality_of(e.path().filename().string());
      if (m.empty()) continue;
      out[m].push_back(e.path().string());
      if (count) ++*count;
    }
  };
  add(dir, flat);
  for (const auto& sub : subfolders(dir, "")) add(dir / sub, nested);
  for (auto& [m, v] : out) std::sort(v.begin(), v.end());
  return out;
}

// Where the subject folders are, and the derivatives/ folder beside them.
struct IslesRoots {
  fs::path subjects, derivatives;
};
IslesRoots isles_roots(const fs::path& root) {
  IslesRoots r{root, root / "derivatives"};
  if (is_dir(root / "rawdata")) r.subjects = root / "rawdata";
  // Pointed at rawdata/ itself: the masks are beside it.
  if (!is_dir(r.derivatives) && root.filename() == "rawdata") r.derivatives = root.parent_path() / "derivatives";
  return r;
}

// The one file of modality `m` in a session, or a problem naming what is missing.
std::string one_file(const std::map<std::string, std::vector<std::string>>& files, const std::string& m,
                     const fs::path& session, const std::string& stem, FolderScan& scan, const char* why) {
  auto it = files.find(m);
  if (it == files.end()) {
    scan.problems.push_back(fmt::format("{}: no {} image {}_{}.nii.gz (in dwi/, anat/ or the session folder){}",
                                        session.string(), m, stem, m, why));
    return "";
  }
  if (it->second.size() > 1) {
    scan.problems.push_back(fmt::format("{}: {} {} files ({}); keep one", session.string(), it->second.size(), m,
                                        fmt::join(it->second, ", ")));
    return "";
  }
  return it->second[0];
}

// The derivative of kind `kind` ("msk", "labels") of a session, "" when it has none (a
// problem only where it is required).
std::string session_derivative(const IslesRoots& roots, const std::string& sub, const std::string& ses,
                               const std::string& stem, const std::string& kind, bool required, FolderScan& scan) {
  const fs::path dir = roots.derivatives / sub / ses;
  const auto files = is_dir(dir) ? files_by_modality(dir) : std::map<std::string, std::vector<std::string>>{};
  auto it = files.find(kind);
  if (it != files.end() && it->second.size() == 1) return it->second[0];
  const char* what = kind == "msk" ? "lesion mask" : "anatomy label map";
  if (it != files.end())
    scan.problems.push_back(fmt::format("{}: {} {} files ({}); keep one", dir.string(), it->second.size(), what,
                                        fmt::join(it->second, ", ")));
  else if (required)
    scan.problems.push_back(fmt::format(
        "{}: missing: no {} {}_{}.nii.gz ({})", (dir / (stem + "_" + kind + ".nii.gz")).string(), what, stem, kind,
        kind == "msk" ? "training and scoring need one per session; `segment predict` does not"
                      : "the translation models learn from label maps: 29 study classes on the DWI grid, e.g. "
                        "SynthSeg's converted through data/label_lut.h"));
  return "";
}

void scan_session(const IslesRoots& roots, const std::string& sub, const std::string& ses, const DatasetSpec& spec,
                  FolderScan& scan, int* nested, int* flat) {
  const fs::path session = roots.subjects / sub / ses;
  const std::string stem = sub + "_" + ses;
  const auto files = files_by_modality(session, nested, flat);
  const std::string dwi = one_file(files, "dwi", session, stem, scan, "; the masks lie on the DWI's grid");
  bool complete = !dwi.empty();
  CaseFiles c{stem, {}, dwi, "", ""};
  for (const auto& ch : scan.channels) {
    const std::string f = ch == "dwi" ? dwi : one_file(files, ch, session, stem, scan, " (data.channels asks for it)");
    complete = complete && !f.empty();
    c.images.push_back(f);
  }
  c.mask = session_derivative(roots, sub, ses, stem, "msk", spec.masks_required, scan);
  c.labels = session_derivative(roots, sub, ses, stem, "labels", spec.labels_required, scan);
  complete = complete && (!c.mask.empty() || !spec.masks_required) && (!c.labels.empty() || !spec.labels_required);
  if (complete) scan.cases.push_back(std::move(c));
}

}  // namespace

IslesModality parse_isles_modality(const std::string& name) {
  const std::string n = lower(name);
  if (n == "dwi") return IslesModality::DWI;
  if (n == "adc") return IslesModality::ADC;
  if (n == "flair") return IslesModality::FLAIR;
  PN_FAIL("unknown ISLES 2022 modality '{}': ISLES 2022 has dwi, adc and flair", name);
}

const char* isles_modality_name(IslesModality m) {
  return m == IslesModality::DWI ? "dwi" : m == IslesModality::ADC ? "adc" : "flair";
}

bool looks_like_isles(const std::string& root_dir) {
  const fs::path root(root_dir);
  if (!is_dir(root)) return false;
  const auto subs = subfolders(root, "sub-");
  if (is_dir(root / "rawdata") && !subfolders(root / "rawdata", "sub-").empty()) return true;
  if (is_dir(root / "derivatives") && !subs.empty()) return true;
  return std::any_of(subs.begin(), subs.end(), [&](const std::string& s) { return !subfolders(root / s, "ses-").empty(); });
}

FolderScan scan_isles(const DatasetSpec& spec) {
  FolderScan scan;
  scan.dir = spec.dir;
  scan.layout = Layout::Isles2022;
  for (const auto& ch : spec.channels.empty() ? std::vector<std::string>{"dwi"} : spec.channels)
    scan.channels.push_back(isles_modality_name(parse_isles_modality(ch == "image" ? "dwi" : ch)));
  scan.layout_description = "ISLES 2022";
  if (!looks_like_isles(spec.dir)) {
    scan.problems.push_back(fmt::format("{}: not an ISLES 2022 folder (no sub-*/ses-* folders, directly or under "
                                        "rawdata/); check the path, or set data.layout", spec.dir));
    return scan;
  }
  const IslesRoots roots = isles_roots(spec.dir);
  const auto subjects = subfolders(roots.subjects, "sub-");
  int nested = 0, flat = 0;
  for (const auto& sub : subjects) {
    const auto sessions = subfolders(roots.subjects / sub, "ses-");
    if (sessions.empty())
      scan.problems.push_back(fmt::format("{}: no ses-* folder; the images of a subject lie in <subject>/ses-0001/",
                                          (roots.subjects / sub).string()));
    for (const auto& ses : sessions) scan_session(roots, sub, ses, spec, scan, &nested, &flat);
  }
  // Masks of subjects without images.
  for (const auto& sub : subfolders(roots.derivatives, "sub-"))
    if (!std::binary_search(subjects.begin(), subjects.end(), sub))
      scan.problems.push_back(fmt::format("{}: masks of a subject with no images under {}; add its images or move the "
                                          "folder away", (roots.derivatives / sub).string(), roots.subjects.string()));
  scan.layout_description = fmt::format("ISLES 2022 ({}{}; masks in {})", roots.subjects == fs::path(spec.dir) ? "sub-*/" : "rawdata/sub-*/",
                                        nested > 0 && flat == 0   ? "ses-*/dwi and anat/"
                                        : flat > 0 && nested == 0 ? "ses-*/, flat"
                                                                  : "ses-*/",
                                        roots.derivatives.string());
  return scan;
}

FolderScan scan_isles(const std::string& root, IslesModality modality) {
  DatasetSpec spec;
  spec.dir = root;
  spec.layout = Layout::Isles2022;
  spec.channels = {isles_modality_name(modality)};
  return scan_isles(spec);
}

}  // namespace pn::data
