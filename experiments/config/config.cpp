#include "experiments/config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "autograd/error.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace {

std::string where_of(const std::string& source, const toml::node& n) {
  const auto& b = n.source().begin;
  return b.line > 0 ? fmt::format("{}:{}", source, b.line) : source;
}

// A TOML leaf as a ConfigValue. An empty array takes the type of `expected` (a schema
// value) and is an error without one.
ConfigValue to_value(const toml::node& n, const std::string& key, const ConfigValue* expected, const std::string& where) {
  if (auto b = n.as_boolean()) return b->get();
  if (auto i = n.as_integer()) return i->get();
  if (auto f = n.as_floating_point()) return f->get();
  if (auto s = n.as_string()) return s->get();
  if (auto a = n.as_array()) {
    if (a->empty()) {
      PN_CHECK(expected && expected->index() >= 4, "{}: '{}' is an empty array; the key needs a type (give one element)",
               where, key);
      if (std::holds_alternative<std::vector<int64_t>>(*expected)) return std::vector<int64_t>{};
      if (std::holds_alternative<std::vector<double>>(*expected)) return std::vector<double>{};
      return std::vector<std::string>{};
    }
    bool all_int = true, all_num = true, all_str = true;
    for (const auto& e : *a) {
      all_int &= e.is_integer();
      all_num &= e.is_number();
      all_str &= e.is_string();
    }
    if (all_int) {
      std::vector<int64_t> v;
      for (const auto& e : *a) v.push_back(e.as_integer()->get());
      return v;
    }
    if (all_num) {
      std::vector<double> v;
      for (const auto& e : *a) v.push_back(e.is_integer() ? static_cast<double>(e.as_integer()->get()) : e.as_floating_point()->get());
      return v;
    }
    if (all_str) {
      std::vector<std::string> v;
      for (const auto& e : *a) v.push_back(e.as_string()->get());
      return v;
    }
    PN_FAIL("{}: '{}' mixes element types; arrays hold only integers, only numbers or only strings", where, key);
  }
  PN_FAIL("{}: '{}' has a type configs do not use (dates, times, arrays of tables)", where, key);
}

// Calls fn(dotted key, node) for every non-table node under `t`.
template <class Fn>
void for_each_leaf(const toml::table& t, const std::string& prefix, Fn&& fn) {
  for (const auto& [k, node] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) for_each_leaf(*sub, key, fn);
    else fn(key, node);
  }
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    PN_FAIL("{}:{}:{}: not valid TOML: {}", source, e.source().begin.line, e.source().begin.column, e.description());
  }
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04X}", static_cast<int>(c));
        else out += c;
    }
  }
  return out + "\"";
}

std::string format_float(double v) {
  std::string s = fmt::format("{}", v);  // shortest text that reads back to the same double
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "n": inf, nan
  return s;
}

template <class T, class F>
std::string format_array(const std::vector<T>& v, F&& f) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + f(v[i]);
  return s + "]";
}

}  // namespace

std::string config_type_name(const ConfigValue& v) {
  static const char* names[] = {"a boolean",         "an integer",     "a float",         "a string",
                                "an array of integers", "an array of floats", "an array of strings"};
  return names[v.index()];
}

std::string format_config_value(const ConfigValue& v) {
  struct {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_float(d); }
    std::string operator()(const std::string& s) const { return quote(s); }
    std::string operator()(const std::vector<int64_t>& a) const {
      return format_array(a, [](int64_t i) { return std::to_string(i); });
    }
    std::string operator()(const std::vector<double>& a) const { return format_array(a, format_float); }
    std::string operator()(const std::vector<std::string>& a) const { return format_array(a, quote); }
  } f;
  return std::visit(f, v);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

