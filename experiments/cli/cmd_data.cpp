// `penumbra data ...`: the data tools. `data phantom` writes a healthy and a stroke
// database of phantom subjects (folder-of-pairs layout) and a PNG montage of a few;
// `data check` reports on a dataset or a folder of lesion masks; `data montage` draws one.
#include <algorithm>
#include <filesystem>
#include <memory>

#include "autograd/error.h"
#include "data/dataset_check.h"
#include "data/dataset_layout.h"
#include "data/folder_dataset.h"
#include "data/lesion_check.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/phantom_database.h"
#include "experiments/cli/command.h"
#include "experiments/run/progress.h"

namespace pn::cli {
namespace {
namespace fs = std::filesystem;

struct PhantomCmd {
  std::string out = "phantom";
  int healthy = 8, stroke = 8, montage = 4;
  uint64_t seed = 1;
  std::vector<int64_t> size{128, 128, 32};
  std::string image_suffix = "dwi", mask_suffix = "msk", labels_suffix = "labels";
  std::string anatomy = "procedural";  // procedural | icbm152 | auto
};

int run_phantom(const PhantomCmd& o) {
  PN_CHECK(o.size.size() == 3, "data phantom: --size takes three numbers X,Y,Z");
  data::PhantomDatabaseOptions db;
  db.out = o.out;
  db.healthy = o.healthy;
  db.stroke = o.stroke;
  db.seed = o.seed;
  db.phantom.size = {o.size[0], o.size[1], o.size[2]};  // the field of view stays the study's
  db.suffixes = {o.image_suffix, o.mask_suffix, o.labels_suffix};
  // Anatomy: icbm152 needs the shared data; auto takes it when found, else procedural.
  if (o.anatomy != "procedural") db.atlas = data::shared_icbm152_anatomy();
  PN_CHECK(db.atlas || o.anatomy != "icbm152",
           "data phantom --anatomy icbm152: no shared/data/icbm152 found (set PENUMBRA_SHARED_DATA, or use auto)");
  std::printf("anatomy: %s\n", db.atlas ? fmt::format("ICBM152 atlas ({}), MNI study grid", db.atlas->source).c_str()
                                         : "procedural phantom");
  // The montage shows the first subjects of each database, half healthy if possible.
  const int want_healthy = std::min(o.healthy, o.montage / 2), want_stroke = o.montage - want_healthy;
  std::vector<data::PhantomSubject> shown;
  Progress prog("phantom", o.healthy + o.stroke, "subject");
  data::write_phantom_database(db, [&](const std::string& id, bool stroke, data::PhantomSubject& s) {
    const int index = std::stoi(id.substr(id.size() - 4));
    if (index < (stroke ? want_stroke : want_healthy)) shown.push_back(std::move(s));
    prog.advance(1, id);
  });
  prog.finish();
  if (!shown.empty()) {
    std::vector<data::MontageCase> cases;
    for (const auto& s : shown) cases.push_back({&s.image, &s.labels, &s.mask});
    const std::string png = (fs::path(o.out) / "montage.png").string();
    data::write_montage_png(png, cases);
    std::printf("montage: %s (%zu subjects)\n", png.c_str(), shown.size());
  }
  std::printf("wrote %d healthy and %d stroke subjects to %s/{healthy,stroke}\n", o.healthy, o.stroke, o.out.c_str());
  return 0;
}

struct CheckCmd {
  std::string path;
  data::PairSuffixes suffixes;
  std::string modality = "dwi";
  std::string layout = "auto";
  bool lesions = false;
  std::string lesion_suffix;
};

// A folder of lesion masks only: NIfTI files, no sub-folder, no `<case>_<image>` file.
bool looks_like_lesion_folder(const std::string& path, const std::string& image_suffix) {
  bool nifti = false;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory()) return false;
    if (n.ends_with("_" + image_suffix + ".nii") || n.ends_with("_" + image_suffix + ".nii.gz")) return false;
    nifti |= n.ends_with(".nii") || n.ends_with(".nii.gz");
  }
  return nifti;
}

