#include "experiments/run/csv_table.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PN_CHECK(in.good(), "{}: cannot open for reading", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool CsvTable::has(const std::string& column) const {
  for (const auto& c : columns)
    if (c == column) return true;
  return false;
}

size_t CsvTable::index(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == column) return i;
  PN_FAIL("{}: no column '{}'; the columns are: {}", source, column, fmt::join(columns, ", "));
}

std::vector<std::string> CsvTable::strings(const std::string& column) const {
  size_t c = index(column);
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r[c]);
  return out;
}

std::vector<double> CsvTable::numbers(const std::string& column) const {
  size_t c = index(column);
  std::vector<double> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string& s = rows[i][c];
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    PN_CHECK(!s.empty() && end == s.c_str() + s.size(), "{}: row {}, column '{}': '{}' is not a number", source, i + 2,
             column, s);
    out.push_back(v);
  }
  return out;
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> rec;
  std::string cell;
  bool quoted = false, any = false;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', ++i;
      else if (ch == '"') quoted = false;
      else {
        if (ch == '\n') ++line;
        cell += ch;
      }
    } else if (ch == '"') {
      PN_CHECK(cell.empty(), "{}:{}: a quote inside an unquoted cell", source, line);
      quoted = any = true;
    } else if (ch == ',') {
      rec.push_back(std::move(cell)), cell.clear(), any = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) rec.push_back(std::move(cell)), records.push_back(std::move(rec));
      cell.clear(), rec.clear(), any = false, ++line;
    } else {
      cell += ch, any = true;
    }
  }
  PN_CHECK(!quoted, "{}:{}: a quoted cell is not closed", source, line);
  CsvTable t;
  t.source = source;
  if (any || !cell.empty()) {
    rec.push_back(std::move(cell));
    // The last line had no newline: a torn write if it is short; keep it otherwise.
    if (records.empty() || rec.size() == records.front().size()) records.push_back(std::move(rec));
  }
  PN_CHECK(!records.empty(), "{}: empty CSV (no header)", source);
  t.columns = std::move(records.front());
  for (size_t r = 1; r < records.size(); ++r) {
    PN_CHECK(records[r].size() == t.columns.size(), "{}: row {} has {} cells, the header {}", source, r + 1,
             records[r].size(), t.columns.size());
    t.rows.push_back(std::move(records[r]));
  }
  return t;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_text(path), path); }

std::string csv_line(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    const std::string& c = cells[i];
    if (c.find_first_of(",\"\n\r") == std::string::npos) {
      out += c;
    } else {
      out += '"';
      for (char ch : c) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out += '"';
    }
  }
  return out + "\n";
}

std::string csv_number(double v) { return fmt::format("{}", v); }

CsvAppender::CsvAppender(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)) {
  PN_CHECK(!columns_.empty(), "{}: a CSV needs at least one column", path_);
  namespace fs = std::filesystem;
  if (fs::exists(path_) && fs::file_size(path_) > 0) {
    std::string text = read_text(path_);
    if (text.back() != '\n') {  // torn last line: keep everything up to the last newline
      auto nl = text.rfind('\n');
      PN_CHECK(nl != std::string::npos, "{}: has no complete header line; remove the file", path_);
      text.resize(nl + 1);
      nn::write_file_atomic(path_, text);
    }
    CsvTable t = parse_csv(text, path_);
    PN_CHECK(t.columns == columns_, "{}: has columns [{}], this run writes [{}]; use a new run folder", path_,
             fmt::join(t.columns, ", "), fmt::join(columns_, ", "));
    rows_ = t.rows.size();
  } else {
    nn::write_file_atomic(path_, csv_line(columns_));
  }
  reopen();
}

CsvAppender::~CsvAppender() {
  if (file_) std::fclose(file_);
}

void CsvAppender::reopen() {
  if (file_) std::fclose(file_);
  file_ = std::fopen(path_.c_str(), "ab");
  PN_CHECK(file_ != nullptr, "{}: cannot open for appending: {}", path_, std::strerror(errno));
}

size_t CsvAppender::truncate_after(double last_kept) {
  std::fflush(file_);
  CsvTable t = read_csv(path_);
  std::vector<double> key = t.numbers(t.columns.front());
  std::string text = csv_line(t.columns);
  size_t kept = 0;
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (key[i] <= last_kept) text += csv_line(t.rows[i]), ++kept;
  nn::write_file_atomic(path_, text);
  reopen();
  rows_ = kept;
  return t.rows.size() - kept;
}

void CsvAppender::append(const std::vector<double>& values) {
  std::vector<std::string> cells;
  for (double v : values) cells.push_back(csv_number(v));
  append(cells);
}

void CsvAppender::append(const std::vector<std::string>& cells) {
  PN_CHECK(cells.size() == columns_.size(), "{}: a row of {} cells for {} columns ({})", path_, cells.size(),
           columns_.size(), fmt::join(columns_, ", "));
  std::string line = csv_line(cells);
  // One fwrite + flush per row: a crash leaves at most one torn line, removed on reopening.
  PN_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0,
           "{}: write failed (disk full?)", path_);
  ++rows_;
}

}  // namespace pn::experiments
