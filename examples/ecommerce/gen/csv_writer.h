// Buffered CSV output written beside its final name and renamed into place when complete.
#pragma once

#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace hivehook::gen {

class CsvFileWriter {
 public:
  // Creates "<dir>/.<name>.tmp"; commit() renames it to "<dir>/<name>".
  CsvFileWriter(const std::string& dir, const std::string& name, bool crlf);
  ~CsvFileWriter();  // removes the temporary file if commit() never ran
  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  void raw(std::string_view bytes);        // exactly these bytes
  void field(std::string_view value, bool first = false);  // quoted when it must be
  void quoted(std::string_view value, bool first = false); // always quoted
  void end_line();                         // LF or CRLF
  void commit(bool final_newline = true);  // drops the last line end when !final_newline

 private:
  void flush();
  std::string tmp_, final_;
  UniqueFd fd_;
  std::string buf_;
  bool crlf_;
  bool committed_ = false;
};

// mkdir -p
void make_dirs(const std::string& path);

}  // namespace hivehook::gen
