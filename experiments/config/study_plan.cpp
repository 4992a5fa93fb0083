#include "experiments/config/study_plan.h"

#include <algorithm>
#include <set>

#include "autograd/error.h"

namespace pn::experiments {

std::vector<TranslationModel> translation_models(const Config& c) {
  std::vector<TranslationModel> out;
  for (double w : c.numbers("translate.l1_weights")) {
    TranslationModel m{fmt::format("pix2pix{}", w), false, w};
    PN_CHECK(std::none_of(out.begin(), out.end(), [&](const TranslationModel& o) { return o.name == m.name; }),
             "config: translate.l1_weights lists {} twice", w);
    out.push_back(m);
  }
  if (c.boolean("translate.with_spade")) out.push_back({"spade", true, 0.0});
  return out;
}

namespace {
std::string model_title(const TranslationModel& m) {
  return m.spade ? "SPADE" : fmt::format("pix2pix, lambda {}", m.l1_weight);
}
}  // namespace

std::vector<SegmentExperiment> segmentation_grid(const Config& c) {
  const auto models = translation_models(c);
  const auto cases = c.integers("segment.finetune_cases");
  std::vector<SegmentExperiment> g;
  g.push_back({"seg-clinical", "clinical only", true, 0, "", "", "segment.epochs", ""});
  for (const auto& m : models)
    g.push_back({"seg-clinical+" + m.name, "clinical + synthetic (" + model_title(m) + ")", true, 0, m.name, "",
                 "segment.epochs_synthetic", ""});
  for (const auto& m : models)
    g.push_back({"seg-" + m.name, "synthetic only (" + model_title(m) + ")", false, 0, m.name, "", "segment.epochs_synthetic", ""});
  for (const auto& f : c.strings("segment.finetune_models")) {
    auto it = std::find_if(models.begin(), models.end(), [&](const TranslationModel& m) { return m.name == f; });
    std::vector<std::string> names;
    for (const auto& m : models) names.push_back(m.name);
    PN_CHECK(it != models.end(), "config: segment.finetune_models names '{}', which is not trained; the models are: {}", f,
             fmt::join(names, ", "));
    for (int64_t n : cases)
      g.push_back({fmt::format("seg-{}-ft{}", f, n), fmt::format("synthetic ({}) + fine-tuning on {} clinical", model_title(*it), n),
                   true, n, "", "seg-" + f, "segment.epochs_small", ""});
  }
  for (int64_t n : cases)
    g.push_back({fmt::format("seg-clinical-{}", n), fmt::format("clinical only, {} cases", n), true, n, "", "",
                 "segment.epochs_small", ""});
  // The paper's loss against alternatives, on the same clinical data (lesion-free volumes above all).
  for (const auto& loss : c.strings("study.loss_comparison")) {
    PN_CHECK(loss != c.string("segment.loss"), "config: study.loss_comparison lists '{}', which is segment.loss itself "
             "(clinical only already trains with it)", loss);
    g.push_back({"seg-clinical-loss-" + loss, fmt::format("clinical only, loss {}", loss), true, 0, "", "",
                 "segment.epochs", loss});
  }
  return g;
}

std::vector<StudyStep> study_plan(const Config& c) {
  std::vector<StudyStep> plan;
  plan.push_back({StepKind::MaskGan, "maskgan", "", {}});
  for (const auto& m : translation_models(c)) plan.push_back({StepKind::Translate, "translate-" + m.name, m.name, {}});
  for (const auto& m : translation_models(c))
    plan.push_back({StepKind::Synthesize, "synth-" + m.name, m.name, {"maskgan", "translate-" + m.name}});
  for (const auto& e : segmentation_grid(c)) {
    StudyStep s{StepKind::Segment, e.name, e.name, {}};
    if (!e.synthetic.empty()) s.after.push_back("synth-" + e.synthetic);
    if (!e.finetune_from.empty()) s.after.push_back(e.finetune_from);
    plan.push_back(std::move(s));
  }
  // The order above already puts every step after its needs; check it, and that names are unique.
  std::set<std::string> seen;
  for (const auto& s : plan) {
    for (const auto& a : s.after) PN_CHECK(seen.count(a), "study plan: '{}' comes before '{}', which it needs", s.name, a);
    PN_CHECK(seen.insert(s.name).second, "study plan: two steps named '{}'", s.name);
  }
  return plan;
}

std::vector<MatchedExperiments> matched_experiments(const std::vector<SegmentExperiment>& grid) {
  std::vector<MatchedExperiments> out;
  for (const auto& e : grid) {
    if (e.finetune_from.empty() || e.clinical_cases == 0) continue;
    for (const auto& b : grid)
      if (b.clinical && b.clinical_cases == e.clinical_cases && b.synthetic.empty() && b.finetune_from.empty() &&
          b.loss.empty())
        out.push_back({e.title, b.title});
  }
  return out;
}

}  // namespace pn::experiments
