#include "landing/key_order.h"

#include <algorithm>
#include <utility>

namespace hivehook {

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view strip_zeros(std::string_view s) {
  while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
  return s;
}

std::strong_ordering bytes(std::string_view a, std::string_view b) { return a.compare(b) <=> 0; }

// The next '/'-separated segment of `k` (advanced past it), split into name ("day=" or "") and value.
std::pair<std::string_view, std::string_view> next_segment(std::string_view& k) {
  const std::size_t slash = k.find('/');
  std::string_view seg = k.substr(0, slash);
  k = slash == std::string_view::npos ? std::string_view() : k.substr(slash + 1);
  const std::size_t eq = seg.find('=');
  if (eq == std::string_view::npos) return {std::string_view(), seg};
  return {seg.substr(0, eq + 1), seg.substr(eq + 1)};
}
}  // namespace

namespace {
// compare_partition_values without its last tie-break: "03" and "3" are equal here.
std::strong_ordering compare_numbers(std::string_view a, std::string_view b) {
  const bool da = all_digits(a), db = all_digits(b);
  if (da != db) return da ? std::strong_ordering::less : std::strong_ordering::greater;
  if (!da) return bytes(a, b);
  const std::string_view x = strip_zeros(a), y = strip_zeros(b);
  if (x.size() != y.size()) return x.size() <=> y.size();  // more digits: the bigger number
  return bytes(x, y);
}
}  // namespace

std::strong_ordering compare_partition_values(std::string_view a, std::string_view b) {
  if (auto c = compare_numbers(a, b); c != 0) return c;
  return bytes(a, b);
}

std::strong_ordering compare_keys(std::string_view a, std::string_view b) {
  // First every level by value, zero padding ignored (month=03 and month=3 are the same month, so
  // the day below them decides); only keys equal at every level that way are told apart by bytes.
  const std::string_view whole_a = a, whole_b = b;
  bool more_a = true, more_b = true;
  while (more_a && more_b) {
    more_a = a.find('/') != std::string_view::npos;
    more_b = b.find('/') != std::string_view::npos;
    const auto [name_a, value_a] = next_segment(a);
    const auto [name_b, value_b] = next_segment(b);
    if (auto c = bytes(name_a, name_b); c != 0) return c;
    if (auto c = compare_numbers(value_a, value_b); c != 0) return c;
  }
  if (more_a != more_b) return more_a <=> more_b;  // equal so far: the one with fewer segments first
  return bytes(whole_a, whole_b);
}

}  // namespace hivehook
