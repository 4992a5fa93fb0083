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
extern const char* const kMediumToml;
}  // namespace embedded

namespace {
// Each preset is layered over its parent: paper <- small <- medium. A preset file lists only
// what differs from its parent.
struct PresetEntry {
  const char* parent;  // nullptr: the root (paper.toml, which is also the schema)
  std::string source;  // the TOML as shipped
};
const std::map<std::string, PresetEntry>& preset_table() {
  static const std::map<std::string, PresetEntry> table{{"paper", {nullptr, embedded::kPaperToml}},
                                                        {"small", {"paper", embedded::kSmallToml}},
                                                        {"medium", {"small", embedded::kMediumToml}}};
  return table;
}
const PresetEntry& preset_entry(const std::string& name) {
  auto it = preset_table().find(name);
  PN_CHECK(it != preset_table().end(), "config: unknown preset '{}'; the presets are: {}", name,
           fmt::join(preset_names(), ", "));
  return it->second;
}
}  // namespace

std::vector<std::string> preset_names() { return {"paper", "small", "medium"}; }

const std::string& preset_source(const std::string& name) { return preset_entry(name).source; }

Config load_preset(const std::string& name) {
  const PresetEntry& entry = preset_entry(name);
  if (!entry.parent) {
    Config c = Config::from_toml(entry.source, "preset " + name);
    c.set_preset(name);
    return c;
  }
  Config c = load_preset(entry.parent);
  c.merge_toml(entry.source, "preset " + name);
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
