// Run configuration: a flat, ordered set of typed keys ("segment.epochs" -> 500) read from
// TOML. A complete config (a preset, see config_presets.h) is also the schema: layering a
// user file or a `--set key=value` over it may only change existing keys, with a value of
// the same type (an integer is accepted where a float is expected). Unknown keys and wrong
// types are errors that name the key, the source and line, and the nearest valid key.
// The resolved config is written back as TOML that reads in again to the same config.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pn::experiments {

using ConfigValue = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>,
                                 std::vector<std::string>>;

// "boolean", "integer", "float", "string", "array of integers", ...
std::string config_type_name(const ConfigValue& v);
// The value in TOML syntax: 3, 0.0002, "text", [16, 32, 32].
std::string format_config_value(const ConfigValue& v);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

class Config {
 public:
  Config() = default;
  // Every leaf of the TOML text becomes a key of the new config; arrays must be of one
  // scalar type (their element type is the key's type) and non-empty, except for a key that
  // `schema` has, whose type an empty array takes (a run's saved config.toml read back
  // against the current config). `source` names the text in error messages.
  static Config from_toml(std::string_view text, const std::string& source, const Config* schema = nullptr);

  // Layers TOML text (or a file) over this config. A top-level `preset = "..."` is
  // accepted and ignored here (config_presets.h reads it to choose the base).
  void merge_toml(std::string_view text, const std::string& source);
  void merge_file(const std::string& path);
  // One command-line override "section.key=value"; value is TOML ("[16,32,32]", 1e-4,
  // true, "text") or, for strings, bare text; arrays may omit the brackets ("16,32,32").
  void set(std::string_view assignment);

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const ConfigValue& value(const std::string& key) const;
  bool boolean(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;  // float key
  const std::string& string(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;
  std::vector<double> numbers(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;

  const std::vector<std::string>& keys() const { return order_; }
  // Valid keys to suggest for an unknown `key`: the one closest by edit distance; for a
  // key without a section ("epochs"), every key whose last part is closest (up to 4).
  std::vector<std::string> suggest_keys(std::string_view key) const;
  // Keys whose values differ between the two configs (same key set assumed; keys only in
  // one of them are listed too).
  std::vector<std::string> diff(const Config& other) const;
  // Adds every key of `defaults` that this config lacks, with its value there (a run's saved
  // config from before a key existed, completed with the schema's default).
  void add_missing_keys(const Config& defaults);
  bool operator==(const Config& other) const { return values_ == other.values_; }

  const std::string& preset() const { return preset_; }
  void set_preset(std::string name) { preset_ = std::move(name); }

  // TOML text: `preset = ...`, then one [section] per key prefix, in schema order.
  std::string to_toml() const;
  void write(const std::string& path) const;  // atomic (temporary file + rename)

 private:
  // Assigns `v` to an existing key after checking (and, int -> float, converting) its type.
  void assign(const std::string& key, ConfigValue v, const std::string& where);
  [[noreturn]] void fail_unknown(const std::string& key, const std::string& where) const;

  std::vector<std::string> order_;
  std::map<std::string, ConfigValue> values_;
  std::string preset_;
};

}  // namespace pn::experiments
