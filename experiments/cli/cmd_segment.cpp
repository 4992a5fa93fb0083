// `penumbra segment`: the segmentation experiment (experiments/train/seg_training.h).
//   segment train   [--preset/--config/--set] [--out DIR] [--restart]
//   segment predict --run RUN_FOLDER --input DIR --out DIR [--device auto|cpu|cuda]
//   segment eval    --pred DIR --truth DIR [--layout auto] [--mask-suffix msk] [--write FILE.csv] [--resample]
// Training runs data parallel when launched by mpirun (one process per rank).
#include <cstdio>
#include <memory>

#include "experiments/cli/command.h"
#include "experiments/run/compute_device.h"
#include "data/dataset_layout.h"
#include "experiments/cli/config_cli.h"
#include "experiments/train/seg_training.h"

namespace pn::cli {
namespace {

void add_segment_train(CLI::App* grp) {
  auto* train = grp->add_subcommand("train", "Train (or resume) the U-Net with segment.loss (soft Dice by default) on data.train_dir; test Dice "
                                             "every epoch on data.test_dir; final held-out scores on data.holdout_dir");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto run = std::make_shared<experiments::RunDirOptions>();
  auto exp = std::make_shared<experiments::SegExperiment>();
  auto no_clinical = std::make_shared<bool>(false);
  experiments::add_config_options(train, *req);
  experiments::add_run_options(train, *run);
  train->add_option("--synthetic", exp->synthetic_dir, "a synthetic database (`synthesize`) pooled with the clinical "
                                                       "volumes")->check(CLI::ExistingDirectory);
  train->add_flag("--no-clinical", *no_clinical, "train on the synthetic database alone");
  train->add_option("--cases", exp->clinical_cases, "use only the first N clinical cases (by id)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--init", exp->init_from, "fine-tune: start from this run folder's final U-Net weights")
      ->check(CLI::ExistingDirectory);
  train->add_option("--epochs-key", exp->epochs_key, "config key holding the epochs (segment.epochs, "
                                                     "segment.epochs_synthetic, segment.epochs_small)")
      ->capture_default_str();
  train->callback([req, run, exp, no_clinical] {
    exp->clinical = !*no_clinical;
    auto r = experiments::segment_train(experiments::resolve_config(*req), *run, *exp);
    if (!r.run_dir.empty()) std::printf("run folder: %s\n", r.run_dir.c_str());
  });
}

void add_segment_predict(CLI::App* grp) {
  auto* predict = grp->add_subcommand("predict", "Write <case>_pred.nii.gz masks, on each input image's grid, with a "
                                                 "trained run's newest checkpoint, and predictions.csv (lesion volume "
                                                 "and components per case); images need no masks");
  auto p = std::make_shared<std::array<std::string, 4>>();
  predict->add_option("--run", (*p)[0], "run folder of `segment train`")->required()->check(CLI::ExistingDirectory);
  predict->add_option("--input", (*p)[1], "images: a folder of <case>_<image suffix> files or an ISLES 2022 folder "
                                          "(the run's data.layout)")->required()->check(CLI::ExistingDirectory);
  predict->add_option("--out", (*p)[2], "folder for the masks")->required();
  experiments::add_device_option(predict, (*p)[3]);
  predict->callback([p] {
    const Device device = experiments::select_device_for_run((*p)[0], (*p)[3], "segment predict");
    if (experiments::segment_predict((*p)[0], (*p)[1], (*p)[2], device) > 0) throw CLI::RuntimeError(1);
  });
}

void add_segment_eval(CLI::App* grp) {
  auto* eval = grp->add_subcommand("eval", "Score <case>_pred.nii.gz masks against a folder of truth masks: soft and hard "
                                           "Dice, precision, recall, volume difference, HD95 (mm), false-positive volume");
  auto e = std::make_shared<std::array<std::string, 3>>();
  auto sfx = std::make_shared<data::PairSuffixes>();
  auto layout = std::make_shared<std::string>("auto");
  auto resample = std::make_shared<bool>(false);
  eval->add_option("--pred", (*e)[0], "folder of <case>_pred.nii.gz")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--truth", (*e)[1], "truth: a folder of image/mask pairs or an ISLES 2022 folder")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--image-suffix", sfx->image, "truth images: <case>_<suffix>.nii.gz")->capture_default_str();
  eval->add_option("--mask-suffix", sfx->mask, "truth masks: <case>_<suffix>.nii.gz")->capture_default_str();
  eval->add_option("--layout", *layout, "truth folder layout: auto, pairs or isles2022")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "pairs", "isles2022"}));
  eval->add_flag("--resample", *resample, "resample a prediction on another (overlapping) world grid onto its "
                                          "truth's grid (nearest) instead of refusing it");
  (*e)[2] = "eval_metrics.csv";
  eval->add_option("--write", (*e)[2], "per-case metrics CSV (replaced, never appended to)")->capture_default_str();
  eval->callback([e, sfx, layout, resample] {
    data::DatasetSpec truth;
    truth.dir = (*e)[1];
    truth.layout = data::parse_layout(*layout);
    truth.suffixes = *sfx;
    experiments::segment_eval((*e)[0], truth, (*e)[2], *resample);
  });
}

void add_segment(CLI::App& app) {
  auto* grp = app.add_subcommand("segment", "The 3-D U-Net: train, predict masks, evaluate predictions");
  grp->require_subcommand(1);
  add_segment_train(grp);
  add_segment_predict(grp);
  add_segment_eval(grp);
}

}  // namespace

PN_REGISTER_COMMANDS("segment", 40, add_segment);

}  // namespace pn::cli
