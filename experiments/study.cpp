#include "experiments/study.h"

#include <chrono>
#include <cstdio>

#include "data/folder_dataset.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/phantom_database.h"
#include "experiments/compute_device.h"
#include "experiments/lesion_eval.h"
#include "experiments/lesion_sources.h"
#include "experiments/maskgan_training.h"
#include "experiments/progress.h"
#include "experiments/seg_training.h"
#include "experiments/study_plan.h"
#include "experiments/study_report.h"
#include "experiments/synthesis.h"
#include "experiments/translate_training.h"
#include "nn/communicator.h"
#include "nn/data_parallel.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// Phantom subjects written directly on the study's grid (no resampling when loading):
// stroke subjects split 2/3 train, 1/6 test, 1/6 held out; healthy ones are the label maps
// for synthesis, except 4 held out as lesion-free cases. Anatomy and lesions per
// data.phantom_anatomy and data.phantom_lesions: with the provided data, ICBM152 label maps
// and real SOOP lesions (training subjects draw from the masks the mask GAN trains on,
// test and held-out subjects from the masks held out from it); else procedural.
void write_phantom_data(const Config& cfg, const fs::path& root, const StudyOptions& opt) {
  if (fs::exists(root / "DONE")) return;
  const auto grid = cfg.integers("data.grid");
  const auto spacing = cfg.numbers("data.spacing");
  const uint64_t seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  data::PhantomDatabaseOptions db;
  db.seed = seed;
  db.phantom.size = {grid[2], grid[1], grid[0]};
  db.phantom.fov_mm = {grid[2] * spacing[2], grid[1] * spacing[1], grid[0] * spacing[0]};
  const std::string& anatomy = cfg.string("data.phantom_anatomy");
  if (anatomy != "procedural") db.atlas = data::shared_icbm152_anatomy();
  PN_CHECK(db.atlas || anatomy != "icbm152", "config: data.phantom_anatomy = icbm152: the provided data "
           "(shared/data/icbm152) is not at hand; set PENUMBRA_SHARED_DATA, or use auto or procedural");
  const int n_train = opt.phantom_stroke * 2 / 3, n_test = (opt.phantom_stroke - n_train) / 2;

  const LesionSourceSpec spec = resolve_lesion_source("data.phantom_lesions", cfg.string("data.phantom_lesions"), "procedural");
  data::LesionSet set;
  std::vector<size_t> pools[2];  // [0] for training subjects, [1] for test and held-out ones
  if (spec.real()) {
    set = load_lesion_source(spec, study_mni_grid(cfg), lesion_set_options(cfg, cfg.integer("maskgan.min_lesion_voxels")));
    pools[0] = set.train();
    pools[1] = set.held_out().empty() ? pools[0] : set.held_out();
    PN_CHECK(!pools[0].empty(), "study: {} holds no mask for the phantom's training subjects", spec.description);
    db.lesion_source = [&](int64_t index, uint64_t, const data::Grid& g) {
      const bool train = index < n_train;
      const auto& pool = pools[train ? 0 : 1];
      const int64_t k = train ? index : index - n_train;
      // A seeded permutation of the pool: distinct subjects get distinct lesions.
      const auto order = nn::epoch_order(static_cast<int64_t>(pool.size()), seed, 1 + k / static_cast<int64_t>(pool.size()));
      const auto& m = set.masks[pool[static_cast<size_t>(order[static_cast<size_t>(k) % pool.size()])]];
      PN_CHECK(g.dims == set.grid.dims, "study: phantom grid and lesion grid differ");
      return data::mask_from_voxels(g, m.voxels);
    };
  }
  const std::string about = fmt::format("anatomy: {}; lesions: {}",
                                        db.atlas ? fmt::format("ICBM152 template label maps ({}) with random smooth "
                                                               "deformations, on the study grid in MNI space", db.atlas->source)
                                                 : std::string("procedural phantom (no shared/data/icbm152)"),
                                        spec.real() ? spec.description : std::string("procedural blobs"));
  std::printf("phantom data: %s\n", about.c_str());

  const auto sfx = seg_suffixes(cfg);
  cli::Progress prog("phantom data", opt.phantom_stroke + opt.phantom_healthy, "subject");
  for (int kind = 0; kind < 2; ++kind) {
    const bool stroke = kind == 0;
    const int n = stroke ? opt.phantom_stroke : opt.phantom_healthy;
    for (int i = 0; i < n; ++i) {
      const char* split = stroke ? (i < n_train ? "clinical/train" : i < n_train + n_test ? "clinical/test" : "clinical/holdout")
                                 : (i < 4 ? "clinical/holdout" : "healthy");
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
  // Three training subjects for the report: image with lesion outline, label map.
  std::vector<data::PhantomSubject> shown;
  for (int i = 0; i < 3 && i < n_train; ++i) shown.push_back(data::make_database_subject(db, i, true));
  std::vector<data::MontageCase> cases;
  for (const auto& s : shown) cases.push_back({&s.image, &s.labels, &s.mask});
  data::write_montage_png((root / "montage.png").string(), cases);
  nn::write_file_atomic((root / "about.txt").string(), about + "\n");
  nn::write_file_atomic((root / "DONE").string(), "phantom data for the study\n");
}

// Every segmentation experiment needs at least a global batch of training volumes (the
// training loop refuses fewer): checked before anything trains, not hours into the study.
void check_segmentation_batches(const Config& cfg, const std::vector<SegmentExperiment>& grid, int ranks) {
  const auto clinical = static_cast<int64_t>(data::scan_folder(cfg.string("data.train_dir"), seg_suffixes(cfg)).cases.size());
  const int64_t synthetic = cfg.integer("synthesize.count"), batch = cfg.integer("segment.batch");
  for (const auto& e : grid) {
    const int64_t n = (e.clinical ? (e.clinical_cases > 0 ? std::min(e.clinical_cases, clinical) : clinical) : 0) +
                      (e.synthetic.empty() ? 0 : synthetic);
    PN_CHECK(n >= batch * ranks, "study: {} would train on {} volumes, fewer than the global batch, {} rank(s) x "
             "segment.batch {} = {}. Use fewer ranks, a smaller segment.batch, or more cases "
             "(segment.finetune_cases)", e.name, n, ranks, batch, batch * ranks);
  }
}

}  // namespace

fs::path run_study(const Config& cfg_in, const StudyOptions& opt) {
  Config cfg = cfg_in;
  const fs::path root = cfg.string("run.root");
  const auto start = std::chrono::steady_clock::now();
  const bool root_rank = nn::world_communicator()->is_root();
  if (!fs::is_directory(cfg.string("data.train_dir"))) {
    PN_CHECK(opt.phantom, "study: data.train_dir {} does not exist (and phantom data is off)",
             cfg.string("data.train_dir"));
    const fs::path ph = root / "phantom";
    if (root_rank) {
      std::printf("study: no data at %s: writing a phantom database to %s\n", cfg.string("data.train_dir").c_str(),
                  ph.c_str());
      write_phantom_data(cfg, ph, opt);
    }
    nn::world_communicator()->barrier();
    for (const auto& [key, dir] : {std::pair<const char*, fs::path>{"data.train_dir", ph / "clinical/train"},
                                   {"data.test_dir", ph / "clinical/test"},
                                   {"data.holdout_dir", ph / "clinical/holdout"},
                                   {"data.healthy_dir", ph / "healthy"}})
      cfg.set(fmt::format("{}={}", key, dir.string()));
  }
  // Where every rank computes (run.device; each trainer selects it the same way): the
  // sampling, evaluation and synthesis steps run there too, and the report says it.
  const ComputeDevice where = select_device(cfg, *nn::world_communicator());
  if (root_rank) {
    std::printf("study: computing on %s\n", where.summary.c_str());
    fs::create_directories(root);
    nn::write_file_atomic((root / "devices.txt").string(), where.summary + "\n");
  }
  const auto plan = study_plan(cfg);
  const auto grid = segmentation_grid(cfg);
  check_segmentation_batches(cfg, grid, nn::world_communicator()->size());
  int index = 0;
  for (const auto& step : plan) {
    ++index;
    const fs::path dir = root / step.name;
    if (root_rank) std::printf("\n=== study step %d/%zu: %s\n", index, plan.size(), step.name.c_str());
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
        segment_train(cfg, ro, e);
        break;
      }
    }
  }
  fs::path report;
  if (root_rank) {
    std::vector<ReportImage> images;
    auto add = [&](const fs::path& p, const std::string& caption) {
      if (fs::exists(p)) images.push_back({caption, p});
    };
    add(root / "phantom" / "montage.png", "Phantom training subjects: image with the lesion outline (red), label map");
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
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    std::printf("\nstudy finished in %.1f min; report: %s\n", minutes, report.c_str());
  }
  return report;
}

}  // namespace pn::experiments
