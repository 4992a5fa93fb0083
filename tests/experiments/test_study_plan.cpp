// The study plan: the paper's experiment grid from the config, in a runnable order.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "experiments/config/config_presets.h"
#include "experiments/config/study_plan.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;

TEST_CASE("the paper's grid: 3 translation models, 12 segmentation experiments") {
  Config c = load_preset("paper");
  auto models = translation_models(c);
  REQUIRE(models.size() == 3);
  CHECK(models[0].name == "pix2pix10");
  CHECK(models[1].name == "pix2pix100");
  CHECK(models[2].name == "spade");
  CHECK(models[1].l1_weight == 100.0);
  auto grid = segmentation_grid(c);
  // clinical; clinical + 3 synthetic; 3 synthetic only; pix2pix10 fine-tuned on 10 and 50; clinical on 10 and 50;
  // clinical with the dice_ce loss (study.loss_comparison).
  REQUIRE(grid.size() == 1 + 3 + 3 + 2 + 2 + 1);
  std::map<std::string, SegmentExperiment> by;
  for (const auto& e : grid) by[e.name] = e;
  CHECK(by.at("seg-clinical").epochs_key == "segment.epochs");
  CHECK(by.at("seg-clinical").clinical_cases == 0);
  CHECK(by.at("seg-clinical+spade").synthetic == "spade");
  CHECK(by.at("seg-clinical+spade").clinical);
  CHECK(by.at("seg-pix2pix100").epochs_key == "segment.epochs_synthetic");
  CHECK_FALSE(by.at("seg-pix2pix100").clinical);
  CHECK(by.at("seg-pix2pix10-ft10").finetune_from == "seg-pix2pix10");
  CHECK(by.at("seg-pix2pix10-ft50").clinical_cases == 50);
  CHECK(by.at("seg-pix2pix10-ft50").epochs_key == "segment.epochs_small");
  CHECK(by.at("seg-clinical-10").clinical_cases == 10);
  CHECK(by.at("seg-clinical-10").synthetic.empty());
  CHECK(by.at("seg-clinical-loss-dice_ce").loss == "dice_ce");
  CHECK(by.at("seg-clinical-loss-dice_ce").title == "clinical only, loss dice_ce");
  CHECK(by.at("seg-clinical-loss-dice_ce").epochs_key == "segment.epochs");
  CHECK(by.at("seg-clinical").loss.empty());
  for (const auto& e : grid) CHECK(c.has(e.epochs_key));
}

TEST_CASE("the plan runs every step after the steps it needs") {
  for (const char* preset : {"paper", "small", "medium"}) {
    INFO(preset);
    Config c = load_preset(preset);
    auto plan = study_plan(c);
    std::set<std::string> done;
    for (const auto& s : plan) {
      for (const auto& a : s.after) CHECK(done.count(a) == 1);
      CHECK(done.insert(s.name).second);
    }
    CHECK(plan.front().kind == StepKind::MaskGan);
    // The paper's 11 experiments and the loss comparison (paper: dice_ce; small: soft_dice and
    // batch_dice; medium: none, 18 steps in all).
    CHECK(std::count_if(plan.begin(), plan.end(), [](const StudyStep& s) { return s.kind == StepKind::Segment; }) ==
          11 + static_cast<long>(c.strings("study.loss_comparison").size()));
    auto synth = std::find_if(plan.begin(), plan.end(), [](const StudyStep& s) { return s.name == "synth-spade"; });
    REQUIRE(synth != plan.end());
    CHECK(synth->after == std::vector<std::string>{"maskgan", "translate-spade"});
    if (std::string(preset) == "medium") CHECK(plan.size() == 18);
  }
}

TEST_CASE("the grid follows the config") {
  Config c = load_preset("small");
  c.set("translate.l1_weights=[2.5]");
  c.set("translate.with_spade=false");
  c.set("segment.finetune_cases=[4]");
  c.set("segment.finetune_models=[\"pix2pix2.5\"]");
  c.set("study.loss_comparison=[\"batch_dice\"]");
  auto grid = segmentation_grid(c);
  std::vector<std::string> names;
  for (const auto& e : grid) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"seg-clinical", "seg-clinical+pix2pix2.5", "seg-pix2pix2.5",
                                          "seg-pix2pix2.5-ft4", "seg-clinical-4", "seg-clinical-loss-batch_dice"});
  c.set("segment.loss=soft_dice");
  c.set("study.loss_comparison=[\"soft_dice\"]");  // segment.loss itself
  CHECK_ERROR_HAS(segmentation_grid(c), "study.loss_comparison lists 'soft_dice', which is segment.loss itself");
  c.set("study.loss_comparison=[]");
  c.set("segment.finetune_models=[\"spade\"]");
  CHECK_ERROR_HAS(segmentation_grid(c), "segment.finetune_models names 'spade', which is not trained", "pix2pix2.5");
  c.set("translate.l1_weights=[10, 10.0]");
  CHECK_ERROR_HAS(translation_models(c), "lists 10 twice");
}
