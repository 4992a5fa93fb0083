// Writes phantom subjects to disk in the folder-of-pairs layout, as two databases:
//   <out>/healthy/healthyNNNN_<image|mask|labels>.nii.gz  (masks all zero)
//   <out>/stroke/strokeNNNN_<image|mask|labels>.nii.gz
// Subject i of each database uses phantom_subject_seed(seed, i, stroke), so a database
// can grow without changing the subjects already in it.
// Anatomy: procedural (the analytic phantom, the default) or an atlas (ICBM152-derived,
// data/atlas_subject.h, on the MNI study grid). Lesions of stroke subjects: the procedural
// blobs, or masks from a lesion source (e.g. real SOOP masks moved onto the subject grid).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "data/atlas_anatomy.h"
#include "data/folder_dataset.h"
#include "data/phantom.h"

namespace pn::data {

// A lesion mask (non-zero = lesion) on `grid` for stroke subject `subject_index`, whose
// subject seed is `seed`; an empty volume or all zeros = the procedural lesions.
using LesionSource = std::function<LabelVolume(int64_t subject_index, uint64_t seed, const Grid& grid)>;

struct PhantomDatabaseOptions {
  std::string out;
  int healthy = 8, stroke = 8;
  uint64_t seed = 1;
  PhantomOptions phantom;
  PairSuffixes suffixes;
  // The anatomy: null = procedural; else atlas subjects from this anatomy (loaded once by
  // the caller, shared by all subjects, e.g. shared_icbm152_anatomy()).
  std::shared_ptr<const AtlasAnatomy> atlas;
  // Lesions for stroke subjects; unset = procedural.
  LesionSource lesion_source;
};

// Subject `index` of a database (what write_phantom_database writes), in memory.
PhantomSubject make_database_subject(const PhantomDatabaseOptions& opt, int64_t index, bool stroke);

// Called after each subject with its case id ("stroke0003") and the subject itself.
using PhantomVisitor = std::function<void(const std::string& id, bool stroke, PhantomSubject& subject)>;

void write_phantom_database(const PhantomDatabaseOptions& opt, const PhantomVisitor& visit = {});

}  // namespace pn::data