int run_lesion_check(const CheckCmd& o) {
  const auto atlas = data::ArterialAtlas::find_shared();
  std::unique_ptr<Progress> prog;
  const auto r = data::check_lesion_folder(o.path, o.lesion_suffix, atlas ? &*atlas : nullptr, [&](size_t done, size_t total) {
    if (!prog) prog = std::make_unique<Progress>("lesion masks", static_cast<int64_t>(total), "mask");
    prog->advance(1);
    if (done == total) prog->finish();
  });
  std::printf("lesion mask folder\n%s%s\n", r.text().c_str(),
              r.problems.empty() ? "OK: no problems" : fmt::format("{} problem(s) in all", r.problems.size()).c_str());
  return r.problems.empty() ? 0 : 1;
}

// Checks `path`; a folder holding no NIfTI files but sub-folders (a phantom's healthy/ and
// stroke/) checks each sub-folder. Returns 1 when any problem was found.
int run_check(const CheckCmd& o) {
  const data::Layout layout = data::parse_layout(o.layout);
  if (o.lesions || (layout == data::Layout::Auto && looks_like_lesion_folder(o.path, o.suffixes.image)))
    return run_lesion_check(o);
  if (data::resolve_layout(o.path, layout) == data::Layout::Isles2022) {
    data::DatasetSpec spec{o.path, layout, o.suffixes, {o.modality}};
    const auto r = data::check_scan(data::scan_dataset(spec));
    std::printf("modality %s\n%s%s\n", o.modality.c_str(), r.text().c_str(),
                r.problems.empty() ? "OK: no problems" : fmt::format("{} problem(s) in all", r.problems.size()).c_str());
    return r.problems.empty() ? 0 : 1;
  }
  std::vector<std::string> dirs;
  bool has_nifti = false;
  std::error_code ec;
  if (fs::is_directory(o.path, ec))
    for (const auto& e : fs::directory_iterator(o.path, ec)) {
      const std::string n = e.path().filename().string();
      has_nifti |= n.ends_with(".nii") || n.ends_with(".nii.gz");
      if (e.is_directory()) dirs.push_back(e.path().string());
    }
  std::sort(dirs.begin(), dirs.end());
  if (has_nifti || dirs.empty()) dirs = {o.path};
  size_t problems = 0;
  for (const auto& d : dirs) {
    const auto r = data::check_scan(data::scan_dataset({.dir = d, .layout = layout, .suffixes = o.suffixes}));
    std::printf("%s", r.text().c_str());
    problems += r.problems.size();
  }
  std::printf("%s\n", problems == 0 ? "OK: no problems" : fmt::format("{} problem(s) in all", problems).c_str());
  return problems == 0 ? 0 : 1;
}

struct MontageCmd {
  std::string path, out = "montage.png";
  int cases = 4, slices = 8;
  std::string layout = "auto";
  data::PairSuffixes suffixes;
};

// A PNG of the first cases of a dataset (any layout): image with lesion outline, label map.
int run_montage(const MontageCmd& o) {
  const data::FolderDataset ds = data::open_dataset({.dir = o.path, .layout = data::parse_layout(o.layout), .suffixes = o.suffixes});
  std::printf("%s: %s, %zu case(s)\n", o.path.c_str(), ds.scan().layout_description.c_str(), ds.size());
  std::vector<data::Case> loaded;
  for (size_t i = 0; i < ds.size() && static_cast<int>(i) < o.cases; ++i) loaded.push_back(ds.load(i));
  std::vector<data::MontageCase> cases;
  for (const auto& c : loaded) cases.push_back({&c.image, c.labels ? &*c.labels : nullptr, &c.mask});
  data::write_montage_png(o.out, cases, o.slices);
  std::printf("montage: %s (%zu cases of %zu)\n", o.out.c_str(), loaded.size(), ds.size());
  return 0;
}

