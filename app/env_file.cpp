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

}  // namespace

EnvFile parse_env_file(std::string_view text) {
  enum class S { pre_key, key, pre_value, value, value_escape, single_quote, double_quote, double_quote_escape,
                 comment, comment_escape };
  EnvFile out;
  S state = S::pre_key;
  std::string key, value;
  size_t line = 1, entry_line = 1;
  size_t value_keep = 0;  // value's length up to its last character that is not trailing unquoted whitespace

  auto push = [&] {
    value.resize(value_keep);
    if (valid_name(key)) out.vars.emplace_back(key, value);
    else out.warnings.push_back({entry_line, "'" + key + "' is not a valid variable name; line ignored"});
    key.clear();
    value.clear();
    value_keep = 0;
  };
  auto trim_key = [&] {
    while (!key.empty() && is_space(key.back())) key.pop_back();
  };

  for (char c : text) {
    switch (state) {
      case S::pre_key:
        if (c == '#' || c == ';') state = S::comment;
        else if (!is_space(c) && !is_newline(c)) {
          state = S::key;
          entry_line = line;
          key.assign(1, c);
        }
        break;
      case S::key:
        if (is_newline(c)) {
          trim_key();
          out.warnings.push_back({entry_line, "no '=' in '" + key + "'; line ignored"});
          key.clear();
          state = S::pre_key;
        } else if (c == '=') {
          trim_key();
          state = S::pre_value;
        } else {
          key += c;
        }
        break;
      case S::pre_value:
        if (is_newline(c)) {
          push();
          state = S::pre_key;
        } else if (c == '\'') state = S::single_quote;
        else if (c == '"') state = S::double_quote;
        else if (c == '\\') state = S::value_escape;
        else if (!is_space(c)) {
          state = S::value;
          value += c;
          value_keep = value.size();
        }
        break;
      case S::value:
        if (is_newline(c)) {
          push();
          state = S::pre_key;
        } else if (c == '\\') {
          state = S::value_escape;
        } else {
          value += c;
          if (!is_space(c)) value_keep = value.size();
        }
        break;
      case S::value_escape:
        state = S::value;
        if (!is_newline(c)) {  // backslash-newline: the value goes on
          value += c;
          value_keep = value.size();
        }
        break;
      case S::single_quote:
        if (c == '\'') state = S::pre_value;
        else {
          value += c;
          value_keep = value.size();
        }
        break;
      case S::double_quote:
        if (c == '"') state = S::pre_value;
        else if (c == '\\') state = S::double_quote_escape;
        else {
          value += c;
          value_keep = value.size();
        }
        break;
      case S::double_quote_escape:
        state = S::double_quote;
        if (c == '"' || c == '\\' || c == '`' || c == '$') value += c;
        else if (!is_newline(c)) {
          value += '\\';
          value += c;
        }
        value_keep = value.size();
        break;
      case S::comment:
        if (c == '\\') state = S::comment_escape;
        else if (is_newline(c)) state = S::pre_key;
        break;
      case S::comment_escape:
        state = S::comment;
        break;
    }
    if (is_newline(c)) ++line;
  }
  switch (state) {  // the last line need not end in a newline
    case S::key:
      trim_key();
      out.warnings.push_back({entry_line, "no '=' in '" + key + "'; line ignored"});
      break;
    case S::pre_value:
    case S::value:
    case S::value_escape:
    case S::single_quote:
    case S::double_quote:
    case S::double_quote_escape:
      push();
      break;
    default:
      break;
  }
  return out;
}

}  // namespace hivehook::cli
