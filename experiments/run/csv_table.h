// CSV files for metrics: reading a table (RFC 4180 quoting, a header row) and an
// append-only writer that survives crashes and resumes. Numbers are written in the
// shortest form that reads back to the same double ("3", "0.1", "nan", "inf").
#pragma once
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace pn::experiments {

struct CsvTable {
  std::string source;  // file name, for messages
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  bool has(const std::string& column) const;
  size_t index(const std::string& column) const;  // error names the file and its columns
  std::vector<std::string> strings(const std::string& column) const;
  std::vector<double> numbers(const std::string& column) const;  // error names the row
};

// A final line without its newline that has too few cells is a torn write and is dropped.
CsvTable parse_csv(std::string_view text, const std::string& source);
CsvTable read_csv(const std::string& path);
// One line (with "\n"), quoting cells that hold commas, quotes or newlines.
std::string csv_line(const std::vector<std::string>& cells);
std::string csv_number(double v);

// One row per epoch (or step, or volume), appended and flushed at once.
class CsvAppender {
 public:
  // A new or empty file gets the header; an existing one must have exactly `columns`,
  // and a torn last line (a crash mid-write) is removed.
  CsvAppender(std::string path, std::vector<std::string> columns);
  ~CsvAppender();
  CsvAppender(const CsvAppender&) = delete;
  CsvAppender& operator=(const CsvAppender&) = delete;

  // Resuming from a checkpoint of epoch e: drops rows whose first column is > e, so that
  // epochs re-run after the checkpoint are not counted twice. Returns the rows dropped.
  size_t truncate_after(double last_kept);
  void append(const std::vector<double>& values);
  void append(const std::vector<std::string>& cells);
  size_t rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  void reopen();
  std::string path_;
  std::vector<std::string> columns_;
  std::FILE* file_ = nullptr;
  size_t rows_ = 0;
};

}  // namespace pn::experiments
