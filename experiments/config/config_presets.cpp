#include "experiments/config/config_presets.h"

#include <toml++/toml.h>

#include <filesystem>
#include <map>

#include "autograd/error.h"
#include "experiments/config/config_validate.h"

namespace pn::experiments {

namespace embedded {
extern const char* const kPaperToml;
extern const char* const kSmallToml;
}  // namespace embedded

std::vector<std::string> preset_names() { return {"paper", "small"}; }

const std::string& preset_source(const std::string& name) {
  static const std::map<std::string, std::string> sources{{"paper", embedded::kPaperToml},
                                                          {"small", embedded::kSmallToml}};
  auto it = sources.find(name);
  PN_CHECK(it != sources.end(), "config: unknown preset '{}'; the presets are: {}", name, fmt::join(preset_names(), ", "));
  return it->second;
}

Config load_preset(const std::string& name) {
  const std::string& src = preset_source(name);
  Config c = Config::from_toml(preset_source("paper"), "preset paper");
  if (name != "paper") c.merge_toml(src, "preset " + name);
  c.set_preset(name);
  return c;
}

namespace {
// The `preset = "..."` line of a config file, or "".
std::string preset_named_in(const std::string& path) {
  PN_CHECK(std::filesystem::is_regular_file(path), "config: cannot open '{}' for reading", path);
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    PN_FAIL("{}:{}:{}: not valid TOML: {}", path, e.source().begin.line, e.source().begin.column, e.description());
  }
  if (auto p = t["preset"].value<std::string>()) return *p;
  return "";
}
}  // namespace

Config resolve_config(const ConfigRequest& req) {
  std::string preset = req.preset;
  if (preset.empty() && !req.files.empty()) preset = preset_named_in(req.files.front());
  if (preset.empty()) preset = "small";
  Config c = load_preset(preset);
  for (const auto& f : req.files) c.merge_file(f);
  for (const auto& s : req.sets) c.set(s);
  validate_config(c);
  return c;
}

}  // namespace pn::experiments
