// The order of keys and partition values as users mean it: `day=9` before `day=10`. Hive writes
// partition values as text, zero-padded or not (`month=3` and `month=03` both occur), and a byte
// order puts "10" before "9"; a person reading a calendar expects the numeric order. This is the
// one comparator every place that orders or compares partition values uses (`requires:` releases,
// recovery's queue, `status`'s first waiting key, batch listings, `partitions`, the API), so they
// never disagree. The console's grid mirrors it in console/web/console.js (compareKeys).
#pragma once

#include <compare>
#include <string_view>

namespace hivehook {

// Two partition values (or bare path segments). Both non-empty runs of ASCII digits: numerically
// (leading zeros ignored; when equal, "09" < "9" by bytes, so the order stays total). Neither: byte
// order (std::string's). One of each: the integer first — the order must be transitive for sorts,
// and "9" < "10" < "1a" < "9" would not be. Digits are compared as text, never parsed: no limit.
std::strong_ordering compare_partition_values(std::string_view a, std::string_view b);

// Two keys, or partition paths ("year=2023/month=3"), or batch groups ("sales/2023/9"): segment by
// segment ('/'-separated); each segment splits after its first '=' into a name ("day=", or "" for
// a segment without '=') compared by bytes, then a value compared as compare_partition_values does
// but with zero padding ignored at every level ("month=03/day=2" after "month=3/day=1": the same
// month, so the day decides). A key that is a prefix of the other (fewer segments) comes first;
// keys equal at every level that way are ordered by bytes ("month=03" before "month=3"). A total order.
std::strong_ordering compare_keys(std::string_view a, std::string_view b);

// std::less-style wrapper for sorts and ordered containers.
struct KeyLess {
  bool operator()(std::string_view a, std::string_view b) const { return compare_keys(a, b) < 0; }
};

}  // namespace hivehook
