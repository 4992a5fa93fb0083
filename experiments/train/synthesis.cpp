#include "experiments/train/synthesis.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/lesion_insertion.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "experiments/run/csv_table.h"
#include "experiments/train/maskgan_training.h"
#include "experiments/run/progress.h"
#include "experiments/train/seg_training.h"
#include "experiments/train/translate_training.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// The healthy label maps `<case>_<labels>.nii(.gz)` of data.healthy_dir, sorted.
std::vector<fs::path> healthy_label_maps(const Config& cfg, const std::string& labels_suffix) {
  const std::string healthy_dir = cfg.string("data.healthy_dir");
  std::vector<fs::path> maps;
  PN_CHECK(fs::is_directory(healthy_dir), "synthesize: data.healthy_dir {} is not a folder", healthy_dir);
  for (const auto& e : fs::directory_iterator(healthy_dir))
    if (e.path().filename().string().find("_" + labels_suffix + ".nii") != std::string::npos) maps.push_back(e.path());
  std::sort(maps.begin(), maps.end());
  PN_CHECK(!maps.empty(), "synthesize: no `<case>_{}.nii(.gz)` label maps in {}", labels_suffix, healthy_dir);
  return maps;
}

// "keep": the lesion stays where the GAN put it (a GAN trained on masks in MNI space knows
// where strokes occur); "tissue": a random shift into brain tissue.
data::LesionInsertOptions insert_options(const Config& cfg) {
  data::LesionInsertOptions insert_opt;
  const std::string& placement = cfg.string("synthesize.placement");
  PN_CHECK(placement == "tissue" || placement == "keep", "synthesize: synthesize.placement = {} is not tissue or keep",
           placement);
  insert_opt.placement = placement == "keep" ? data::LesionPlacement::Keep : data::LesionPlacement::RandomShift;
  return insert_opt;
}

// The non-empty GAN lesions and the draw number of each (for the manifest).
struct DrawnLesions {
  std::vector<data::LabelVolume> masks;
  std::vector<int64_t> draw_of;
  int64_t drawn = 0;
};

// GAN lesions, drawn in rounds until count + 16 of them are non-empty (a sample can be
// thresholded away entirely); at most 20 rounds, then the ones found are reused in turn.
DrawnLesions draw_lesions(const std::string& maskgan_run, int64_t count, uint64_t seed, Device device) {
  DrawnLesions d;
  for (uint64_t round = 0; round < 20 && static_cast<int64_t>(d.masks.size()) < count + 16; ++round)
    for (auto& m : maskgan_generate(maskgan_run, count + 16, seed + 7 + round, nullptr, 6, device)) {
      if (std::any_of(m.data.begin(), m.data.end(), [](int32_t v) { return v != 0; })) {
        d.masks.push_back(std::move(m));
        d.draw_of.push_back(d.drawn);
      }
      ++d.drawn;
    }
  PN_CHECK(!d.masks.empty(), "synthesize: all {} masks drawn from the mask GAN of {} are empty (train it longer, or "
           "lower maskgan.threshold, or cut below each mask's peak with maskgan.peak_cut > 0)", d.drawn, maskgan_run);
  if (static_cast<int64_t>(d.masks.size()) < count)
    std::fprintf(stderr, "synthesize: warning: only %zu of %lld GAN masks are non-empty; %lld volumes reuse them in turn\n",
                 d.masks.size(), (long long)d.drawn, (long long)count);
  else
    std::printf("synthesize: %zu non-empty GAN masks in %lld draws\n", d.masks.size(), (long long)d.drawn);
  return d;
}

