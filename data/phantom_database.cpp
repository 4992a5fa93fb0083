#include "data/phantom_database.h"

#include <filesystem>

#include "autograd/error.h"
#include "data/nifti_io.h"

namespace pn::data {
namespace fs = std::filesystem;

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
      PhantomSubject s = make_phantom_subject(opt.phantom, phantom_subject_seed(opt.seed, i, stroke), stroke);
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
