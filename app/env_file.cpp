#include "app/env_file.h"

namespace hivehook::cli {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
bool is_newline(char c) { return c == '\n'; }

bool valid_name(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

// systemd's env-file.c reader as a character-at-a-time state machine: feed() each byte, then finish().
class Parser {
 public:
  void feed(char c) {
    switch (state_) {
      case S::pre_key: pre_key(c); break;
      case S::key: in_key(c); break;
      case S::pre_value:
      case S::value:
      case S::value_escape: unquoted(c); break;
      case S::single_quote:
      case S::double_quote:
      case S::double_quote_escape: quoted(c); break;
      case S::comment:
      case S::comment_escape: comment(c); break;
    }
    if (is_newline(c)) ++line_;
  }

  // The last line need not end in a newline.
  EnvFile finish() {
    if (state_ == S::key) no_equals();
    else if (state_ != S::pre_key && state_ != S::comment && state_ != S::comment_escape) push();
    return std::move(out_);
  }

 private:
  enum class S { pre_key, key, pre_value, value, value_escape, single_quote, double_quote, double_quote_escape,
                 comment, comment_escape };

  void keep(char c) {
    value_ += c;
    value_keep_ = value_.size();
  }

  void push() {
    value_.resize(value_keep_);
    if (valid_name(key_)) out_.vars.emplace_back(key_, value_);
    else out_.warnings.push_back({entry_line_, "'" + key_ + "' is not a valid variable name; line ignored"});
    key_.clear();
    value_.clear();
    value_keep_ = 0;
    state_ = S::pre_key;
  }

  void trim_key() {
    while (!key_.empty() && is_space(key_.back())) key_.pop_back();
  }

  void no_equals() {
    trim_key();
    out_.warnings.push_back({entry_line_, "no '=' in '" + key_ + "'; line ignored"});
    key_.clear();
    state_ = S::pre_key;
  }

  void pre_key(char c) {
    if (c == '#' || c == ';') {
      state_ = S::comment;
    } else if (!is_space(c) && !is_newline(c)) {
      state_ = S::key;
      entry_line_ = line_;
      key_.assign(1, c);
    }
  }

  void in_key(char c) {
    if (is_newline(c)) {
      no_equals();
    } else if (c == '=') {
      trim_key();
      state_ = S::pre_value;
    } else {
      key_ += c;
    }
  }

  // pre_value, value and value_escape: unquoted text (and the openings of quoted parts).
  void unquoted(char c) {
    if (state_ == S::value_escape) {
      state_ = S::value;
      if (!is_newline(c)) keep(c);  // backslash-newline: the value goes on
    } else if (is_newline(c)) {
      push();
    } else if (c == '\\') {
      state_ = S::value_escape;
    } else if (state_ == S::pre_value && c == '\'') {
      state_ = S::single_quote;
    } else if (state_ == S::pre_value && c == '"') {
      state_ = S::double_quote;
    } else if (state_ == S::value) {
      value_ += c;
      if (!is_space(c)) value_keep_ = value_.size();
    } else if (!is_space(c)) {
      state_ = S::value;
      keep(c);
    }
  }

  // single_quote, double_quote and double_quote_escape.
  void quoted(char c) {
    if (state_ == S::single_quote) {
      if (c == '\'') state_ = S::pre_value;
      else keep(c);
    } else if (state_ == S::double_quote) {
      if (c == '"') state_ = S::pre_value;
      else if (c == '\\') state_ = S::double_quote_escape;
      else keep(c);
    } else {
      state_ = S::double_quote;
      if (c == '"' || c == '\\' || c == '`' || c == '$') value_ += c;
      else if (!is_newline(c)) value_ += std::string{'\\', c};
      value_keep_ = value_.size();
    }
  }

  void comment(char c) {
    if (state_ == S::comment_escape) state_ = S::comment;
    else if (c == '\\') state_ = S::comment_escape;
    else if (is_newline(c)) state_ = S::pre_key;
  }

  EnvFile out_;
  S state_ = S::pre_key;
  std::string key_, value_;
  size_t line_ = 1, entry_line_ = 1;
  size_t value_keep_ = 0;  // value's length up to its last character that is not trailing unquoted whitespace
};

}  // namespace

EnvFile parse_env_file(std::string_view text) {
  Parser parser;
  for (char c : text) parser.feed(c);
  return parser.finish();
}

}  // namespace hivehook::cli