Config Config::from_toml(std::string_view text, const std::string& source, const Config* schema) {
  Config c;
  toml::table t = parse_toml(text, source);
  // toml++ tables iterate in key order; keep the file's order instead (it groups and
  // documents the keys).
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> pos;
  for_each_leaf(t, "", [&](const std::string& key, const toml::node& n) {
    if (key == "preset") return;
    const ConfigValue* expected = schema && schema->has(key) ? &schema->value(key) : nullptr;
    ConfigValue v = to_value(n, key, expected, where_of(source, n));
    pos.push_back({{n.source().begin.line, n.source().begin.column}, key});
    c.values_.emplace(key, std::move(v));
  });
  std::sort(pos.begin(), pos.end());
  for (auto& [p, key] : pos) c.order_.push_back(key);
  return c;
}

void Config::merge_toml(std::string_view text, const std::string& source) {
  toml::table t = parse_toml(text, source);
  for_each_leaf(t, "", [&](const std::string& key, const toml::node& n) {
    std::string where = where_of(source, n);
    if (key == "preset") {
      PN_CHECK(n.is_string(), "{}: 'preset' must be a string naming a preset", where);
      return;
    }
    auto it = values_.find(key);
    if (it == values_.end()) fail_unknown(key, where);
    assign(key, to_value(n, key, &it->second, where), where);
  });
}

void Config::merge_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PN_CHECK(in.good(), "config: cannot open '{}' for reading", path);
  std::stringstream ss;
  ss << in.rdbuf();
  merge_toml(ss.str(), path);
}

void Config::set(std::string_view assignment) {
  const std::string where = fmt::format("--set {}", assignment);
  auto eq = assignment.find('=');
  PN_CHECK(eq != std::string_view::npos, "{}: expected key=value (e.g. --set segment.epochs=20)", where);
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
  };
  std::string key = trim(assignment.substr(0, eq)), text = trim(assignment.substr(eq + 1));
  auto it = values_.find(key);
  if (it == values_.end()) fail_unknown(key, where);
  const ConfigValue& expected = it->second;
  const bool is_array = expected.index() >= 4;
  auto try_parse = [&](const std::string& t) -> std::optional<ConfigValue> {
    try {
      const std::string doc = "v = " + t;
      toml::table tab = toml::parse(std::string_view(doc), std::string_view("--set"));
      if (tab.size() != 1 || !tab.contains("v")) return std::nullopt;
      return to_value(*tab.get("v"), key, &expected, where);
    } catch (const toml::parse_error&) {
      return std::nullopt;
    }
  };
  std::optional<ConfigValue> v = try_parse(text);
  if (!v && is_array && (text.empty() || text.front() != '[')) v = try_parse("[" + text + "]");
  if (std::holds_alternative<std::string>(expected) && (!v || !std::holds_alternative<std::string>(*v))) v = text;
  PN_CHECK(v.has_value(), "{}: cannot read '{}' as a value of '{}', which is {} (now {})", where, text, key,
           config_type_name(expected), format_config_value(expected));
  assign(key, std::move(*v), where);
}

void Config::assign(const std::string& key, ConfigValue v, const std::string& where) {
  ConfigValue& cur = values_.at(key);
  if (std::holds_alternative<double>(cur) && std::holds_alternative<int64_t>(v))
    v = static_cast<double>(std::get<int64_t>(v));
  if (std::holds_alternative<std::vector<double>>(cur) && std::holds_alternative<std::vector<int64_t>>(v)) {
    const auto& iv = std::get<std::vector<int64_t>>(v);
    v = std::vector<double>(iv.begin(), iv.end());
  }
  PN_CHECK(v.index() == cur.index(), "{}: '{}' must be {} (like {}), got {} {}", where, key, config_type_name(cur),
           format_config_value(cur), config_type_name(v), format_config_value(v));
  cur = std::move(v);
}

