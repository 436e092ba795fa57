#include "rules/diagnostics.h"

#include <algorithm>
#include <map>

namespace hivehook {

std::string Diagnostic::str() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (col > 0) out += ':' + std::to_string(col);
  }
  out += severity == Severity::error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

void Diagnostics::error(std::string file, int line, int col, std::string message) {
  items_.push_back({std::move(file), line, col, std::move(message), Diagnostic::Severity::error});
}

void Diagnostics::warning(std::string file, int line, int col, std::string message) {
  items_.push_back({std::move(file), line, col, std::move(message), Diagnostic::Severity::warning});
}

bool Diagnostics::has_errors() const {
  for (const auto& d : items_)
    if (d.severity == Diagnostic::Severity::error) return true;
  return false;
}

std::string Diagnostics::str() const {
  std::string out;
  for (const auto& d : items_) out += d.str() + '\n';
  return out;
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void Diagnostics::sort() {
  std::map<std::string, size_t> file_rank;
  for (const auto& d : items_) file_rank.emplace(d.file, file_rank.size());
  std::stable_sort(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    size_t fa = file_rank[a.file], fb = file_rank[b.file];
    if (fa != fb) return fa < fb;
    if (a.line != b.line) return a.line < b.line;
    return a.col < b.col;
  });
}

}  // namespace hivehook
