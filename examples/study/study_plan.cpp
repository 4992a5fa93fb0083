// Chapter 8: the steps `penumbra study --preset paper` runs, in order, with the run folder
// each writes and the steps it waits for, as experiments/config/study_plan.h computes them from the
// config (nothing is trained here). Checks the paper's plan: 3 translation models, the
// paper's 11 segmentation experiments plus one clinical-only run per loss of
// study.loss_comparison, every step after the ones it needs.
#include <algorithm>
#include <cstdio>
#include <string>

#include "examples/example_check.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/study_plan.h"

using namespace pn;
using namespace pn::experiments;
using pn::examples::check;

namespace {

const char* kind_name(StepKind k) {
  switch (k) {
    case StepKind::MaskGan: return "mask GAN";
    case StepKind::Translate: return "translator";
    case StepKind::Synthesize: return "synthesis";
    case StepKind::Segment: return "segmentation";
  }
  return "?";
}

size_t position(const std::vector<StudyStep>& plan, const std::string& name) {
  for (size_t i = 0; i < plan.size(); ++i)
    if (plan[i].name == name) return i;
  return plan.size();
}

}  // namespace

int main() {
  ConfigRequest req;
  req.preset = "paper";
  const Config cfg = resolve_config(req);
  const auto plan = study_plan(cfg);
  const auto grid = segmentation_grid(cfg);

  std::printf("%-3s %-24s %-13s %-32s %s\n", "#", "run folder", "kind", "epochs", "after");
  for (size_t i = 0; i < plan.size(); ++i) {
    const StudyStep& s = plan[i];
    std::string epochs, after;
    for (const auto& e : grid)
      if (e.name == s.name) epochs = fmt::format("{} = {}", e.epochs_key, cfg.integer(e.epochs_key));
    for (const auto& a : s.after) after += (after.empty() ? "" : ", ") + a;
    std::printf("%-3zu %-24s %-13s %-32s %s\n", i + 1, s.name.c_str(), kind_name(s.kind), epochs.c_str(), after.c_str());
  }

  const size_t losses = cfg.strings("study.loss_comparison").size();
  check(plan.size() == 1 + 3 + 3 + 11 + losses && grid.size() == 11 + losses,
        fmt::format("paper preset: mask GAN, 3 translators, 3 synthetic databases, 11 segmentation runs and {} "
                    "with another loss ({} steps)",
                    losses, plan.size()));
  check(plan.front().name == "maskgan", "the mask GAN comes first");
  bool ordered = true;
  for (const char* m : {"pix2pix10", "pix2pix100", "spade"}) {
    const size_t synth = position(plan, fmt::format("synth-{}", m));
    ordered = ordered && synth < plan.size() && position(plan, fmt::format("translate-{}", m)) < synth &&
              position(plan, "maskgan") < synth && synth < position(plan, fmt::format("seg-{}", m)) &&
              synth < position(plan, fmt::format("seg-clinical+{}", m));
  }
  for (int n : {10, 50})
    ordered = ordered && position(plan, "seg-pix2pix10") < position(plan, fmt::format("seg-pix2pix10-ft{}", n)) &&
              position(plan, fmt::format("seg-pix2pix10-ft{}", n)) < plan.size();
  check(ordered, "each synthetic database after its translator and the mask GAN, before the runs that train on it; "
                 "fine-tuning after the run it starts from");
  return pn::examples::exit_status();
}
