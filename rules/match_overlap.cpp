#include "rules/match_overlap.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace hivehook {

namespace {

bool wildcard(char c) { return c == '*' || c == '?' || c == '[' || c == '\\'; }

// The literal text before the first wildcard of a pattern (all of it when it has none).
std::string_view literal_head(std::string_view p) {
  auto i = std::find_if(p.begin(), p.end(), wildcard);
  return p.substr(0, static_cast<size_t>(i - p.begin()));
}

// The literal text after the last wildcard (all of it when it has none). A ']' ends a class.
std::string_view literal_tail(std::string_view p) {
  size_t i = p.size();
  while (i > 0 && !wildcard(p[i - 1]) && p[i - 1] != ']') --i;
  return p.substr(i);
}

bool starts_with(std::string_view s, std::string_view t) { return s.substr(0, t.size()) == t; }
bool ends_with(std::string_view s, std::string_view t) { return s.size() >= t.size() && s.substr(s.size() - t.size()) == t; }

// Two literal heads (or tails) agree when one is a prefix (suffix) of the other.
bool heads_agree(std::string_view x, std::string_view y) { return starts_with(x, y) || starts_with(y, x); }
bool tails_agree(std::string_view x, std::string_view y) { return ends_with(x, y) || ends_with(y, x); }

std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t slash; (slash = s.find('/', start)) != std::string_view::npos; start = slash + 1)
    out.push_back(s.substr(start, slash - start));
  out.push_back(s.substr(start));
  return out;
}

// The literal head and tail of everything a match pins the whole key with.
struct Ends {
  std::vector<std::string_view> heads, tails;
};

Ends ends_of(const MatchSpec& m) {
  Ends e;
  if (m.prefix) e.heads.push_back(*m.prefix);
  if (m.suffix) e.tails.push_back(*m.suffix);
  if (m.glob) e.heads.push_back(literal_head(*m.glob)), e.tails.push_back(literal_tail(*m.glob));
  return e;
}

bool globs_may_overlap(std::string_view a, std::string_view b) {
  if (a.find("**") != std::string_view::npos || b.find("**") != std::string_view::npos) return true;
  auto sa = segments(a), sb = segments(b);
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i)
    if (!heads_agree(literal_head(sa[i]), literal_head(sb[i])) || !tails_agree(literal_tail(sa[i]), literal_tail(sb[i])))
      return false;
  return true;
}

}  // namespace

bool matches_may_overlap(const MatchSpec& a, const MatchSpec& b) {
  const Ends ea = ends_of(a), eb = ends_of(b);
  for (auto x : ea.heads)
    for (auto y : eb.heads)
      if (!heads_agree(x, y)) return false;
  for (auto x : ea.tails)
    for (auto y : eb.tails)
      if (!tails_agree(x, y)) return false;
  for (const auto& [name, value] : a.partition)
    for (const auto& [n2, v2] : b.partition)
      if (name == n2 && value != v2) return false;
  if (a.glob && b.glob) return globs_may_overlap(*a.glob, *b.glob);
  return true;
}

}  // namespace hivehook
