// The on-disk cache of a transferred lesion set (data/lesion_set.h), so that the second
// load of 1,449 SOOP masks reads one small file instead of 1,449 NIfTI volumes.
// The key is a text that names everything the transferred masks depend on: every file's
// name, size and modification time, the target grid (dims and affine to 17 digits) and
// the options that change the masks (transfer mode, threshold, mirroring, its seed when
// random, minimum voxels). The split is recomputed on load and is not part of it.
// Format (little-endian, this project's own): "PNLSET01", key (u64 length + bytes), u64
// files read, u64 masks, per mask [name, source file name, u8 mirrored, u64 n, n x i64
// voxel indices], u64 dropped, dropped names, "PNLSEND1". Strings are u64 length + bytes.
// Written to a temporary file and renamed into place (atomic on POSIX), so a reader sees
// a whole cache or none; a missing, truncated, corrupt or stale cache reads as nothing and
// is rebuilt. Caches for other keys (other grids, options, file dates) stay in the folder
// until it is deleted.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "data/lesion_set.h"

namespace pn::data {

std::string lesion_cache_key(const std::vector<std::string>& files, const Grid& target, const LesionSetOptions& opt);
// "<cache_dir>/lesion_set_<16 hex digits of the key's hash>.bin"
std::string lesion_cache_path(const std::string& cache_dir, const std::string& key);

// The cached set (masks, dropped, files; grid = target; `file` fields point into `dir`),
// or nothing when the file is absent, unreadable or was written for another key.
std::optional<LesionSet> read_lesion_cache(const std::string& path, const std::string& key, const Grid& target,
                                           const std::string& dir);
// Throws a pn::Error naming the file when it cannot be written.
void write_lesion_cache(const std::string& path, const std::string& key, const LesionSet& set);

}  // namespace pn::data