void add_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Data tools: phantom generation, dataset checks, montages");
  data->require_subcommand(1);
  auto* ph = data->add_subcommand("phantom", "Write a healthy and a stroke database of digital phantom subjects");
  auto o = std::make_shared<PhantomCmd>();
  ph->add_option("--out", o->out, "output folder (gets healthy/ and stroke/)")->capture_default_str();
  ph->add_option("--healthy", o->healthy, "healthy subjects")->capture_default_str()->check(CLI::NonNegativeNumber);
  ph->add_option("--stroke", o->stroke, "stroke subjects")->capture_default_str()->check(CLI::NonNegativeNumber);
  ph->add_option("--seed", o->seed, "random seed")->capture_default_str();
  ph->add_option("--size", o->size, "grid X,Y,Z (field of view stays 256x256x115.2 mm)")->delimiter(',')->expected(3)->capture_default_str();
  ph->add_option("--anatomy", o->anatomy, "procedural, icbm152 (shared data) or auto (icbm152 when found)")
      ->capture_default_str()
      ->check(CLI::IsMember({"procedural", "icbm152", "auto"}));
  ph->add_option("--montage", o->montage, "subjects in montage.png (0 = none)")->capture_default_str();
  ph->add_option("--image-suffix", o->image_suffix, "image file suffix")->capture_default_str();
  ph->add_option("--mask-suffix", o->mask_suffix, "mask file suffix")->capture_default_str();
  ph->add_option("--labels-suffix", o->labels_suffix, "label map file suffix")->capture_default_str();
  ph->callback([o] {
    if (int rc = run_phantom(*o)) throw CLI::RuntimeError(rc);
  });

  auto* ck = data->add_subcommand("check", "Read every case of a dataset (folder of pairs or ISLES 2022) and report grids, lesions and problems; "
                                  "or every mask of a folder of lesion masks (volumes, components, extents, hemispheres, "
                                  "vascular territories when shared/data's arterial atlas is found)");
  auto c = std::make_shared<CheckCmd>();
  ck->add_option("path", c->path, "dataset folder (or a folder of such folders)")->required();
  ck->add_option("--image-suffix", c->suffixes.image, "image file suffix")->capture_default_str();
  ck->add_option("--mask-suffix", c->suffixes.mask, "mask file suffix")->capture_default_str();
  ck->add_option("--labels-suffix", c->suffixes.labels, "label map file suffix")->capture_default_str();
  ck->add_option("--modality", c->modality, "ISLES 2022 layout: dwi, adc or flair (resampled onto the DWI grid)")
      ->capture_default_str();
  ck->add_option("--layout", c->layout, "auto (detected and named), pairs or isles2022")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "pairs", "isles2022"}));
  ck->add_flag("--lesions", c->lesions,
               "treat the folder as lesion masks only (automatic when it holds NIfTI files, no sub-folder and no "
               "<case>_<image-suffix> file, e.g. shared/data/soop/lesions)");
  ck->add_option("--lesion-suffix", c->lesion_suffix, "lesion masks: only files ending with this (default: any .nii/.nii.gz)");
  ck->callback([c] {
    if (int rc = run_check(*c)) throw CLI::RuntimeError(rc);
  });

  auto* mo = data->add_subcommand("montage", "PNG of a dataset's first cases: axial slices, lesion outline, label colours");
  auto m = std::make_shared<MontageCmd>();
  mo->add_option("path", m->path, "dataset folder (folder of pairs or ISLES 2022)")->required();
  mo->add_option("--layout", m->layout, "auto (detected), pairs or isles2022")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "pairs", "isles2022"}));
  mo->add_option("--out", m->out, "PNG file")->capture_default_str();
  mo->add_option("--cases", m->cases, "cases to show")->capture_default_str()->check(CLI::PositiveNumber);
  mo->add_option("--slices", m->slices, "slices per row")->capture_default_str()->check(CLI::PositiveNumber);
  mo->add_option("--image-suffix", m->suffixes.image, "image file suffix")->capture_default_str();
  mo->add_option("--mask-suffix", m->suffixes.mask, "mask file suffix")->capture_default_str();
  mo->add_option("--labels-suffix", m->suffixes.labels, "label map file suffix")->capture_default_str();
  mo->callback([m] {
    if (int rc = run_montage(*m)) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("data", 20, add_data);

}  // namespace pn::cli
