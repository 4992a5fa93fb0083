// `penumbra report`: result tables from finished (or running) run folders.
//   report dice --run NAME=DIR ... [--last K] [--volumes] [--write FILE]
#include <cstdio>
#include <filesystem>

#include "experiments/command.h"
#include "experiments/dice_table.h"
#include "experiments/run_dir.h"
#include "nn/safetensors.h"

namespace pn::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  int64_t last_k = 100;
  bool volumes = false;
  std::string write;
};

void run_report(const ReportOptions& o) {
  std::vector<exp::ExperimentResult> results;
  std::vector<std::pair<std::string, exp::CsvTable>> per_volume;
  for (const auto& spec : o.runs) {
    auto eq = spec.find('=');
    std::string dir = eq == std::string::npos ? spec : spec.substr(eq + 1);
    std::string name = eq == std::string::npos ? std::filesystem::path(dir).filename().string() : spec.substr(0, eq);
    results.push_back(exp::load_experiment(name, dir, o.last_k));
    auto held = std::filesystem::path(dir) / exp::run_files::kHeldoutMetrics;
    if (o.volumes && std::filesystem::exists(held)) per_volume.emplace_back(name, exp::read_csv(held.string()));
  }
  std::string md = exp::dice_table_markdown(results, o.last_k);
  if (o.volumes && !per_volume.empty()) md += "\n" + exp::volume_metrics_markdown(per_volume);
  if (o.write.empty()) std::fputs(md.c_str(), stdout);
  else {
    nn::write_file_atomic(o.write, md);
    std::printf("wrote %s\n", o.write.c_str());
  }
}

void add_report(CLI::App& app) {
  auto* grp = app.add_subcommand("report", "Result tables from run folders");
  grp->require_subcommand(1);
  auto* dice = grp->add_subcommand("dice", "The Dice table in the paper's protocol (best / last-K epochs) and on a held-out set");
  auto o = std::make_shared<ReportOptions>();
  dice->add_option("--run", o->runs, "NAME=RUN_FOLDER (or just RUN_FOLDER), one per experiment, in table order")
      ->required();
  dice->add_option("--last", o->last_k, "K of 'mean ± sd over the last K epochs'")->capture_default_str()->check(
      CLI::PositiveNumber);
  dice->add_flag("--volumes", o->volumes, "add a table of every per-volume metric on the held-out set");
  dice->add_option("--write", o->write, "write the Markdown to this file instead of stdout");
  dice->callback([o] { run_report(*o); });
}

}  // namespace

PN_REGISTER_COMMANDS("report", 80, add_report);

}  // namespace pn::cli
