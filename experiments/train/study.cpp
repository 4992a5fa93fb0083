#include "experiments/train/study.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "data/dataset_layout.h"
#include "data/folder_dataset.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/phantom_database.h"
#include "experiments/run/compute_device.h"
#include "experiments/config/config_validate.h"
#include "experiments/config/dataset_config.h"
#include "experiments/train/lesion_eval.h"
#include "experiments/train/lesion_sources.h"
#include "experiments/train/maskgan_training.h"
#include "experiments/run/progress.h"
#include "experiments/report/seeds_report.h"
#include "experiments/train/seg_training.h"
#include "experiments/config/study_plan.h"
#include "experiments/report/study_report.h"
#include "experiments/train/synthesis.h"
#include "experiments/train/translate_training.h"
#include "nn/communicator.h"
#include "nn/data_parallel.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// The phantom's subjects: --phantom-stroke split 4:1 into training and test subjects, then
// study.phantom_holdout held-out stroke subjects; study.phantom_holdout_free held-out
// lesion-free (healthy) subjects, then --phantom-healthy healthy label maps for synthesis.
struct PhantomCounts {
  int train = 0, test = 0, holdout = 0, holdout_free = 0, healthy = 0;
  std::string line() const {
    return fmt::format("subjects: train {}, test {}, held-out {} with and {} without lesions, healthy {}", train, test,
                       holdout, holdout_free, healthy);
  }
};
PhantomCounts phantom_counts(const Config& cfg, const StudyOptions& opt) {
  PN_CHECK(opt.phantom_stroke >= 2 && opt.phantom_healthy >= 1, "study: the phantom needs --phantom-stroke >= 2 and "
           "--phantom-healthy >= 1, got {} and {}", opt.phantom_stroke, opt.phantom_healthy);
  PhantomCounts n;
  n.train = opt.phantom_stroke * 4 / 5;
  n.test = opt.phantom_stroke - n.train;
  n.holdout = static_cast<int>(cfg.integer("study.phantom_holdout"));
  n.holdout_free = static_cast<int>(cfg.integer("study.phantom_holdout_free"));
  n.healthy = opt.phantom_healthy;
  return n;
}