// Inserts the next GAN lesion (from `next` on) that lands in tissue into healthy; after a
// full turn, the last one tried. Sets `used` to the lesion taken.
data::LesionInsertResult insert_next_lesion(const data::LabelVolume& healthy, const std::vector<data::LabelVolume>& lesions,
                                            size_t next, const data::LesionInsertOptions& opt, uint64_t seed, size_t& used) {
  data::LesionInsertResult ins;
  used = next % lesions.size();
  for (size_t t = 0; t < lesions.size(); ++t) {
    used = (next + t) % lesions.size();
    PN_CHECK(lesions[used].dims == healthy.dims, "synthesize: GAN masks are {}x{}x{} but the study grid is {}x{}x{}",
             lesions[used].dims[0], lesions[used].dims[1], lesions[used].dims[2], healthy.dims[0], healthy.dims[1],
             healthy.dims[2]);
    ins = data::insert_lesion(healthy, lesions[used], opt, seed);
    if (ins.inserted > 0) break;
  }
  return ins;
}

}  // namespace

SynthesisResult synthesize(const Config& cfg, const std::string& maskgan_run, const std::string& translate_run,
                           const std::string& out_dir, int64_t count, Device device) {
  if (count <= 0) count = cfg.integer("synthesize.count");
  const auto sfx = seg_suffixes(cfg);
  const std::vector<fs::path> maps = healthy_label_maps(cfg, sfx.labels);
  const data::LesionInsertOptions insert_opt = insert_options(cfg);
  const uint64_t seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  TrainedTranslator translator(translate_run, seed, device);
  const DrawnLesions lesions = draw_lesions(maskgan_run, count, seed, device);
  fs::create_directories(out_dir);
  CsvAppender manifest((fs::path(out_dir) / "manifest.csv").string(),
                       {"case", "healthy_map", "lesion_sample", "model", "lesion_voxels", "dropped_voxels"});
  SynthesisResult r;
  size_t next_lesion = 0;
  struct Shown {
    data::Volume image;
    data::LabelVolume labels, mask;
  };
  std::vector<Shown> shown;  // the first volumes, for montage.png
  cli::Progress prog("synthesize", count, "volume");
  for (int64_t i = 0; i < count; ++i) {
    const fs::path& map_path = maps[static_cast<size_t>(i) % maps.size()];
    size_t used = 0;
    data::LesionInsertResult ins = insert_next_lesion(labels_on_study_grid(cfg, map_path.string()), lesions.masks,
                                                      next_lesion, insert_opt, seed + static_cast<uint64_t>(i), used);
    next_lesion = used + 1;
    const std::string id = fmt::format("syn{:05d}", i);
    const std::string base = (fs::path(out_dir) / id).string();
    data::Volume image = translator.generate(ins.labels);
    data::write_nifti(image, base + "_" + sfx.image + ".nii.gz");
    data::write_labels(ins.mask, base + "_" + sfx.mask + ".nii.gz");
    data::write_labels(ins.labels, base + "_" + sfx.labels + ".nii.gz");
    manifest.append(std::vector<std::string>{id, map_path.filename().string(), std::to_string(lesions.draw_of[used]),
                                             translator.model(), std::to_string(ins.inserted), std::to_string(ins.dropped)});
    if (shown.size() < 3) shown.push_back({std::move(image), std::move(ins.labels), std::move(ins.mask)});
    r.lesion_voxels += ins.inserted;
    r.dropped_voxels += ins.dropped;
    ++r.volumes;
    prog.advance(1, id);
  }
  prog.finish();
  std::vector<data::MontageCase> cases;
  for (const auto& v : shown) cases.push_back({&v.image, &v.labels, &v.mask});
  data::write_montage_png((fs::path(out_dir) / "montage.png").string(), cases);
  if (r.lesion_voxels == 0)
    std::fprintf(stderr, "synthesize: warning: no GAN lesion landed in brain tissue; the database has no lesions "
                         "(is the mask GAN trained long enough? see `maskgan sample`)\n");
  std::printf("synthesize: %lld volumes (%s) in %s; %lld lesion voxels inserted, %lld outside tissue dropped\n",
              (long long)r.volumes, translator.model().c_str(), out_dir.c_str(), (long long)r.lesion_voxels,
              (long long)r.dropped_voxels);
  return r;
}

}  // namespace pn::experiments
