// A set of real lesion masks (a folder such as shared/data/soop/lesions) brought onto one
// target grid for lesion insertion: scan the folder (suffix filter, sorted by file name),
// read each binary mask, optionally mirror it about x = 0, transfer it to the target grid
// (data/lesion_masks.h), drop those left with fewer than `min_voxels` voxels, and split
// train / held-out by a seeded hash of the file name (a mirrored copy follows its original,
// so no lesion shape is on both sides). Masks are kept sparse (their voxel indices on the
// target grid): 1,449 dense masks on a 128x128x32 grid would take 3 GB.
// Loading all SOOP masks reads ~1,449 x 4 M voxels; with `cache_dir` set the transferred
// set is stored there (data/lesion_set_cache.h) and the next load with the same files,
// grid and options reads only that file.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/lesion_masks.h"

namespace pn::data {

enum class MirrorMode {
  Off,        // masks as drawn
  AddCopies,  // every mask and its mirror image (twice the set)
  Random,     // each mask mirrored or not, by a seeded hash of its name (coin flip)
};

struct LesionSetOptions {
  std::string suffix;  // file names must end with this; empty = any .nii or .nii.gz
  MaskTransfer transfer = MaskTransfer::Area;
  double threshold = 0.5;  // Area mode
  MirrorMode mirror = MirrorMode::Off;
  int64_t min_voxels = 1;        // on the target grid; fewer -> dropped (and counted)
  uint64_t seed = 1;             // random mirroring and the split
  double held_out_fraction = 0.2;
  std::string cache_dir;         // empty = no cache
};

struct LesionMask {
  std::string name;              // file name, " (mirrored)" appended for a mirrored copy
  std::string file;              // the file it came from
  bool mirrored = false;
  bool held_out = false;
  std::vector<int64_t> voxels;   // linear indices on the set's grid, ascending
};

struct LesionSet {
  Grid grid;                          // the target grid
  std::vector<LesionMask> masks;      // kept masks, by file name (a mirrored copy after its original)
  std::vector<std::string> dropped;   // names of masks under min_voxels after transfer
  size_t files = 0;                   // files read
  bool from_cache = false;
  double seconds = 0;                 // load time

  LabelVolume mask(size_t i) const { return mask_from_voxels(grid, masks.at(i).voxels); }
  std::vector<size_t> train() const;     // indices of masks not held out
  std::vector<size_t> held_out() const;  // indices of held-out masks
};

// Sorted full paths of the masks in `dir`; throws a pn::Error when the folder is missing,
// is not a folder, or holds no matching file.
std::vector<std::string> list_lesion_files(const std::string& dir, const std::string& suffix = "");

// 64-bit hash of a string (FNV-1a, then splitmix64's finaliser): stable across runs and
// machines, unlike std::hash.
uint64_t string_hash(const std::string& s);

// True when `name` goes to the held-out part: a hash of (name, seed) in [0, 1) below
// `fraction`. Deterministic across runs and machines.
bool held_out_by_name(const std::string& name, uint64_t seed, double fraction);

// Called after each file with (files done, files in all).
using LesionLoadProgress = std::function<void(size_t done, size_t total)>;

// Loads the set; a non-binary or unreadable mask throws a pn::Error naming the file.
LesionSet load_lesion_set(const std::string& dir, const Grid& target, const LesionSetOptions& opt = {},
                          const LesionLoadProgress& progress = {});

}  // namespace pn::data
