#include "data/arterial_atlas.h"

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "data/nifti_io.h"
#include "data/shared_data.h"

namespace pn::data {
namespace {

constexpr std::array<const char*, ArterialAtlas::kGroups + 1> kGroupNames = {
    "none", "ACA L", "ACA R", "MCA L", "MCA R", "PCA L", "PCA R", "VB L", "VB R", "ventricle L", "ventricle R"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, sep)) parts.push_back(p);
  return parts;
}

// Parses `index|abbrev|name|group` lines into region -> group.
std::vector<int> read_table(const std::string& txt) {
  std::ifstream f(txt);
  PN_CHECK(f, "{}: cannot open the arterial atlas table", txt);
  std::vector<int> region_group(1, 0);
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto p = split(line, '|');
    PN_CHECK(p.size() == 4, "{}:{}: expected index|abbrev|name|group, got '{}'", txt, lineno, line);
    int index = 0, group = 0;
    try {
      index = std::stoi(p[0]);
      group = std::stoi(p[3]);
    } catch (const std::exception&) {
      PN_FAIL("{}:{}: index and group must be integers in '{}'", txt, lineno, line);
    }
    PN_CHECK(index >= 1 && index < 100000, "{}:{}: region index {} out of range", txt, lineno, index);
    PN_CHECK(group >= 1 && group <= ArterialAtlas::kGroups, "{}:{}: group {} is not in 1..{}", txt, lineno, group,
             ArterialAtlas::kGroups);
    // Side check: odd groups are left; a region named "... left" must sit in one.
    const bool named_left = p[2].ends_with("left"), named_right = p[2].ends_with("right");
    PN_CHECK(!(named_left || named_right) || named_left == (group % 2 == 1),
             "{}:{}: region '{}' is in group {} ({}), the other side", txt, lineno, p[2], group,
             ArterialAtlas::group_name(group));
    if (static_cast<size_t>(index) >= region_group.size()) region_group.resize(static_cast<size_t>(index) + 1, 0);
    region_group[static_cast<size_t>(index)] = group;
  }
  PN_CHECK(region_group.size() > 1, "{}: the arterial atlas table holds no region", txt);
  return region_group;
}

}  // namespace

ArterialAtlas::ArterialAtlas(LabelVolume labels, std::vector<int> region_group)
    : labels_(std::move(labels)), region_group_(std::move(region_group)), world_to_voxel_(mat4_inverse(labels_.affine)) {
  for (int32_t l : labels_.data)
    PN_CHECK(l >= 0 && static_cast<size_t>(l) < region_group_.size(),
             "arterial atlas: label {} has no entry in the region table ({} regions)", l, region_group_.size() - 1);
}

ArterialAtlas ArterialAtlas::load(const std::string& nii, const std::string& txt) {
  auto groups = read_table(txt);
  LabelVolume labels = read_labels(nii, static_cast<int>(groups.size()));
  for (size_t r = 1; r < groups.size(); ++r)
    PN_CHECK(groups[r] != 0, "{}: region {} is missing from the table", txt, r);
  return ArterialAtlas(std::move(labels), std::move(groups));
}

std::optional<ArterialAtlas> ArterialAtlas::find_shared() {
  const auto nii = shared_data_path("soop/ArterialAtlas136.nii.gz");
  const auto txt = shared_data_path("soop/ArterialAtlas136.txt");
  if (!nii || !txt) return std::nullopt;
  return load(*nii, *txt);
}

std::string ArterialAtlas::group_name(int group) {
  return group >= 0 && group <= kGroups ? kGroupNames[static_cast<size_t>(group)] : fmt::format("group {}", group);
}

Hemisphere ArterialAtlas::group_side(int group) {
  if (group < 1 || group > kGroups) return Hemisphere::None;
  return group % 2 == 1 ? Hemisphere::Left : Hemisphere::Right;
}

int ArterialAtlas::group_at(const Vec3& world_mm) const {
  const auto p = mat4_apply(world_to_voxel_, world_mm);
  const auto i = static_cast<int64_t>(std::floor(p[0] + 0.5)), j = static_cast<int64_t>(std::floor(p[1] + 0.5)),
             k = static_cast<int64_t>(std::floor(p[2] + 0.5));
  if (!labels_.inside(i, j, k)) return 0;
  return region_group_[static_cast<size_t>(labels_.at(i, j, k))];
}

TerritoryHit ArterialAtlas::territory(const LabelVolume& mask) const {
  std::array<int64_t, kGroups + 1> count{};
  TerritoryHit hit;
  for (int64_t k = 0; k < mask.dims[2]; ++k)
    for (int64_t j = 0; j < mask.dims[1]; ++j)
      for (int64_t i = 0; i < mask.dims[0]; ++i) {
        if (mask.at(i, j, k) == 0) continue;
        ++hit.lesion;
        ++count[static_cast<size_t>(group_at(
            mat4_apply(mask.affine, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)})))];
      }
  for (int g = 1; g <= kGroups; ++g)
    if (count[static_cast<size_t>(g)] > hit.voxels) {
      hit.voxels = count[static_cast<size_t>(g)];
      hit.group = g;
    }
  return hit;
}

}  // namespace pn::data
