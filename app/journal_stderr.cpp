#include "app/journal_stderr.h"

#include <iostream>

#include "app/logging.h"

namespace hivehook {

LinePrefixBuf::int_type LinePrefixBuf::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  pending_.push_back(traits_type::to_char_type(ch));
  if (pending_.back() == '\n' && !emit()) return traits_type::eof();
  return ch;
}

int LinePrefixBuf::sync() {
  if (!pending_.empty() && !emit()) return -1;
  return dest_->pubsync();
}

bool LinePrefixBuf::emit() {
  std::string out = at_line_start_ ? prefix_of_(pending_) + pending_ : pending_;
  at_line_start_ = pending_.back() == '\n';
  pending_.clear();
  return dest_->sputn(out.data(), static_cast<std::streamsize>(out.size())) == static_cast<std::streamsize>(out.size());
}

std::string journal_priority_of(std::string_view line) {
  return line.find("warning:") != std::string_view::npos ? "<4>" : "<3>";
}

void prefix_stderr_for_journal() {
  if (!stderr_is_journal()) return;
  static LinePrefixBuf buf(std::cerr.rdbuf(), journal_priority_of);
  std::cerr.rdbuf(&buf);
}

}  // namespace hivehook
