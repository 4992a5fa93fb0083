#include "data/phantom_database.h"

#include <filesystem>

#include "autograd/error.h"
#include "data/atlas_subject.h"
#include "data/nifti_io.h"

namespace pn::data {
namespace fs = std::filesystem;

PhantomSubject make_database_subject(const PhantomDatabaseOptions& opt, int64_t index, bool stroke) {
  const uint64_t seed = phantom_subject_seed(opt.seed, index, stroke);
  LabelVolume lesion;
  if (stroke && opt.lesion_source)
    lesion = opt.lesion_source(index, seed, opt.atlas ? atlas_subject_grid(opt.phantom) : phantom_grid(opt.phantom));
  const LabelVolume* given = lesion.numel() > 0 ? &lesion : nullptr;
  return opt.atlas ? make_atlas_subject(*opt.atlas, opt.phantom, seed, stroke, given)
                   : make_phantom_subject(opt.phantom, seed, stroke, given);
}

void write_phantom_database(const PhantomDatabaseOptions& opt, const PhantomVisitor& visit) {
  PN_CHECK(opt.healthy >= 0 && opt.stroke >= 0, "phantom database: negative subject counts ({} healthy, {} stroke)",
           opt.healthy, opt.stroke);
  for (const bool stroke : {false, true}) {
    const int n = stroke ? opt.stroke : opt.healthy;
    if (n == 0) continue;
    const fs::path dir = fs::path(opt.out) / (stroke ? "stroke" : "healthy");
    std::error_code ec;
    fs::create_directories(dir, ec);
    PN_CHECK(!ec, "{}: cannot create the folder: {}", dir.string(), ec.message());
    for (int i = 0; i < n; ++i) {
      PhantomSubject s = make_database_subject(opt, i, stroke);
      const std::string id = fmt::format("{}{:04d}", stroke ? "stroke" : "healthy", i);
      const std::string base = (dir / id).string() + "_";
      write_nifti(s.image, base + opt.suffixes.image + ".nii.gz");
      write_labels(s.mask, base + opt.suffixes.mask + ".nii.gz");
      write_labels(s.labels, base + opt.suffixes.labels + ".nii.gz");
      if (visit) visit(id, stroke, s);
    }
  }
}

}  // namespace pn::data