// True when root already holds phantom data; refuses data written with other counts.
bool phantom_data_done(const fs::path& root, const PhantomCounts& counts) {
  if (!fs::exists(root / "DONE")) return false;
  std::ifstream in(root / "DONE");
  const std::string done{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  PN_CHECK(done.find("subjects:") == std::string::npos || done.find(counts.line()) != std::string::npos,
           "study: the phantom data in {} were written with other subject counts ({}); now {}. Restore the settings "
           "(--phantom-stroke, --phantom-healthy, study.phantom_holdout, study.phantom_holdout_free) or remove that "
           "folder and the runs trained on it", root.string(), done.substr(0, done.find('\n')), counts.line());
  return true;
}

// The phantom database on the study's grid, with ICBM152 anatomy per data.phantom_anatomy.
data::PhantomDatabaseOptions phantom_database(const Config& cfg) {
  const auto grid = cfg.integers("data.grid");
  const auto spacing = cfg.numbers("data.spacing");
  data::PhantomDatabaseOptions db;
  db.seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  db.phantom.size = {grid[2], grid[1], grid[0]};
  db.phantom.fov_mm = {grid[2] * spacing[2], grid[1] * spacing[1], grid[0] * spacing[0]};
  const std::string& anatomy = cfg.string("data.phantom_anatomy");
  if (anatomy != "procedural") db.atlas = data::shared_icbm152_anatomy();
  PN_CHECK(db.atlas || anatomy != "icbm152", "config: data.phantom_anatomy = icbm152: the provided data "
           "(shared/data/icbm152) is not at hand; set PENUMBRA_SHARED_DATA, or use auto or procedural");
  return db;
}

// Real lesions for the phantom's subjects: training subjects draw from the masks the mask
// GAN trains on (pools[0]), test and held-out subjects from those held out from it (pools[1]).
struct PhantomLesions {
  data::LesionSet set;
  std::vector<size_t> pools[2];
};

// Makes db draw its lesions from `lesions` (which must outlive db's use).
void use_real_lesions(data::PhantomDatabaseOptions& db, const PhantomLesions& lesions, int n_train) {
  const uint64_t seed = db.seed;
  db.lesion_source = [&lesions, n_train, seed](int64_t index, uint64_t, const data::Grid& g) {
    const bool train = index < n_train;
    const auto& pool = lesions.pools[train ? 0 : 1];
    const int64_t k = train ? index : index - n_train;
    // A seeded permutation of the pool: distinct subjects get distinct lesions.
    const auto order = nn::epoch_order(static_cast<int64_t>(pool.size()), seed, 1 + k / static_cast<int64_t>(pool.size()));
    const auto& m = lesions.set.masks[pool[static_cast<size_t>(order[static_cast<size_t>(k) % pool.size()])]];
    PN_CHECK(g.dims == lesions.set.grid.dims, "study: phantom grid and lesion grid differ");
    return data::mask_from_voxels(g, m.voxels);
  };
}

// Every subject's image, mask and label map into its split's folder.
void write_phantom_subjects(const Config& cfg, const data::PhantomDatabaseOptions& db, const fs::path& root,
                            const PhantomCounts& counts) {
  const auto sfx = seg_suffixes(cfg);
  const int n_train = counts.train, n_test = counts.test;
  const int n_stroke = n_train + n_test + counts.holdout, n_healthy = counts.holdout_free + counts.healthy;
  cli::Progress prog("phantom data", n_stroke + n_healthy, "subject");
  for (int kind = 0; kind < 2; ++kind) {
    const bool stroke = kind == 0;
    const int n = stroke ? n_stroke : n_healthy;
    for (int i = 0; i < n; ++i) {
      const char* split = stroke ? (i < n_train ? "clinical/train" : i < n_train + n_test ? "clinical/test" : "clinical/holdout")
                                 : (i < counts.holdout_free ? "clinical/holdout" : "healthy");
      fs::create_directories(root / split);
      auto s = data::make_database_subject(db, i, stroke);
      const std::string base = (root / split / fmt::format("{}{:04d}", stroke ? "stroke" : "healthy", i)).string();
      data::write_nifti(s.image, base + "_" + sfx.image + ".nii.gz");
      data::write_labels(s.mask, base + "_" + sfx.mask + ".nii.gz");
      data::write_labels(s.labels, base + "_" + sfx.labels + ".nii.gz");
      prog.advance(1, split);
    }
  }
  prog.finish();
}

// Phantom subjects written directly on the study's grid (no resampling when loading), in
// the splits of PhantomCounts; the counts are kept in DONE, and data written with other
// counts are refused rather than silently reused. Anatomy and lesions per
// data.phantom_anatomy and data.phantom_lesions: with the provided data, ICBM152 label maps
// and real SOOP lesions; else procedural.
void write_phantom_data(const Config& cfg, const fs::path& root, const StudyOptions& opt) {
  const PhantomCounts counts = phantom_counts(cfg, opt);
  if (phantom_data_done(root, counts)) return;
  data::PhantomDatabaseOptions db = phantom_database(cfg);
  const LesionSourceSpec spec = resolve_lesion_source("data.phantom_lesions", cfg.string("data.phantom_lesions"), "procedural");
  PhantomLesions lesions;
  if (spec.real()) {
    lesions.set = load_lesion_source(spec, study_mni_grid(cfg), lesion_set_options(cfg, cfg.integer("maskgan.min_lesion_voxels")));
    lesions.pools[0] = lesions.set.train();
    lesions.pools[1] = lesions.set.held_out().empty() ? lesions.pools[0] : lesions.set.held_out();
    PN_CHECK(!lesions.pools[0].empty(), "study: {} holds no mask for the phantom's training subjects", spec.description);
    use_real_lesions(db, lesions, counts.train);
  }
  const std::string about = fmt::format("anatomy: {}; lesions: {}",
                                        db.atlas ? fmt::format("ICBM152 template label maps ({}) with random smooth "
                                                               "deformations, on the study grid in MNI space", db.atlas->source)
                                                 : std::string("procedural phantom (no shared/data/icbm152)"),
                                        spec.real() ? spec.description : std::string("procedural blobs"));
  std::printf("phantom data: %s\n", about.c_str());
  write_phantom_subjects(cfg, db, root, counts);
  // Three training subjects for the report: image with lesion outline, label map.
  std::vector<data::PhantomSubject> shown;
  for (int i = 0; i < 3 && i < counts.train; ++i) shown.push_back(data::make_database_subject(db, i, true));
  std::vector<data::MontageCase> cases;
  for (const auto& s : shown) cases.push_back({&s.image, &s.labels, &s.mask});
  data::write_montage_png((root / "montage.png").string(), cases);
  nn::write_file_atomic((root / "about.txt").string(), about + "\n");
  nn::write_file_atomic((root / "DONE").string(), counts.line() + "\nphantom data for the study\n");
}

// Every segmentation experiment needs at least a global batch of training volumes (the
// training loop refuses fewer): checked before anything trains, not hours into the study.
void check_segmentation_batches(const Config& cfg, const std::vector<SegmentExperiment>& grid, int ranks) {
  const auto clinical = static_cast<int64_t>(data::scan_dataset(dataset_spec(cfg, cfg.string("data.train_dir"))).cases.size());
  const int64_t synthetic = cfg.integer("synthesize.count"), batch = cfg.integer("segment.batch");
  for (const auto& e : grid) {
    const int64_t n = (e.clinical ? (e.clinical_cases > 0 ? std::min(e.clinical_cases, clinical) : clinical) : 0) +
                      (e.synthetic.empty() ? 0 : synthetic);
    PN_CHECK(n >= batch * ranks, "study: {} would train on {} volumes, fewer than the global batch, {} rank(s) x "
             "segment.batch {} = {}. Use fewer ranks, a smaller segment.batch, or more cases "
             "(segment.finetune_cases)", e.name, n, ranks, batch, batch * ranks);
  }
}

// One step of the plan, in its run folder `dir` (resumed, or skipped when done).
void run_step(const Config& cfg, const StudyStep& step, const std::vector<SegmentExperiment>& grid, const fs::path& dir,
              const ComputeDevice& where) {
  const fs::path root = cfg.string("run.root");
  const bool root_rank = nn::world_communicator()->is_root();
  RunDirOptions ro;
  ro.out = dir.string();
  switch (step.kind) {
    case StepKind::MaskGan:
      maskgan_train(cfg, ro);
      if (root_rank && !fs::exists(dir / "samples" / "montage.png"))
        maskgan_sample(dir.string(), (dir / "samples").string(), cfg.integer("maskgan.samples"),
                       static_cast<uint64_t>(cfg.integer("run.seed")) + 3, where.device);
      if (root_rank && !fs::exists(dir / "evaluation" / "lesion_comparison.md")) {
        std::printf("maskgan: comparing %lld generated masks with held-out real ones\n",
                    (long long)cfg.integer("maskgan.eval_samples"));
        write_lesion_comparison(compare_generated_lesions(dir.string(), cfg.integer("maskgan.eval_samples"),
                                                          static_cast<uint64_t>(cfg.integer("run.seed")) + 5,
                                                          where.device),
                                dir / "evaluation");
      }
      break;
    case StepKind::Translate: translate_train(cfg, step.model, ro); break;
    case StepKind::Synthesize:
      if (root_rank && !fs::exists(dir / "DONE")) {
        synthesize(cfg, (root / "maskgan").string(), (root / ("translate-" + step.model)).string(), dir.string(), 0,
                   where.device);
        nn::write_file_atomic((dir / "DONE").string(), "synthetic database\n");
      }
      nn::world_communicator()->barrier();
      break;
    case StepKind::Segment: {
      const auto it = std::find_if(grid.begin(), grid.end(), [&](const SegmentExperiment& e) { return e.name == step.model; });
      PN_CHECK(it != grid.end(), "study: no segmentation experiment named {}", step.model);
      SegExperiment e;
      e.clinical = it->clinical;
      e.clinical_cases = it->clinical_cases;
      if (!it->synthetic.empty()) e.synthetic_dir = (root / ("synth-" + it->synthetic)).string();
      if (!it->finetune_from.empty()) e.init_from = (root / it->finetune_from).string();
      e.epochs_key = it->epochs_key;
      Config ec = cfg;  // the run's own config.toml records the loss it trained with
      if (!it->loss.empty()) ec.set("segment.loss=" + it->loss);
      segment_train(ec, ro, e);
      break;
    }
  }
}

// One pass of the plan under cfg's run.root and run.seed (data.* already resolved), and its
// report. `phantom` is the phantom data's folder ("" when real data are used).
fs::path run_plan(const Config& cfg, const fs::path& phantom, const ComputeDevice& where) {
  const fs::path root = cfg.string("run.root");
  const bool root_rank = nn::world_communicator()->is_root();
  if (root_rank) {
    fs::create_directories(root);
    nn::write_file_atomic((root / "devices.txt").string(), where.summary + "\n");
    if (!phantom.empty() && fs::exists(phantom / "about.txt") && phantom != root / "phantom")
      fs::copy_file(phantom / "about.txt", root / "phantom_about.txt", fs::copy_options::overwrite_existing);
  }
  const auto plan = study_plan(cfg);
  const auto grid = segmentation_grid(cfg);
  check_segmentation_batches(cfg, grid, nn::world_communicator()->size());
  int index = 0;
  for (const auto& step : plan) {
    ++index;
    const fs::path dir = root / step.name;
    if (root_rank) std::printf("\n=== study step %d/%zu: %s (seed %lld)\n", index, plan.size(), step.name.c_str(),
                               (long long)cfg.integer("run.seed"));
    run_step(cfg, step, grid, dir, where);
  }
  fs::path report;
  if (root_rank) {
    std::vector<ReportImage> images;
    auto add = [&](const fs::path& p, const std::string& caption) {
      if (fs::exists(p)) images.push_back({caption, p});
    };
    if (!phantom.empty())
      add(phantom / "montage.png", "Phantom training subjects: image with the lesion outline (red), label map");
    add(root / "maskgan" / "samples" / "montage.png",
        "Mask GAN samples: the generator's output in grey, the thresholded mask's outline in red");
    for (const auto& step : plan)
      if (step.kind == StepKind::Synthesize)
        add(root / step.name / "montage.png",
            fmt::format("Synthetic database ({}): translated image with the GAN lesion (red), label map", step.model));
    for (const auto& e : grid)
      add(root / e.name / "heldout_montage.png",
          fmt::format("Held-out segmentations, {}: truth red, prediction green, yellow where they meet", e.title));
    report = write_study_report(cfg, root, root / "report", images);
  }
  return report;
}

}  // namespace

