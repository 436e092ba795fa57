// Diagnostics: every config or rules problem, each at file:line:col.
#pragma once

#include <string>
#include <vector>

namespace hivehook {

struct Diagnostic {
  enum class Severity { error, warning };
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int col = 0;   // 1-based; 0 when unknown
  std::string message;
  Severity severity = Severity::error;

  // "file:line:col: error: message" (line/col left out when unknown).
  std::string str() const;
};

class Diagnostics {
 public:
  void error(std::string file, int line, int col, std::string message);
  void warning(std::string file, int line, int col, std::string message);
  bool has_errors() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string str() const;  // every diagnostic, one a line
  void append(const Diagnostics& other);
  // Orders by line and column within each file, keeping the files' first-seen order.
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace hivehook
