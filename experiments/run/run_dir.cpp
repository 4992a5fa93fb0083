#include "experiments/run/run_dir.h"

#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "experiments/config/config_presets.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

bool key_may_change_on_resume(const std::string& key) { return key.rfind("run.", 0) == 0 && key != "run.seed"; }

RunDir RunDir::open(const Config& cfg, const std::string& default_name, const RunDirOptions& opt) {
  RunDir r;
  if (!opt.out.empty()) r.path_ = opt.out;
  else {
    std::string name = cfg.string("run.name").empty() ? default_name : cfg.string("run.name");
    PN_CHECK(!name.empty(), "run folder: no name (set run.name or --out)");
    r.path_ = fs::path(cfg.string("run.root")) / name;
  }
  r.keep_ = static_cast<int>(cfg.integer("run.keep_checkpoints"));
  const std::string where = r.path_.string();
  const bool exists = fs::exists(r.path_);
  PN_CHECK(!exists || fs::is_directory(r.path_), "{}: exists and is not a folder", where);
  const bool has_run = exists && fs::exists(r.config_path());
  if (exists && !has_run) {
    PN_CHECK(fs::is_empty(r.path_), "{}: folder is not empty and holds no run (no config.toml); choose another --out",
             where);
  }
  if (has_run && opt.restart) {
    for (const auto& e : fs::directory_iterator(r.path_)) fs::remove_all(e.path());
  } else if (has_run) {
    std::ifstream in(r.config_path());
    std::stringstream ss;
    ss << in.rdbuf();
    Config saved = Config::from_toml(ss.str(), r.config_path().string(), &cfg);
    // A key added to the program after this run was made: the run behaved as paper.toml's
    // value, which for a new key is the behaviour from before it existed (the schema's rule).
    saved.add_missing_keys(load_preset("paper"));
    std::string diffs;
    for (const auto& k : cfg.diff(saved)) {
      if (key_may_change_on_resume(k)) continue;
      diffs += fmt::format("\n  {}: this run {}, now {}", k, saved.has(k) ? format_config_value(saved.value(k)) : "(none)",
                           cfg.has(k) ? format_config_value(cfg.value(k)) : "(none)");
    }
    PN_CHECK(diffs.empty(),
             "{}: holds a run with a different config; resume it with the same settings, or pass --restart to start "
             "over, or choose another --out. Differences:{}",
             where, diffs);
    r.resuming_ = true;
  }
  fs::create_directories(r.path_);
  cfg.write(r.config_path().string());
  return r;
}

bool RunDir::done() const { return fs::exists(file(run_files::kDone)); }

void RunDir::mark_done(const std::string& summary) const {
  nn::write_file_atomic(file(run_files::kDone).string(), summary.empty() ? "done\n" : summary + "\n");
}

}  // namespace pn::experiments