fs::path run_study(const Config& cfg_in, const StudyOptions& opt) {
  check_unet_grid(cfg_in);  // before the GANs' hours, not at the first segmentation
  Config cfg = cfg_in;
  const fs::path root = cfg.string("run.root");
  const auto start = std::chrono::steady_clock::now();
  const bool root_rank = nn::world_communicator()->is_root();
  fs::path phantom;
  // Phantom data when data.train_dir does not exist, or when it is this study's own phantom
  // (a resumed study whose run.root is written another way, e.g. /abs/path/runs for runs).
  std::error_code ec;
  const bool own_phantom = fs::equivalent(cfg.string("data.train_dir"), root / "phantom" / "clinical/train", ec);
  if (!fs::is_directory(cfg.string("data.train_dir")) || own_phantom) {
    PN_CHECK(opt.phantom, "study: data.train_dir {} does not exist (and phantom data is off)",
             cfg.string("data.train_dir"));
    phantom = root / "phantom";
    if (root_rank) {
      std::printf("study: no data at %s: writing a phantom database to %s\n", cfg.string("data.train_dir").c_str(),
                  phantom.c_str());
      write_phantom_data(cfg, phantom, opt);
    }
    nn::world_communicator()->barrier();
    for (const auto& [key, dir] : {std::pair<const char*, fs::path>{"data.train_dir", phantom / "clinical/train"},
                                   {"data.test_dir", phantom / "clinical/test"},
                                   {"data.holdout_dir", phantom / "clinical/holdout"},
                                   {"data.healthy_dir", phantom / "healthy"}})
      cfg.set(fmt::format("{}={}", key, dir.string()));
  }
  // Where every rank computes (run.device; each trainer selects it the same way): the
  // sampling, evaluation and synthesis steps run there too, and the report says it.
  const ComputeDevice where = select_device(cfg, *nn::world_communicator());
  if (root_rank) std::printf("study: computing on %s\n", where.summary.c_str());
  // study.seeds = 1: the plan under run.root. N > 1: the plan N times, with run.seed, +1, ...,
  // under run.root/seed-<s>, on the same data, then the report across seeds.
  const int64_t seeds = cfg.integer("study.seeds"), first_seed = cfg.integer("run.seed");
  fs::path report;
  if (seeds == 1) {
    report = run_plan(cfg, phantom, where);
  } else {
    std::vector<SeedRun> runs;
    for (int64_t k = 0; k < seeds; ++k) {
      Config sc = cfg;
      const int64_t seed = first_seed + k;
      sc.set(fmt::format("run.seed={}", seed));
      sc.set("study.seeds=1");  // each seed's runs are one pass: resumable whatever N is later
      sc.set(fmt::format("run.root={}", (root / fmt::format("seed-{}", seed)).string()));
      if (root_rank) std::printf("\n##### study: seed %lld (%lld of %lld)\n", (long long)seed, (long long)k + 1, (long long)seeds);
      runs.push_back({seed, sc.string("run.root"), run_plan(sc, phantom, where)});
    }
    if (root_rank) report = write_seeds_report(cfg, runs, root / "report");
  }
  if (root_rank) {
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    std::printf("\nstudy finished in %.1f min; report: %s\n", minutes, report.c_str());
  }
  return report;
}

}  // namespace pn::experiments
