// Writes phantom subjects to disk in the folder-of-pairs layout, as two databases:
//   <out>/healthy/healthyNNNN_<image|mask|labels>.nii.gz  (masks all zero)
//   <out>/stroke/strokeNNNN_<image|mask|labels>.nii.gz
// Subject i of each database uses phantom_subject_seed(seed, i, stroke), so a database
// can grow without changing the subjects already in it.
#pragma once
#include <functional>
#include <string>

#include "data/folder_dataset.h"
#include "data/phantom.h"

namespace pn::data {

struct PhantomDatabaseOptions {
  std::string out;
  int healthy = 8, stroke = 8;
  uint64_t seed = 1;
  PhantomOptions phantom;
  PairSuffixes suffixes;
};

// Called after each subject with its case id ("stroke0003") and the subject itself.
using PhantomVisitor = std::function<void(const std::string& id, bool stroke, PhantomSubject& subject)>;

void write_phantom_database(const PhantomDatabaseOptions& opt, const PhantomVisitor& visit = {});

}  // namespace pn::data