std::vector<std::string> Config::suggest_keys(std::string_view key) const {
  const bool sectionless = key.find('.') == std::string_view::npos;
  auto leaf = [](std::string_view k) { return k.substr(k.rfind('.') == std::string_view::npos ? 0 : k.rfind('.') + 1); };
  std::vector<std::string> best;
  size_t best_d = SIZE_MAX;
  for (const auto& k : order_) {
    const size_t d = sectionless ? edit_distance(key, leaf(k)) : edit_distance(key, k);
    if (d < best_d) best_d = d, best.clear();
    if (d == best_d && (sectionless || best.empty())) best.push_back(k);
  }
  if (best.size() > 4) best.resize(4);
  return best;
}

void Config::fail_unknown(const std::string& key, const std::string& where) const {
  auto near = suggest_keys(key);
  std::string hint;
  if (near.size() == 1) hint = fmt::format("did you mean '{}'?", near[0]);
  else if (!near.empty()) hint = fmt::format("did you mean one of '{}'?", fmt::join(near, "', '"));
  PN_FAIL("{}: unknown config key '{}'; {} (`penumbra config keys` lists them all)", where, key, hint);
}

const ConfigValue& Config::value(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) fail_unknown(key, "config");
  return it->second;
}

namespace {
template <class T>
const T& typed(const Config& c, const std::string& key) {
  const ConfigValue& v = c.value(key);
  const T* p = std::get_if<T>(&v);
  PN_CHECK(p != nullptr, "config: '{}' is {} ({}), read as {}", key, config_type_name(v), format_config_value(v),
           config_type_name(ConfigValue(T{})));
  return *p;
}
}  // namespace

bool Config::boolean(const std::string& key) const { return typed<bool>(*this, key); }
int64_t Config::integer(const std::string& key) const { return typed<int64_t>(*this, key); }
double Config::number(const std::string& key) const { return typed<double>(*this, key); }
const std::string& Config::string(const std::string& key) const { return typed<std::string>(*this, key); }
std::vector<int64_t> Config::integers(const std::string& key) const { return typed<std::vector<int64_t>>(*this, key); }
std::vector<double> Config::numbers(const std::string& key) const { return typed<std::vector<double>>(*this, key); }
std::vector<std::string> Config::strings(const std::string& key) const {
  return typed<std::vector<std::string>>(*this, key);
}

std::vector<std::string> Config::diff(const Config& other) const {
  std::vector<std::string> out;
  for (const auto& k : order_) {
    auto it = other.values_.find(k);
    if (it == other.values_.end() || !(it->second == values_.at(k))) out.push_back(k);
  }
  for (const auto& k : other.order_)
    if (!values_.count(k)) out.push_back(k);
  return out;
}

void Config::add_missing_keys(const Config& defaults) {
  for (const auto& k : defaults.order_)
    if (!values_.count(k)) values_.emplace(k, defaults.values_.at(k)), order_.push_back(k);
}

std::string Config::to_toml() const {
  std::string out;
  if (!preset_.empty()) out += fmt::format("preset = {}\n", quote(preset_));
  // Sections in order of first appearance, each with all its keys, so that no [section]
  // header repeats (TOML forbids that).
  std::vector<std::string> sections;
  std::map<std::string, std::vector<std::string>> by_section;
  for (const auto& k : order_) {
    auto dot = k.rfind('.');
    std::string sec = dot == std::string::npos ? "" : k.substr(0, dot);
    if (!by_section.count(sec)) sections.push_back(sec);
    by_section[sec].push_back(k);
  }
  std::stable_partition(sections.begin(), sections.end(), [](const std::string& s) { return s.empty(); });
  for (const auto& sec : sections) {
    if (!sec.empty()) out += fmt::format("\n[{}]\n", sec);
    for (const auto& k : by_section[sec])
      out += fmt::format("{} = {}\n", sec.empty() ? k : k.substr(sec.size() + 1), format_config_value(values_.at(k)));
  }
  return out;
}

void Config::write(const std::string& path) const { nn::write_file_atomic(path, to_toml()); }

}  // namespace pn::experiments
