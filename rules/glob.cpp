// S3-style key globs: '*', '?' and '[...]' stay inside one segment, a '**' segment spans zero or
// more segments. Both levels use the greedy "back up to the last star" walk, which is linear in
// practice and never exponential (unlike naive recursion, which fuzzed patterns would exploit).
#include <vector>

#include "rules/glob.h"
#include "rules/rule.h"

namespace hivehook {

namespace {

constexpr size_t npos = std::string_view::npos;

// A '[...]' class at p[i] == '['; returns the index after its ']' or npos when unterminated.
// '!' or '^' first negates; a ']' right after the opening (or the negation) is literal.
size_t class_end(std::string_view p, size_t i) {
  size_t j = i + 1;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
  if (j < p.size() && p[j] == ']') ++j;
  while (j < p.size() && p[j] != ']') ++j;
  return j < p.size() ? j + 1 : npos;
}

bool class_matches(std::string_view p, size_t i, size_t end, unsigned char c) {
  size_t j = i + 1;
  bool negate = false;
  if (p[j] == '!' || p[j] == '^') {
    negate = true;
    ++j;
  }
  bool hit = false;
  size_t last = end - 1;  // the closing ']'
  bool first = true;
  while (j < last) {
    unsigned char lo = static_cast<unsigned char>(p[j]);
    if (!first && lo == ']') break;
    first = false;
    if (j + 2 < last && p[j + 1] == '-') {
      unsigned char hi = static_cast<unsigned char>(p[j + 2]);
      if (lo <= c && c <= hi) hit = true;
      j += 3;
    } else {
      if (lo == c) hit = true;
      ++j;
    }
  }
  return hit != negate;
}

// Does pattern token at p[pi] match c? Sets *next to the index after the token.
bool token_matches(std::string_view p, size_t pi, char c, size_t* next) {
  char pc = p[pi];
  if (pc == '?') {
    *next = pi + 1;
    return true;
  }
  if (pc == '[') {
    size_t end = class_end(p, pi);
    if (end != npos) {
      *next = end;
      return class_matches(p, pi, end, static_cast<unsigned char>(c));
    }
  }
  if (pc == '\\' && pi + 1 < p.size()) {
    *next = pi + 2;
    return p[pi + 1] == c;
  }
  *next = pi + 1;
  return pc == c;
}

bool segment_match(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star_p = npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      star_p = pi;
      star_s = si;
      continue;
    }
    size_t next;
    if (pi < p.size() && token_matches(p, pi, s[si], &next)) {
      pi = next;
      ++si;
      continue;
    }
    if (star_p == npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == npos ? npos : slash - start));
    if (slash == npos) return out;
    start = slash + 1;
  }
}

}  // namespace

bool key_glob_match(std::string_view pattern, std::string_view key) {
  std::vector<std::string_view> ps = split(pattern), ks = split(key);
  size_t pi = 0, ki = 0, star_p = npos, star_k = 0;
  while (ki < ks.size()) {
    if (pi < ps.size() && ps[pi] == "**") {
      while (pi < ps.size() && ps[pi] == "**") ++pi;
      star_p = pi;
      star_k = ki;
      continue;
    }
    if (pi < ps.size() && segment_match(ps[pi], ks[ki])) {
      ++pi;
      ++ki;
      continue;
    }
    if (star_p == npos) return false;
    pi = star_p;
    ki = ++star_k;
  }
  while (pi < ps.size() && ps[pi] == "**") ++pi;
  return pi == ps.size();
}

bool glob_segment_can_begin_with(std::string_view p, std::string_view text) {
  size_t pi = 0;
  for (char c : text) {
    if (pi == p.size()) return false;
    if (p[pi] == '*') return true;  // the star takes the rest of `text`, the pattern's rest a suffix
    size_t next;
    if (!token_matches(p, pi, c, &next)) return false;
    pi = next;
  }
  return true;
}

std::optional<std::string> key_glob_problem(std::string_view pattern) {
  if (pattern.empty()) return "glob is empty";
  if (pattern.front() == '/') return "glob starts with '/' but keys are relative to landing";
  if (pattern.back() == '/') return "glob ends with '/' but keys name files (to match everything below, end with '/**')";
  for (std::string_view seg : split(pattern)) {
    if (seg.empty()) return "glob has an empty segment ('//')";
    if (seg != "**" && seg.find("**") != npos)
      return "'**' must be a whole segment (as in 'a/**/b'); inside a segment use '*'";
    for (size_t i = 0; i < seg.size(); ++i) {
      if (seg[i] == '\\') {
        ++i;
      } else if (seg[i] == '[') {
        size_t end = class_end(seg, i);
        if (end == npos) return "unterminated '[' in glob (write '[[]' for a literal '[')";
        i = end - 1;
      }
    }
  }
  return std::nullopt;
}

}  // namespace hivehook
