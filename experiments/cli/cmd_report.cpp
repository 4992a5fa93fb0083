// `penumbra report`: result tables from finished (or running) run folders.
//   report dice --run NAME=DIR ... [--last K] [--volumes] [--write FILE]   (--volumes: also intervals and
//     paired comparisons of the held-out volumes with the first run)
//   report curves --run NAME=DIR ... [--column test_soft_dice] --write FILE.svg
//   report boxplot --run NAME=DIR ... [--column hard_dice] --write FILE.svg
//   report study [--preset/--config/--set] [--runs DIR] [--out DIR]
#include <cstdio>
#include <filesystem>

#include "experiments/cli/command.h"
#include "experiments/cli/config_cli.h"
#include "experiments/report/dice_table.h"
#include "experiments/metrics/heldout_comparison.h"
#include "experiments/report/report_figures.h"
#include "experiments/run/run_dir.h"
#include "experiments/report/study_report.h"
#include "nn/safetensors.h"

namespace pn::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  int64_t last_k = 100;
  bool volumes = false;
  std::string write;
};

// "NAME=DIR" or "DIR" (named after its folder).
std::pair<std::string, std::string> name_and_dir(const std::string& spec) {
  auto eq = spec.find('=');
  std::string dir = eq == std::string::npos ? spec : spec.substr(eq + 1);
  std::string name = eq == std::string::npos ? std::filesystem::path(dir).filename().string() : spec.substr(0, eq);
  return {name, dir};
}

void emit(const std::string& text, const std::string& path) {
  if (path.empty()) std::fputs(text.c_str(), stdout);
  else {
    nn::write_file_atomic(path, text);
    std::printf("wrote %s\n", path.c_str());
  }
}

// (name, table) for each run folder that has `file`; runs without it are left out, with a note.
std::vector<std::pair<std::string, experiments::CsvTable>> tables(const std::vector<std::string>& runs, const char* file) {
  std::vector<std::pair<std::string, experiments::CsvTable>> out;
  for (const auto& spec : runs) {
    auto [name, dir] = name_and_dir(spec);
    auto p = std::filesystem::path(dir) / file;
    if (std::filesystem::exists(p)) out.emplace_back(name, experiments::read_csv(p.string()));
    else std::fprintf(stderr, "report: %s has no %s yet; left out\n", dir.c_str(), file);
  }
  return out;
}

void run_report(const ReportOptions& o) {
  std::vector<experiments::ExperimentResult> results;
  for (const auto& spec : o.runs) {
    auto [name, dir] = name_and_dir(spec);
    results.push_back(experiments::load_experiment(name, dir, o.last_k));
  }
  std::string md = experiments::dice_table_markdown(results, o.last_k);
  if (o.volumes) {
    auto per_volume = tables(o.runs, experiments::run_files::kHeldoutMetrics);
    if (!per_volume.empty()) {
      md += "\n";
      md += experiments::volume_metrics_markdown(per_volume);
      // Intervals and paired comparisons with the first run (experiments/metrics/heldout_comparison.h).
      std::vector<experiments::HeldoutValues> values;
      for (const auto& [name, t] : per_volume) values.push_back(experiments::heldout_values(name, t));
      md += "\n";
      md += experiments::heldout_comparison_markdown(values, per_volume.front().first, experiments::BootstrapOptions{});
    }
  }
  emit(md, o.write);
}

// A chart as PNG when the file name ends in .png, else as SVG (to stdout without a file).
void emit_chart(const experiments::Chart& chart, const std::string& path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".png") == 0) {
    chart.write_png(path);
    std::printf("wrote %s\n", path.c_str());
  } else {
    emit(chart.svg(), path);
  }
}

struct FigureOptions {
  std::vector<std::string> runs;
  std::string column, write;
};

void add_report(CLI::App& app) {
  auto* grp = app.add_subcommand("report", "Result tables from run folders");
  grp->require_subcommand(1);
  auto* dice = grp->add_subcommand("dice", "The Dice table in the paper's protocol (best / last-K epochs) and on a held-out set");
  auto o = std::make_shared<ReportOptions>();
  dice->add_option("--run", o->runs, "NAME=RUN_FOLDER (or just RUN_FOLDER), one per experiment, in table order")
      ->required();
  dice->add_option("--last", o->last_k, "K of 'mean ± sd over the last K epochs'")->capture_default_str()->check(
      CLI::PositiveNumber);
  dice->add_flag("--volumes", o->volumes, "add a table of every per-volume metric on the held-out set, bootstrap "
                                          "intervals, and paired comparisons with the first run");
  dice->add_option("--write", o->write, "write the Markdown to this file instead of stdout");
  dice->callback([o] { run_report(*o); });

  auto* curves = grp->add_subcommand("curves", "Training curves (SVG, or PNG for --write *.png): a metrics.csv column per epoch, one line per run");
  auto c = std::make_shared<FigureOptions>(FigureOptions{{}, "test_soft_dice", ""});
  curves->add_option("--run", c->runs, "NAME=RUN_FOLDER (or just RUN_FOLDER), one line each")->required();
  curves->add_option("--column", c->column, "metrics.csv column to plot")->capture_default_str();
  curves->add_option("--write", c->write, "SVG or .png file to write (default: SVG on stdout)");
  curves->callback([c] { emit_chart(experiments::training_curves(tables(c->runs, experiments::run_files::kMetrics), c->column), c->write); });

  auto* box = grp->add_subcommand("boxplot", "Box plots (SVG, or PNG for --write *.png) of a per-volume held-out metric, one box per run");
  auto b = std::make_shared<FigureOptions>(FigureOptions{{}, "hard_dice", ""});
  box->add_option("--run", b->runs, "NAME=RUN_FOLDER (or just RUN_FOLDER), one box each")->required();
  box->add_option("--column", b->column, "heldout_metrics.csv column to plot")->capture_default_str();
  box->add_option("--write", b->write, "SVG or .png file to write (default: SVG on stdout)");
  box->callback([b] {
    emit_chart(experiments::volume_box_plot(tables(b->runs, experiments::run_files::kHeldoutMetrics), b->column), b->write);
  });

  auto* study = grp->add_subcommand("study", "The study's report (Markdown + PNG figures) from its run folders");
  auto req = std::make_shared<experiments::ConfigRequest>();
  auto dirs = std::make_shared<std::pair<std::string, std::string>>();
  experiments::add_config_options(study, *req);
  study->add_option("--runs", dirs->first, "folder holding the study's runs (default: run.root)");
  study->add_option("--out", dirs->second, "folder for report.md and figures/ (default: <runs>/report)");
  study->callback([req, dirs] {
    experiments::Config cfg = experiments::resolve_config(*req);
    std::filesystem::path runs = dirs->first.empty() ? cfg.string("run.root") : dirs->first;
    std::filesystem::path out = dirs->second.empty() ? runs / "report" : std::filesystem::path(dirs->second);
    std::printf("report: %s\n", experiments::write_study_report(cfg, runs, out).string().c_str());
  });
}

}  // namespace

PN_REGISTER_COMMANDS("report", 80, add_report);

}  // namespace pn::cli
