// The vascular territory of a lesion from an arterial atlas (SOOP's ArterialAtlas136:
// a label volume plus a text table of lines `index|abbrev|name|group`). Groups as the
// table defines them (checked against the shared file): 1 ACA L, 2 ACA R, 3 MCA L,
// 4 MCA R, 5 PCA L, 6 PCA R, 7 VB L (vertebrobasilar), 8 VB R, 9 ventricle L,
// 10 ventricle R; odd groups are left. Loading checks that every region whose name ends
// in "left"/"right" sits in a group of that side, so a shifted table fails loudly.
// A mask on any grid is looked up through the affines: lesion voxel -> world -> nearest
// atlas voxel -> region -> group; the territory is the group holding most lesion voxels.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "data/lesion_stats.h"

namespace pn::data {

struct TerritoryHit {
  int group = 0;          // 0 = no lesion voxel in any atlas region
  int64_t voxels = 0;     // lesion voxels in that group
  int64_t lesion = 0;     // lesion voxels in all
  double fraction() const { return lesion > 0 ? static_cast<double>(voxels) / static_cast<double>(lesion) : 0.0; }
};

class ArterialAtlas {
 public:
  // region_group[r] = group of atlas label r (label 0 = outside, group 0).
  ArterialAtlas(LabelVolume labels, std::vector<int> region_group);
  // Reads the atlas volume and its table; errors name the file and line.
  static ArterialAtlas load(const std::string& nii, const std::string& txt);
  // shared/data/soop/ArterialAtlas136.{nii.gz,txt}, or nothing without the shared data.
  static std::optional<ArterialAtlas> find_shared();

  // "ACA L" ... "ventricle R"; "none" for 0.
  static std::string group_name(int group);
  static constexpr int kGroups = 10;
  static Hemisphere group_side(int group);

  // Group at a world point (0 outside the atlas or in an unlabelled voxel).
  int group_at(const Vec3& world_mm) const;
  // The group holding most lesion voxels of `mask` (ties: the lower group number).
  TerritoryHit territory(const LabelVolume& mask) const;
  const LabelVolume& labels() const { return labels_; }

 private:
  LabelVolume labels_;
  std::vector<int> region_group_;
  Mat4 world_to_voxel_;
};

}  // namespace pn::data
