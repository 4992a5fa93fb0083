#include "data/lesion_set.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "autograd/error.h"
#include "data/lesion_set_cache.h"
#include "data/nifti_io.h"
#include "data/noise.h"

namespace pn::data {
namespace fs = std::filesystem;
namespace {

bool is_nifti(const std::string& n) { return n.ends_with(".nii") || n.ends_with(".nii.gz"); }

// One file's masks (original and/or mirrored), transferred; dropped names beside them.
struct FileResult {
  std::vector<LesionMask> kept;
  std::vector<std::string> dropped;
  std::string error;
};

FileResult load_one(const std::string& path, const Grid& target, const LesionSetOptions& opt) {
  FileResult r;
  const std::string name = fs::path(path).filename().string();
  const LabelVolume m = read_labels(path, 2);  // throws naming the file for a non-binary mask
  std::vector<bool> variants;                  // mirrored?
  switch (opt.mirror) {
    case MirrorMode::Off: variants = {false}; break;
    case MirrorMode::AddCopies: variants = {false, true}; break;
    case MirrorMode::Random: variants = {(mix64(string_hash(name) ^ mix64(opt.seed)) & 1) != 0}; break;
  }
  for (bool mirrored : variants) {
    LesionMask lm;
    lm.name = mirrored ? name + " (mirrored)" : name;
    lm.file = path;
    lm.mirrored = mirrored;
    // Mirroring on the source grid: exact there (SOOP's and LESYMAP's grids are symmetric
    // about x = 0) whatever the target grid.
    lm.voxels = lesion_voxels(transfer_mask(mirrored ? mirror_left_right(m) : m, target, opt.transfer, opt.threshold));
    if (static_cast<int64_t>(lm.voxels.size()) < opt.min_voxels) r.dropped.push_back(lm.name);
    else r.kept.push_back(std::move(lm));
  }
  return r;
}

std::vector<size_t> indices_where(const LesionSet& s, bool held_out) {
  std::vector<size_t> v;
  for (size_t i = 0; i < s.masks.size(); ++i)
    if (s.masks[i].held_out == held_out) v.push_back(i);
  return v;
}

}  // namespace

std::vector<size_t> LesionSet::train() const { return indices_where(*this, false); }
std::vector<size_t> LesionSet::held_out() const { return indices_where(*this, true); }

uint64_t string_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a offset basis and prime
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return mix64(h);
}

bool held_out_by_name(const std::string& name, uint64_t seed, double fraction) {
  // The top 53 bits as a uniform number in [0, 1).
  const double u = static_cast<double>(mix64(string_hash(name) ^ seed) >> 11) * 0x1.0p-53;
  return u < fraction;
}

std::vector<std::string> list_lesion_files(const std::string& dir, const std::string& suffix) {
  std::error_code ec;
  PN_CHECK(fs::exists(dir, ec), "{}: the lesion mask folder does not exist", dir);
  PN_CHECK(fs::is_directory(dir, ec), "{}: not a folder (expected a folder of lesion masks)", dir);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (!e.is_regular_file(ec) || !is_nifti(n)) continue;
    if (!suffix.empty() && !n.ends_with(suffix)) continue;
    files.push_back(e.path().string());
  }
  PN_CHECK(!ec, "{}: cannot list the folder: {}", dir, ec.message());
  PN_CHECK(!files.empty(), "{}: holds no lesion masks (no {} files)", dir,
           suffix.empty() ? std::string(".nii or .nii.gz") : "*" + suffix);
  std::sort(files.begin(), files.end());
  return files;
}

LesionSet load_lesion_set(const std::string& dir, const Grid& target, const LesionSetOptions& opt,
                          const LesionLoadProgress& progress) {
  PN_CHECK(opt.held_out_fraction >= 0 && opt.held_out_fraction <= 1, "lesion set: held-out fraction {} is not in [0, 1]",
           opt.held_out_fraction);
  const auto t0 = std::chrono::steady_clock::now();
  const auto files = list_lesion_files(dir, opt.suffix);
  std::string key, cache;
  std::optional<LesionSet> cached;
  if (!opt.cache_dir.empty()) {
    key = lesion_cache_key(files, target, opt);
    cache = lesion_cache_path(opt.cache_dir, key);
    cached = read_lesion_cache(cache, key, target, dir);
  }
  LesionSet set;
  if (cached) {
    set = std::move(*cached);
    if (progress) progress(files.size(), files.size());
  } else {
    std::vector<FileResult> results(files.size());
    size_t done = 0;
    const auto n = static_cast<int64_t>(files.size());
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) {
      auto& r = results[static_cast<size_t>(i)];
      try {
        r = load_one(files[static_cast<size_t>(i)], target, opt);
      } catch (const std::exception& e) {
        r.error = e.what();
      }
#pragma omp critical(lesion_set_progress)
      {
        ++done;
        if (progress) progress(done, files.size());
      }
    }
    for (const auto& r : results) PN_CHECK(r.error.empty(), "{}", r.error);  // the first failing file, in order
    set.grid = target;
    set.files = files.size();
    for (auto& r : results) {
      for (auto& m : r.kept) set.masks.push_back(std::move(m));
      for (auto& d : r.dropped) set.dropped.push_back(std::move(d));
    }
    if (!cache.empty()) write_lesion_cache(cache, key, set);
  }
  // The split by source file name: a mirrored copy goes where its original goes.
  for (auto& m : set.masks)
    m.held_out = held_out_by_name(fs::path(m.file).filename().string(), opt.seed, opt.held_out_fraction);
  set.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return set;
}

}  // namespace pn::data
